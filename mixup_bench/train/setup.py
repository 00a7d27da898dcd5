"""What a run trains with, built in one place: `train_run` and `bench` both call these.

`new_state`: the model (channels_last), SGD with Nesterov momentum, the warm-up + linear-decay
schedule and the run's named random streams, at step 0. `step_context`: what `train_step` needs
on top of that (the forward, torch.compile'd if asked, normalisation, MixUp, autocast dtype).
"""

from __future__ import annotations

import torch

from mixup_bench.config import RunConfig
from mixup_bench.train.checkpoint import RunState
from mixup_bench.train.methods import build_mixer
from mixup_bench.train.models import build_model
from mixup_bench.train.splits import derive_seed
from mixup_bench.train.step import Normalize, StepContext, warmup_linear_decay


def new_state(cfg: RunConfig, num_classes: int, device: torch.device, total_steps: int) -> RunState:
    """Model, optimizer, schedule and generators at step 0. Same seed -> same initial weights in every arm.

    total_steps: the length of the learning-rate schedule (warm-up, then linear decay to 0 at its end).
    """
    tc = cfg.training
    torch.manual_seed(cfg.seed)
    model = build_model(tc.model, num_classes).to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=tc.lr, momentum=tc.momentum, nesterov=True, weight_decay=tc.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_linear_decay(total_steps, tc.warmup_fraction))
    return RunState(
        model,
        optimizer,
        scheduler,
        data_gen=torch.Generator().manual_seed(derive_seed(cfg.seed, "data")),
        mixup_gen=torch.Generator().manual_seed(derive_seed(cfg.seed, "mixup")),
        history=[],
        lam_log=[],
    )


def step_context(
    cfg: RunConfig, state: RunState, device: torch.device, amp: torch.dtype | None, stats: tuple | None = None
) -> StepContext:
    """The `train_step` context of a run: its model (torch.compile'd with `compile`), optimizer and
    schedule, normalisation on `device`, the arm's mixer (MixUp, CutMix, ...) on the run's `mixup`
    stream, augmentation on its `data` stream, and autocast to `amp` (None: fp32). Before or after a
    checkpoint restore alike: compilation is lazy, and the restore copies into the same parameters and generators.
    `stats`: the data set's (mean, std) to normalise by; None: CIFAR-10's."""
    forward = torch.compile(state.model) if cfg.training.compile else state.model
    return StepContext(
        forward,
        state.optimizer,
        state.scheduler,
        Normalize(device, *stats) if stats is not None else Normalize(device),
        build_mixer(cfg.method, cfg.alpha, state.mixup_gen, state.model, cfg.training.lam_mode),
        state.data_gen,
        augment=cfg.training.augment,
        amp=amp,
        grad_clip=cfg.training.grad_clip,
    )
