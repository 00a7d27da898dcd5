"""MixUp (Zhang et al., 2018) as small pure functions, and the `Mixer` protocol every method follows.

    lam ~ Beta(alpha, alpha)
    x   = lam * x_i + (1 - lam) * x_j          (j = a permutation of the batch; `mix`, the one formula)
    obj = lam * CE(f(x), y_i) + (1 - lam) * CE(f(x), y_j)

Integer labels are never multiplied by lam: the mixed loss takes both label
vectors, and `soft_targets` builds the equivalent one-hot mixture.
alpha = 0 means lam = 1, so the baseline runs through the very same code.
Every other method is a module of `train.methods` (which also holds MixUp's registry record,
`train/methods/mixup.py`); `train.methods.build_mixer` builds the mixer of any of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F

from mixup_bench.config import LAM_MODES


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


def sample_lams(alpha: float, n: int, generator: torch.Generator) -> torch.Tensor:
    """n independent draws lam_i ~ Beta(alpha, alpha) (timm's `elem` mode), shape (n,), fp32, CPU.

    Like `sample_lam`, the whole draw is seeded from `generator` (one draw of it).
    """
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0 for per-sample lam, got {alpha}")
    seed = int(torch.randint(0, 2**63 - 1, (1,), generator=generator))
    return torch.from_numpy(np.random.default_rng(seed).beta(alpha, alpha, size=n).astype(np.float32))


def sample_permutation(batch_size: int, generator: torch.Generator) -> torch.Tensor:
    """A random pairing of the batch: image i is mixed with image perm[i]. Shape (B,), int64, CPU."""
    return torch.randperm(batch_size, generator=generator)


def mix(x: torch.Tensor, perm: torch.Tensor, lam: float | torch.Tensor) -> torch.Tensor:
    """The one mixing formula, lam * x + (1 - lam) * x[perm], for images and hidden states alike.

    Args:
        x: a batch (B, ...) of a floating dtype; any trailing shape.
        perm: the pairing (B,), on any device: row i is mixed with row perm[i].
        lam: the weight of x: one float for the batch, or (B,) per-sample weights (`elem` mode).

    Returns:
        A tensor of x's shape and dtype; x itself when lam == 1 (the baseline draws nothing to mix).
    """
    perm = perm.to(x.device, non_blocking=True)
    if isinstance(lam, torch.Tensor):
        w = lam.to(x.device, non_blocking=True).view(-1, *([1] * (x.dim() - 1)))
        return x * w + x[perm] * (1 - w)
    if lam == 1.0:
        return x
    return x.mul(lam).add_(x[perm], alpha=1.0 - lam)


def mixed_cross_entropy(
    logits: torch.Tensor, y_a: torch.Tensor, y_b: torch.Tensor, lam: float | torch.Tensor
) -> torch.Tensor:
    """lam * CE(logits, y_a) + (1 - lam) * CE(logits, y_b), mean over the batch.

    logits: (B, C); y_a, y_b: integer labels (B,); lam: a float, or (B,) per-sample weights
    (`elem` mode). Computed in fp32 for stability.
    """
    logits = logits.float()
    if isinstance(lam, torch.Tensor):
        lam = lam.to(logits.device)
        per_image = lam * F.cross_entropy(logits, y_a, reduction="none")
        return (per_image + (1 - lam) * F.cross_entropy(logits, y_b, reduction="none")).mean()
    if lam == 1.0:
        return F.cross_entropy(logits, y_a)
    return lam * F.cross_entropy(logits, y_a) + (1.0 - lam) * F.cross_entropy(logits, y_b)


def mixed_correct(
    logits: torch.Tensor, y_a: torch.Tensor, y_b: torch.Tensor, lam: float | torch.Tensor
) -> torch.Tensor:
    """lam-weighted count of correct predictions on a mixed batch (a 0-dim tensor, no host sync)."""
    pred = logits.argmax(dim=1)
    if isinstance(lam, torch.Tensor):
        lam = lam.to(logits.device)
        return (lam * (pred == y_a)).sum() + ((1 - lam) * (pred == y_b)).sum()
    return lam * (pred == y_a).sum() + (1.0 - lam) * (pred == y_b).sum()


def soft_targets(y_a: torch.Tensor, y_b: torch.Tensor, lam: float | torch.Tensor, num_classes: int) -> torch.Tensor:
    """The mixed one-hot targets lam * onehot(y_a) + (1 - lam) * onehot(y_b), shape (B, C), fp32.

    lam: a float, or (B,) per-sample weights."""
    if isinstance(lam, torch.Tensor):
        lam = lam.to(y_a.device).view(-1, 1)
    return lam * F.one_hot(y_a, num_classes).float() + (1.0 - lam) * F.one_hot(y_b, num_classes).float()


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against soft targets (B, C), mean over the batch."""
    return -(targets * F.log_softmax(logits.float(), dim=1)).sum(dim=1).mean()


@dataclass
class MixedBatch:
    """One batch as a mixer hands it to the step: the (mixed) input and what the loss needs."""

    x: torch.Tensor  # (B, C, H, W) the input images, mixed when the method mixes at the input
    y_a: torch.Tensor  # (B,) labels of the original images
    y_b: torch.Tensor  # (B,) labels of their partners (y_a when nothing is mixed)
    lam: float | torch.Tensor  # weight of y_a: one float, or (B,) on the CPU in `elem` mode
    perm: torch.Tensor | None = None  # (B,) the pairing, for mixers that mix later (Manifold MixUp)
    layer: int = 0  # where the mixing happens: 0 = the input

    @property
    def lam_value(self) -> float:
        """The batch's lam as one number (the mean in `elem` mode), for lam.csv."""
        return float(self.lam.mean()) if isinstance(self.lam, torch.Tensor) else self.lam


def unmixed(x: torch.Tensor, y: torch.Tensor) -> MixedBatch:
    """The batch as it is: lam = 1, every image its own partner (the baseline, label smoothing)."""
    return MixedBatch(x, y, y, 1.0)


def paired(
    x: torch.Tensor, y: torch.Tensor, lam: float | torch.Tensor, perm: torch.Tensor, layer: int = 0
) -> MixedBatch:
    """A batch whose image i was paired with image perm[i]: the partners' labels follow the pairing.
    x: the input, already mixed when `layer` is 0 (the mixer mixes at the input)."""
    return MixedBatch(x, y, y[perm.to(y.device)], lam, perm, layer)


class Mixer(Protocol):
    """What every training method is to `train_step`: one arm's way of turning a batch into a loss.

    `train_step` calls the three in order: `batch = mixer(x, y)` (draws from the mixer's own
    generator only, so the data order and the weight init are the same in every arm), then
    `mixer.logits(forward, batch)` under autocast, then `mixer.loss(logits, batch)` in fp32.
    The lam-weighted accuracy is `mixed_correct` on the batch's labels, the same for every method.
    """

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> MixedBatch: ...

    def logits(self, forward: Callable[[torch.Tensor], torch.Tensor], batch: MixedBatch) -> torch.Tensor: ...

    def loss(self, logits: torch.Tensor, batch: MixedBatch) -> torch.Tensor: ...


class PairMixer:
    """Shared by the methods that mix pairs (MixUp, CutMix, Manifold MixUp): the forward on the batch's
    input and the mixed cross-entropy lam * CE(y_a) + (1 - lam) * CE(y_b). Not a Mixer by itself."""

    def logits(self, forward: Callable[[torch.Tensor], torch.Tensor], batch: MixedBatch) -> torch.Tensor:
        return forward(batch.x)

    def loss(self, logits: torch.Tensor, batch: MixedBatch) -> torch.Tensor:
        return mixed_cross_entropy(logits, batch.y_a, batch.y_b, batch.lam)


class MixUp(PairMixer):
    """MixUp: `MixUp(alpha, generator)(x, y) -> MixedBatch`; alpha = 0 is the baseline (lam = 1, no draw).

    lam_mode 'batch': one lam per batch (the paper's reference code); 'elem': one lam per
    image (timm's `elem` mode). Draws, all from `generator`: lam (or the B lams), then the pairing.
    """

    def __init__(self, alpha: float, generator: torch.Generator, lam_mode: str = "batch"):
        if not alpha >= 0:
            raise ValueError(f"alpha must be >= 0, got {alpha}")
        if lam_mode not in LAM_MODES:
            raise ValueError(f"lam_mode must be one of {LAM_MODES}, got {lam_mode!r}")
        self.alpha = alpha
        self.generator = generator
        self.lam_mode = lam_mode

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> MixedBatch:
        if self.alpha == 0:  # baseline: lam = 1, draw nothing
            return unmixed(x, y)
        if self.lam_mode == "elem":
            lam: float | torch.Tensor = sample_lams(self.alpha, x.shape[0], self.generator)  # (B,)
        else:
            lam = sample_lam(self.alpha, self.generator)
        perm = sample_permutation(x.shape[0], self.generator)
        return paired(mix(x, perm, lam), y, lam, perm)
