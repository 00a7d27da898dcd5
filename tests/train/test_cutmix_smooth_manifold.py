"""CutMix, label smoothing, Manifold MixUp (train/methods/{cutmix,smooth,manifold}.py) and per-sample lam against
reference implementations, and `build_mixer`: each method's own mixer, by name."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torchvision.transforms import v2

from mixup_bench.naming import BASELINE, CUTMIX, MANIFOLD, METHOD_NAMES, MIXUP, SMOOTH
from mixup_bench.train.methods import build_mixer
from mixup_bench.train.methods.cutmix import CutMix, cutmix_box, paste_box
from mixup_bench.train.methods.manifold import ManifoldMixUp
from mixup_bench.train.methods.smooth import LabelSmoothing
from mixup_bench.train.mixup import MixUp, mixed_correct, soft_cross_entropy, soft_targets
from mixup_bench.train.models import MODELS, build_model


def _batch(b: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, 3, 32, 32, generator=g), torch.randint(0, 10, (b,), generator=g)


@pytest.mark.parametrize("seed", range(6))
def test_cutmix_equals_torchvision_for_the_same_box_and_lam(seed):
    x, y = _batch()
    torch.manual_seed(seed)
    tv_x, tv_targets = v2.CutMix(alpha=1.0, num_classes=10)(x, y)
    # Replay torchvision's draws: lam ~ Beta(1, 1), then the box centre (column, then row).
    torch.manual_seed(seed)
    lam = float(torch.distributions.Beta(torch.tensor([1.0]), torch.tensor([1.0])).sample(()))
    cx, cy = int(torch.randint(32, (1,))), int(torch.randint(32, (1,)))
    perm = torch.arange(x.shape[0]).roll(1)  # torchvision pairs image i with image i-1
    ours, lam_adj = paste_box(x, perm, cutmix_box(lam, 32, 32, cy, cx))
    assert torch.equal(ours, tv_x)
    assert torch.allclose(soft_targets(y, y[perm], lam_adj, 10), tv_targets)


def test_cutmix_corrects_lam_to_the_clipped_box_area():
    # Centre in the corner: the asked-for box is clipped to a quarter of its size.
    box = cutmix_box(0.5, 32, 32, cy=0, cx=0)
    assert box == (0, 11, 0, 11)
    x = torch.zeros(2, 1, 32, 32)
    x[1] = 1.0
    mixed, lam = paste_box(x, torch.tensor([1, 0]), box)
    assert lam == pytest.approx(1 - 121 / 1024)
    assert float(mixed[0].mean()) == pytest.approx(1 - lam)  # the pasted share of image 0 is 1 - lam


def test_cutmix_draws_only_from_its_generator():
    x, y = _batch()
    torch.manual_seed(123)
    a = CutMix(1.0, torch.Generator().manual_seed(5))(x, y)
    torch.manual_seed(999)  # the global RNG must not matter
    b = CutMix(1.0, torch.Generator().manual_seed(5))(x, y)
    assert torch.equal(a.x, b.x) and a.lam == b.lam and torch.equal(a.y_b, b.y_b)
    assert 0.0 <= a.lam <= 1.0


@pytest.mark.parametrize("eps", [0.05, 0.1, 0.3])
def test_label_smoothing_equals_torch_cross_entropy(eps):
    x, y = _batch()
    logits = torch.randn(8, 10)
    smoother = LabelSmoothing(eps)
    batch = smoother(x, y)
    assert torch.equal(batch.x, x)  # no mixing
    assert torch.allclose(smoother.loss(logits, batch), F.cross_entropy(logits, y, label_smoothing=eps))
    assert not torch.allclose(smoother.loss(logits, batch), F.cross_entropy(logits, y))


@pytest.mark.parametrize("model_name", list(MODELS))
def test_manifold_mixup_at_the_input_equals_mixup(model_name):
    torch.manual_seed(0)
    model = build_model(model_name).eval()
    x, y = _batch(4)
    manifold = ManifoldMixUp(2.0, torch.Generator().manual_seed(7), model.stages(), layers=(0,))
    mixup = MixUp(2.0, torch.Generator().manual_seed(7))
    mb, xb = manifold(x, y), mixup(x, y)
    assert mb.lam == xb.lam and torch.equal(mb.y_b, xb.y_b)
    with torch.no_grad():
        assert torch.allclose(manifold.logits(model, mb), mixup.logits(model, xb), atol=1e-6)


@pytest.mark.parametrize("model_name", list(MODELS))
def test_manifold_mixup_mixes_hidden_states_at_every_drawn_stage(model_name):
    torch.manual_seed(0)
    model = build_model(model_name).eval()
    x, y = _batch(4)
    mixer = build_mixer("manifold", 2.0, torch.Generator().manual_seed(1), model)
    seen = set()
    with torch.no_grad():
        for _ in range(30):
            b = mixer(x, y)
            seen.add(b.layer)
            out = mixer.logits(model, b)
            assert out.shape == (4, 10) and torch.isfinite(out).all()
            if b.layer > 0:  # the input is untouched; the mix happens inside the network
                assert torch.equal(b.x, x)
                stages = model.stages()
                h = x
                for s in stages[: b.layer]:
                    h = s(h)
                h = b.lam * h + (1 - b.lam) * h[b.perm]
                for s in stages[b.layer :]:
                    h = s(h)
                assert torch.allclose(out, h, atol=1e-5)
    assert seen == {0, 1, 2}


def test_elem_mode_draws_one_lam_per_sample_and_matches_the_soft_target_loss():
    x, y = _batch(16)
    mixer = MixUp(0.4, torch.Generator().manual_seed(3), lam_mode="elem")
    b = mixer(x, y)
    assert isinstance(b.lam, torch.Tensor) and b.lam.shape == (16,)
    assert len(set(b.lam.tolist())) == 16  # independent draws
    w = b.lam.view(-1, 1, 1, 1)
    assert torch.allclose(b.x, w * x + (1 - w) * x[b.perm])
    logits = torch.randn(16, 10)
    soft = soft_cross_entropy(logits, soft_targets(b.y_a, b.y_b, b.lam, 10))
    assert torch.allclose(mixer.loss(logits, b), soft, atol=1e-6)
    pred = logits.argmax(1)
    expected = (b.lam * (pred == b.y_a)).sum() + ((1 - b.lam) * (pred == b.y_b)).sum()
    assert torch.allclose(mixed_correct(logits, b.y_a, b.y_b, b.lam), expected)
    assert b.lam_value == pytest.approx(float(b.lam.mean()))


def test_batch_mode_draws_one_lam_for_the_batch_and_elem_one_per_image():
    """The default is batch mode (the paper's): one float lam weighs every image; elem mode, from the same
    generator state, weighs each image by its own lam."""
    x, y = _batch(16)
    b = MixUp(0.4, torch.Generator().manual_seed(3))(x, y)
    assert isinstance(b.lam, float) and 0.0 < b.lam < 1.0
    assert torch.allclose(b.x, b.lam * x + (1 - b.lam) * x[b.perm], atol=1e-6)
    e = MixUp(0.4, torch.Generator().manual_seed(3), lam_mode="elem")(x, y)
    assert isinstance(e.lam, torch.Tensor) and not torch.allclose(e.x, b.lam * x + (1 - b.lam) * x[e.perm])


def test_every_method_has_its_own_mixer_registered_by_name():
    """Registration is by name: each method gets its own mixer class, whatever the order of METHOD_NAMES;
    label smoothing is a Mixer of its own, not a MixUp that happens not to mix."""
    model = build_model("small-cnn")
    g = torch.Generator().manual_seed(0)
    built = {m: build_mixer(m, 0.0 if m == BASELINE else 0.1, g, model) for m in METHOD_NAMES}
    kinds = {m: type(mixer) for m, mixer in built.items()}
    first = {BASELINE: MixUp, MIXUP: MixUp, CUTMIX: CutMix, SMOOTH: LabelSmoothing, MANIFOLD: ManifoldMixUp}
    assert {m: kinds[m] for m in first} == first
    others = [kinds[m] for m in METHOD_NAMES if m not in first]  # the other modules of train.methods: one class each
    assert len(set(others)) == len(others) and not set(others) & set(first.values())
    assert built[BASELINE].alpha == 0.0 and built[MIXUP].alpha == 0.1 and built[SMOOTH].eps == 0.1
    assert not isinstance(built[SMOOTH], MixUp)


@pytest.mark.parametrize("method", [BASELINE, SMOOTH])
def test_methods_that_do_not_mix_draw_nothing(method):
    x, y = _batch()
    g = torch.Generator().manual_seed(4)
    before = g.get_state()
    b = build_mixer(method, 0.0 if method == BASELINE else 0.1, g, None)(x, y)
    assert b.x is x and b.lam == 1.0 and torch.equal(b.y_b, y)
    assert torch.equal(g.get_state(), before)


@pytest.mark.parametrize(
    "make",
    [
        lambda: CutMix(0.0, torch.Generator()),
        lambda: LabelSmoothing(1.0),
        lambda: LabelSmoothing(0.0),
        lambda: ManifoldMixUp(1.0, torch.Generator(), [lambda h: h], layers=(1,)),
        lambda: MixUp(0.4, torch.Generator(), lam_mode="pixel"),
        lambda: build_mixer("dropout", 0.1, torch.Generator(), None),
    ],
)
def test_bad_parameters_are_refused(make):
    with pytest.raises(ValueError):
        make()
