"""Statistics over the runs of one experiment: means and t intervals over seeds, and paired differences.

Everything here is a pure function of the rows read by `load.load_experiment`; `facts.analyze`
calls each once per report:

- `aggregate` gives the mean, standard deviation and a 95% t interval over seeds for
  each arm (method, alpha), epoch and metric.
- `paired_differences` pairs each MixUp run with the baseline run of the same seed and
  summarises MixUp minus baseline at the last epoch both runs reached. Pairing by seed
  removes the seed-to-seed variation both arms share (data order, initialisation).

Accuracies and ECE are fractions in [0, 1] here; they become percent only when shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sps

from mixup_bench.naming import arm_label

CONFIDENCE = 0.95

# Metrics drawn per epoch. `gap` is derived: test_loss - clean_train_loss.
CURVE_METRICS = (
    "train_loss",
    "train_acc",
    "clean_train_loss",
    "clean_train_acc",
    "test_loss",
    "test_acc",
    "test_ece",
    "gap",
)

# Metrics compared pairwise (MixUp minus baseline, same seed), in the order the verdict names them.
PAIRED_METRICS = ("clean_train_loss", "test_acc", "test_loss", "gap", "test_ece")


# --- intervals ------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """Mean, sample standard deviation (ddof=1), count and a two-sided t interval for the mean."""

    mean: float
    std: float
    n: int
    low: float
    high: float

    @classmethod
    def from_row(cls, row) -> Interval:
        """The interval of one row of `Paired.summary` (columns mean, std, n, ci_low, ci_high)."""
        return cls(float(row["mean"]), float(row["std"]), int(row["n"]), float(row["ci_low"]), float(row["ci_high"]))


def t_halfwidth(std, n, confidence: float = CONFIDENCE):
    """Half width of the t interval for a mean: t_{(1+c)/2, n-1} * std / sqrt(n).

    Works on scalars and arrays; NaN where n < 2 (one value gives no interval).
    """
    n_arr = np.asarray(n, dtype=float)
    std_arr = np.asarray(std, dtype=float)
    dof = np.where(n_arr >= 2, n_arr - 1, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = sps.t.ppf(0.5 + confidence / 2, dof) * std_arr / np.sqrt(np.maximum(n_arr, 1.0))
    half = np.where(n_arr >= 2, half, np.nan)
    return float(half) if np.ndim(half) == 0 else half


def mean_interval(values, confidence: float = CONFIDENCE) -> Interval:
    """Mean, std (ddof=1) and t interval of the finite values in `values` (NaN interval if fewer than 2)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return Interval(math.nan, math.nan, 0, math.nan, math.nan)
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if n >= 2 else math.nan
    half = t_halfwidth(std, n, confidence)
    return Interval(mean, std, n, mean - half, mean + half)


# --- aggregation over seeds -----------------------------------------------------------


