"""The new mixing methods against their reference implementations (tests/train/method_references.py):
the same inputs and the same random draws (replayed from a twin generator, then injected into the
reference), bit-exact or within float tolerance; and the Mixer contract (shapes, generator only)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from mixup_bench.train.methods.fmix import FMix, fourier_frequencies, low_freq_image
from mixup_bench.train.methods.gridmix import GridMix
from mixup_bench.train.methods.regmixup import RegMixup
from mixup_bench.train.methods.resizemix import ResizeMix
from mixup_bench.train.methods.saliencymix import SaliencyMix, spectral_residual
from mixup_bench.train.methods.smoothmix import SmoothMix
from mixup_bench.train.mixup import mixed_correct, sample_lam
from tests.train import method_references as ref

MIXERS = {
    "fmix": lambda g: FMix(1.0, g),
    "resizemix": lambda g: ResizeMix(0.8, g),
    "saliencymix": lambda g: SaliencyMix(1.0, g),
    "gridmix": lambda g: GridMix(1.0, g),
    "smoothmix": lambda g: SmoothMix(0.5, g),
    "regmixup": lambda g: RegMixup(20.0, g),
}


def _batch(b: int = 8, seed: int = 0, side: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, 3, side, side, generator=g), torch.randint(0, 10, (b,), generator=g)


def _u(g: torch.Generator) -> float:
    return float(torch.rand((), generator=g, dtype=torch.float64))


# --- the Mixer contract --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(MIXERS))
def test_draws_only_from_its_generator_and_keeps_the_shapes(name):
    x, y = _batch()
    state = torch.random.get_rng_state()
    np_state = np.random.get_state()[1].copy()
    batch = MIXERS[name](torch.Generator().manual_seed(3))(x, y)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert np.array_equal(np.random.get_state()[1], np_state)
    rows = 2 * x.shape[0] if name == "regmixup" else x.shape[0]
    assert batch.x.shape == (rows, *x.shape[1:]) and batch.x.dtype == x.dtype
    assert batch.y_a.shape == batch.y_b.shape == (rows,)
    assert 0.0 <= batch.lam_value <= 1.0
    torch.manual_seed(999)  # the global RNG must not matter
    again = MIXERS[name](torch.Generator().manual_seed(3))(x, y)
    assert torch.equal(again.x, batch.x) and again.lam == batch.lam


@pytest.mark.parametrize("name", sorted(MIXERS))
def test_runs_a_forward_and_a_loss_with_gradients(name):
    x, y = _batch()
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 10))
    mixer = MIXERS[name](torch.Generator().manual_seed(1))
    batch = mixer(x, y)
    logits = mixer.logits(model, batch)
    loss = mixer.loss(logits, batch)
    loss.backward()
    assert loss.dim() == 0 and torch.isfinite(loss)
    assert 0 <= float(mixed_correct(logits, batch.y_a, batch.y_b, batch.lam)) <= x.shape[0]


# --- FMix: ecs-vlc/FMix ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_fmix_equals_the_reference_for_the_same_draws(seed):
    x, y = _batch(seed=seed)
    batch = FMix(1.0, torch.Generator().manual_seed(seed))(x, y)
    g = torch.Generator().manual_seed(seed)  # replay: lam, the Fourier noise, the coin, the pairing
    lam = sample_lam(1.0, g)
    noise = torch.randn((1, *fourier_frequencies(32, 32).shape, 2), generator=g, dtype=torch.float64)
    coin = _u(g)
    perm = torch.randperm(8, generator=g)
    mixed, _, ref_lam, mask = ref.fmix_sample_and_apply(
        x.double().numpy(), lam, 3, (32, 32), param=noise.numpy(), coin=coin, index=perm.numpy()
    )
    assert torch.equal(batch.x, torch.from_numpy(mixed).float())  # binary mask: each pixel is x or x[perm]
    assert batch.lam == ref_lam and torch.equal(batch.perm, perm)
    assert torch.equal(batch.y_b, y[perm])
    assert float(mask.mean()) == pytest.approx(lam, abs=1 / 1024)


@pytest.mark.parametrize("shape", [(32, 32), (31, 29), (8, 16)])
def test_fmix_low_frequency_image_equals_the_reference(shape):
    noise = torch.randn((1, *fourier_frequencies(*shape).shape, 2), generator=torch.Generator().manual_seed(0))
    ours = low_freq_image(noise.double(), 3.0, *shape)
    theirs = ref.make_low_freq_image(3, shape, param=noise.double().numpy())[0]
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=0, atol=1e-12)


def test_fmix_mask_area_follows_beta_alpha_alpha():
    g = torch.Generator().manual_seed(0)
    mixer = FMix(1.0, g)
    areas = [float(mixer.mask(sample_lam(1.0, g), 16, 16).mean()) for _ in range(400)]
    assert stats.kstest(areas, stats.beta(1.0, 1.0).cdf).pvalue > 1e-3


# --- ResizeMix: openmixup --------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
def test_resizemix_equals_openmixup_for_the_same_draws(seed):
    x, y = _batch(seed=seed)
    batch = ResizeMix(0.8, torch.Generator().manual_seed(seed))(x, y)
    g = torch.Generator().manual_seed(seed)  # replay: the pairing, tau, cx, cy
    perm = torch.randperm(8, generator=g)
    tau = 0.1 + 0.7 * _u(g)
    cx, cy = int(torch.randint(32, (1,), generator=g)), int(torch.randint(32, (1,), generator=g))
    img, (y_a, y_b, lam) = ref.resizemix(x, y, rand_index=perm, tao=tau, cx=cx, cy=cy)
    assert torch.equal(batch.x, img)
    assert batch.lam == pytest.approx(float(lam), abs=0) and torch.equal(batch.y_b, y_b)


# --- GridMix: openmixup ----------------------------------------------------------------------


def _gridmix_case(seed: int):
    x, y = _batch(seed=seed)
    batch = GridMix(1.0, torch.Generator().manual_seed(seed))(x, y)
    g = torch.Generator().manual_seed(seed)  # replay: lam, n_holes, area, aspect, the pairing, cx, cy
    lam = sample_lam(1.0, g)
    n_holes = int(torch.randint(2, 7, (1,), generator=g))
    area, aspect = 0.5 + 0.5 * _u(g), 0.5 + 1.5 * _u(g)
    perm = torch.randperm(8, generator=g)
    cx, cy = _u(g), _u(g)
    draws = dict(lam=lam, rand_index=perm, n_holes=n_holes, hole_aspect_ratio=1.0)
    draws |= dict(cut_area_ratio=area, cut_aspect_ratio=aspect, cx=cx, cy=cy)
    return x, y, batch, draws


def test_gridmix_equals_openmixup_for_the_same_draws_where_its_crop_fits():
    fits = 0
    for seed in range(40):
        x, y, batch, draws = _gridmix_case(seed)
        cut_w = int(np.sqrt(int(1024 * draws["cut_area_ratio"]) / draws["cut_aspect_ratio"]))
        if cut_w > 32 or int(cut_w * draws["cut_aspect_ratio"]) > 32:
            continue  # the reference's crop leaves the image (its negative slices misplace holes)
        fits += 1
        img, (_, y_b, lam) = ref.gridmix(x, y, **draws)
        assert torch.equal(batch.x, img)
        assert batch.lam == pytest.approx(float(lam), abs=1e-7) and torch.equal(batch.y_b, y_b)
    assert fits >= 15


# --- SmoothMix: openmixup --------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
def test_smoothmix_mixes_as_openmixup_with_lam_the_originals_share(seed):
    x, y = _batch(seed=seed)
    batch = SmoothMix(0.5, torch.Generator().manual_seed(seed))(x, y)
    g = torch.Generator().manual_seed(seed)  # replay: the pairing, randint w, randint h, sigma
    perm = torch.randperm(8, generator=g)
    rw, rh = torch.randint(0, 32, (1,), generator=g), torch.randint(0, 32, (1,), generator=g)
    img, (_, y_b, lam) = ref.smoothmix(
        x, y, rand_index=perm, randint_w=rw, randint_h=rh, rand_sigma=torch.rand(1, generator=g)
    )
    torch.testing.assert_close(batch.x, img, rtol=0, atol=1e-6)
    assert torch.equal(batch.y_b, y_b)
    # openmixup's lam is the mask's mean, the partner's pixel share; here lam is the original's share.
    assert batch.lam == pytest.approx(1 - float(lam), abs=1e-6)
    # Image i a constant i: its pixels tell the partner's share, 1 - lam on average.
    flat = torch.arange(8.0).view(8, 1, 1, 1).expand(8, 1, 32, 32)
    mixed = SmoothMix(0.5, torch.Generator().manual_seed(seed))(flat, y)
    i = int(torch.nonzero(perm != torch.arange(8))[0])
    partner_share = (mixed.x[i] - i) / (int(perm[i]) - i)
    assert batch.lam == pytest.approx(1 - float(partner_share.mean()), abs=1e-5)


# --- SaliencyMix: the authors' code with OpenCV's spectral residual ----------------------------


def _images(n: int = 12) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    smooth = torch.nn.functional.avg_pool2d(torch.randn(n, 3, 36, 36, generator=g), 5, 1)
    return torch.cat([torch.randn(n, 3, 32, 32, generator=g), smooth])


def test_spectral_residual_equals_the_numpy_port_of_opencv():
    for image in _images():
        ours = spectral_residual(image).numpy()
        theirs = ref.spectral_residual_saliency(image.numpy().transpose(1, 2, 0))
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)


def test_spectral_residual_equals_opencv_where_installed():
    cv2 = pytest.importorskip("cv2")
    if not hasattr(cv2, "saliency"):
        pytest.skip("opencv-contrib (cv2.saliency) is not installed")
    for image in _images():
        _, theirs = cv2.saliency.StaticSaliencySpectralResidual_create().computeSaliency(
            image.numpy().transpose(1, 2, 0)
        )
        np.testing.assert_allclose(spectral_residual(image).numpy(), theirs, rtol=0, atol=2e-4)  # cv2's fast atan


@pytest.mark.parametrize("seed", range(10))
def test_saliencymix_equals_the_authors_code_for_the_same_draws(seed):
    x, y = _batch(seed=seed)
    batch = SaliencyMix(1.0, torch.Generator().manual_seed(seed))(x, y)
    g = torch.Generator().manual_seed(seed)  # replay: lam, the pairing
    lam = sample_lam(1.0, g)
    perm = torch.randperm(8, generator=g)
    img, _, y_b, ref_lam = ref.saliencymix(x, y, lam=lam, rand_index=perm)
    assert torch.equal(batch.x, img)
    assert batch.lam == pytest.approx(float(ref_lam), abs=0) and torch.equal(batch.y_b, y_b)


# --- RegMixup: FrancescoPinto/RegMixup ---------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_regmixup_loss_and_gradients_equal_the_reference(seed):
    x, y = _batch(seed=seed)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 10))
    mixer = RegMixup(20.0, torch.Generator().manual_seed(seed))
    batch = mixer(x, y)
    ours = mixer.loss(mixer.logits(model, batch), batch)
    (grad_ours,) = torch.autograd.grad(ours, model[1].weight)
    g = torch.Generator().manual_seed(seed)  # replay: lam, the pairing
    lam = sample_lam(20.0, g)
    perm = torch.randperm(8, generator=g)
    theirs = ref.regmixup_training_loss(model, x, y, lam=lam, index=perm)
    (grad_theirs,) = torch.autograd.grad(theirs, model[1].weight)
    torch.testing.assert_close(ours, theirs, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(grad_ours, grad_theirs, rtol=1e-5, atol=1e-7)
    clean = model(x).argmax(1)
    assert float(mixed_correct(model(batch.x), batch.y_a, batch.y_b, batch.lam)) == pytest.approx(
        float((clean == y).sum())
    )
