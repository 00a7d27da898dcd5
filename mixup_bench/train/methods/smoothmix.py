"""SmoothMix (Lee et al., 2020, "SmoothMix: a Simple Yet Effective Data Augmentation to Train Robust
Classifiers", CVPR Workshops 2020).

A Gaussian mask G (peak 1, sigma ~ U(s/2, s) * H, centred at a uniform point) takes the partner:
x = (1 - G) * x + G * x[perm]; the partner's share is mean(G), so lam = 1 - mean(G) weights y_a.
(The paper's square mask with a smoothed border is not implemented.)

Reference: Westlake-AI/openmixup, openmixup/models/augments/smoothmix.py (`smoothmix`, not
dist_mode; commit 37e1372446ab35c03fcf77302539bd4a5bee47eb). The mixed images are the reference's
for the same draws (s = 0.5: sigma ~ U(0.25, 0.5) * H); the reference returns lam = mean(G) as the
weight of the original image's label, i.e. the partner's pixel share, which looks swapped: here lam
is 1 - mean(G), the original image's pixel share, as in the paper (the test checks both facts).
Draws, all from `generator`: the pairing, the centre's column, its row, then sigma (the reference
also draws an unused Beta lam first).
"""

from __future__ import annotations

import torch

from mixup_bench.methods import Method, Param
from mixup_bench.train.mixup import MixedBatch, PairMixer, paired, sample_permutation

METHOD = Method(
    "smoothmix",
    "SmoothMix",
    Param("scale", "s", "s", 0.5, 0.0, 1.0, True, False, "sigma ~ U(s/2, s) x image side"),
    paper="Lee et al. 2020",
    reference="Westlake-AI/openmixup augments/smoothmix.py",
    lam_beta=False,
    position=9,
)


def gaussian_mask(height: int, width: int, shift: tuple[int, int], sigma: torch.Tensor) -> torch.Tensor:
    """G (H, W), float32: exp(-d^2 / (2 sigma^2)) around ((H-1)/2 + shift[0], (W-1)/2 + shift[1]) (row, column),
    the reference's rolled and cropped coordinate grid written out (exact for shifts in [-side/2, side/2))."""
    ys = torch.arange(height) + height // 2 - shift[0]  # the reference's 2H grid, rolled by the shift, cropped
    xs = torch.arange(width) + width // 2 - shift[1]
    mean = (2 * height - 1) / 2
    dy, dx = ys[:, None] - mean, xs[None, :] - mean
    d2 = torch.stack(torch.broadcast_tensors(dx, dy), dim=-1) ** 2
    return torch.exp(-torch.sum(d2, dim=-1) / (2 * sigma**2))


class SmoothMix(PairMixer):
    """SmoothMix with a Gaussian mask of sigma ~ U(s/2, s) * H (s = 0.5: the reference's U(0.25, 0.5))."""

    def __init__(self, s: float, generator: torch.Generator):
        if not 0 < s <= 1:
            raise ValueError(f"SmoothMix sigma scale must be in (0, 1], got {s}")
        self.s, self.generator = s, generator

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> MixedBatch:
        g = self.generator
        perm = sample_permutation(x.shape[0], g)
        height, width = x.shape[-2:]
        shift_col = int(torch.randint(0, width, (1,), generator=g) - width / 2)
        shift_row = int(torch.randint(0, height, (1,), generator=g) - height / 2)
        sigma = (torch.rand(1, generator=g) * (self.s / 2) + self.s / 2) * height
        mask = gaussian_mask(height, width, (shift_row, shift_col), sigma)
        m = mask.to(x.device, x.dtype)
        mixed = x * (1 - m) + x[perm.to(x.device)] * m
        return paired(mixed, y, 1.0 - float(torch.sum(mask)) / (height * width), perm)


def build(param: float, generator: torch.Generator, model, lam_mode: str) -> SmoothMix:
    """The registry's factory: SmoothMix with sigma ~ U(param/2, param) * H."""
    return SmoothMix(param, generator)
