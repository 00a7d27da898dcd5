"""MixUp (Zhang et al., 2018) as small pure functions, and one callable class on top.

    lam ~ Beta(alpha, alpha)
    x   = lam * x_i + (1 - lam) * x_j          (j = a permutation of the batch)
    obj = lam * CE(f(x), y_i) + (1 - lam) * CE(f(x), y_j)

Integer labels are never multiplied by lam: the mixed loss takes both label
vectors, and `soft_targets` builds the equivalent one-hot mixture.
alpha = 0 means lam = 1, so the baseline runs through the very same code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


def sample_lam(alpha: float, generator: torch.Generator) -> float:
    """Draw lam ~ Beta(alpha, alpha) using only `generator` for randomness.

    Args:
        alpha: Beta concentration. 0 gives lam = 1 (no mixing); larger alpha
            pushes lam towards 0.5 (stronger mixing).
        generator: a CPU torch.Generator. Its state is the whole state of the
            draw, so saving it is enough to resume exactly.

    Returns:
        lam as a Python float in [0, 1].

    Raises:
        ValueError: if alpha < 0 (or is NaN).
    """
    if not alpha >= 0:
        raise ValueError(f"alpha must be >= 0, got {alpha}")
    if alpha == 0:
        return 1.0
    # torch has no seeded Beta sampler, so draw a 63-bit seed from the generator and
    # let numpy's Beta use it: deterministic, and advances `generator` by one draw.
    seed = int(torch.randint(0, 2**63 - 1, (1,), generator=generator))
    return float(np.random.default_rng(seed).beta(alpha, alpha))


def sample_permutation(batch_size: int, generator: torch.Generator) -> torch.Tensor:
    """A random pairing of the batch: image i is mixed with image perm[i]. Shape (B,), int64, CPU."""
    return torch.randperm(batch_size, generator=generator)


def mix_batch(
    x: torch.Tensor, y: torch.Tensor, lam: float, perm: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mix a batch with its permuted self.

    Args:
        x: images (B, ...) of a floating dtype; any trailing shape.
        y: integer labels (B,).
        lam: weight of the original images.
        perm: pairing (B,), on any device.

    Returns:
        (x_mixed, y_a, y_b) where x_mixed = lam*x + (1-lam)*x[perm] has x's shape
        and dtype, y_a = y and y_b = y[perm]. With lam == 1 x is returned as is.
    """
    perm = perm.to(x.device, non_blocking=True)
    if lam == 1.0:
        return x, y, y
    x_mixed = x.mul(lam).add_(x[perm], alpha=1.0 - lam)
    return x_mixed, y, y[perm.to(y.device)]


def mixed_cross_entropy(logits: torch.Tensor, y_a: torch.Tensor, y_b: torch.Tensor, lam: float) -> torch.Tensor:
    """lam * CE(logits, y_a) + (1 - lam) * CE(logits, y_b), mean over the batch.

    logits: (B, C); y_a, y_b: integer labels (B,). Computed in fp32 for stability.
    """
    logits = logits.float()
    if lam == 1.0:
        return F.cross_entropy(logits, y_a)
    return lam * F.cross_entropy(logits, y_a) + (1.0 - lam) * F.cross_entropy(logits, y_b)


def mixed_correct(logits: torch.Tensor, y_a: torch.Tensor, y_b: torch.Tensor, lam: float) -> torch.Tensor:
    """lam-weighted count of correct predictions on a mixed batch (a 0-dim tensor, no host sync)."""
    pred = logits.argmax(dim=1)
    return lam * (pred == y_a).sum() + (1.0 - lam) * (pred == y_b).sum()


def soft_targets(y_a: torch.Tensor, y_b: torch.Tensor, lam: float, num_classes: int) -> torch.Tensor:
    """The mixed one-hot targets lam * onehot(y_a) + (1 - lam) * onehot(y_b), shape (B, C), fp32."""
    return lam * F.one_hot(y_a, num_classes).float() + (1.0 - lam) * F.one_hot(y_b, num_classes).float()


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against soft targets (B, C), mean over the batch."""
    return -(targets * F.log_softmax(logits.float(), dim=1)).sum(dim=1).mean()


@dataclass
class MixedBatch:
    x: torch.Tensor  # (B, C, H, W) mixed images
    y_a: torch.Tensor  # (B,) labels of the original images
    y_b: torch.Tensor  # (B,) labels of their partners
    lam: float  # weight of y_a


class MixUp:
    """Callable that mixes a batch: `MixUp(alpha, generator)(x, y) -> MixedBatch`.

    One lam per batch (as in the paper's reference code). lam and the pairing come
    from `generator` alone, so they never disturb the data order or weight init.
    """

    def __init__(self, alpha: float, generator: torch.Generator):
        if not alpha >= 0:
            raise ValueError(f"alpha must be >= 0, got {alpha}")
        self.alpha = alpha
        self.generator = generator

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> MixedBatch:
        if self.alpha == 0:  # baseline: lam = 1, draw nothing
            return MixedBatch(x, y, y, 1.0)
        lam = sample_lam(self.alpha, self.generator)
        perm = sample_permutation(x.shape[0], self.generator)
        x_mixed, y_a, y_b = mix_batch(x, y, lam, perm)
        return MixedBatch(x_mixed, y_a, y_b, lam)

    def loss(self, logits: torch.Tensor, batch: MixedBatch) -> torch.Tensor:
        return mixed_cross_entropy(logits, batch.y_a, batch.y_b, batch.lam)
