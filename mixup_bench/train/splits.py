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
