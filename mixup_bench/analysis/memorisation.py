"""Memorisation of corrupted labels (runs with --label-noise only): what `plot` adds when metrics.csv holds it.

`noise_memorised` is, per epoch, the share of the label-corrupted images among the clean-train
images that the model predicts as their (wrong) noisy label. It is empty (NaN) in runs without
label noise, and then nothing here adds anything: the summary table keeps its columns and no
figure is drawn, so experiments without label noise give exactly the outputs they gave before.
"""

from __future__ import annotations

import math

import pandas as pd

from mixup_bench.analysis.facts import Analysis
from mixup_bench.metrics import MEMORISED, METRICS

METRIC = MEMORISED

# summary.csv columns, appended only when the experiment holds memorisation values (`Analysis.memorised`).
SUMMARY_COLUMNS = (f"{METRIC}_pct_mean", f"{METRIC}_pct_std")
DISPLAY_HEADER = METRICS[METRIC].axis_label


def memorisation_agg(agg: pd.DataFrame) -> pd.DataFrame:
    """The rows of `noise_memorised` in an aggregate over seeds (`Analysis.agg`), keeping only the
    epochs where at least one seed has a value."""
    return agg[(agg["metric"] == METRIC) & (agg["n"] > 0)].reset_index(drop=True)


def add_summary_columns(table: pd.DataFrame, analysis: Analysis) -> pd.DataFrame:
    """`table` (one row per arm, `report.summary_table`) with the final-epoch memorisation in percent,
    mean and std over seeds, appended as `SUMMARY_COLUMNS` (experiments with `Analysis.memorised` only)."""
    means, stds = [], []
    for method, alpha in zip(table["method"], table["alpha"], strict=True):
        v = METRICS[METRIC].scale * analysis.arm_finals(method, float(alpha))[METRIC].astype(float).dropna()
        means.append(float(v.mean()) if len(v) else math.nan)
        stds.append(float(v.std()) if len(v) > 1 else math.nan)
    return table.assign(**{SUMMARY_COLUMNS[0]: means, SUMMARY_COLUMNS[1]: stds})