def aggregate(df: pd.DataFrame, metrics=CURVE_METRICS, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Mean over seeds per (method, alpha, metric, epoch).

    Returns a long DataFrame with columns method, alpha, metric, epoch, mean, std (ddof=1),
    n (seeds with a finite value at that epoch), ci_low, ci_high (two-sided t interval,
    NaN when n < 2). When some runs are partial, later epochs average fewer seeds; `n` says how many.
    """
    long = df.melt(id_vars=["method", "alpha", "seed", "epoch"], value_vars=list(metrics), var_name="metric")
    out = (
        long.groupby(["method", "alpha", "metric", "epoch"], sort=True)["value"]
        .agg(mean="mean", std="std", n="count")
        .reset_index()
    )
    out["n"] = out["n"].astype(int)
    half = t_halfwidth(out["std"].to_numpy(), out["n"].to_numpy(), confidence)
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    return out


def final_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The last finished epoch of every run (one row per run)."""
    idx = df.groupby("run_id")["epoch"].idxmax()
    return df.loc[idx].reset_index(drop=True)


# --- paired differences ---------------------------------------------------------------


@dataclass
class Paired:
    """MixUp minus baseline, paired by seed.

    `pairs`: one row per (alpha, seed, metric) with the epoch compared, both values and diff.
    `summary`: one row per (alpha, metric): mean, std, n, ci_low, ci_high of the diffs,
    epoch_min/epoch_max of the compared epochs and `short` (True when a pair was compared
    before the last epoch of one of its runs, because the other run stopped earlier).
    `notes`: plain sentences about pairing (partial runs, unpaired seeds).
    `has_baseline` / `has_mixup`: whether either arm exists at all.
    """

    pairs: pd.DataFrame
    summary: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    has_baseline: bool = False
    has_mixup: bool = False

    def get(self, alpha: float, metric: str) -> Interval | None:
        """The summarised difference for one alpha and metric, or None when no pair exists."""
        s = self.summary
        row = s[(s["alpha"] == alpha) & (s["metric"] == metric)]
        if row.empty:
            return None
        return Interval.from_row(row.iloc[0])


_PAIR_COLUMNS = ("alpha", "seed", "epoch", "last_epoch_mixup", "last_epoch_baseline", "metric", "mixup", "baseline")
_SUMMARY_COLUMNS = (
    "alpha",
    "metric",
    "mean",
    "std",
    "n",
    "ci_low",
    "ci_high",
    "epoch_min",
    "epoch_max",
    "short",
    "seeds",
)


def paired_differences(df: pd.DataFrame, metrics=PAIRED_METRICS, confidence: float = CONFIDENCE) -> Paired:
    """Pair each MixUp run with the baseline run of the same seed and compare them at the
    last epoch both reached (the final epoch when both are complete).

    For a pair where one run stopped earlier (a partial run), the comparison is made at the
    largest epoch present in both, and a note says so. MixUp seeds without a baseline are
    left out with a note. Differences are MixUp minus baseline, in the metric's own units
    (fractions for accuracy and ECE).
    """
    base = df[df["method"] == "baseline"]
    mix = df[df["method"] == "mixup"]
    rows, notes = _pair_rows(base, mix, metrics)
    pairs = pd.DataFrame(rows, columns=list(_PAIR_COLUMNS))
    pairs["diff"] = pairs["mixup"] - pairs["baseline"]
    summary = _summarise_pairs(pairs, confidence)
    return Paired(pairs=pairs, summary=summary, notes=notes, has_baseline=not base.empty, has_mixup=not mix.empty)


def _pair_rows(base: pd.DataFrame, mix: pd.DataFrame, metrics) -> tuple[list[dict], list[str]]:
    """The rows of `Paired.pairs` (without diff) for every MixUp run, and the notes on the runs left out."""
    rows: list[dict] = []
    notes: list[str] = []
    base_by_seed = {int(s): g.set_index("epoch") for s, g in base.groupby("seed")}
    for (alpha, seed), g in mix.groupby(["alpha", "seed"], sort=True):
        alpha, seed = float(alpha), int(seed)
        b = base_by_seed.get(seed)
        if b is None:
            if not base.empty:
                notes.append(f"{arm_label('mixup', alpha)} seed {seed} has no baseline run with seed {seed}; left out.")
            continue
        pair_rows, note = _pair_one_run(alpha, seed, g.set_index("epoch"), b, metrics)
        rows += pair_rows
        if note:
            notes.append(note)
    return rows, notes


def _pair_one_run(alpha: float, seed: int, m: pd.DataFrame, b: pd.DataFrame, metrics) -> tuple[list[dict], str | None]:
    """Compare one MixUp run `m` with its baseline `b` (both indexed by epoch) at the last epoch both
    reached: one row per metric, and a note when that is not the last epoch of both (or none is shared)."""
    common = sorted(set(m.index) & set(b.index))
    if not common:
        return [], f"{arm_label('mixup', alpha)} seed {seed} shares no epoch with its baseline; left out."
    epoch = common[-1]
    last_m, last_b = int(m.index.max()), int(b.index.max())
    note = None
    if epoch < max(last_m, last_b):
        note = (
            f"{arm_label('mixup', alpha)} seed {seed} is compared with its baseline at epoch {epoch}, "
            f"the last epoch both reached (MixUp run at {last_m}, baseline at {last_b})."
        )
    rows = [
        {
            "alpha": alpha,
            "seed": seed,
            "epoch": epoch,
            "last_epoch_mixup": last_m,
            "last_epoch_baseline": last_b,
            "metric": metric,
            "mixup": float(m.at[epoch, metric]),
            "baseline": float(b.at[epoch, metric]),
        }
        for metric in metrics
    ]
    return rows, note


def _summarise_pairs(pairs: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """One row per (alpha, metric) of `pairs`: the t interval of the diffs and the epochs compared."""
    rows = []
    for (alpha, metric), g in pairs.groupby(["alpha", "metric"], sort=False):
        iv = mean_interval(g["diff"], confidence)
        short = bool((g["epoch"] < g[["last_epoch_mixup", "last_epoch_baseline"]].max(axis=1)).any())
        rows.append(
            {
                "alpha": float(alpha),
                "metric": metric,
                "mean": iv.mean,
                "std": iv.std,
                "n": iv.n,
                "ci_low": iv.low,
                "ci_high": iv.high,
                "epoch_min": int(g["epoch"].min()),
                "epoch_max": int(g["epoch"].max()),
                "short": short,
                "seeds": ",".join(str(s) for s in sorted(g["seed"])),
            }
        )
    return pd.DataFrame(rows, columns=list(_SUMMARY_COLUMNS))
