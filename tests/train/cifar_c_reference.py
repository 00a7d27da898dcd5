"""The reference the built-in corruptions are checked against: Hendrycks' `make_cifar_c.py` (the script that
made CIFAR-10-C), ported line by line to NumPy, SciPy and Pillow, one HWC image at a time in float64.

Where the script calls OpenCV or scikit-image (the defocus disk, cv2.filter2D, rgb2hsv/hsv2rgb,
random_noise, gaussian) the port uses SciPy or NumPy formulas instead, so that the tests need no
extra package; `test_corruptions.py` checks those stand-ins against OpenCV and scikit-image
themselves where they are installed. JPEG and pixelate call Pillow, exactly as the script does.
Random draws come from a `numpy.random.Generator` instead of the global NumPy state.
"""

from __future__ import annotations

from io import BytesIO

import numpy as np
from PIL import Image
from scipy import ndimage

# Per-severity parameters, copied from make_cifar_c.py (CIFAR-10-C, 32x32) independently of the package's table.
PARAMS = {
    "gaussian_noise": [0.04, 0.06, 0.08, 0.09, 0.10],
    "shot_noise": [500, 250, 100, 75, 50],
    "impulse_noise": [0.01, 0.02, 0.03, 0.05, 0.07],
    "speckle_noise": [0.06, 0.1, 0.12, 0.16, 0.2],
    "gaussian_blur": [0.4, 0.6, 0.7, 0.8, 1],
    "defocus_blur": [(0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)],
    "fog": [(0.2, 3), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75)],
    "contrast": [0.75, 0.5, 0.4, 0.3, 0.15],
    "brightness": [0.05, 0.1, 0.15, 0.2, 0.3],
    "saturate": [(0.3, 0), (0.1, 0), (1.5, 0), (2, 0.1), (2.5, 0.2)],
    "jpeg_compression": [80, 65, 58, 50, 40],
    "pixelate": [0.95, 0.9, 0.85, 0.75, 0.65],
}


# --- stand-ins for OpenCV and scikit-image ------------------------------------------------


def cv2_gaussian_kernel(ksize: int, sigma: float) -> np.ndarray:
    """cv2.getGaussianKernel(ksize, sigma) for sigma > 0."""
    x = np.arange(ksize) - (ksize - 1) * 0.5
    k = np.exp(-0.5 * x**2 / sigma**2)
    return k / k.sum()


def disk(radius, alias_blur=0.1, dtype=np.float32):
    """make_cifar_c.disk, with cv2.GaussianBlur((3, 3), alias_blur) written out (zero border: the disk never
    reaches the 17x17 grid's edge at CIFAR's radii)."""
    L = np.arange(-8, 8 + 1)
    X, Y = np.meshgrid(L, L)
    aliased_disk = np.array((X**2 + Y**2) <= radius**2, dtype=dtype)
    aliased_disk /= np.sum(aliased_disk)
    k = cv2_gaussian_kernel(3, alias_blur)
    return ndimage.correlate(aliased_disk.astype(np.float64), np.outer(k, k), mode="constant")


def rgb2hsv(arr: np.ndarray) -> np.ndarray:
    """skimage.color.rgb2hsv."""
    out_v = arr.max(-1)
    delta = np.ptp(arr, -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out_s = delta / out_v
        out_s[delta == 0.0] = 0.0
        out_h = np.zeros_like(out_v)
        idx = arr[..., 0] == out_v
        out_h[idx] = (arr[idx, 1] - arr[idx, 2]) / delta[idx]
        idx = arr[..., 1] == out_v
        out_h[idx] = 2.0 + (arr[idx, 2] - arr[idx, 0]) / delta[idx]
        idx = arr[..., 2] == out_v
        out_h[idx] = 4.0 + (arr[idx, 0] - arr[idx, 1]) / delta[idx]
    out_h = (out_h / 6.0) % 1.0
    out_h[delta == 0.0] = 0.0
    return np.stack([out_h, out_s, out_v], axis=-1)


def hsv2rgb(arr: np.ndarray) -> np.ndarray:
    """skimage.color.hsv2rgb."""
    hi = np.floor(arr[..., 0] * 6)
    f = arr[..., 0] * 6 - hi
    p = arr[..., 2] * (1 - arr[..., 1])
    q = arr[..., 2] * (1 - f * arr[..., 1])
    t = arr[..., 2] * (1 - (1 - f) * arr[..., 1])
    v = arr[..., 2]
    hi = np.stack([hi, hi, hi], axis=-1).astype(np.uint8) % 6
    choices = [np.stack(c, axis=-1) for c in ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))]
    return np.choose(hi, np.stack(choices))


