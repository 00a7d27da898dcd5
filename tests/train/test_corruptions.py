"""The built-in corruptions against the CIFAR-10-C recipe (`cifar_c_reference`, a port of make_cifar_c.py).

Tolerances: JPEG and pixelate are bit-exact with Pillow. The other deterministic corruptions equal the
recipe's `np.uint8(...)` of its float result, except where that float lies within 1e-4 of a whole grey
level: there the last bits of the arithmetic (float32 kernels, summation order) decide the truncation,
and the two may differ by one level. The random ones are compared by their noise statistics on the
same images, image by image (paired), within 4 standard errors.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mixup_bench.train import corruptions as C
from tests.train import cifar_c_reference as ref

DETERMINISTIC = ("defocus_blur", "gaussian_blur", "contrast", "brightness", "saturate", "pixelate", "jpeg_compression")
EXACT = ("pixelate", "jpeg_compression")
NOISE = ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise")


def natural_images(n: int = 48, seed: int = 0) -> torch.Tensor:
    """uint8 (n, 3, 32, 32): smooth colour gradients, a bright disc, texture, flat grey patches, pure black and
    white pixels: what the corruptions' edge cases need (hue sectors, zero saturation, clipping)."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 32), torch.linspace(0, 1, 32), indexing="ij")
    images = []
    for _ in range(n):
        a, b, c = torch.rand(3, 3, 1, 1, generator=g)
        base = a * xx + b * yy + c * (1 - xx) * yy  # (3, 32, 32)
        cy, cx, r = torch.rand(3, generator=g)
        disc = ((yy - cy) ** 2 + (xx - cx) ** 2 < (0.1 + 0.2 * r) ** 2).float()
        img = 0.7 * base / base.amax().clamp(min=1e-3) + 0.3 * disc + 0.05 * torch.randn(3, 32, 32, generator=g)
        img[:, :4, :4] = 0.5  # grey: delta == 0 in HSV
        img[:, -3:, -3:] = 0.0
        img[:, :2, -2:] = 1.0
        images.append((img.clamp(0, 1) * 255).round().to(torch.uint8))
    return torch.stack(images)


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return natural_images()


def reference(images: torch.Tensor, name: str, severity: int, seed: int = 0) -> torch.Tensor:
    hwc = images.permute(0, 2, 3, 1).numpy()
    out = ref.corrupt(hwc, name, severity, np.random.default_rng(seed))
    return torch.from_numpy(out).permute(0, 3, 1, 2)


def ours(images: torch.Tensor, name: str, severity: int, seed: int = 0) -> torch.Tensor:
    return C.corrupt(images, name, severity, torch.Generator().manual_seed(seed))


def test_the_table_has_the_recipe_parameters_and_every_family():
    assert len(C.CORRUPTIONS) >= 8
    assert {c.family for c in C.CORRUPTIONS.values()} == {"noise", "blur", "weather", "digital"}
    for name, spec in C.CORRUPTIONS.items():
        assert list(spec.params) == ref.PARAMS[name], name
        assert len(spec.params) == len(C.SEVERITIES)


@pytest.mark.parametrize("severity", C.SEVERITIES)
@pytest.mark.parametrize("name", DETERMINISTIC)
def test_deterministic_corruptions_match_the_recipe(images, name, severity):
    got = ours(images, name, severity)
    assert got.dtype == torch.uint8 and got.shape == images.shape
    assert not torch.equal(got, images)  # it did something
    if name in EXACT:
        assert torch.equal(got, reference(images, name, severity))
        return
    hwc = images.permute(0, 2, 3, 1).numpy()
    exact = torch.from_numpy(ref.corrupt(hwc, name, severity, np.random.default_rng(0), exact=True))
    want = exact.clamp(0, 255).permute(0, 3, 1, 2)
    on_a_level = (want - want.round()).abs() < 1e-4
    assert torch.equal(got.double()[~on_a_level], want.floor()[~on_a_level])
    assert float((got.double() - want.floor()).abs().max()) <= 1
    assert float((got.double() != want.floor()).double().mean()) <= 0.02  # such ties are rare


@pytest.mark.parametrize("severity", (1, 3, 5))
def test_fog_blend_matches_the_recipe_on_the_same_height_map(images, severity):
    strength, decay = ref.PARAMS["fog"][severity - 1]
    plasma = C.plasma_fractal(len(images), 32, decay, torch.Generator().manual_seed(1))
    got = (C.fog_blend(images.float() / 255, strength, plasma.float()).clamp(0, 1) * 255).to(torch.uint8)
    want = np.stack(
        [
            np.uint8(ref.fog(img, (strength, decay), None, plasma=p))
            for img, p in zip(images.permute(0, 2, 3, 1).numpy(), plasma.numpy(), strict=True)
        ]  # fmt: skip
    )
    diff = (got.int() - torch.from_numpy(want).permute(0, 3, 1, 2).int()).abs()
    assert int(diff.max()) <= 1 and float((diff == 0).float().mean()) >= 0.99


def _map_stats(maps: np.ndarray) -> np.ndarray:
    """Per map: mean, std, mean absolute difference of horizontal neighbours (roughness)."""
    return np.stack([maps.mean(axis=(1, 2)), maps.std(axis=(1, 2)), np.abs(np.diff(maps, axis=2)).mean(axis=(1, 2))], 1)


@pytest.mark.parametrize("decay", (3.0, 1.75))
def test_plasma_fractal_has_the_recipes_statistics(decay):
    n = 400
    got = _map_stats(C.plasma_fractal(n, 32, decay, torch.Generator().manual_seed(0)).numpy())
    rng = np.random.default_rng(0)
    want = _map_stats(np.stack([ref.plasma_fractal(rng, 32, decay) for _ in range(n)]))
    se = np.sqrt(got.var(axis=0) / n + want.var(axis=0) / n)
    assert np.all(np.abs(got.mean(axis=0) - want.mean(axis=0)) < 4 * se)
    assert got.min() >= 0 and got[:, 0].max() <= 1


