"""MixUp's neighbours, with MixUp's interface: CutMix, label smoothing and Manifold MixUp.

Every mixer is a callable `mixer(x, y) -> MixedBatch` with `mixer.logits(forward, batch)` and
`mixer.loss(logits, batch)`, so every arm runs through the same `train_step`: same initial
weights, same batch order, and the method's own draws from its own generator (the run's
`mixup` stream), which never touches the data order or the weight init.

    CutMix (Yun et al., 2019)        paste a box of the partner image; lam = the kept area
    label smoothing (Szegedy, 2016)  CE against (1-eps)*onehot + eps/C; no mixing
    Manifold MixUp (Verma, 2019)     MixUp of the hidden state at a random stage (0 = the input)
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from mixup_bench.naming import METHOD_NAMES
from mixup_bench.train.mixup import MixedBatch, MixUp, sample_lam, sample_permutation
from mixup_bench.train.models import forward_stages

# Method names, as in metrics.csv's `method` column and in run ids (naming.METHOD_NAMES).
BASELINE, MIXUP, CUTMIX, SMOOTH, MANIFOLD = METHOD_NAMES


def cutmix_box(lam: float, height: int, width: int, cy: int, cx: int) -> tuple[int, int, int, int]:
    """The box (y1, y2, x1, x2) of area about (1 - lam) * H * W centred at (cy, cx), clipped to the image.

    The same arithmetic as torchvision.transforms.v2.CutMix: half-sides int(0.5*sqrt(1-lam)*side).
    """
    r = 0.5 * math.sqrt(1.0 - lam)
    rh, rw = int(r * height), int(r * width)
    return max(cy - rh, 0), min(cy + rh, height), max(cx - rw, 0), min(cx + rw, width)


def paste_box(x: torch.Tensor, perm: torch.Tensor, box: tuple[int, int, int, int]) -> tuple[torch.Tensor, float]:
    """x (B, C, H, W) with the box taken from x[perm]; returns (mixed, lam corrected to the real box area).

    The correction is timm's `correct_lam`: after clipping, the box may be smaller than asked.
    """
    y1, y2, x1, x2 = box
    mixed = x.clone()
    mixed[..., y1:y2, x1:x2] = x[perm.to(x.device)][..., y1:y2, x1:x2]
    height, width = x.shape[-2:]
    return mixed, 1.0 - (y2 - y1) * (x2 - x1) / (height * width)


class CutMix(MixUp):
    """CutMix: lam ~ Beta(alpha, alpha); a box of area fraction 1-lam comes from the partner image.

    Draws, all from `generator`: lam, the pairing, then the box centre (row, column).
    """

    def __init__(self, alpha: float, generator: torch.Generator):
        if not alpha > 0:
            raise ValueError(f"CutMix alpha must be > 0, got {alpha}")
        super().__init__(alpha, generator)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> MixedBatch:
        lam = sample_lam(self.alpha, self.generator)
        perm = sample_permutation(x.shape[0], self.generator)
        height, width = x.shape[-2:]
        cy = int(torch.randint(height, (1,), generator=self.generator))
        cx = int(torch.randint(width, (1,), generator=self.generator))
        mixed, lam = paste_box(x, perm, cutmix_box(lam, height, width, cy, cx))
        return MixedBatch(mixed, y, y[perm.to(y.device)], lam, perm)


class LabelSmoothing(MixUp):
    """Plain label smoothing with epsilon `eps`: no mixing, CE against (1-eps)*onehot(y) + eps/C."""

    def __init__(self, eps: float, generator: torch.Generator | None = None):
        if not 0 < eps < 1:
            raise ValueError(f"label smoothing epsilon must be in (0, 1), got {eps}")
        super().__init__(0.0, generator)
        self.eps = eps

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> MixedBatch:
        return MixedBatch(x, y, y, 1.0)

    def loss(self, logits: torch.Tensor, batch: MixedBatch) -> torch.Tensor:
        return F.cross_entropy(logits.float(), batch.y_a, label_smoothing=self.eps)


class ManifoldMixUp(MixUp):
    """Manifold MixUp: MixUp of the hidden state at a stage drawn uniformly from `layers`.

    Stage 0 is the input (then it is MixUp exactly); k > 0 is the output of the model's k-th
    stage (`model.stages()`). Draws, all from `generator`: lam, the pairing, then the stage
    (no draw when `layers` has one element).
    """

    def __init__(self, alpha: float, generator: torch.Generator, stages: list[Callable], layers: tuple[int, ...]):
        if not alpha > 0:
            raise ValueError(f"Manifold MixUp alpha must be > 0, got {alpha}")
        if not layers or min(layers) < 0 or max(layers) >= len(stages):
            raise ValueError(f"layers must lie in 0..{len(stages) - 1}, got {layers}")
        super().__init__(alpha, generator)
        self.stages, self.layers = stages, layers

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> MixedBatch:
        lam = sample_lam(self.alpha, self.generator)
        perm = sample_permutation(x.shape[0], self.generator)
        layer = self.layers[0]
        if len(self.layers) > 1:
            layer = self.layers[int(torch.randint(len(self.layers), (1,), generator=self.generator))]
        x_in = x.mul(lam).add_(x[perm.to(x.device)], alpha=1.0 - lam) if layer == 0 else x
        return MixedBatch(x_in, y, y[perm.to(y.device)], lam, perm, layer)

    def logits(self, forward, batch: MixedBatch) -> torch.Tensor:
        if batch.layer == 0:
            return forward(batch.x)
        h = forward_stages(self.stages[: batch.layer], batch.x)  # (B, C_k, H_k, W_k)
        h = h.mul(batch.lam).add_(h[batch.perm.to(h.device)], alpha=1.0 - batch.lam)
        return forward_stages(self.stages[batch.layer :], h)


def build_mixer(method: str, param: float, generator: torch.Generator, model, lam_mode: str = "batch") -> MixUp:
    """The mixer of one arm. `param` is alpha (mixup, cutmix, manifold) or epsilon (smooth); baseline: 0."""
    if method in (BASELINE, MIXUP):
        return MixUp(param, generator, lam_mode)
    if method == CUTMIX:
        return CutMix(param, generator)
    if method == SMOOTH:
        return LabelSmoothing(param, generator)
    if method == MANIFOLD:
        stages = model.stages()
        # mix at the input (0) or after any stage but the last
        return ManifoldMixUp(param, generator, stages, tuple(range(len(stages))))
    raise ValueError(f"unknown method {method!r}; one of {tuple(METHOD_NAMES)}")
