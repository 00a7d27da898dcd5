"""The MixUp math: the mixing formula, labels, alpha = 0, lam statistics, loss forms, torchvision parity."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torchvision.transforms import v2

from mixup_bench.train.mixup import (
    MixUp,
    mix,
    mixed_correct,
    mixed_cross_entropy,
    paired,
    sample_lam,
    sample_permutation,
    soft_cross_entropy,
    soft_targets,
)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_mixup_mixes_each_image_with_its_partner_by_lam():
    """A MixUp that hands the batch back unmixed, or mixes with the wrong weight or partner, fails here."""
    x = torch.randn(32, 3, 8, 8)
    y = torch.randint(0, 10, (32,))
    out = MixUp(0.4, gen())(x, y)
    assert isinstance(out.lam, float) and 0.0 < out.lam < 1.0
    assert sorted(out.perm.tolist()) == list(range(32)) and not torch.equal(out.perm, torch.arange(32))
    assert out.x.shape == x.shape and out.x.dtype == x.dtype
    assert torch.allclose(out.x, out.lam * x + (1 - out.lam) * x[out.perm], atol=1e-6)
    assert not torch.allclose(out.x, x)
    assert torch.equal(out.y_a, y) and torch.equal(out.y_b, y[out.perm])


def test_mix_is_one_formula_for_a_batch_lam_and_per_sample_lams():
    x = torch.randn(4, 2, 3)
    perm = torch.tensor([1, 2, 3, 0])
    assert torch.allclose(mix(x, perm, 0.3), 0.3 * x + 0.7 * x[perm])
    lams = torch.tensor([0.1, 0.5, 0.9, 1.0])
    assert torch.allclose(mix(x, perm, lams), lams.view(4, 1, 1) * x + (1 - lams.view(4, 1, 1)) * x[perm])
    assert mix(x, perm, 1.0) is x


def test_integer_labels_stay_integers_and_are_permuted_with_the_images():
    x = torch.arange(8, dtype=torch.float32).view(8, 1, 1, 1).expand(8, 3, 2, 2).clone()
    y = torch.arange(8)
    perm = torch.tensor([3, 0, 1, 2, 7, 4, 5, 6])
    batch = paired(mix(x, perm, 0.25), y, 0.25, perm)
    xm, ya, yb = batch.x, batch.y_a, batch.y_b
    assert ya.dtype == yb.dtype == torch.int64
    assert torch.equal(ya, y) and torch.equal(yb, y[perm])
    # image i is 0.25 * i + 0.75 * perm[i]
    expected = 0.25 * torch.arange(8.0) + 0.75 * perm.float()
    assert torch.allclose(xm[:, 0, 0, 0], expected)


def test_alpha_zero_is_identity():
    x = torch.randn(16, 3, 8, 8)
    y = torch.randint(0, 10, (16,))
    g = gen()
    before = g.get_state()
    out = MixUp(0.0, g)(x, y)
    assert out.lam == 1.0
    assert torch.equal(out.x, x) and torch.equal(out.y_a, y) and torch.equal(out.y_b, y)
    assert torch.equal(g.get_state(), before), "the baseline must not consume MixUp randomness"
    assert sample_lam(0.0, gen()) == 1.0


@pytest.mark.parametrize("alpha", [-0.1, float("nan")])
def test_negative_alpha_is_an_error(alpha):
    with pytest.raises(ValueError):
        sample_lam(alpha, gen())
    with pytest.raises(ValueError):
        MixUp(alpha, gen())


def test_lam_is_reproducible_from_the_generator():
    assert sample_lam(0.4, gen(7)) == sample_lam(0.4, gen(7))
    g1, g2 = gen(3), gen(3)
    assert [sample_lam(1.0, g1) for _ in range(5)] == [sample_lam(1.0, g2) for _ in range(5)]
    assert len({sample_lam(1.0, g1) for _ in range(5)}) == 5


def test_higher_alpha_concentrates_lam_near_half():
    """Beta(a, a) has variance 1 / (4 (2a + 1)): 0.1786 for a=0.2, 0.0417 for a=2."""
    n = 4000
    stats = {}
    for alpha in (0.2, 1.0, 2.0):
        g = gen(11)
        lam = torch.tensor([sample_lam(alpha, g) for _ in range(n)])
        assert 0.0 <= lam.min() and lam.max() <= 1.0
        expected_var = 1 / (4 * (2 * alpha + 1))
        # sample variance within 10% of theory (n=4000 -> relative s.e. ~ 3%)
        assert lam.var().item() == pytest.approx(expected_var, rel=0.1)
        assert lam.mean().item() == pytest.approx(0.5, abs=0.03)
        stats[alpha] = (lam - 0.5).abs().mean().item()
    assert stats[0.2] > stats[1.0] > stats[2.0]


def test_mixed_loss_equals_soft_target_loss():
    torch.manual_seed(0)
    logits = torch.randn(32, 10)
    y_a = torch.randint(0, 10, (32,))
    y_b = torch.randint(0, 10, (32,))
    for lam in (1.0, 0.9, 0.5, 0.13, 0.0):
        hard = mixed_cross_entropy(logits, y_a, y_b, lam)
        soft = soft_cross_entropy(logits, soft_targets(y_a, y_b, lam, 10))
        assert hard.item() == pytest.approx(soft.item(), rel=1e-6, abs=1e-6)


def test_mixed_loss_with_lam_one_is_plain_cross_entropy():
    logits = torch.randn(8, 5)
    y = torch.randint(0, 5, (8,))
    other = (y + 1) % 5
    assert mixed_cross_entropy(logits, y, other, 1.0).item() == pytest.approx(F.cross_entropy(logits, y).item())


def test_mixed_correct_weights_both_labels():
    logits = torch.eye(4) * 10  # predicts class i for row i
    y_a = torch.tensor([0, 1, 2, 0])  # 3 right
    y_b = torch.tensor([1, 1, 0, 3])  # 2 right (rows 1 and 3)
    assert mixed_correct(logits, y_a, y_b, 0.7).item() == pytest.approx(0.7 * 3 + 0.3 * 2)


def test_matches_torchvision_v2_mixup_for_same_lam_and_pairing():
    """torchvision pairs image i with image i-1 (roll by one); give ours that pairing and lam."""
    torch.manual_seed(0)
    b, classes, lam = 16, 10, 0.3
    x = torch.rand(b, 3, 32, 32)
    y = torch.randint(0, classes, (b,))
    tv = v2.MixUp(alpha=0.4, num_classes=classes)
    tv.make_params = lambda flat_inputs: {"lam": lam}
    tv_x, tv_y = tv(x.clone(), y.clone())

    perm = torch.roll(torch.arange(b), 1)
    xm, ya, yb = mix(x, perm, lam), y, y[perm]
    assert torch.allclose(xm, tv_x, atol=1e-6)
    assert torch.allclose(soft_targets(ya, yb, lam, classes), tv_y, atol=1e-6)
    logits = torch.randn(b, classes)
    assert mixed_cross_entropy(logits, ya, yb, lam).item() == pytest.approx(
        soft_cross_entropy(logits, tv_y).item(), rel=1e-6
    )


def test_permutation_is_a_permutation():
    p = sample_permutation(50, gen(1))
    assert sorted(p.tolist()) == list(range(50))
