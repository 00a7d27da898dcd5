"""What arms and metrics are called, the order arms are listed in, and how differences are shown.

Shared by the statistics, the verdict, the report and the figures, so that every place
names an arm or a metric the same way. Accuracies and ECE are fractions in [0, 1] in the
data; they become percent (differences: percentage points) only here, when shown.
"""

from __future__ import annotations

import math

import pandas as pd

# Metrics that are fractions in [0, 1] and are shown as percent (differences in percentage points).
FRACTION_METRICS = frozenset({"train_acc", "clean_train_acc", "test_acc", "test_ece"})

METRIC_NAMES = {
    "train_loss": "training objective (mixed batches)",
    "train_acc": "train accuracy (mixed batches)",
    "clean_train_loss": "clean train loss",
    "clean_train_acc": "clean train accuracy",
    "test_loss": "test loss",
    "test_acc": "test accuracy",
    "test_ece": "test ECE",
    "gap": "generalisation gap (test loss - clean train loss)",
}


def format_alpha(alpha: float) -> str:
    """Shortest text for alpha, as in run ids: 0.4 -> '0.4', 1.0 -> '1'."""
    return f"{float(alpha):g}"


def arm_label(method: str, alpha: float, greek: bool = False) -> str:
    """Human name of an arm: 'baseline' or 'MixUp alpha=0.4' ('MixUp α=0.4' with greek=True)."""
    if method == "baseline":
        return "baseline"
    return f"MixUp {'α' if greek else 'alpha'}={format_alpha(alpha)}"


def arms(df: pd.DataFrame) -> list[tuple[str, float]]:
    """The arms present in `df` as (method, alpha), baseline first, then by increasing alpha.

    Every table row, legend and verdict sentence follows this order.
    """
    pairs = df[["method", "alpha"]].drop_duplicates()
    keys = [(str(m), float(a)) for m, a in zip(pairs["method"], pairs["alpha"], strict=True)]
    return sorted(keys, key=lambda k: (k[0] != "baseline", k[1]))


def format_diff(metric: str, value: float) -> str:
    """A signed difference in the metric's display unit: percentage points for fractions (2 decimals),
    else 3 decimals; a value that would round to zero keeps two significant digits instead."""
    if not math.isfinite(value):
        return "n/a"
    scale, digits, unit = (100, 2, " pp") if metric in FRACTION_METRICS else (1, 3, "")
    v = scale * value
    text = f"{v:+.{digits}f}"
    if v != 0 and float(text) == 0:
        text = f"{v:+.2g}"
    return text + unit
