"""Label smoothing (Szegedy et al., 2016, "Rethinking the Inception Architecture for Computer Vision",
CVPR 2016): no mixing, cross-entropy against (1 - eps) * onehot(y) + eps / C.

Reference: torch.nn.functional.cross_entropy(label_smoothing=eps), which its loss is
(tests/train/test_cutmix_smooth_manifold.py). It draws nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from mixup_bench.methods import Method, Param
from mixup_bench.train.mixup import MixedBatch, unmixed

METHOD = Method(
    "smooth",
    "label smoothing",
    Param("eps", "e", "ε", 0.1, 0.0, 0.99, True, False, "smoothing epsilon"),
    paper="Szegedy et al. 2016",
    reference="torch.nn.functional.cross_entropy(label_smoothing=)",
    draws_lam=False,
    position=3,
)


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


def build(param: float, generator: torch.Generator, model, lam_mode: str) -> LabelSmoothing:
    """The registry's factory: label smoothing with epsilon = `param` (the generator is not used)."""
    return LabelSmoothing(param)
