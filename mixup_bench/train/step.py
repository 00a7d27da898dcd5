"""One SGD step on a uint8 batch, and the learning-rate schedule.

The same step serves `train.loop` and `bench`: augment -> normalise -> mix -> forward/backward -> update.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from mixup_bench.train.augment import random_crop_flip
from mixup_bench.train.data import CIFAR10_MEAN, CIFAR10_STD
from mixup_bench.train.mixup import Mixer, mixed_correct
from mixup_bench.train.splits import Split


class Normalize(nn.Module):
    """uint8 (B, 3, H, W) -> float (B, 3, H, W) channels_last, standardised per channel."""

    def __init__(self, device: torch.device, mean: tuple = CIFAR10_MEAN, std: tuple = CIFAR10_STD):
        super().__init__()  # mean, std: the data set's, per channel on the [0, 1] scale (ImageDataset.mean/std)
        std = torch.tensor(std, device=device).view(1, 3, 1, 1)
        mean = torch.tensor(mean, device=device).view(1, 3, 1, 1)
        self.scale = 1.0 / (255.0 * std)  # (x/255 - mean)/std = x*scale - shift: one fused pass
        self.shift = mean / std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float().mul_(self.scale).sub_(self.shift)
        return x.contiguous(memory_format=torch.channels_last)


def warmup_linear_decay(total_steps: int, warmup_fraction: float) -> Callable[[int], float]:
    """LR multiplier: linear 0 -> 1 over the warmup steps, then linear 1 -> 0 at the last step."""
    warmup = max(1, round(total_steps * warmup_fraction))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return factor


@dataclass
class StepContext:
    """What one SGD step needs; `train_run` and `bench` build one and call `train_step` with it."""

    forward: Callable[[torch.Tensor], torch.Tensor]  # the model, or its torch.compile'd wrapper
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler | None
    normalize: Normalize
    mixer: Mixer  # the arm's method: MixUp, CutMix, label smoothing, ... (train.methods.build_mixer)
    data_gen: torch.Generator  # augmentation draws (batch order is drawn by the caller from it too)
    augment: bool
    amp: torch.dtype | None  # autocast dtype, None = fp32
    grad_clip: float | None = None  # max global L2 norm of the gradient (`--grad-clip`); None = no clipping

    def autocast(self, device_type: str) -> torch.autocast:
        return torch.autocast(device_type, dtype=self.amp or torch.float32, enabled=self.amp is not None)


@dataclass
class StepOutput:
    loss: torch.Tensor  # 0-dim, detached, on the device: the mixed objective of the batch
    correct: torch.Tensor  # 0-dim, on the device: lam-weighted count of correct predictions
    lam: float


def take_batch(split: Split, order: torch.Tensor, step: int, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (B, 3, H, W) uint8 and labels (B,) of batch `step` of the permutation `order` (on the device)."""
    idx = order[step * batch_size : (step + 1) * batch_size]
    return split.x.index_select(0, idx), split.y.index_select(0, idx)  # index_select: ~10x cheaper than x[idx]


def train_step(ctx: StepContext, xb: torch.Tensor, yb: torch.Tensor) -> StepOutput:
    """One SGD step on a uint8 batch: augment -> normalise -> mix -> forward/backward -> (clip) -> update.

    No host sync: the loss and the correct count stay on the device.
    The forward runs under autocast (bf16 where enabled); the loss is computed in fp32.
    """
    if ctx.augment:
        xb = random_crop_flip(xb, ctx.data_gen)
    batch = ctx.mixer(ctx.normalize(xb), yb)
    with ctx.autocast(xb.device.type):
        logits = ctx.mixer.logits(ctx.forward, batch)  # (B, C)
    loss = ctx.mixer.loss(logits, batch)
    ctx.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if ctx.grad_clip is not None:  # off: not even the norm is computed, so the default's numbers stay as they were
        params = [p for group in ctx.optimizer.param_groups for p in group["params"]]
        torch.nn.utils.clip_grad_norm_(params, ctx.grad_clip)
    ctx.optimizer.step()
    if ctx.scheduler is not None:
        ctx.scheduler.step()
    correct = mixed_correct(logits.detach(), batch.y_a, batch.y_b, batch.lam)
    return StepOutput(loss.detach(), correct, batch.lam_value)
