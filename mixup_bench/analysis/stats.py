"""Statistics over the runs of one experiment: means and t intervals over seeds, and paired differences.

Everything here is a pure function of the rows read by `load.load_experiment`; `facts.analyze`
calls each once per report:

- `aggregate` gives the mean, standard deviation and a 95% t interval over seeds for
  each arm (method, alpha), epoch and metric.
- `paired_differences` pairs each run of every arm (MixUp, CutMix, label smoothing, Manifold
  MixUp) with the baseline run of the same seed, or with the run of another chosen reference
  arm, and summarises arm minus reference at the last epoch both runs reached. Pairing by seed
  removes the seed-to-seed variation both arms share (data order, initialisation).

Accuracies and ECE are fractions in [0, 1] here; they become percent only when shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sps

from mixup_bench.naming import METHOD_NAMES, arm_label, arms

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

# Metrics compared pairwise (arm minus baseline, same seed), in the order the verdict names them.
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

BASELINE = ("baseline", 0.0)


@dataclass
class Paired:
    """Every other arm minus the reference arm (by default the baseline), paired by seed.

    `reference`: the arm every other arm is compared with, as (method, parameter).
    `pairs`: one row per (method, alpha, seed, metric) with the epoch compared, both values
    (`value` of the arm, `reference` of the reference arm) and `diff` = value - reference.
    `summary`: one row per (method, alpha, metric) in `naming.arm_order`: mean, std, n, ci_low,
    ci_high of the diffs, epoch_min/epoch_max of the compared epochs and `short` (True when a pair
    was compared before the last epoch of one of its runs, because the other run stopped earlier).
    `notes`: plain sentences about pairing (partial runs, unpaired seeds).
    `has_reference` / `has_others`: whether the reference arm, and any other arm, exist at all.
    """

    pairs: pd.DataFrame
    summary: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    has_reference: bool = False
    has_others: bool = False
    reference: tuple[str, float] = BASELINE

    def get(self, arm: tuple[str, float], metric: str) -> Interval | None:
        """The summarised difference for one arm (method, parameter) and metric, or None when no pair exists."""
        row = self.arm_summary(arm)
        row = row[row["metric"] == metric]
        if row.empty:
            return None
        return Interval.from_row(row.iloc[0])

    def arm_summary(self, arm: tuple[str, float]) -> pd.DataFrame:
        """The rows of `summary` of one arm (method, parameter), one per metric."""
        s = self.summary
        return s[(s["method"] == arm[0]) & (s["alpha"] == float(arm[1]))]

    @property
    def compared(self) -> list[tuple[str, float]]:
        """The arms with at least one pair, in `naming.arm_order`."""
        return arms(self.summary) if not self.summary.empty else []


_PAIR_COLUMNS = (
    "method",
    "alpha",
    "seed",
    "epoch",
    "last_epoch",
    "last_epoch_reference",
    "metric",
    "value",
    "reference",
)
_SUMMARY_COLUMNS = (
    "method",
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


def paired_differences(
    df: pd.DataFrame, metrics=PAIRED_METRICS, confidence: float = CONFIDENCE, reference: tuple[str, float] = BASELINE
) -> Paired:
    """Pair each run of every arm but `reference` (by default the baseline) with the `reference` run of
    the same seed and compare them at the last epoch both reached (the final epoch when both are complete).

    For a pair where one run stopped earlier (a partial run), the comparison is made at the
    largest epoch present in both, and a note says so. Seeds without a reference run are left out
    with a note. Differences are arm minus reference, in the metric's own units (fractions for
    accuracy and ECE).
    """
    reference = (reference[0], float(reference[1]))
    is_ref = (df["method"] == reference[0]) & (df["alpha"] == reference[1])
    ref, others = df[is_ref], df[~is_ref]
    rows, notes = _pair_rows(ref, others, reference, metrics)
    pairs = pd.DataFrame(rows, columns=list(_PAIR_COLUMNS))
    pairs["diff"] = pairs["value"] - pairs["reference"]
    summary = _summarise_pairs(pairs, confidence)
    return Paired(pairs, summary, notes, has_reference=not ref.empty, has_others=not others.empty, reference=reference)


def _pair_rows(ref: pd.DataFrame, others: pd.DataFrame, reference, metrics) -> tuple[list[dict], list[str]]:
    """The rows of `Paired.pairs` (without diff) for every run of `others`, in `naming.arm_order` then
    seed, and the notes on the runs left out."""
    rows: list[dict] = []
    notes: list[str] = []
    ref_by_seed = {int(s): g.set_index("epoch") for s, g in ref.groupby("seed")}
    ref_name = _reference_name(reference)
    for arm in arms(others) if not others.empty else []:
        runs = others[(others["method"] == arm[0]) & (others["alpha"] == arm[1])]
        for seed, g in runs.groupby("seed", sort=True):
            seed = int(seed)
            b = ref_by_seed.get(seed)
            if b is None:
                if not ref.empty:
                    notes.append(f"{arm_label(*arm)} seed {seed} has no {ref_name} run with seed {seed}; left out.")
                continue
            pair_rows, note = _pair_one_run(arm, seed, g.set_index("epoch"), b, metrics, reference)
            rows += pair_rows
            if note:
                notes.append(note)
    return rows, notes


def _reference_name(reference: tuple[str, float]) -> str:
    """How notes name the reference arm: 'baseline', or its label ('MixUp alpha=0.2')."""
    return "baseline" if reference[0] == "baseline" else arm_label(*reference)


def _pair_one_run(
    arm, seed: int, m: pd.DataFrame, b: pd.DataFrame, metrics, reference
) -> tuple[list[dict], str | None]:
    """Compare one run `m` of `arm` with its reference run `b` (both indexed by epoch) at the last epoch
    both reached: one row per metric, and a note when that is not the last epoch of both (or none is shared)."""
    label, ref_name = arm_label(*arm), _reference_name(reference)
    common = sorted(set(m.index) & set(b.index))
    if not common:
        return [], f"{label} seed {seed} shares no epoch with its {ref_name}; left out."
    epoch = common[-1]
    last_m, last_b = int(m.index.max()), int(b.index.max())
    note = None
    if epoch < max(last_m, last_b):
        name = METHOD_NAMES.get(arm[0], (None, arm[0]))[1]
        note = (
            f"{label} seed {seed} is compared with its {ref_name} at epoch {epoch}, "
            f"the last epoch both reached ({name} run at {last_m}, {ref_name} at {last_b})."
        )
    rows = [
        {
            "method": arm[0],
            "alpha": float(arm[1]),
            "seed": seed,
            "epoch": epoch,
            "last_epoch": last_m,
            "last_epoch_reference": last_b,
            "metric": metric,
            "value": float(m.at[epoch, metric]),
            "reference": float(b.at[epoch, metric]),
        }
        for metric in metrics
    ]
    return rows, note


def _summarise_pairs(pairs: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """One row per (method, alpha, metric) of `pairs`, in their order: the t interval of the diffs and
    the epochs compared."""
    rows = []
    for (method, alpha, metric), g in pairs.groupby(["method", "alpha", "metric"], sort=False):
        iv = mean_interval(g["diff"], confidence)
        short = bool((g["epoch"] < g[["last_epoch", "last_epoch_reference"]].max(axis=1)).any())
        rows.append(
            {
                "method": str(method),
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
