"""Statistics over the runs of one experiment: means and t intervals over seeds, paired differences,
their t tests and Holm's correction.

Everything here is a pure function of the rows read by `folder.load_experiment`; `facts.analyze`
calls each once per report:

- `aggregate` gives the mean, standard deviation and a 95% t interval over seeds for
  each arm (method, alpha), epoch and measure.
- `paired_differences` pairs each run of every arm (MixUp, CutMix, label smoothing, Manifold
  MixUp) with the baseline run of the same seed, or with the run of another chosen reference
  arm, and summarises arm minus reference at one reporting point: mean, 95% t interval, the
  two-sided paired t test's p-value, and that p-value after Holm's correction over the family of
  the comparison set (every arm × every part of the claim, `metrics.CLAIM`). Pairing by seed
  removes the seed-to-seed variation both arms share (data order, initialisation).

Accuracies and ECE are fractions in [0, 1] here; they become percent only when shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sps

from mixup_bench.metrics import CLAIM, CURVES, METRICS, SELECTION_METRIC, SHIFT, SHIFT_CLAIM
from mixup_bench.naming import METHOD_NAMES, arm_id, arm_label, arms
from mixup_bench.sequential import holm, mean_test, nominal_level, seeds_needed, sequential_p

CONFIDENCE = 0.95

# The two reporting points: each run's last finished epoch (pre-registered), and each run's epoch
# of highest validation accuracy (the earliest such epoch on a tie).
LAST = "last"
BEST_VAL = "best_val"

# The families Holm's correction runs over: each comparison (one arm against its reference) over its own
# parts of the claim, so that the verdict on an arm never depends on which other arms share the folder;
# or, as an option (`plot --family experiment`), every arm's parts at once.
COMPARISON = "comparison"
EXPERIMENT = "experiment"
FAMILIES = (COMPARISON, EXPERIMENT)


# --- intervals and tests --------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """Mean, sample standard deviation (ddof=1), count, a two-sided t interval for the mean, the
    two-sided test of mean 0 (`p`; `test` names it: the t test, or the exact sign-flip test where the
    values do not vary) and, for a paired comparison, `p` made sequential (`p_seq`, equal to `p` in a
    fixed-n experiment) and then adjusted by Holm over its family (`p_holm`; NaN outside a family)."""

    mean: float
    std: float
    n: int
    low: float
    high: float
    p: float = math.nan
    p_holm: float = math.nan
    test: str = ""
    p_seq: float = math.nan

    @classmethod
    def from_row(cls, row) -> Interval:
        """The interval of one row of `Paired.summary` (columns mean, std, n, ci_low, ci_high, p, p_holm, ...)."""
        p = float(row.get("p", math.nan))
        return cls(
            float(row["mean"]), float(row["std"]), int(row["n"]), float(row["ci_low"]), float(row["ci_high"]),
            p, float(row.get("p_holm", math.nan)), str(row.get("test", "") or ""), float(row.get("p_seq", p)),
        )  # fmt: skip


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
    """Mean, std (ddof=1), t interval and test of mean 0 (`sequential.mean_test`: the t test, or the exact
    sign-flip test for values that do not vary) of the finite values in `values` (NaN interval if fewer than 2)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return Interval(math.nan, math.nan, 0, math.nan, math.nan)
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if n >= 2 else math.nan
    half = t_halfwidth(std, n, confidence)
    p, test = mean_test(x)
    return Interval(mean, std, n, mean - half, mean + half, p, test=test, p_seq=p)


# --- aggregation over seeds -----------------------------------------------------------


