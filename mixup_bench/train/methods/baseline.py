"""The baseline: plain ERM, no mixing. Every experiment has it (unless --no-baseline); each arm is judged
against it, seed by seed.

It is MixUp with alpha = 0 (`train.mixup.MixUp`): lam = 1 and no draw, so it runs through the very same
code as every arm and its generator stays untouched.
"""

from __future__ import annotations

import torch

from mixup_bench.methods import Method, Param
from mixup_bench.train.mixup import MixUp

METHOD = Method(
    "baseline",
    "baseline",
    Param("alpha", "a", "α", 0.0, 0.0, 0.0, False, False, "no mixing (always 0)"),
    paper="-",
    reference="-",
    draws_lam=False,
    position=0,
)


def build(param: float, generator: torch.Generator, model, lam_mode: str) -> MixUp:
    """The registry's factory: MixUp with alpha = 0, whatever `param` (it is always 0)."""
    return MixUp(0.0, generator)
