"""MixUp's neighbours as Mixers (CutMix, label smoothing, Manifold MixUp), and the mixer of every method.

Every method is a `train.mixup.Mixer`: a callable `mixer(x, y) -> MixedBatch` with
`mixer.logits(forward, batch)` and `mixer.loss(logits, batch)`, so every arm runs through the same
`train_step`: same initial weights, same batch order, and the method's own draws from its own
generator (the run's `mixup` stream), which never touches the data order or the weight init.

    CutMix (Yun et al., 2019)        paste a box of the partner image; lam = the kept area
    label smoothing (Szegedy, 2016)  CE against (1-eps)*onehot + eps/C; no mixing
    Manifold MixUp (Verma, 2019)     MixUp of the hidden state at a random stage (0 = the input)
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from mixup_bench.methods import build_factory
from mixup_bench.naming import BASELINE, CUTMIX, MANIFOLD, METHOD_NAMES, MIXUP, SMOOTH
from mixup_bench.train.mixup import (
    MixedBatch,
    Mixer,
    MixUp,
    PairMixer,
    mix,
    paired,
    sample_lam,
    sample_permutation,
    unmixed,
)
from mixup_bench.train.models import forward_stages


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


class CutMix(PairMixer):
    """CutMix: lam ~ Beta(alpha, alpha); a box of area fraction 1-lam comes from the partner image.

    Draws, all from `generator`: lam, the pairing, then the box centre (row, column).
    """

    def __init__(self, alpha: float, generator: torch.Generator):
        if not alpha > 0:
            raise ValueError(f"CutMix alpha must be > 0, got {alpha}")
        self.alpha, self.generator = alpha, generator

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> MixedBatch:
        lam = sample_lam(self.alpha, self.generator)
        perm = sample_permutation(x.shape[0], self.generator)
        height, width = x.shape[-2:]
        cy = int(torch.randint(height, (1,), generator=self.generator))
        cx = int(torch.randint(width, (1,), generator=self.generator))
        mixed, lam = paste_box(x, perm, cutmix_box(lam, height, width, cy, cx))
        return paired(mixed, y, lam, perm)


class LabelSmoothing:
    """Plain label smoothing with epsilon `eps`: no mixing and no draw, CE against (1-eps)*onehot(y) + eps/C.

    A Mixer of its own, not a MixUp: its batch is the input as it is (lam = 1), only the loss differs.
    """

    def __init__(self, eps: float):
        if not 0 < eps < 1:
            raise ValueError(f"label smoothing epsilon must be in (0, 1), got {eps}")
        self.eps = eps

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> MixedBatch:
        return unmixed(x, y)

    def logits(self, forward: Callable[[torch.Tensor], torch.Tensor], batch: MixedBatch) -> torch.Tensor:
        return forward(batch.x)

    def loss(self, logits: torch.Tensor, batch: MixedBatch) -> torch.Tensor:
        return F.cross_entropy(logits.float(), batch.y_a, label_smoothing=self.eps)


class ManifoldMixUp(PairMixer):
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
        self.alpha, self.generator = alpha, generator
        self.stages, self.layers = stages, layers

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> MixedBatch:
        lam = sample_lam(self.alpha, self.generator)
        perm = sample_permutation(x.shape[0], self.generator)
        layer = self.layers[0]
        if len(self.layers) > 1:
            layer = self.layers[int(torch.randint(len(self.layers), (1,), generator=self.generator))]
        return paired(mix(x, perm, lam) if layer == 0 else x, y, lam, perm, layer)

    def logits(self, forward: Callable[[torch.Tensor], torch.Tensor], batch: MixedBatch) -> torch.Tensor:
        if batch.layer == 0:
            return forward(batch.x)
        h = forward_stages(self.stages[: batch.layer], batch.x)  # (B, C_k, H_k, W_k)
        return forward_stages(self.stages[batch.layer :], mix(h, batch.perm, batch.lam))


def _manifold(alpha: float, generator: torch.Generator, model, lam_mode: str) -> ManifoldMixUp:
    stages = model.stages()
    return ManifoldMixUp(
        alpha, generator, stages, tuple(range(len(stages)))
    )  # the input, or after a stage but the last


def build_baseline(param: float, generator: torch.Generator, model, lam_mode: str) -> MixUp:
    return MixUp(0.0, generator)


def build_mixup(alpha: float, generator: torch.Generator, model, lam_mode: str) -> MixUp:
    return MixUp(alpha, generator, lam_mode)


def build_cutmix(alpha: float, generator: torch.Generator, model, lam_mode: str) -> CutMix:
    return CutMix(alpha, generator)


def build_smooth(eps: float, generator: torch.Generator, model, lam_mode: str) -> LabelSmoothing:
    return LabelSmoothing(eps)


build_manifold = _manifold


def _registered(method: str) -> Callable[[float, torch.Generator, object, str], Mixer]:
    """The factory the registry names for `method` (`methods.METHODS[method].factory`), imported at the first call."""

    def factory(param: float, generator: torch.Generator, model, lam_mode: str) -> Mixer:
        return build_factory(method)(param, generator, model, lam_mode)

    return factory


# The mixer of each method, keyed by its name (naming.METHOD_NAMES): (parameter, generator, model, lam_mode) -> Mixer.
MIXERS: dict[str, Callable[[float, torch.Generator, object, str], Mixer]] = {
    BASELINE: build_baseline,
    MIXUP: build_mixup,
    CUTMIX: build_cutmix,
    SMOOTH: build_smooth,
    MANIFOLD: _manifold,
}
MIXERS |= {name: _registered(name) for name in METHOD_NAMES if name not in MIXERS}


def build_mixer(method: str, param: float, generator: torch.Generator, model, lam_mode: str = "batch") -> Mixer:
    """The mixer of one arm. `param` is alpha (mixup, cutmix, manifold) or epsilon (smooth); baseline: 0."""
    if method not in MIXERS:
        raise ValueError(f"unknown method {method!r}; one of {tuple(METHOD_NAMES)}")
    return MIXERS[method](param, generator, model, lam_mode)