def aggregate(df: pd.DataFrame, metrics=CURVES, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Mean over seeds per (method, alpha, metric, epoch), for the measures of `metrics` that `df` holds.

    Returns a long DataFrame with columns method, alpha, metric, epoch, mean, std (ddof=1),
    n (seeds with a finite value at that epoch), ci_low, ci_high (two-sided t interval,
    NaN when n < 2). When some runs are partial, later epochs average fewer seeds; `n` says how many.
    A measure no run logged (an older metrics.csv without val_acc) has n = 0 throughout.
    """
    present = [m for m in metrics if m in df.columns]
    long = df.melt(id_vars=["method", "alpha", "seed", "epoch"], value_vars=present, var_name="metric")
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


def _best_val_epoch(run: pd.DataFrame) -> int | None:
    """The epoch of highest validation accuracy of one run indexed by epoch (earliest on a tie), or None."""
    if SELECTION_METRIC not in run.columns:
        return None
    v = run[SELECTION_METRIC].dropna()
    return int(v.idxmax()) if not v.empty else None


# --- paired differences ---------------------------------------------------------------

BASELINE = ("baseline", 0.0)


@dataclass
class Paired:
    """Every other arm minus the reference arm (by default the baseline), paired by seed, at one reporting point.

    `reference`: the arm every other arm is compared with, as (method, parameter).
    `point`: LAST (the last epoch both runs of a pair reached) or BEST_VAL (each run at its own epoch
    of highest validation accuracy).
    `pairs`: one row per (method, alpha, seed, metric) with the epochs compared (`epoch` of the arm's
    run, `epoch_reference` of the reference run), both values (`value`, `reference`) and `diff` = value
    - reference.
    `summary`: one row per (method, alpha, metric) in `naming.arm_order`: mean, std, n, ci_low, ci_high
    of the diffs, `p` (paired t test), `p_holm` (Holm over the family: every row of a claim measure
    with a p-value), epoch_min/epoch_max of the compared epochs and `short` (True when a pair is
    taken before the last epoch of one of its runs, because the other run stopped earlier).
    `notes`: plain sentences about pairing (partial runs, unpaired seeds).
    `has_reference` / `has_others`: whether the reference arm, and any other arm, exist at all.
    """

    pairs: pd.DataFrame
    summary: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    has_reference: bool = False
    has_others: bool = False
    reference: tuple[str, float] = BASELINE
    point: str = LAST
    looks: tuple[int, ...] = ()  # the sequential design's looks (run --until-decided); () = fixed n
    family: str = COMPARISON  # COMPARISON: Holm over each arm's own parts; EXPERIMENT: over every arm's

    @property
    def procedure(self) -> str:
        """How the p-values were made: 'fixed-n' or 'sequential (looks at 3, 5, 7, 9, 10 pairs)'."""
        return f"sequential (looks at {', '.join(map(str, self.looks))} pairs)" if len(self.looks) > 1 else "fixed-n"

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

    @property
    def family_size(self) -> int:
        """How many comparisons Holm's correction runs over at most: the claim rows with a p-value of the
        largest family (one arm's parts, or every arm's with family=EXPERIMENT)."""
        s = self.summary
        if s.empty:
            return 0
        tested = s[s["metric"].isin(CLAIM + SHIFT_CLAIM) & s["p"].notna()]
        return int(tested.groupby("family").size().max()) if not tested.empty else 0

    def claim_parts(self, arm: tuple[str, float] | None = None) -> tuple[str, ...]:
        """The parts of the claim judged here (for `arm`, when given): every part of `metrics.CLAIM`, then
        the robustness parts (`metrics.SHIFT_CLAIM`) where the runs measured them (`run --shift`)."""
        s = self.summary if arm is None else self.arm_summary(arm)
        return CLAIM + tuple(m for m in SHIFT_CLAIM if (s["metric"] == m).any())


_PAIR_COLUMNS = ("method", "alpha", "seed", "epoch", "epoch_reference", "last_epoch", "last_epoch_reference",
    "short", "metric", "value", "reference")  # fmt: skip
_SUMMARY_COLUMNS = ("method", "alpha", "metric", "mean", "std", "n", "ci_low", "ci_high", "p", "test", "p_seq",
    "p_holm", "family", "seeds_needed", "epoch_min", "epoch_max", "short", "seeds")  # fmt: skip


def paired_measures(df: pd.DataFrame) -> tuple[str, ...]:
    """What `paired_differences` compares for `df`: every part of the claim, and the shift evaluation's
    measures when some run logged them (`run --shift`)."""
    return CLAIM + tuple(m for m in SHIFT if m in df.columns and df[m].notna().any())


def paired_differences(
    df: pd.DataFrame,
    metrics=CLAIM,
    confidence: float = CONFIDENCE,
    reference: tuple[str, float] = BASELINE,
    point: str = LAST,
    looks: tuple[int, ...] = (),
    family: str = COMPARISON,
) -> Paired:
    """Pair each run of every arm but `reference` (by default the baseline) with the `reference` run of
    the same seed and compare them at `point`.

    At LAST, both runs are taken at the last epoch both reached (the final epoch when both are
    complete); for a pair where one run stopped earlier (a partial run) a note says so. At BEST_VAL,
    each run is taken at its own epoch of highest validation accuracy; a run that logged none is left
    out with a note. Seeds without a reference run are left out with a note. Differences are arm minus
    reference, in the measure's own units (fractions for accuracy and ECE).
    """
    if point not in (LAST, BEST_VAL):
        raise ValueError(f"unknown reporting point {point!r}")
    reference = (reference[0], float(reference[1]))
    is_ref = (df["method"] == reference[0]) & (df["alpha"] == reference[1])
    ref, others = df[is_ref], df[~is_ref]
    rows, notes = _pair_rows(ref, others, reference, metrics, point)
    pairs = pd.DataFrame(rows, columns=list(_PAIR_COLUMNS))
    pairs["diff"] = pairs["value"] - pairs["reference"]
    if family not in (COMPARISON, EXPERIMENT):
        raise ValueError(f"unknown family {family!r}")
    summary = _summarise_pairs(pairs, confidence, reference, tuple(looks), family)
    return Paired(
        pairs, summary, notes, has_reference=not ref.empty, has_others=not others.empty, reference=reference,
        point=point, looks=tuple(looks), family=family,
    )  # fmt: skip


def _pair_rows(ref: pd.DataFrame, others: pd.DataFrame, reference, metrics, point) -> tuple[list[dict], list[str]]:
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
            pick = _last_common if point == LAST else _each_best_val
            m = g.set_index("epoch")
            epochs, short, note = pick(arm, seed, m, b, ref_name)
            if epochs is not None:
                rows += _metric_rows(arm, seed, m, b, epochs, short, metrics)
            if note:
                notes.append(note)
    return rows, notes


def _reference_name(reference: tuple[str, float]) -> str:
    """How notes name the reference arm: 'baseline', or its label ('MixUp alpha=0.2')."""
    return "baseline" if reference[0] == "baseline" else arm_label(*reference)


def _last_common(arm, seed: int, m: pd.DataFrame, b: pd.DataFrame, ref_name: str):
    """(epoch of the arm's run, epoch of the reference run) at LAST: the last epoch both reached; whether
    that is before the last epoch of either run (`short`); and a note when it is (or none is shared)."""
    label = arm_label(*arm)
    common = sorted(set(m.index) & set(b.index))
    if not common:
        return None, False, f"{label} seed {seed} shares no epoch with its {ref_name}; left out."
    epoch = common[-1]
    last_m, last_b = int(m.index.max()), int(b.index.max())
    note = None
    if epoch < max(last_m, last_b):
        name = METHOD_NAMES.get(arm[0], (None, arm[0]))[1]
        note = (
            f"{label} seed {seed} is compared with its {ref_name} at epoch {epoch}, "
            f"the last epoch both reached ({name} run at {last_m}, {ref_name} at {last_b})."
        )
    return (epoch, epoch), note is not None, note


def _each_best_val(arm, seed: int, m: pd.DataFrame, b: pd.DataFrame, ref_name: str):
    """(epoch of the arm's run, epoch of the reference run) at BEST_VAL: each run's own epoch of highest
    validation accuracy; `short` when the two runs did not reach the same last epoch (one is partial);
    None and a note when either logged no validation accuracy."""
    em, eb = _best_val_epoch(m), _best_val_epoch(b)
    if em is None or eb is None:
        which = arm_label(*arm) if em is None else ref_name
        return None, False, f"{arm_label(*arm)} seed {seed}: the {which} run logged no validation accuracy; left out."
    return (em, eb), int(m.index.max()) != int(b.index.max()), None


def _metric_rows(arm, seed: int, m: pd.DataFrame, b: pd.DataFrame, epochs, short: bool, metrics) -> list[dict]:
    """One row of `Paired.pairs` per metric: run `m` of `arm` at epochs[0], its reference run `b` at epochs[1]."""
    last_m, last_b = int(m.index.max()), int(b.index.max())
    return [
        {
            "method": arm[0],
            "alpha": float(arm[1]),
            "seed": seed,
            "epoch": int(epochs[0]),
            "epoch_reference": int(epochs[1]),
            "last_epoch": last_m,
            "last_epoch_reference": last_b,
            "short": short,
            "metric": metric,
            "value": float(m.at[epochs[0], metric]),
            "reference": float(b.at[epochs[1], metric]),
        }
        for metric in metrics
    ]


def _summarise_pairs(pairs: pd.DataFrame, confidence: float, reference, looks: tuple[int, ...], family: str):
    """One row per (method, alpha, metric) of `pairs`, in their order: the interval and test of the diffs
    (the interval at the design's nominal level when `looks` has several), the sequential p, Holm's
    adjustment over the family, the seeds an open part would need, and the epochs compared."""
    level = 1 - confidence
    conf = 1 - nominal_level(looks, level) if len(looks) > 1 else confidence
    rows = []
    for (method, alpha, metric), g in pairs.groupby(["method", "alpha", "metric"], sort=False):
        iv = mean_interval(g["diff"], conf)
        epochs = pd.concat([g["epoch"], g["epoch_reference"]])
        rows.append(
            {
                "method": str(method), "alpha": float(alpha), "metric": metric, "mean": iv.mean, "std": iv.std,
                "n": iv.n, "ci_low": iv.low, "ci_high": iv.high, "p": iv.p, "test": iv.test,
                "p_seq": sequential_p(iv.p, looks) if len(looks) > 1 and math.isfinite(iv.p) else iv.p,
                "p_holm": math.nan,
                "family": f"{arm_id(method, alpha)} vs {arm_id(*reference)}" if family == COMPARISON else EXPERIMENT,
                "seeds_needed": math.nan, "epoch_min": int(epochs.min()), "epoch_max": int(epochs.max()),
                "short": bool(g["short"].any()), "seeds": ",".join(str(s) for s in sorted(g["seed"])),
            }
        )  # fmt: skip
    summary = pd.DataFrame(rows, columns=list(_SUMMARY_COLUMNS))
    summary = summary[summary["n"] > 0].reset_index(drop=True)  # a measure no pair logged (shift, off this epoch)
    in_family = summary["metric"].isin(CLAIM + SHIFT_CLAIM)
    for _, members in summary[in_family].groupby("family", sort=False):
        summary.loc[members.index, "p_holm"] = holm(members["p_seq"].to_numpy())
        size = int(members["p_seq"].notna().sum())
        alpha = nominal_level(looks, level / max(size, 1)) if len(looks) > 1 else level / max(size, 1)
        for i, row in members.iterrows():
            needed = seeds_needed(row["std"], METRICS[row["metric"]].margin, alpha)
            summary.loc[i, "seeds_needed"] = math.nan if needed is None else needed
    return summary
