"""ResizeMix (Qin et al., 2020, "ResizeMix: Mixing Data with Preserved Object Information and True
Labels", arXiv:2012.11101).

The partner image, resized (nearest) to a box of side scale tau ~ U(0.1, max_scale) of the image's
sides, is pasted at a uniformly drawn centre (the box clipped to the image); lam = 1 - the box's
area share weights y_a.

Reference: Westlake-AI/openmixup, openmixup/models/augments/resizemix.py (`resizemix`, not
dist_mode, use_alpha=False: the paper's uniform scale; commit 37e1372446ab35c03fcf77302539bd4a5bee47eb).
Checked bit-exact for the same draws; the reference draws from numpy's and torch's global RNGs,
this one from `generator`: the pairing, tau, the box centre's column, then its row.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mixup_bench.methods import Method, Param
from mixup_bench.train.mixup import MixedBatch, PairMixer, paired, sample_permutation, unmixed

METHOD = Method(
    "resizemix",
    "ResizeMix",
    Param("scale", "s", "s", 0.8, 0.1, 1.0, False, False, "largest side scale of the pasted image (>= 0.1)"),
    paper="Qin et al. 2020",
    reference="Westlake-AI/openmixup augments/resizemix.py",
    lam_beta=False,
    lam_area=True,
    position=6,
)

MIN_SCALE = 0.1


def resize_box(tau: float, height: int, width: int, cy: int, cx: int) -> tuple[int, int, int, int]:
    """The box (y1, y2, x1, x2) of half-sides int(side * tau) // 2 centred at (cy, cx), clipped to the image."""
    rh, rw = int(height * tau) // 2, int(width * tau) // 2
    return max(cy - rh, 0), min(cy + rh, height), max(cx - rw, 0), min(cx + rw, width)


def paste_resized(x: torch.Tensor, perm: torch.Tensor, box: tuple[int, int, int, int]) -> tuple[torch.Tensor, float]:
    """x (B, C, H, W) with x[perm] resized (nearest) into `box`; returns (mixed, lam = 1 - box area share)."""
    y1, y2, x1, x2 = box
    mixed = x.clone()
    mixed[..., y1:y2, x1:x2] = F.interpolate(x[perm.to(x.device)], (y2 - y1, x2 - x1), mode="nearest")
    height, width = x.shape[-2:]
    return mixed, 1.0 - (y2 - y1) * (x2 - x1) / (height * width)


class ResizeMix(PairMixer):
    """ResizeMix with the box's side scale tau ~ U(0.1, max_scale) (the paper's 0.8 by default).

    Draws, all from `generator`: the pairing, tau, the box centre's column, then its row.
    A box of zero area (an image a few pixels wide) leaves the batch as it is (lam = 1).
    """

    def __init__(self, max_scale: float, generator: torch.Generator):
        if not MIN_SCALE <= max_scale <= 1:
            raise ValueError(f"ResizeMix max scale must be in [{MIN_SCALE}, 1], got {max_scale}")
        self.max_scale, self.generator = max_scale, generator

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> MixedBatch:
        perm = sample_permutation(x.shape[0], self.generator)
        u = float(torch.rand((), generator=self.generator, dtype=torch.float64))
        tau = MIN_SCALE + (self.max_scale - MIN_SCALE) * u
        height, width = x.shape[-2:]
        cx = int(torch.randint(width, (1,), generator=self.generator))
        cy = int(torch.randint(height, (1,), generator=self.generator))
        box = resize_box(tau, height, width, cy, cx)
        if box[0] == box[1] or box[2] == box[3]:
            return unmixed(x, y)
        mixed, lam = paste_resized(x, perm, box)
        return paired(mixed, y, lam, perm)


def build(param: float, generator: torch.Generator, model, lam_mode: str) -> ResizeMix:
    """The registry's factory: ResizeMix with tau ~ U(0.1, `param`)."""
    return ResizeMix(param, generator)
