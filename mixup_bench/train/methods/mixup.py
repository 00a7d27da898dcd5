"""MixUp (Zhang et al., 2018, "mixup: Beyond Empirical Risk Minimization", ICLR 2018): lam ~ Beta(alpha,
alpha), x = lam * x_i + (1 - lam) * x_j, loss = lam * CE(y_i) + (1 - lam) * CE(y_j).

Its mixer, `train.mixup.MixUp`, lives beside the `Mixer` protocol it is the model of (the baseline and
the other pair mixers reuse its pieces); this module is its registry record and factory.
Reference: facebookresearch/mixup-cifar10 (one lam per batch; `--lam-mode elem` is timm's per-image lam).
"""

from __future__ import annotations

import torch

from mixup_bench.methods import Method, alpha_param
from mixup_bench.train.mixup import MixUp

METHOD = Method(
    "mixup",
    "MixUp",
    alpha_param(0.4),
    paper="Zhang et al. 2018",
    reference="facebookresearch/mixup-cifar10",
    position=1,
)


def build(param: float, generator: torch.Generator, model, lam_mode: str) -> MixUp:
    """The registry's factory: MixUp with alpha = `param`, one lam per batch or per image (`lam_mode`)."""
    return MixUp(param, generator, lam_mode)
