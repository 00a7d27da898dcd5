"""RegMixup (Pinto et al., 2022, "Using Mixup as a Regularizer Can Surprisingly Improve Accuracy and
Out-of-Distribution Robustness", NeurIPS 2022).

MixUp as a regulariser: the clean batch and its MixUp (lam ~ Beta(alpha, alpha), a large alpha) go
through the model together, and the loss is the reference's mixed cross-entropy over the
concatenated 2B images: lam * CE(logits, [y, y]) + (1 - lam) * CE(logits, [y, y[perm]]), i.e.
(CE on the clean batch + the MixUp loss) / 2, the paper's CE + eta * MixUp with eta = 1, halved.

Reference: FrancescoPinto/RegMixup, models/regmixup.py (`training_step`, `regmixup_criterion`) and
models/regularizers/mixup.py (`mixup_data`), commit fd7846532990da67bf56ae71f78517270252f5f5;
alpha = 20 is its CIFAR-10 setting (commands.sh). Checked: loss and gradients equal the reference's
for the same lam and pairing within float tolerance (tests/train/test_methods.py).

How it fits the Mixer protocol: the batch's x is the 2B images [x; mix(x)], `logits` runs one
forward on them, `loss` is the reference's. The labels of the mixed half are -1 in y_a and y_b so
that the step's lam-weighted correct count (and the logged train accuracy) is the clean half's;
the loss takes the mixed half's labels from the clean labels and the pairing.
Draws, all from `generator`: lam, then the pairing.
"""

from __future__ import annotations

import torch

from mixup_bench.methods import Method, alpha_param
from mixup_bench.train.mixup import MixedBatch, PairMixer, mix, mixed_cross_entropy, sample_lam, sample_permutation

METHOD = Method(
    "regmixup",
    "RegMixup",
    alpha_param(20.0, "Beta(alpha, alpha) of the MixUp term (large)"),
    paper="Pinto et al. 2022",
    reference="FrancescoPinto/RegMixup models/regmixup.py",
    position=10,
)

NOT_COUNTED = -1  # the label of the mixed half in y_a, y_b: never equals a prediction


class RegMixup(PairMixer):
    """RegMixup: a forward on [x; lam * x + (1 - lam) * x[perm]], 2B images; one lam per batch."""

    def __init__(self, alpha: float, generator: torch.Generator):
        if not alpha > 0:
            raise ValueError(f"RegMixup alpha must be > 0, got {alpha}")
        self.alpha, self.generator = alpha, generator

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> MixedBatch:
        lam = sample_lam(self.alpha, self.generator)
        perm = sample_permutation(x.shape[0], self.generator)
        hidden = torch.full_like(y, NOT_COUNTED)
        labels = torch.cat([y, hidden])
        return MixedBatch(torch.cat([x, mix(x, perm, lam)]), labels, labels, lam, perm)

    def loss(self, logits: torch.Tensor, batch: MixedBatch) -> torch.Tensor:
        y = batch.y_a[: batch.perm.numel()]
        targets_a = torch.cat([y, y])
        targets_b = torch.cat([y, y[batch.perm.to(y.device)]])
        return mixed_cross_entropy(logits, targets_a, targets_b, batch.lam)


def build(param: float, generator: torch.Generator, model, lam_mode: str) -> RegMixup:
    """The registry's factory: RegMixup with alpha = `param`."""
    return RegMixup(param, generator)
