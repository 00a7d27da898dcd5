"""Named random streams, the fixed train/validation split, label noise by image, and device splits.

Which images a run sees is fixed by the data alone (`SUBSET_SEED`): one shuffle of the training
pool. The validation images are the LAST `val_size` images of that shuffle; a `--subset` of N
images is its FIRST N. So the validation split is the same for every seed, arm and experiment,
is disjoint from every training subset (and so from the clean-train images, drawn from the
subset), and a subset that fits beside it is exactly the subset used before validation existed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch

SUBSET_SEED = 0  # --subset, the validation split and the clean-train subset are the same for every seed and arm


def derive_seed(seed: int, stream: str) -> int:
    """Independent 63-bit seeds for named random streams of one run seed."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{stream}".encode()).digest()[:8], "little") >> 1


def fixed_shuffle(n: int, stream: str) -> torch.Tensor:
    """A fixed permutation of range(n): the same for every seed and arm."""
    g = torch.Generator().manual_seed(derive_seed(SUBSET_SEED, stream))
    return torch.randperm(n, generator=g)


def fixed_subset(n: int, k: int, stream: str) -> torch.Tensor:
    """The first k indices of a fixed shuffle of range(n): same for every seed and arm."""
    return fixed_shuffle(n, stream)[: min(k, n)]


def train_val_indices(n: int, subset: int | None, val_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(training indices, validation indices) into a training pool of n images.

    Validation: the last `val_size` images of the pool's fixed shuffle. Training: the first
    `subset` images of it (all the others when `subset` is None). Disjoint by construction;
    the caller has checked that subset + val_size <= n.
    """
    order = fixed_shuffle(n, "train-subset")
    val = order[n - val_size :] if val_size > 0 else order[:0]
    train = order[: subset if subset is not None else n - val_size]
    return train, val


@dataclass
class Split:
    """One split on the device: uint8 images (N, 3, 32, 32) and int64 labels (N,)."""

    x: torch.Tensor
    y: torch.Tensor

    @classmethod
    def on(cls, x: torch.Tensor, y: torch.Tensor, device: torch.device) -> Split:
        return cls(x.to(device), y.to(device))


def noisy_labels(y: torch.Tensor, fraction: float, num_classes: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric label noise by image identity, over the WHOLE training pool.

    Whether image i is corrupted, and its wrong label, depend only on `seed` and i (its index in
    the full training set), never on a subset or its order:
    - the `label-noise` stream of `seed` gives one fixed permutation of the pool, and the first
      round(fraction * N) images of it are corrupted; so the images corrupted at a lower rate are
      contained in those corrupted at a higher rate;
    - each image has one fixed shift in 1..C-1 (drawn for every image), and a corrupted image's
      label becomes (y + shift) mod C: uniform over the other classes, never the true one.
    A subset of the pool (training or validation) then holds about `fraction` wrong labels
    (exactly so in expectation: the count is hypergeometric).

    Args:
        y: true labels (N,) int64 of the whole training pool, on the CPU.
    Returns:
        (noisy labels (N,), corrupted mask (N,) bool). With fraction 0, (y, all False).
    """
    n = y.shape[0]
    corrupted = torch.zeros(n, dtype=torch.bool)
    k = round(fraction * n)
    if k == 0:
        return y, corrupted
    g = torch.Generator().manual_seed(derive_seed(seed, "label-noise"))
    order = torch.randperm(n, generator=g)
    shift = torch.randint(1, num_classes, (n,), generator=g)  # image i's shift, used if i is corrupted
    corrupted[order[:k]] = True
    noisy = torch.where(corrupted, (y + shift) % num_classes, y)
    return noisy, corrupted