def random_noise_sp(image: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    """skimage.util.random_noise(image, mode='s&p', amount=amount) for an image in [0, 1]."""
    out = image.copy()
    flipped = rng.random(image.shape) < amount
    salted = rng.random(image.shape) < 0.5
    out[flipped & salted] = 1.0
    out[flipped & ~salted] = 0.0
    return out


def plasma_fractal(rng: np.random.Generator, mapsize=32, wibbledecay=3) -> np.ndarray:
    """make_cifar_c.plasma_fractal."""
    maparray = np.empty((mapsize, mapsize), dtype=np.float64)
    maparray[0, 0] = 0
    stepsize = mapsize
    wibble = 100

    def wibbledmean(array):
        return array / 4 + wibble * rng.uniform(-wibble, wibble, array.shape)

    def fillsquares():
        cornerref = maparray[0:mapsize:stepsize, 0:mapsize:stepsize]
        squareaccum = cornerref + np.roll(cornerref, shift=-1, axis=0)
        squareaccum += np.roll(squareaccum, shift=-1, axis=1)
        maparray[stepsize // 2 : mapsize : stepsize, stepsize // 2 : mapsize : stepsize] = wibbledmean(squareaccum)

    def filldiamonds():
        drgrid = maparray[stepsize // 2 : mapsize : stepsize, stepsize // 2 : mapsize : stepsize]
        ulgrid = maparray[0:mapsize:stepsize, 0:mapsize:stepsize]
        ltsum = (drgrid + np.roll(drgrid, 1, axis=0)) + (ulgrid + np.roll(ulgrid, -1, axis=1))
        maparray[0:mapsize:stepsize, stepsize // 2 : mapsize : stepsize] = wibbledmean(ltsum)
        ttsum = (drgrid + np.roll(drgrid, 1, axis=1)) + (ulgrid + np.roll(ulgrid, -1, axis=0))
        maparray[stepsize // 2 : mapsize : stepsize, 0:mapsize:stepsize] = wibbledmean(ttsum)

    while stepsize >= 2:
        fillsquares()
        filldiamonds()
        stepsize //= 2
        wibble /= wibbledecay

    maparray -= maparray.min()
    return maparray / maparray.max()


# --- the corruptions (x: PIL image; returns floats on the 0..255 scale, or a PIL image) ----------


def gaussian_noise(x, c, rng):
    x = np.array(x) / 255.0
    return np.clip(x + rng.normal(size=x.shape, scale=c), 0, 1) * 255


def shot_noise(x, c, rng):
    x = np.array(x) / 255.0
    return np.clip(rng.poisson(x * c) / c, 0, 1) * 255


def impulse_noise(x, c, rng):
    x = random_noise_sp(np.array(x) / 255.0, c, rng)
    return np.clip(x, 0, 1) * 255


def speckle_noise(x, c, rng):
    x = np.array(x) / 255.0
    return np.clip(x + x * rng.normal(size=x.shape, scale=c), 0, 1) * 255


def gaussian_blur(x, c, rng):
    # skimage.filters.gaussian(..., channel_axis=-1) is scipy's gaussian_filter, mode 'nearest', truncate 4.
    x = ndimage.gaussian_filter(np.array(x) / 255.0, sigma=(c, c, 0), mode="nearest", truncate=4.0)
    return np.clip(x, 0, 1) * 255


def defocus_blur(x, c, rng):
    x = np.array(x) / 255.0
    kernel = disk(radius=c[0], alias_blur=c[1])
    # cv2.filter2D correlates with BORDER_REFLECT_101, which is SciPy's 'mirror'.
    channels = np.stack([ndimage.correlate(x[:, :, d], kernel, mode="mirror") for d in range(3)], axis=-1)
    return np.clip(channels, 0, 1) * 255


def fog(x, c, rng, plasma=None):
    x = np.array(x) / 255.0
    max_val = x.max()
    plasma = plasma_fractal(rng, wibbledecay=c[1]) if plasma is None else plasma
    x += c[0] * plasma[:32, :32][..., np.newaxis]
    return np.clip(x * max_val / (max_val + c[0]), 0, 1) * 255


def contrast(x, c, rng):
    x = np.array(x) / 255.0
    means = np.mean(x, axis=(0, 1), keepdims=True)
    return np.clip((x - means) * c + means, 0, 1) * 255


def brightness(x, c, rng):
    x = np.array(x) / 255.0
    x = rgb2hsv(x)
    x[:, :, 2] = np.clip(x[:, :, 2] + c, 0, 1)
    x = hsv2rgb(x)
    return np.clip(x, 0, 1) * 255


def saturate(x, c, rng):
    x = np.array(x) / 255.0
    x = rgb2hsv(x)
    x[:, :, 1] = np.clip(x[:, :, 1] * c[0] + c[1], 0, 1)
    x = hsv2rgb(x)
    return np.clip(x, 0, 1) * 255


def jpeg_compression(x, c, rng):
    output = BytesIO()
    x.save(output, "JPEG", quality=c)
    return Image.open(output)


def pixelate(x, c, rng):
    x = x.resize((int(32 * c), int(32 * c)), Image.BOX)
    return x.resize((32, 32), Image.BOX)


FUNCTIONS = {
    f.__name__: f
    for f in (gaussian_noise, shot_noise, impulse_noise, speckle_noise, gaussian_blur, defocus_blur, fog, contrast,
              brightness, saturate, jpeg_compression, pixelate)
}  # fmt: skip


def corrupt(images: np.ndarray, name: str, severity: int, rng: np.random.Generator, exact: bool = False) -> np.ndarray:
    """uint8 images (N, 32, 32, 3) corrupted as the script stores them: `np.uint8(corruption(img))`.
    With `exact`, the values before that truncation (float64 on the 0..255 scale) instead."""
    f, c = FUNCTIONS[name], PARAMS[name][severity - 1]
    out = [f(Image.fromarray(img), c, rng) for img in images]
    return np.stack([np.asarray(o, dtype=np.float64) if exact else np.uint8(o) for o in out])
