"""The built-in mixing methods, one module each, and `build_mixer`, the mixer of any registered method.

A module here is one method: its record `METHOD = Method(...)` at the top (which the registry,
`mixup_bench.methods`, reads without importing the module), its mixer under the `train.mixup.Mixer`
protocol, and `build(param, generator, model, lam_mode) -> Mixer`. Each draws only from the generator it
is given and names in its docstring the paper and the reference code it was checked against
(tests/train/test_methods.py with the reference ports in tests/train/method_references.py, and
tests/train/test_cutmix_smooth_manifold.py). A module named `_*` would be a helper, not a method.

Every method is a Mixer: `mixer(x, y) -> MixedBatch`, `mixer.logits(forward, batch)` and
`mixer.loss(logits, batch)`, so every arm runs through the same `train_step`: same initial weights, same
batch order, and the method's own draws from its own generator (the run's `mixup` stream), which never
touches the data order or the weight init.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mixup_bench.methods import METHODS, build_factory

if TYPE_CHECKING:
    import torch

    from mixup_bench.train.mixup import Mixer


def build_mixer(method: str, param: float, generator: torch.Generator, model, lam_mode: str = "batch") -> Mixer:
    """The mixer of one arm: the registry's factory of `method` (a built-in's module's `build`, or a
    plugin's), given the arm's parameter (alpha, epsilon, scale...; the baseline's is 0)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; one of {tuple(METHODS)}")
    return build_factory(method)(param, generator, model, lam_mode)
