"""The fixed train/validation split and label noise by image identity (issue 14, items 1 and 4)."""

from __future__ import annotations

import pytest
import torch

from mixup_bench.train.splits import fixed_subset, noisy_labels, train_val_indices

N = 50_000  # CIFAR-10's training pool
C = 10


def _labels(n: int = N) -> torch.Tensor:
    return torch.arange(n) % C


def test_validation_is_disjoint_from_every_subset_and_the_same_for_all():
    val_sizes = {}
    for subset in (1_000, 10_000, 20_000, None):
        train, val = train_val_indices(N, subset, 5_000)
        assert val.numel() == 5_000
        assert train.numel() == (subset or N - 5_000)
        assert not set(train.tolist()) & set(val.tolist())
        val_sizes[subset] = set(val.tolist())
    assert len({frozenset(v) for v in val_sizes.values()}) == 1  # fixed by the data alone


def test_a_subset_that_fits_beside_validation_is_the_subset_used_before_validation_existed():
    # Committed results made before the split keep their training images: the subset is the
    # first N of the same fixed shuffle, and validation its last images.
    for subset in (1_000, 10_000):
        train, _ = train_val_indices(N, subset, 5_000)
        assert torch.equal(train, fixed_subset(N, subset, "train-subset"))


def test_no_validation_split_gives_an_empty_one_and_the_whole_pool():
    train, val = train_val_indices(100, None, 0)
    assert val.numel() == 0 and sorted(train.tolist()) == list(range(100))


def test_label_noise_corrupts_the_same_images_in_a_10k_and_a_20k_subset():
    y = _labels()
    noisy, corrupted = noisy_labels(y, 0.4, C, seed=0)
    small, _ = train_val_indices(N, 10_000, 5_000)
    large, _ = train_val_indices(N, 20_000, 5_000)
    shared = sorted(set(small.tolist()) & set(large.tolist()))
    assert len(shared) == 10_000  # the 10k subset lies inside the 20k one
    # Labels are looked up by image index, so the shared images carry identical noisy labels.
    by_image_small = dict(zip(small.tolist(), noisy[small].tolist(), strict=True))
    by_image_large = dict(zip(large.tolist(), noisy[large].tolist(), strict=True))
    assert all(by_image_small[i] == by_image_large[i] for i in shared)
    hit_small = {i for i in small.tolist() if corrupted[i]}
    hit_large = {i for i in large.tolist() if corrupted[i]}
    assert hit_small == hit_large & set(small.tolist())
    assert 0.37 < len(hit_small) / 10_000 < 0.43  # about the rate in any subset


def test_label_noise_does_not_depend_on_order_or_subset_of_the_call():
    # Corrupting a reordered pool gives each image the same fate: identity, not position.
    y = _labels()
    noisy, corrupted = noisy_labels(y, 0.3, C, seed=7)
    again, again_mask = noisy_labels(y.clone(), 0.3, C, seed=7)
    assert torch.equal(noisy, again) and torch.equal(corrupted, again_mask)
    other_seed, other_mask = noisy_labels(y, 0.3, C, seed=8)
    assert not torch.equal(corrupted, other_mask)


@pytest.mark.parametrize(("low", "high"), [(0.1, 0.2), (0.2, 0.4), (0.05, 0.8)])
def test_a_lower_noise_rate_corrupts_a_subset_of_the_images_of_a_higher_one(low, high):
    y = _labels()
    noisy_low, mask_low = noisy_labels(y, low, C, seed=3)
    noisy_high, mask_high = noisy_labels(y, high, C, seed=3)
    assert bool((mask_low <= mask_high).all())  # nested
    assert int(mask_low.sum()) == round(low * N) and int(mask_high.sum()) == round(high * N)
    # An image corrupted at both rates gets the same wrong label.
    both = mask_low & mask_high
    assert torch.equal(noisy_low[both], noisy_high[both])


def test_a_corrupted_label_is_always_wrong_and_uniform_over_the_other_classes():
    y = _labels()
    noisy, corrupted = noisy_labels(y, 0.5, C, seed=1)
    assert bool((noisy[corrupted] != y[corrupted]).all())
    assert torch.equal(noisy[~corrupted], y[~corrupted])
    shift = (noisy[corrupted] - y[corrupted]) % C  # 1..9, about equally often
    counts = torch.bincount(shift, minlength=C)[1:].float()
    assert counts.min() / counts.max() > 0.9


def test_zero_noise_changes_nothing():
    y = _labels(1_000)
    noisy, corrupted = noisy_labels(y, 0.0, C, seed=0)
    assert torch.equal(noisy, y) and not corrupted.any()
