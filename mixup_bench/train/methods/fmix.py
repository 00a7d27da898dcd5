"""FMix (Harris et al., 2020, "FMix: Enhancing Mixed Sample Data Augmentation", arXiv:2002.12047).

A low-frequency image is sampled in Fourier space (spectrum ~ N(0, 1) scaled by 1/f**decay_power),
brought back by an inverse real FFT and binarised: its top lam fraction of pixels keeps the
original image, the rest comes from the partner. lam ~ Beta(alpha, alpha) weights y_a, as in the
reference (the mask's real mean is ceil or floor of lam * H * W, a coin decides which).

Reference: ecs-vlc/FMix, fmix.py (`fftfreqnd`, `get_spectrum`, `make_low_freq_image`,
`binarise_mask`, `sample_and_apply`; commit e5991dca018882734c8ea63599f10dfbe67fa0ae), with
max_soft = 0 and reformulate = False (its defaults). The reference's quirk is kept: its complex
spectrum is `spectrum[:, 0] + 1j * spectrum[:, 1]`, rows 0 and 1 of the sampled (1, h, w//2+1, 2)
array rather than its real and imaginary planes, so the mask is built from a (w//2+1) x 2 corner of
Fourier coefficients (smoother, more stripe-like masks than the paper's description).
Checked bit-exact on the mask for the same draws (tests/train/test_methods.py); the reference
draws from numpy's and Python's global RNGs, this one from `generator`: lam, the spectrum, the
ceil/floor coin, then the pairing.
"""

from __future__ import annotations

import math

import torch

from mixup_bench.methods import Method, alpha_param
from mixup_bench.train.mixup import MixedBatch, PairMixer, paired, sample_lam, sample_permutation

METHOD = Method(
    "fmix",
    "FMix",
    alpha_param(1.0),
    paper="Harris et al. 2020",
    reference="ecs-vlc/FMix fmix.py",
    position=5,
)


def fourier_frequencies(height: int, width: int) -> torch.Tensor:
    """|f| of each bin of the real FFT of an (height, width) image, float64, as the reference's
    `fftfreqnd(h, w)` (which keeps w // 2 + 2 columns for an odd width; the extra one is dropped later)."""
    fy = torch.fft.fftfreq(height, dtype=torch.float64)[:, None]
    fx = torch.fft.fftfreq(width, dtype=torch.float64)[: width // 2 + (2 if width % 2 else 1)]
    return torch.sqrt(fx * fx + fy * fy)


def low_freq_image(noise: torch.Tensor, decay_power: float, height: int, width: int) -> torch.Tensor:
    """The reference's `make_low_freq_image` for the given noise (1, *freqs.shape, 2): (height, width)
    float64 in [0, 1]."""
    freqs = fourier_frequencies(height, width)
    scale = 1.0 / torch.clamp(freqs, min=1.0 / max(width, height)) ** decay_power
    spectrum = scale[None, :, :, None] * noise  # (1, h, fw, 2)
    # As the reference: `spectrum[:, 0] + 1j * spectrum[:, 1]` takes rows 0 and 1 of the (1, h, fw, 2)
    # spectrum, not its last axis, so the image is built from a (fw, 2) corner of coefficients.
    image = torch.fft.irfftn(torch.complex(spectrum[:, 0], spectrum[:, 1]), s=(height, width), dim=(-2, -1))
    image = image[0] - image[0].min()
    return image / image.max()


def binarise(image: torch.Tensor, lam: float, coin: float) -> torch.Tensor:
    """1 on the top ceil(lam * N) pixels of `image` (floor when coin <= 0.5), 0 elsewhere: float32 (H, W)."""
    n = image.numel()
    num = math.ceil(lam * n) if coin > 0.5 else math.floor(lam * n)
    order = torch.argsort(image.reshape(-1), descending=True, stable=True)
    mask = torch.zeros(n, dtype=torch.float32)
    mask[order[:num]] = 1.0
    return mask.view_as(image)


class FMix(PairMixer):
    """FMix: x = mask * x + (1 - mask) * x[perm], one mask per batch; lam ~ Beta(alpha, alpha) weights y_a.

    Draws, all from `generator`: lam, the Fourier noise, the ceil/floor coin, then the pairing.
    """

    def __init__(self, alpha: float, generator: torch.Generator, decay_power: float = 3.0):
        if not alpha > 0:
            raise ValueError(f"FMix alpha must be > 0, got {alpha}")
        self.alpha, self.generator, self.decay_power = alpha, generator, decay_power

    def mask(self, lam: float, height: int, width: int) -> torch.Tensor:
        """The binary mask (H, W), float32 on the CPU: 1 where the original image is kept."""
        shape = (1, *fourier_frequencies(height, width).shape, 2)
        noise = torch.randn(shape, generator=self.generator, dtype=torch.float64)
        coin = float(torch.rand((), generator=self.generator, dtype=torch.float64))
        return binarise(low_freq_image(noise, self.decay_power, height, width), lam, coin)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> MixedBatch:
        lam = sample_lam(self.alpha, self.generator)
        mask = self.mask(lam, *x.shape[-2:]).to(x.device, x.dtype)
        perm = sample_permutation(x.shape[0], self.generator)
        mixed = x * mask + x[perm.to(x.device)] * (1 - mask)
        return paired(mixed, y, lam, perm)


def build(param: float, generator: torch.Generator, model, lam_mode: str) -> FMix:
    """The registry's factory: FMix with alpha = `param` and the reference's decay power 3."""
    return FMix(param, generator)
