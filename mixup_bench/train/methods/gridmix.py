"""GridMix (Baek et al., 2021, "GridMix: Strong regularization through local context mapping",
Pattern Recognition 109).

A grid of holes over a crop of the image is taken from the partner: the crop (area share
U(0.5, 1), aspect U(0.5, 2), at a uniform position) is cut into n_holes ~ U{2..6} square patches
per row, each patch's top-left hole of side int(patch * sqrt(1 - lam)) (at least 1 pixel, at most
patch - 1) comes from the partner; lam ~ Beta(alpha, alpha), then lam = 1 - the holes' area share.

Reference: Westlake-AI/openmixup, openmixup/models/augments/gridmix.py (`gridmix`, not dist_mode;
commit 37e1372446ab35c03fcf77302539bd4a5bee47eb) with OpenMixup's CIFAR settings
(configs/classification/cifar10/mixups/basic/r18_mixups_CE_none.py: n_holes=(2, 6),
hole_aspect_ratio=1, cut_area_ratio=(0.5, 1), cut_aspect_ratio=(0.5, 2)). One deviation: the
reference's crop can come out wider or taller than the image (cut_aspect 0.5 on a full area), and its
negative slice starts then drop or misplace holes; here the crop's sides are clipped to the image.
Checked bit-exact for the same draws wherever the reference's crop fits (tests/train/test_methods.py).
Draws, all from `generator`: lam, n_holes, the crop's area share and aspect, the pairing, then
the crop's position (column, row).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from mixup_bench.methods import Method, alpha_param
from mixup_bench.train.mixup import MixedBatch, PairMixer, paired, sample_lam, sample_permutation

METHOD = Method(
    "gridmix",
    "GridMix",
    alpha_param(1.0),
    paper="Baek et al. 2021",
    reference="Westlake-AI/openmixup augments/gridmix.py",
    lam_area=True,
    position=8,
)

N_HOLES = (2, 6)
CUT_AREA = (0.5, 1.0)
CUT_ASPECT = (0.5, 2.0)


def _uniform(low: float, high: float, generator: torch.Generator) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator, dtype=torch.float64))


def _covered(length: int, patch: int, hole: int) -> torch.Tensor:
    """(length,) bool: the offsets inside a crop of `length` covered by holes of side `hole` every `patch`."""
    return torch.arange(length) % patch < hole


def grid_mask(
    lam: float, height: int, width: int, n_holes: int, crop: tuple[float, float], position: tuple[float, float]
) -> torch.Tensor:
    """The grid mask (H, W), float32: 1 on the holes (taken from the partner), 0 elsewhere.

    crop: (area share, aspect = crop height / width); position: (column, row) of the crop in [0, 1)."""
    cut_w = int(np.sqrt(int(height * width * crop[0]) / crop[1]))
    cut_h = min(int(cut_w * crop[1]), height)
    cut_w = min(cut_w, width)
    x1, y1 = int((width - cut_w) * position[0]), int((height - cut_h) * position[1])
    n_holes = max(1, min(n_holes, cut_w // 2))
    patch_w = math.ceil(cut_w / n_holes)
    patch_h = patch_w  # hole_aspect_ratio 1
    ratio = np.sqrt(1 - lam)
    hole_w = min(max(int(patch_w * ratio), 1), patch_w - 1)
    hole_h = min(max(int(patch_h * ratio), 1), patch_h - 1)
    mask = torch.zeros(height, width)
    block = _covered(cut_h, patch_h, hole_h)[:, None] & _covered(cut_w, patch_w, hole_w)[None, :]
    mask[y1 : y1 + cut_h, x1 : x1 + cut_w] = block.float()
    return mask


class GridMix(PairMixer):
    """GridMix with lam ~ Beta(alpha, alpha) setting the holes' size; one mask for the batch."""

    def __init__(self, alpha: float, generator: torch.Generator):
        if not alpha > 0:
            raise ValueError(f"GridMix alpha must be > 0, got {alpha}")
        self.alpha, self.generator = alpha, generator

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> MixedBatch:
        g = self.generator
        lam = sample_lam(self.alpha, g)
        n_holes = int(torch.randint(N_HOLES[0], N_HOLES[1] + 1, (1,), generator=g))
        crop = (_uniform(*CUT_AREA, g), _uniform(*CUT_ASPECT, g))
        perm = sample_permutation(x.shape[0], g)
        position = (_uniform(0.0, 1.0, g), _uniform(0.0, 1.0, g))
        height, width = x.shape[-2:]
        mask = grid_mask(lam, height, width, n_holes, crop, position)
        m = mask.to(x.device, x.dtype)
        mixed = x * (1 - m) + x[perm.to(x.device)] * m
        return paired(mixed, y, 1.0 - float(mask.sum()) / (height * width), perm)


def build(param: float, generator: torch.Generator, model, lam_mode: str) -> GridMix:
    """The registry's factory: GridMix with alpha = `param`."""
    return GridMix(param, generator)
