"""What a third-party method must do to join the bench, checked before a run trains: its mixer, called on a
small batch, gives a batch, logits and a loss of the right shapes, and draws only from the generator it is
given. A mixer that draws from torch's (or numpy's, or Python's) global random state would change the data
order and weight init of every later run in the process, and make its own draws differ between seeds that
should be paired: it is refused. Built-in methods are tested in the test suite instead (tests/train).

The probe: build the model first (its init draws from the global state), snapshot the global states, call
factory -> mixer -> batch -> logits -> loss twice with generators of the same seed, then compare: the
global states must be unchanged and the two calls equal. Any exception of the plugin's is one line naming it.
"""

from __future__ import annotations

import math
import random

import numpy as np
import torch

from mixup_bench.errors import UserError
from mixup_bench.methods import METHODS, Method, build_factory
from mixup_bench.train.mixup import MixedBatch
from mixup_bench.train.models import build_model

PROBE_BATCH = 8
PROBE_CLASSES = 10


def check_plugin_arms(arms, model: str, lam_mode: str) -> None:
    """Probe the mixer of every arm whose method is a plugin (`probe_mixer`); one line for the first that fails."""
    for name, param in arms:
        method = METHODS.get(name)
        if method is not None and method.source != "built-in":
            probe_mixer(method, param, model, lam_mode)


def probe_mixer(method: Method, param: float, model_name: str = "fast-cnn", lam_mode: str = "batch") -> None:
    """Raise a one-line UserError naming the plugin when its mixer fails, gives wrong shapes, is not
    deterministic for one generator seed, or touches a global random state."""
    where = f"plugin {method.name} ({method.source})"
    model = build_model(model_name, PROBE_CLASSES)  # before the snapshot: its init draws from the global RNG
    images = torch.rand((PROBE_BATCH, 3, 32, 32), generator=torch.Generator().manual_seed(1))
    labels = torch.arange(PROBE_BATCH) % PROBE_CLASSES
    before = _global_states()
    try:
        first = _step(method, param, model, images, labels, lam_mode)
        second = _step(method, param, model, images, labels, lam_mode)
    except Exception as e:  # noqa: BLE001 - third-party code: any failure is named
        raise UserError(f"{where}: its mixer raised {type(e).__name__}: {' '.join(str(e).split())}") from None
    if not _same_states(before, _global_states()):
        raise UserError(
            f"{where} draws from a global random state (torch's, numpy's or Python's) instead of the generator it "
            "is given, which would break the pairing of seeds; make it draw only from that generator."
        )
    problem = _shape_problem(first, images)
    if problem:
        raise UserError(f"{where}: {problem}")
    if not _same_step(first, second):
        raise UserError(f"{where}: its mixer gives another batch for the same generator seed; draw only from it.")


def _step(method: Method, param: float, model, images, labels, lam_mode: str):
    """factory -> mixer -> (batch, logits, loss), as train_step calls them, with a generator seeded 0."""
    mixer = build_factory(method.name)(param, torch.Generator().manual_seed(0), model, lam_mode)
    batch = mixer(images.clone(), labels.clone())
    logits = mixer.logits(model, batch) if isinstance(batch, MixedBatch) else None
    loss = mixer.loss(logits, batch) if logits is not None else None
    return batch, logits, loss


def _shape_problem(step, images: torch.Tensor) -> str | None:
    """What is wrong with one probe step's batch, logits or loss, as a phrase, or None."""
    batch, logits, loss = step
    if not isinstance(batch, MixedBatch):
        return f"its mixer returned a {type(batch).__name__}, not a train.mixup.MixedBatch"
    x = batch.x
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1:] != images.shape[1:] or len(x) < len(images):
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        return f"its batch's x has shape {shape} for images of shape {tuple(images.shape)}"
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2 or logits.shape[1] != PROBE_CLASSES:
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        return f"its logits have shape {shape}, not (N, {PROBE_CLASSES})"
    if any(not isinstance(y, torch.Tensor) or y.shape != (len(logits),) for y in (batch.y_a, batch.y_b)):
        return f"its batch's y_a and y_b must be ({len(logits)},) label tensors, one per row of the logits"
    lam = torch.as_tensor(batch.lam, dtype=torch.float64)
    if not bool(((lam >= 0) & (lam <= 1)).all()):
        return f"its lam must lie in [0, 1], got {batch.lam!r}"
    scalar = isinstance(loss, torch.Tensor) and loss.ndim == 0
    if not scalar or not math.isfinite(float(loss.detach())) or not loss.requires_grad:
        return "its loss must be a finite scalar tensor that training can backpropagate"
    return None


def _same_step(a, b) -> bool:
    """The two probe steps' batches, lam and loss are equal."""
    if not isinstance(a[0], MixedBatch) or not isinstance(b[0], MixedBatch):
        return False
    lam_a, lam_b = torch.as_tensor(a[0].lam), torch.as_tensor(b[0].lam)
    return torch.equal(a[0].x, b[0].x) and torch.equal(lam_a, lam_b) and torch.equal(a[2], b[2])


def _global_states() -> tuple:
    return torch.random.get_rng_state(), np.random.get_state(), random.getstate()


def _same_states(a: tuple, b: tuple) -> bool:
    (torch_a, np_a, py_a), (torch_b, np_b, py_b) = a, b
    same_np = np_a[0] == np_b[0] and np.array_equal(np_a[1], np_b[1]) and np_a[2:] == np_b[2:]
    return torch.equal(torch_a, torch_b) and same_np and py_a == py_b
