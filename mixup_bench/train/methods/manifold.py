"""Manifold MixUp (Verma et al., 2019, "Manifold Mixup: Better Representations by Interpolating Hidden
States", ICML 2019): MixUp of the hidden state at a stage drawn uniformly, the input (stage 0) included.

Reference: vikasverma1077/manifold_mixup (mixing at the input or after a block, one lam per batch).
Checked: at stage 0 it is MixUp exactly, and at stage k the model's stages run with the mix between
them (tests/train/test_cutmix_smooth_manifold.py).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from mixup_bench.methods import Method, alpha_param
from mixup_bench.train.mixup import MixedBatch, PairMixer, mix, paired, sample_lam, sample_permutation
from mixup_bench.train.models import forward_stages

METHOD = Method(
    "manifold",
    "Manifold MixUp",
    alpha_param(2.0),
    paper="Verma et al. 2019",
    reference="vikasverma1077/manifold_mixup",
    position=4,
)


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


def build(param: float, generator: torch.Generator, model, lam_mode: str) -> ManifoldMixUp:
    """The registry's factory: Manifold MixUp with alpha = `param`, at the input or after any stage but the last."""
    stages = model.stages()
    return ManifoldMixUp(param, generator, stages, tuple(range(len(stages))))
