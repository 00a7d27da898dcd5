"""CutMix (Yun et al., 2019, "CutMix: Regularization Strategy to Train Strong Classifiers with Localizable
Features", ICCV 2019): a box of the partner image is pasted in; lam = the kept area.

lam ~ Beta(alpha, alpha), a box of area about (1 - lam) * H * W at a uniform centre, clipped to the
image, then lam corrected to the clipped box's area (timm's `correct_lam`).
Reference: torchvision.transforms.v2.CutMix: the same box arithmetic, checked bit-exact for the same
draws (tests/train/test_cutmix_smooth_manifold.py). Draws, all from `generator`: lam, the pairing, then
the box centre (row, column).
"""

from __future__ import annotations

import math

import torch

from mixup_bench.methods import Method, alpha_param
from mixup_bench.train.mixup import MixedBatch, PairMixer, paired, sample_lam, sample_permutation

METHOD = Method(
    "cutmix",
    "CutMix",
    alpha_param(1.0),
    paper="Yun et al. 2019",
    reference="torchvision.transforms.v2.CutMix",
    lam_area=True,
    position=2,
)


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


def build(param: float, generator: torch.Generator, model, lam_mode: str) -> CutMix:
    """The registry's factory: CutMix with alpha = `param`."""
    return CutMix(param, generator)
