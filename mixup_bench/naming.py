"""What runs and arms are called and the order arms are listed in (measures: see `metrics`).

Shared by `run`, `status`, the statistics, the verdict, the report and the figures, so that every
place names a run or an arm the same way.

Imported by `config` on the `run` path, so it must not import pandas (or anything slow) itself.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from mixup_bench.methods import METHODS, exact

if TYPE_CHECKING:
    import pandas as pd

# The methods, as in metrics.csv's `method` column and in run ids (train.methods.build_mixer builds each one's mixer).
BASELINE, MIXUP, CUTMIX, SMOOTH, MANIFOLD = "baseline", "mixup", "cutmix", "smooth", "manifold"
# Every method with the letter of its parameter in run ids and its display name, in the order arms are
# listed (`arm_order`). The parameter is in the `alpha` column: alpha for the mixers, epsilon for smooth.
# Derived from the registry (`methods.METHODS`), in its order.
METHOD_NAMES = {m.name: (m.param.letter, m.label) for m in METHODS.values()}
# The methods that draw a mixing weight lam (and log it to lam.csv); the others never mix.
LAM_METHODS = tuple(m.name for m in METHODS.values() if m.draws_lam)
_METHOD_RE = "|".join(METHOD_NAMES)
_LETTERS = "".join(sorted({m.param.letter for m in METHODS.values()}))
_RUN_ID_RE = re.compile(rf"^({_METHOD_RE})-([{_LETTERS}])([0-9.eE+-]+)-s(\d+)$")
_ARM_ID_RE = re.compile(rf"^({_METHOD_RE})-([{_LETTERS}])([0-9.eE+-]+)$")

# The models `--model` accepts (train.models.MODELS builds each one), named here so that the
# configuration can check `--model` without importing torch.
SMALL_CNN, FAST_CNN, PREACT_RESNET18 = "small-cnn", "fast-cnn", "preact-resnet18"
MODEL_NAMES = (SMALL_CNN, FAST_CNN, PREACT_RESNET18)


# --- runs and arms ----------------------------------------------------------------------


def format_alpha(alpha: float) -> str:
    """Shortest exact text for alpha, as in run ids: 0.4 -> '0.4', 1.0 -> '1', 0 -> '0', -0.0 -> '0',
    0.1234567 -> '0.1234567'. Exact (repr's shortest round trip, not 6 digits) so that two alphas never
    share a run id, and one alpha has one spelling (`methods.exact`, which arm specs use too)."""
    return exact(alpha)


def method_for(alpha: float) -> str:
    """The method of an arm: 'baseline' for alpha 0 (no mixing), else 'mixup'."""
    return "baseline" if alpha == 0 else "mixup"


def run_id_for(alpha: float, seed: int, method: str | None = None) -> str:
    """The folder name of one run: 'baseline-a0-s0', 'mixup-a0.4-s0', 'cutmix-a1-s0', 'smooth-e0.1-s0',
    'manifold-a2-s0'. `alpha` is the method's parameter; without `method`, alpha 0 is the baseline."""
    return f"{arm_id(method or method_for(alpha), alpha)}-s{seed}"


def parse_run_id(run_id: str) -> tuple[str, float, int] | None:
    """(method, parameter, seed) from a run id: 'smooth-e0.1-s1' -> ('smooth', 0.1, 1); None for another name."""
    m = _RUN_ID_RE.match(run_id)
    if not m or METHOD_NAMES[m.group(1)][0] != m.group(2):
        return None
    try:
        return m.group(1), float(m.group(3)), int(m.group(4))
    except ValueError:
        return None


def arm_id(method: str, alpha: float) -> str:
    """The run-id prefix that names an arm: 'baseline-a0', 'mixup-a0.2', 'smooth-e0.1'."""
    return f"{method}-{METHOD_NAMES[method][0]}{format_alpha(alpha)}"


def parse_arm(text: str) -> tuple[str, float] | None:
    """(method, parameter) from an arm id ('mixup-a0.2', 'smooth-e0.1', or 'baseline'); None for another text."""
    text = text.strip()
    if text == "baseline":
        return "baseline", 0.0
    m = _ARM_ID_RE.match(text)
    if not m or METHOD_NAMES[m.group(1)][0] != m.group(2):
        return None
    try:
        value = float(m.group(3))
    except ValueError:
        return None
    return (m.group(1), value) if math.isfinite(value) else None


def mixup_only(methods: Iterable[str]) -> bool:
    """True when no arm but the baseline and MixUp is among `methods`: such experiments and comparisons keep
    the MixUp-only wording (alphas on the axes, "MixUp - baseline")."""
    return set(methods) <= {BASELINE, MIXUP}


def arm_label(method: str, alpha: float, greek: bool = False) -> str:
    """Human name of an arm: 'baseline', 'MixUp alpha=0.4', 'label smoothing eps=0.1' (α, ε with greek=True)."""
    if method == "baseline":
        return "baseline"
    if method not in METHODS:  # an arm of a plugin that is not installed here
        return f"{method} {'α' if greek else 'alpha'}={format_alpha(alpha)}"
    m = METHODS[method]
    return f"{m.label} {m.param.symbol if greek else m.param.name}={format_alpha(alpha)}"


def arm_order(arm: tuple[str, float]) -> tuple[int, float]:
    """Sort key of an arm (method, parameter): baseline, MixUp by alpha, then CutMix, smoothing, Manifold."""
    methods = list(METHOD_NAMES)
    return (methods.index(arm[0]) if arm[0] in methods else len(methods), arm[1])


def arms(df: pd.DataFrame) -> list[tuple[str, float]]:
    """The arms present in `df` as (method, parameter), in `arm_order`.

    Every table row, legend and verdict sentence follows this order.
    """
    pairs = df[["method", "alpha"]].drop_duplicates()
    keys = [(str(m), float(a)) for m, a in zip(pairs["method"], pairs["alpha"], strict=True)]
    return sorted(keys, key=arm_order)


# --- numbers and counts as text ------------------------------------------------------------


def plural(n: int, noun: str) -> str:
    """'1 seed', '3 seeds'."""
    return f"{n} {noun}{'s' if n != 1 else ''}"
