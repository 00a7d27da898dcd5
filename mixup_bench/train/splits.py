"""Named random streams, fixed subsets, and a split of uint8 images held on the device."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch

SUBSET_SEED = 0  # --subset and the clean-train subset are the same for every seed and arm


def derive_seed(seed: int, stream: str) -> int:
    """Independent 63-bit seeds for named random streams of one run seed."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{stream}".encode()).digest()[:8], "little") >> 1


def fixed_subset(n: int, k: int, stream: str) -> torch.Tensor:
    """The first k indices of a fixed shuffle of range(n): same for every seed and arm."""
    g = torch.Generator().manual_seed(derive_seed(SUBSET_SEED, stream))
    return torch.randperm(n, generator=g)[: min(k, n)]


@dataclass
class Split:
    """One split on the device: uint8 images (N, 3, 32, 32) and int64 labels (N,)."""

    x: torch.Tensor
    y: torch.Tensor

    @classmethod
    def on(cls, x: torch.Tensor, y: torch.Tensor, device: torch.device) -> Split:
        return cls(x.to(device), y.to(device))


def corrupt_labels(y: torch.Tensor, fraction: float, num_classes: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric label noise: exactly round(fraction * N) images get a wrong label.

    The images are a random choice of the `label-noise` stream of `seed`, and each one's new
    label is drawn uniformly from the other num_classes - 1 classes, so `fraction` is the share
    of training labels that are wrong. Depends on the seed alone: every arm of a seed trains on
    the same noisy labels.

    Args:
        y: true labels (N,) int64, on the CPU.
    Returns:
        (noisy labels (N,), corrupted mask (N,) bool). With fraction 0, (y, all False).
    """
    n = y.shape[0]
    corrupted = torch.zeros(n, dtype=torch.bool)
    k = round(fraction * n)
    if k == 0:
        return y, corrupted
    g = torch.Generator().manual_seed(derive_seed(seed, "label-noise"))
    idx = torch.randperm(n, generator=g)[:k]
    shift = torch.randint(1, num_classes, (k,), generator=g)  # 1..C-1: never the true class
    noisy = y.clone()
    noisy[idx] = (y[idx] + shift) % num_classes
    corrupted[idx] = True
    return noisy, corrupted