def _noise_stats(clean: torch.Tensor, noisy: torch.Tensor) -> dict[str, np.ndarray]:
    """Per image: mean and std of the change (grey levels), and the shares of values changed, black, white."""
    r = (noisy.double() - clean.double()).flatten(1)
    return {
        "mean change": r.mean(1).numpy(),
        "std of the change": r.std(1).numpy(),
        "share changed": (r != 0).double().mean(1).numpy(),
        "share black": (noisy == 0).flatten(1).double().mean(1).numpy(),
        "share white": (noisy == 255).flatten(1).double().mean(1).numpy(),
    }


def assert_same_statistics(got: dict, want: dict) -> None:
    """Each statistic's mean over images agrees within 4 standard errors of the paired per-image differences."""
    for key in got:
        d = got[key] - want[key]
        se = d.std(ddof=1) / np.sqrt(len(d))
        assert abs(d.mean()) <= 4 * se + 1e-9, (key, float(got[key].mean()), float(want[key].mean()))


@pytest.mark.parametrize("severity", (1, 5))
@pytest.mark.parametrize("name", NOISE)
def test_noise_corruptions_match_the_recipes_statistics(images, name, severity):
    got = _noise_stats(images, ours(images, name, severity, seed=3))
    want = _noise_stats(images, reference(images, name, severity, seed=3))
    assert_same_statistics(got, want)
    assert got["share changed"].mean() > 0.005


def test_noise_statistics_tell_the_severities_apart(images):
    """The statistical comparison has power: severity 2 is not taken for severity 1."""
    got = _noise_stats(images, ours(images, "gaussian_noise", 2, seed=3))
    want = _noise_stats(images, reference(images, "gaussian_noise", 1, seed=3))
    with pytest.raises(AssertionError):
        assert_same_statistics(got, want)


def test_fog_matches_the_recipes_statistics(images):
    assert_same_statistics(
        _noise_stats(images, ours(images, "fog", 4, seed=5)), _noise_stats(images, reference(images, "fog", 4, seed=5))
    )


@pytest.mark.parametrize("name", sorted(C.CORRUPTIONS))
def test_the_same_generator_state_gives_the_same_images(images, name):
    a, b = ours(images[:8], name, 3, seed=7), ours(images[:8], name, 3, seed=7)
    assert torch.equal(a, b)
    other = ours(images[:8], name, 3, seed=8)
    assert torch.equal(a, other) is not C.CORRUPTIONS[name].random


def test_severity_makes_every_corruption_stronger(images):
    for name in C.CORRUPTIONS:
        change = [float((ours(images, name, s).float() - images.float()).abs().mean()) for s in C.SEVERITIES]
        assert change[-1] > change[0], name


# --- the reference's stand-ins against the libraries make_cifar_c.py calls, where installed ------


@pytest.mark.parametrize("radius, blur", ref.PARAMS["defocus_blur"])
def test_reference_disk_is_opencvs(radius, blur):
    cv2 = pytest.importorskip("cv2")
    L = np.arange(-8, 9)
    X, Y = np.meshgrid(L, L)
    d = np.array((X**2 + Y**2) <= radius**2, dtype=np.float32)
    d /= d.sum()
    np.testing.assert_allclose(ref.disk(radius, blur), cv2.GaussianBlur(d, ksize=(3, 3), sigmaX=blur), atol=1e-6)
    ours_k = C.disk_kernel(radius, blur).numpy()
    r = ours_k.shape[0] // 2
    np.testing.assert_allclose(ours_k, ref.disk(radius, blur)[8 - r : 9 + r, 8 - r : 9 + r], atol=1e-7)
    assert ref.disk(radius, blur).sum() == pytest.approx(ours_k.sum())


def test_reference_filter2d_and_hsv_are_the_libraries(images):
    cv2 = pytest.importorskip("cv2")
    color = pytest.importorskip("skimage.color")
    filters = pytest.importorskip("skimage.filters")
    x = images[:6].permute(0, 2, 3, 1).numpy() / 255.0
    k = ref.disk(1.5, 0.1)
    for img in x:
        np.testing.assert_allclose(
            np.stack([cv2.filter2D(img[:, :, d], -1, k) for d in range(3)], -1),
            np.stack([ref.ndimage.correlate(img[:, :, d], k, mode="mirror") for d in range(3)], -1),
            atol=1e-6,
        )
        np.testing.assert_allclose(ref.rgb2hsv(img), color.rgb2hsv(img), atol=1e-12)
        np.testing.assert_allclose(ref.hsv2rgb(ref.rgb2hsv(img)), color.hsv2rgb(color.rgb2hsv(img)), atol=1e-12)
        np.testing.assert_allclose(
            ref.ndimage.gaussian_filter(img, sigma=(0.8, 0.8, 0), mode="nearest", truncate=4.0),
            filters.gaussian(img, sigma=0.8, channel_axis=-1),
            atol=1e-12,
        )


def test_reference_salt_and_pepper_is_scikit_images():
    util = pytest.importorskip("skimage.util")
    img = np.full((64, 64, 3), 0.5)
    theirs = util.random_noise(img, mode="s&p", amount=0.07, rng=0)
    mine = ref.random_noise_sp(img, 0.07, np.random.default_rng(0))
    for v in (0.0, 1.0, 0.5):
        assert abs((theirs == v).mean() - (mine == v).mean()) < 0.01
