"""Built-in common corruptions of the CIFAR-10-C recipe, made from the test images in batches.

CIFAR-10-C (Hendrycks & Dietterich, ICLR 2019) corrupts each test image with 15 (+4 held-out)
corruptions at 5 severities. Its generator, `make_cifar_c.py`, works on one PIL image at a time
with NumPy, scikit-image, OpenCV and ImageMagick. This module re-implements 12 of them with torch
on whole batches, with the per-severity parameters that script uses for 32x32 images, so a run
can measure robustness with no download. Families: noise (gaussian, shot, impulse, speckle), blur
(defocus, gaussian), weather (fog) and digital (brightness, contrast, saturate, pixelate, JPEG).
Left out: glass blur (a sequential pixel-swap loop), motion blur and snow (ImageMagick), frost
(its photographs), elastic and spatter (OpenCV warps and contours); `--cifar10c-dir` has them all.

Like the recipe, each corruption works on [0, 1] floats and its result is clipped and truncated
to uint8 (`np.uint8(...)`), so the images take the same path through `Normalize` as clean ones.
Names are CIFAR-10-C's file names. The random ones draw from the generator they are given, so
the same generator state gives the same images. JPEG (libjpeg, on the CPU whatever the device)
and pixelate (Pillow's fixed-point BOX resampling, in integers) are bit-exact with Pillow. The
rest run on the images' device in float32, brightness and saturate in float64 as the recipe: they
equal the recipe's output except where its float result lies within 1e-4 of a whole grey level,
where rounding decides the truncation and the two may differ by one level
(tests/train/test_corruptions.py checks each one against a port of the recipe).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

SEVERITIES = (1, 2, 3, 4, 5)

Apply = Callable[[torch.Tensor, object, torch.Generator], torch.Tensor]


@dataclass(frozen=True)
class Corruption:
    """One corruption: its CIFAR-10-C name, family, per-severity parameter and function.

    `apply(x, param, generator)` takes uint8 images (N, 3, H, W) and returns either uint8 images
    or floats on the [0, 1] scale, which `corrupt` clips and truncates to uint8.
    """

    name: str
    family: str  # noise | blur | weather | digital
    params: tuple  # the parameter of severities 1..5, as in make_cifar_c.py
    apply: Apply
    random: bool  # draws from the generator


def _unit(x: torch.Tensor, exact: bool = False) -> torch.Tensor:
    """uint8 -> float32 on the [0, 1] scale. `exact`: float64 as the recipe (float32 on MPS, which has none),
    for the corruptions whose results land on whole grey levels by design (brightness: v + 0.2 is
    v + 51 levels), where float32 would truncate a level lower than the recipe does."""
    dtype = torch.float64 if exact and x.device.type != "mps" else torch.float32
    return x.to(dtype) / 255.0


def _randn(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    return torch.randn(x.shape, generator=g, device=x.device, dtype=x.dtype)


# --- noise ------------------------------------------------------------------------------


def gaussian_noise(x: torch.Tensor, c: float, g: torch.Generator) -> torch.Tensor:
    """x + N(0, c^2) per value."""
    u = _unit(x)
    return u + c * _randn(u, g)


def shot_noise(x: torch.Tensor, c: float, g: torch.Generator) -> torch.Tensor:
    """Poisson(x * c) / c: photon counting with c photons at full intensity."""
    return torch.poisson(_unit(x) * c, generator=g) / c


def impulse_noise(x: torch.Tensor, c: float, g: torch.Generator) -> torch.Tensor:
    """Salt and pepper (scikit-image's `random_noise(mode='s&p')`): each value, with probability c,
    becomes 0 or 1 with equal odds."""
    u = _unit(x)
    flipped = torch.rand(u.shape, generator=g, device=u.device) < c
    salt = torch.rand(u.shape, generator=g, device=u.device) < 0.5
    return torch.where(flipped, salt.to(u.dtype), u)


def speckle_noise(x: torch.Tensor, c: float, g: torch.Generator) -> torch.Tensor:
    """x + x * N(0, c^2): noise that grows with intensity."""
    u = _unit(x)
    return u + u * c * _randn(u, g)


# --- blur -------------------------------------------------------------------------------


def _depthwise(u: torch.Tensor, kernel: torch.Tensor, pad_mode: str) -> torch.Tensor:
    """Correlate every channel of u (N, C, H, W) with one small 2-D kernel (kh, kw), padding by `pad_mode`:
    a weighted sum of shifted copies, several times faster on a CPU than a grouped convolution this small."""
    kh, kw = kernel.shape
    h, w = u.shape[-2:]
    padded = F.pad(u, (kw // 2, kw // 2, kh // 2, kh // 2), mode=pad_mode)
    out = torch.zeros_like(u)
    for i in range(kh):
        for j in range(kw):
            out.add_(padded[..., i : i + h, j : j + w], alpha=float(kernel[i, j]))
    return out


def gaussian_kernel_1d(sigma: float, radius: int) -> torch.Tensor:
    """exp(-t^2 / 2 sigma^2) for t in -radius..radius, summing to 1 (float64)."""
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return k / k.sum()


def disk_kernel(radius: float, alias_blur: float) -> torch.Tensor:
    """The recipe's defocus kernel (float64 (k, k), cropped to its non-zero support): a disk of `radius`
    on a 17x17 grid, normalised, then smoothed by a 3x3 Gaussian of sigma `alias_blur`.

    Built in float32 as the recipe builds it (cv2.GaussianBlur's symmetric 3-tap passes, rows then
    columns): its weights sum to 1 only up to float32 rounding, and that decides whether a flat
    patch keeps its grey level or drops one at the final truncation, so this follows the recipe."""
    t = torch.arange(-8, 9, dtype=torch.float32)
    yy, xx = torch.meshgrid(t, t, indexing="ij")
    kernel = (xx**2 + yy**2 <= radius**2).float()
    kernel /= kernel.sum()
    g = gaussian_kernel_1d(alias_blur, 1).float()
    for dim in (1, 0):
        kernel = kernel * g[1] + (torch.roll(kernel, 1, dim) + torch.roll(kernel, -1, dim)) * g[0]
    rows = torch.nonzero(kernel.abs().sum(dim=1)).flatten()
    r = int(max(8 - rows.min(), rows.max() - 8))
    return kernel[8 - r : 9 + r, 8 - r : 9 + r].double()


def defocus_blur(x: torch.Tensor, c: tuple[float, float], g: torch.Generator) -> torch.Tensor:
    """Correlation with `disk_kernel(radius, alias_blur)`, reflect-101 borders (cv2.filter2D)."""
    return _depthwise(_unit(x), disk_kernel(*c), "reflect")


def gaussian_blur(x: torch.Tensor, sigma: float, g: torch.Generator) -> torch.Tensor:
    """scikit-image's `gaussian(sigma)`: separable, truncated at 4 sigma, nearest-value borders."""
    k = gaussian_kernel_1d(sigma, int(4.0 * sigma + 0.5))
    u = _depthwise(_unit(x), k[None, :], "replicate")
    return _depthwise(u, k[:, None], "replicate")


# --- weather ----------------------------------------------------------------------------


def plasma_fractal(n: int, size: int, wibble_decay: float, g: torch.Generator, device=None) -> torch.Tensor:
    """n diamond-square height maps (n, size, size) in [0, 1], as the recipe's `plasma_fractal`
    (its random offsets are wibble * U(-wibble, wibble), wibble starting at 100)."""
    m = torch.zeros(n, size, size, device=device)
    step, wibble = size, 100.0

    def wibbled_mean(a: torch.Tensor) -> torch.Tensor:
        noise = torch.rand(a.shape, generator=g, device=device) * 2 * wibble - wibble
        return a / 4 + wibble * noise

    while step >= 2:
        half = step // 2
        corner = m[:, 0:size:step, 0:size:step]
        square = corner + torch.roll(corner, -1, dims=1)
        square = square + torch.roll(square, -1, dims=2)
        m[:, half:size:step, half:size:step] = wibbled_mean(square)
        dr = m[:, half:size:step, half:size:step]
        ul = m[:, 0:size:step, 0:size:step]
        left = (dr + torch.roll(dr, 1, dims=1)) + (ul + torch.roll(ul, -1, dims=2))
        m[:, 0:size:step, half:size:step] = wibbled_mean(left)
        top = (dr + torch.roll(dr, 1, dims=2)) + (ul + torch.roll(ul, -1, dims=1))
        m[:, half:size:step, 0:size:step] = wibbled_mean(top)
        step //= 2
        wibble /= wibble_decay
    m = m - m.amin(dim=(1, 2), keepdim=True)
    return m / m.amax(dim=(1, 2), keepdim=True)


def fog_blend(u: torch.Tensor, strength: float, plasma: torch.Tensor) -> torch.Tensor:
    """The recipe's fog on [0, 1] images u (N, 3, H, W) with height maps (N, H, W): add the map
    times `strength`, then rescale so that the image's old maximum stays where it was."""
    top = u.amax(dim=(1, 2, 3), keepdim=True)
    return (u + strength * plasma[:, None].to(u.dtype)) * top / (top + strength)


def fog(x: torch.Tensor, c: tuple[float, float], g: torch.Generator) -> torch.Tensor:
    """A plasma-fractal haze of strength c[0] and roughness c[1] (`wibble_decay`)."""
    size = 1 << math.ceil(math.log2(max(x.shape[-2:])))
    plasma = plasma_fractal(x.shape[0], size, c[1], g, device=x.device)[:, : x.shape[-2], : x.shape[-1]]
    return fog_blend(_unit(x), c[0], plasma)


# --- digital ----------------------------------------------------------------------------


def rgb_to_hsv(u: torch.Tensor) -> torch.Tensor:
    """scikit-image's rgb2hsv on (N, 3, H, W) in [0, 1]: hue, saturation and value, each in [0, 1]."""
    r, g, b = u.unbind(dim=1)
    v = u.amax(dim=1)
    delta = v - u.amin(dim=1)
    safe = torch.where(delta == 0, torch.ones_like(delta), delta)
    s = torch.where(delta == 0, torch.zeros_like(v), delta / torch.where(v == 0, torch.ones_like(v), v))
    h = torch.where(b == v, 4.0 + (r - g) / safe, torch.zeros_like(v))  # later lines win, as in scikit-image
    h = torch.where(g == v, 2.0 + (b - r) / safe, h)
    h = torch.where(r == v, (g - b) / safe, h)
    h = torch.where(delta == 0, torch.zeros_like(h), torch.remainder(h / 6.0, 1.0))
    return torch.stack((h, s, v), dim=1)


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """scikit-image's hsv2rgb on (N, 3, H, W)."""
    h, s, v = hsv.unbind(dim=1)
    hi = torch.floor(h * 6)
    f = h * 6 - hi
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    sector = torch.remainder(hi, 6).long()  # (N, H, W)
    parts = torch.stack((v, t, p, q))  # (4, N, H, W)
    channel = _HSV_SECTORS.to(sector.device)[:, sector]  # (3, N, H, W): the part r, g and b take
    return torch.gather(parts, 0, channel).movedim(0, 1).contiguous()


# Per sector 0..5 of the hue, the part (v, t, p, q = 0, 1, 2, 3) that r, g and b take, as in scikit-image.
_HSV_SECTORS = torch.tensor([[0, 3, 2, 2, 1, 0], [1, 0, 0, 3, 2, 2], [2, 2, 1, 0, 0, 3]])


def brightness(x: torch.Tensor, c: float, g: torch.Generator) -> torch.Tensor:
    """Add c to the HSV value channel (clipped to 1)."""
    hsv = rgb_to_hsv(_unit(x, exact=True))
    hsv[:, 2] = (hsv[:, 2] + c).clamp(0, 1)
    return hsv_to_rgb(hsv)


def saturate(x: torch.Tensor, c: tuple[float, float], g: torch.Generator) -> torch.Tensor:
    """Scale the HSV saturation by c[0] and add c[1] (clipped to [0, 1])."""
    hsv = rgb_to_hsv(_unit(x, exact=True))
    hsv[:, 1] = (hsv[:, 1] * c[0] + c[1]).clamp(0, 1)
    return hsv_to_rgb(hsv)


def contrast(x: torch.Tensor, c: float, g: torch.Generator) -> torch.Tensor:
    """Pull every channel towards its mean over the image by the factor c."""
    u = _unit(x)
    mean = u.mean(dim=(2, 3), keepdim=True)
    return (u - mean) * c + mean


def jpeg_compression(x: torch.Tensor, quality: int, g: torch.Generator) -> torch.Tensor:
    """Encode as JPEG at `quality` and decode (libjpeg on the CPU, as Pillow does)."""
    from torchvision.io import decode_jpeg, encode_jpeg  # local: torchvision.io is slow to import

    images = list(x.cpu().contiguous())
    return torch.stack(decode_jpeg(encode_jpeg(images, quality=quality))).to(x.device)


def box_resize_matrix(in_size: int, out_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pillow's BOX resampling of one axis: which input pixels each output pixel averages, as an (out, in)
    0/1 matrix, and the weight each of them gets, in Pillow's 22-bit fixed point, per output pixel (out,).

    Each output pixel averages the input pixels whose centres fall in its footprint (`precompute_coeffs`
    in Pillow's Resample.c), all with the same weight 1/n, rounded to fixed point."""
    scale = in_size / out_size
    filter_scale = max(scale, 1.0)
    support = 0.5 * filter_scale
    taps = torch.zeros(out_size, in_size)
    weight = torch.zeros(out_size, dtype=torch.int64)
    for o in range(out_size):
        center = (o + 0.5) * scale
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), in_size)
        inside = [i for i in range(lo, hi) if -0.5 < (i - center + 0.5) * (1.0 / filter_scale) <= 0.5]
        taps[o, inside] = 1.0
        weight[o] = int(0.5 + (1.0 / len(inside)) * (1 << 22))
    return taps, weight


def _box_pass(x: torch.Tensor, in_size: int, out_size: int, dim: int) -> torch.Tensor:
    """One Pillow resampling pass along `dim` (-1: width, -2: height) of uint8 images, in integers as Pillow's
    8-bit path: the sum of the taps (exact in float32) times the fixed-point weight, rounded, clipped."""
    taps, weight = (t.to(x.device) for t in box_resize_matrix(in_size, out_size))
    sums = (torch.movedim(x, dim, -1).float() @ taps.T).long()  # at most 255 * 32: exact
    out = ((sums * weight + (1 << 21)) >> 22).clamp(0, 255).to(torch.uint8)
    return torch.movedim(out, -1, dim)


def pixelate(x: torch.Tensor, c: float, g: torch.Generator) -> torch.Tensor:
    """Shrink to int(size * c) with Pillow's BOX filter and blow up again with it (width, then height)."""
    h, w = x.shape[-2:]
    small_h, small_w = int(h * c), int(w * c)
    for (rows, cols), (new_h, new_w) in (((h, w), (small_h, small_w)), ((small_h, small_w), (h, w))):
        x = _box_pass(_box_pass(x, cols, new_w, -1), rows, new_h, -2)
    return x


# --- the table --------------------------------------------------------------------------

# Per-severity parameters of make_cifar_c.py (CIFAR-10-C, 32x32 images), severities 1..5.
CORRUPTIONS: dict[str, Corruption] = {
    c.name: c
    for c in (
        Corruption("gaussian_noise", "noise", (0.04, 0.06, 0.08, 0.09, 0.10), gaussian_noise, True),
        Corruption("shot_noise", "noise", (500, 250, 100, 75, 50), shot_noise, True),
        Corruption("impulse_noise", "noise", (0.01, 0.02, 0.03, 0.05, 0.07), impulse_noise, True),
        Corruption("speckle_noise", "noise", (0.06, 0.1, 0.12, 0.16, 0.2), speckle_noise, True),
        Corruption("defocus_blur", "blur", ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)), defocus_blur,
                   False),
        Corruption("gaussian_blur", "blur", (0.4, 0.6, 0.7, 0.8, 1.0), gaussian_blur, False),
        Corruption("fog", "weather", ((0.2, 3), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75)), fog, True),
        Corruption("brightness", "digital", (0.05, 0.1, 0.15, 0.2, 0.3), brightness, False),
        Corruption("contrast", "digital", (0.75, 0.5, 0.4, 0.3, 0.15), contrast, False),
        Corruption("saturate", "digital", ((0.3, 0), (0.1, 0), (1.5, 0), (2, 0.1), (2.5, 0.2)), saturate, False),
        Corruption("pixelate", "digital", (0.95, 0.9, 0.85, 0.75, 0.65), pixelate, False),
        Corruption("jpeg_compression", "digital", (80, 65, 58, 50, 40), jpeg_compression, False),
    )
}  # fmt: skip


def corrupt(x: torch.Tensor, name: str, severity: int, generator: torch.Generator) -> torch.Tensor:
    """uint8 images (N, 3, H, W) corrupted by `name` at `severity` (1..5), as uint8 on the same device.

    Floats are clipped to [0, 1] and truncated to 0..255, as the recipe's `np.uint8(...)` does.
    `generator` must live on the images' device; the deterministic corruptions ignore it.
    """
    spec = CORRUPTIONS[name]
    out = spec.apply(x, spec.params[severity - 1], generator)
    if out.dtype == torch.uint8:
        return out
    return (out.clamp(0.0, 1.0) * 255.0).to(torch.uint8)
