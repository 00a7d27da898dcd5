"""Memorisation of corrupted labels (runs with --label-noise only): what `plot` adds when metrics.csv holds it.

`noise_memorised` is, per epoch, the share of the label-corrupted images among the clean-train
images that the model predicts as their (wrong) noisy label. It is empty (NaN) in runs without
label noise, and then nothing here adds anything: the summary table keeps its columns and no
figure is drawn, so experiments without label noise give exactly the outputs they gave before.
"""

from __future__ import annotations

import math

import pandas as pd

from mixup_bench.analysis import stats
from mixup_bench.analysis.facts import Analysis

METRIC = "noise_memorised"

# summary.csv columns, appended only when the experiment holds memorisation values.
SUMMARY_COLUMNS = ("noise_memorised_pct_mean", "noise_memorised_pct_std")
DISPLAY_HEADER = "memorised noisy labels (%)"


def has_memorisation(df: pd.DataFrame) -> bool:
    """True when some run of `df` logged `noise_memorised` (it trained with label noise)."""
    return METRIC in df.columns and bool(pd.to_numeric(df[METRIC], errors="coerce").notna().any())


def memorisation_agg(df: pd.DataFrame) -> pd.DataFrame:
    """Mean, std and t interval over seeds of `noise_memorised` per arm and epoch (as `stats.aggregate`),
    keeping only the epochs where at least one seed has a value."""
    agg = stats.aggregate(df, metrics=(METRIC,))
    return agg[agg["n"] > 0].reset_index(drop=True)


def add_summary_columns(table: pd.DataFrame, analysis: Analysis) -> pd.DataFrame:
    """`table` (one row per arm, `summary.summary_table`) with the final-epoch memorisation in percent,
    mean and std over seeds, appended as `SUMMARY_COLUMNS`; `table` unchanged without memorisation values."""
    if not has_memorisation(analysis.df):
        return table
    means, stds = [], []
    for method, alpha in zip(table["method"], table["alpha"], strict=True):
        v = 100 * analysis.arm_finals(method, float(alpha))[METRIC].astype(float).dropna()
        means.append(float(v.mean()) if len(v) else math.nan)
        stds.append(float(v.std()) if len(v) > 1 else math.nan)
    return table.assign(**{SUMMARY_COLUMNS[0]: means, SUMMARY_COLUMNS[1]: stds})


def extend_display(table: pd.DataFrame, header: list[str], rows: list[list[str]], pm) -> None:
    """Insert the memorisation column (mean ± std, via `pm(mean, std, digits, n)`) after the ECE column
    of the display rows, in place; nothing when `table` has no memorisation columns."""
    if SUMMARY_COLUMNS[0] not in table.columns:
        return
    at = header.index("ECE (%)") + 1 if "ECE (%)" in header else len(header) - 2
    header.insert(at, DISPLAY_HEADER)
    for row, (_, r) in zip(rows, table.iterrows(), strict=True):
        row.insert(at, pm(r[SUMMARY_COLUMNS[0]], r[SUMMARY_COLUMNS[1]], 1, int(r["seeds"])))
