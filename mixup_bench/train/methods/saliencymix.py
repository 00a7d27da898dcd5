"""SaliencyMix (Uddin et al., 2021, "SaliencyMix: A Saliency Guided Data Augmentation Strategy for
Better Regularization", ICLR 2021).

CutMix whose box is centred on the peak of the partner image's saliency map instead of a uniform
point: lam ~ Beta(alpha, alpha), a box of sides int(side * sqrt(1 - lam)) centred on the argmax of
the saliency of x[perm[0]] (one map, one box for the batch, as in the reference), then lam is
corrected to the clipped box's area.

The saliency is the spectral residual (Hou & Zhang, 2007) as OpenCV computes it
(opencv_contrib modules/saliency/src/staticSaliencySpectralResidual.cpp): BGR->gray, bilinear
resize to 64x64, log(1 + amplitude) minus its 3x3 box blur, inverse DFT, squared magnitude after a 5x5
Gaussian blur (sigma 8), normalised and resized back; the peak is taken on the map quantised to
uint8, as the reference does. The authors' code (afm-shahab-uddin/SaliencyMix,
SaliencyMix_CIFAR/saliencymix.py `saliency_bbox`, commit 9ee02b87974efab1ee7a5229408a58a0e0bbf825)
calls OpenCV's StaticSaliencyFineGrained instead; the spectral residual is what this benchmark's
issue asked for. Checked against a numpy port of OpenCV's computation (tests/train/method_references.py)
and, where opencv-contrib is installed, OpenCV itself. Draws, all from `generator`: lam, then the pairing.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from mixup_bench.methods import Method, alpha_param
from mixup_bench.train.methods.cutmix import paste_box
from mixup_bench.train.mixup import MixedBatch, PairMixer, paired, sample_lam, sample_permutation

METHOD = Method(
    "saliencymix",
    "SaliencyMix",
    alpha_param(1.0),
    paper="Uddin et al. 2021",
    reference="afm-shahab-uddin/SaliencyMix + OpenCV spectral residual",
    lam_area=True,
    position=7,
)

SALIENCY_SIDE = 64  # OpenCV's resImWidth, resImHeight
_GRAY = (0.114, 0.587, 0.299)  # OpenCV's BGR2GRAY weights: the reference hands OpenCV RGB as if BGR


def _reflect_blur(image: torch.Tensor, kernel_1d: torch.Tensor) -> torch.Tensor:
    """Separable blur of a (H, W) float64 map with OpenCV's BORDER_DEFAULT (reflect-101) border."""
    k = kernel_1d.numel()
    padded = F.pad(image[None, None], (k // 2,) * 4, mode="reflect")
    rows = F.conv2d(padded, kernel_1d.view(1, 1, k, 1))
    return F.conv2d(rows, kernel_1d.view(1, 1, 1, k))[0, 0]


def spectral_residual(image: torch.Tensor) -> torch.Tensor:
    """The spectral-residual saliency map (H, W), float32 in [0, 1], of one image (3, H, W)."""
    img = image.detach().float().cpu()
    gray = _GRAY[0] * img[0] + _GRAY[1] * img[1] + _GRAY[2] * img[2] if img.shape[0] == 3 else img[0]
    side = (SALIENCY_SIDE, SALIENCY_SIDE)
    small = F.interpolate(gray[None, None], side, mode="bilinear", align_corners=False)[0, 0].double()
    spectrum = torch.fft.fft2(small)
    log_amp = torch.log1p(spectrum.abs())  # log(|F| + 1), as OpenCV 4.x and later
    box = torch.full((3,), 1.0 / 3.0, dtype=torch.float64)
    residual = torch.polar(torch.exp(log_amp - _reflect_blur(log_amp, box)), spectrum.angle())
    back = torch.fft.ifft2(residual) * small.numel()  # OpenCV's inverse DFT is unscaled
    gauss = torch.exp(-((torch.arange(5, dtype=torch.float64) - 2) ** 2) / (2 * 8.0**2))
    saliency = _reflect_blur(back.abs(), gauss / gauss.sum()) ** 2
    saliency = (saliency / saliency.max()).float()
    return F.interpolate(saliency[None, None], tuple(image.shape[-2:]), mode="bilinear", align_corners=False)[0, 0]


def saliency_peak(image: torch.Tensor) -> tuple[int, int]:
    """(row, column) of the saliency peak of one image (3, H, W), on the map quantised to uint8
    (the first maximum in row-major order, as numpy's argmax)."""
    quantised = (spectral_residual(image) * 255).to(torch.uint8)
    flat = int(torch.argmax(quantised.reshape(-1)))
    return divmod(flat, image.shape[-1])


def saliency_box(lam: float, height: int, width: int, peak: tuple[int, int]) -> tuple[int, int, int, int]:
    """The box (y1, y2, x1, x2) of half-sides int(side * sqrt(1 - lam)) // 2 centred on `peak`, clipped."""
    r = math.sqrt(1.0 - lam)
    rh, rw = int(height * r) // 2, int(width * r) // 2
    cy, cx = peak
    return max(cy - rh, 0), min(cy + rh, height), max(cx - rw, 0), min(cx + rw, width)


class SaliencyMix(PairMixer):
    """SaliencyMix: the box from the partner images sits on the saliency peak of the first partner.

    Draws, all from `generator`: lam, then the pairing.
    """

    def __init__(self, alpha: float, generator: torch.Generator):
        if not alpha > 0:
            raise ValueError(f"SaliencyMix alpha must be > 0, got {alpha}")
        self.alpha, self.generator = alpha, generator

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> MixedBatch:
        lam = sample_lam(self.alpha, self.generator)
        perm = sample_permutation(x.shape[0], self.generator)
        height, width = x.shape[-2:]
        box = saliency_box(lam, height, width, saliency_peak(x[int(perm[0])]))
        mixed, lam = paste_box(x, perm, box)
        return paired(mixed, y, lam, perm)


def build(param: float, generator: torch.Generator, model, lam_mode: str) -> SaliencyMix:
    """The registry's factory: SaliencyMix with alpha = `param`."""
    return SaliencyMix(param, generator)
