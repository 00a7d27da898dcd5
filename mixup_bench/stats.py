"""Statistics over the runs of one experiment: aggregation over seeds, paired differences, the verdict.

Everything here is a pure function of the metrics read back from disk (see `results`):

- `load_experiment` reads every run into one tidy DataFrame (one row per run and epoch).
- `aggregate` gives the mean, standard deviation and a 95% t interval over seeds for
  each arm (method, alpha), epoch and metric.
- `paired_differences` pairs each MixUp run with the baseline run of the same seed and
  summarises MixUp minus baseline at the last epoch both runs reached.
- `summary_table` gives one row per arm for `summary.csv` / `summary.md`.
- `verdict` turns the paired differences into a paragraph that says, for each part of
  the MixUp claim, whether the data support it, contradict it, or cannot decide.

Accuracies and ECE are fractions in [0, 1] here; they become percent only when shown.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from mixup_bench import results
from mixup_bench.errors import UserError

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

# The sign of (MixUp - baseline) that the MixUp claim predicts for each paired metric.
CLAIM_DIRECTION = {
    "clean_train_loss": +1,  # training loss is higher
    "test_acc": +1,  # generalises better: higher test accuracy
    "test_loss": -1,  # ... lower test loss
    "gap": -1,  # ... smaller gap between test and train loss
    "test_ece": -1,  # ... better calibration
}

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

CLAIM_WORDS = {
    "clean_train_loss": "higher",
    "test_acc": "higher",
    "test_loss": "lower",
    "gap": "smaller",
    "test_ece": "lower",
}

SUPPORTED = "supported"
CONTRADICTED = "contradicted"
INCONCLUSIVE = "inconclusive"
NO_INTERVAL = "no interval"

_NUMERIC_COLUMNS = (
    "alpha",
    "seed",
    "epoch",
    "lr",
    "train_loss",
    "train_acc",
    "clean_train_loss",
    "clean_train_acc",
    "test_loss",
    "test_acc",
    "test_ece",
    "epoch_seconds",
    "images_per_second",
)
_RUN_ID_RE = re.compile(r"^(baseline|mixup)-a([0-9.eE+-]+)-s(\d+)$")


# --- labels ---------------------------------------------------------------------


def format_alpha(alpha: float) -> str:
    """Shortest text for alpha, as in run ids: 0.4 -> '0.4', 1.0 -> '1'."""
    return f"{float(alpha):g}"


def arm_label(method: str, alpha: float, greek: bool = False) -> str:
    """Human name of an arm: 'baseline' or 'MixUp alpha=0.4' ('MixUp α=0.4' with greek=True)."""
    if method == "baseline":
        return "baseline"
    return f"MixUp {'α' if greek else 'alpha'}={format_alpha(alpha)}"


def arms(df: pd.DataFrame) -> list[tuple[str, float]]:
    """The arms present in `df` as (method, alpha), baseline first, then by increasing alpha."""
    pairs = df[["method", "alpha"]].drop_duplicates()
    keys = [(str(m), float(a)) for m, a in zip(pairs["method"], pairs["alpha"], strict=True)]
    return sorted(keys, key=lambda k: (k[0] != "baseline", k[1]))


# --- loading --------------------------------------------------------------------


def load_experiment(exp_dir: Path) -> tuple[pd.DataFrame, list[str]]:
    """Read every run of an experiment into one tidy DataFrame.

    Returns `(df, warnings)`. `df` has the `results.METRICS_COLUMNS` plus:

    - `done` (bool): the run folder holds the DONE marker; False means the run is still
      in progress (or was stopped) and its last row is its last finished epoch;
    - `gap` (float): test_loss - clean_train_loss, the generalisation gap in loss.

    Rows are sorted by method (baseline first), alpha, seed and epoch. A run whose
    metrics.csv is missing, empty or malformed is skipped with a warning string; a
    second run with the same (method, alpha, seed) is skipped too. Raises UserError when
    the folder does not exist or when no usable run remains.
    """
    exp_dir = Path(exp_dir)
    if not exp_dir.exists():
        raise UserError(f"{exp_dir} does not exist; run `mixup-bench run` first or give the experiment folder.")
    if not exp_dir.is_dir():
        raise UserError(f"{exp_dir} is not a folder; give an experiment folder such as results/default.")

    frames: list[pd.DataFrame] = []
    warnings: list[str] = []
    seen: dict[tuple[str, float, int], str] = {}
    for run_dir in results.run_dirs(exp_dir):
        metrics_path = run_dir / results.METRICS_FILE
        if not metrics_path.exists():
            warnings.append(f"Skipped run {run_dir.name}: no {results.METRICS_FILE} yet (no epoch finished).")
            continue
        try:
            df = results.read_metrics(metrics_path)
            df, notes = _clean_run(df, metrics_path)
        except UserError as e:
            warnings.append(f"Skipped run {run_dir.name}: {e}")
            continue
        warnings.extend(f"Run {run_dir.name}: {note}" for note in notes)
        key = (str(df["method"].iat[0]), float(df["alpha"].iat[0]), int(df["seed"].iat[0]))
        if key in seen:
            warnings.append(
                f"Skipped run {run_dir.name}: it repeats {arm_label(key[0], key[1])} seed {key[2]} "
                f"already read from {seen[key]}."
            )
            continue
        seen[key] = run_dir.name
        df["run_id"] = run_dir.name  # the folder name is the run's identity (lam.csv, calibration.json live there)
        df["done"] = results.is_done(run_dir)
        frames.append(df)

    if not frames:
        detail = f" ({len(warnings)} skipped; first: {warnings[0]})" if warnings else ""
        raise UserError(
            f"{exp_dir} holds no runs with readable metrics{detail}; run `mixup-bench run` first."
            if detail
            else f"{exp_dir} holds no runs (no runs/*/metrics.csv); run `mixup-bench run` first."
        )

    df = pd.concat(frames, ignore_index=True)
    df["gap"] = df["test_loss"] - df["clean_train_loss"]
    df["_order"] = (df["method"] != "baseline").astype(int)
    df = df.sort_values(["_order", "alpha", "seed", "epoch"]).drop(columns="_order").reset_index(drop=True)
    return df, warnings


def _clean_run(df: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, list[str]]:
    """Check one run's metrics beyond the column names; return typed rows sorted by epoch and notes."""
    notes: list[str] = []
    df = df[list(results.METRICS_COLUMNS)].copy()
    for col in _NUMERIC_COLUMNS:
        if not pd.api.types.is_numeric_dtype(df[col]):
            try:
                df[col] = pd.to_numeric(df[col])
            except (ValueError, TypeError):
                raise UserError(f"{path} holds non-numeric values in column {col}.") from None
    for col in ("run_id", "method", "alpha", "seed"):
        if df[col].nunique(dropna=False) != 1:
            raise UserError(f"{path} mixes several values of {col}; one metrics.csv holds one run.")
    if df[["alpha", "seed", "epoch"]].isna().any().any():
        raise UserError(f"{path} has rows without alpha, seed or epoch.")
    method = str(df["method"].iat[0])
    alpha = float(df["alpha"].iat[0])
    if method not in ("baseline", "mixup"):
        raise UserError(f"{path} has method {method!r}; expected baseline or mixup.")
    if (method == "baseline") != (alpha == 0):
        raise UserError(f"{path} has method {method} with alpha {alpha:g}; the baseline has alpha 0, MixUp above 0.")
    if (df["epoch"] < 1).any() or (df["epoch"] != df["epoch"].round()).any():
        raise UserError(f"{path} has epochs that are not whole numbers from 1.")
    df["method"] = df["method"].astype(str)
    df["run_id"] = df["run_id"].astype(str)
    df["experiment"] = df["experiment"].astype(str)
    df["alpha"] = df["alpha"].astype(float)
    df["seed"] = df["seed"].astype(int)
    df["epoch"] = df["epoch"].astype(int)
    if df["epoch"].duplicated().any():
        dups = sorted(set(df.loc[df["epoch"].duplicated(), "epoch"]))
        notes.append(f"epoch(s) {', '.join(map(str, dups))} appear twice in metrics.csv; the last row of each is used.")
        df = df.drop_duplicates("epoch", keep="last")
    return df.sort_values("epoch").reset_index(drop=True), notes


def experiment_alphas(exp_dir: Path, df: pd.DataFrame | None = None) -> list[float]:
    """Every alpha the experiment holds or plans, sorted: from the loaded runs, the run folder
    names (even of runs that could not be read) and experiment.json when present.

    Used to give each alpha the same colour in every figure, whatever subset is drawn.
    """
    found: set[float] = set()
    if df is not None and not df.empty:
        found.update(float(a) for a in df["alpha"].unique())
    for run_dir in results.run_dirs(Path(exp_dir)):
        m = _RUN_ID_RE.match(run_dir.name)
        if m:
            try:
                found.add(float(m.group(2)))
            except ValueError:
                pass
    path = Path(exp_dir) / results.EXPERIMENT_FILE
    if path.exists():
        try:
            meta = json.loads(path.read_text())
        except (OSError, ValueError):
            meta = {}
        for node in (meta, meta.get("config") if isinstance(meta, dict) else None):
            if isinstance(node, dict) and isinstance(node.get("alphas"), list):
                for a in node["alphas"]:
                    if isinstance(a, (int, float)) and a >= 0:
                        found.add(float(a))
    return sorted(found)


def load_lam(exp_dir: Path, df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The lam values sampled by the MixUp runs of `df`, from each run's lam.csv.

    Returns `(lam, warnings)`; `lam` has columns alpha, seed, epoch, step, lam (empty when
    no MixUp run logged any). A missing lam.csv is normal and silent; a malformed one is
    skipped with a warning.
    """
    frames, warnings = [], []
    for run_id, alpha, seed in _runs(df, method="mixup"):
        path = Path(exp_dir) / results.RUNS_DIR / run_id / results.LAM_FILE
        if not path.exists():
            continue
        try:
            lam = pd.read_csv(path)
        except pd.errors.EmptyDataError:
            warnings.append(f"Ignored {path}: it is empty.")
            continue
        except (pd.errors.ParserError, UnicodeDecodeError, OSError) as e:
            warnings.append(f"Ignored {path}: not a valid CSV ({str(e).splitlines()[0]}).")
            continue
        missing = [c for c in results.LAM_COLUMNS if c not in lam.columns]
        if missing:
            warnings.append(f"Ignored {path}: it lacks the column(s) {', '.join(missing)}.")
            continue
        values = pd.to_numeric(lam["lam"], errors="coerce")
        if values.isna().any() or ((values < 0) | (values > 1)).any():
            warnings.append(f"Ignored {path}: lam values must be numbers in [0, 1].")
            continue
        frames.append(
            pd.DataFrame({"alpha": alpha, "seed": seed, "epoch": lam["epoch"], "step": lam["step"], "lam": values})
        )
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in ("alpha", "seed", "epoch", "step", "lam")}), warnings
    return pd.concat(frames, ignore_index=True), warnings


_CALIBRATION_KEYS = ("n_bins", "bin_lower", "bin_upper", "count", "confidence_sum", "correct_sum")


@dataclass(frozen=True)
class Reliability:
    """Reliability bins of one arm, pooled over seeds by summing counts and sums per bin."""

    method: str
    alpha: float
    bin_lower: np.ndarray
    bin_upper: np.ndarray
    count: np.ndarray  # test predictions per confidence bin, summed over seeds
    confidence_sum: np.ndarray
    correct_sum: np.ndarray
    epochs: tuple[int, ...]  # the epoch of each pooled calibration.json
    n_runs: int

    @property
    def accuracy(self) -> np.ndarray:
        """Fraction correct per bin (NaN for empty bins)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.count > 0, self.correct_sum / self.count, np.nan)

    @property
    def confidence(self) -> np.ndarray:
        """Mean confidence per bin (NaN for empty bins)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.count > 0, self.confidence_sum / self.count, np.nan)

    @property
    def ece(self) -> float:
        """Pooled expected calibration error: sum over bins of |correct - confidence| / predictions."""
        total = self.count.sum()
        return float(np.abs(self.correct_sum - self.confidence_sum).sum() / total) if total > 0 else math.nan


def load_calibration(exp_dir: Path, df: pd.DataFrame) -> tuple[list[Reliability], list[str]]:
    """Pool each arm's calibration.json files (one per run of `df`) into one `Reliability`.

    A missing calibration.json is silent; an unreadable one, or one whose bins differ from
    the arm's other runs, is left out with a warning. Arms without any file are absent.
    """
    pooled: list[Reliability] = []
    warnings: list[str] = []
    for method, alpha in arms(df):
        acc: dict[str, np.ndarray] = {}
        epochs: list[int] = []
        for run_id, _, _ in _runs(df, method=method, alpha=alpha):
            path = Path(exp_dir) / results.RUNS_DIR / run_id / results.CALIBRATION_FILE
            if not path.exists():
                continue
            try:
                data = json.loads(path.read_text())
                arrays = {k: np.asarray(data[k], dtype=float) for k in _CALIBRATION_KEYS[1:]}
                n_bins = int(data["n_bins"])
                epoch = int(data.get("epoch", 0))
            except (OSError, ValueError, KeyError, TypeError) as e:
                warnings.append(f"Ignored {path}: not a valid calibration file ({type(e).__name__}: {e}).")
                continue
            if any(a.shape != (n_bins,) for a in arrays.values()) or (arrays["count"] < 0).any():
                warnings.append(f"Ignored {path}: every bin list must hold n_bins={n_bins} values, counts >= 0.")
                continue
            if acc and not (
                np.allclose(acc["bin_lower"], arrays["bin_lower"])
                and np.allclose(acc["bin_upper"], arrays["bin_upper"])
            ):
                warnings.append(f"Ignored {path}: its bins differ from the other runs of the arm.")
                continue
            if not acc:
                acc = arrays
            else:
                for k in ("count", "confidence_sum", "correct_sum"):
                    acc[k] = acc[k] + arrays[k]
            epochs.append(epoch)
        if acc:
            pooled.append(
                Reliability(
                    method=method,
                    alpha=alpha,
                    bin_lower=acc["bin_lower"],
                    bin_upper=acc["bin_upper"],
                    count=acc["count"],
                    confidence_sum=acc["confidence_sum"],
                    correct_sum=acc["correct_sum"],
                    epochs=tuple(epochs),
                    n_runs=len(epochs),
                )
            )
    return pooled, warnings


def _runs(df: pd.DataFrame, method: str | None = None, alpha: float | None = None) -> list[tuple[str, float, int]]:
    """(run_id, alpha, seed) of the runs in `df`, optionally of one method / alpha."""
    sel = df
    if method is not None:
        sel = sel[sel["method"] == method]
    if alpha is not None:
        sel = sel[sel["alpha"] == alpha]
    keys = sel[["run_id", "alpha", "seed"]].drop_duplicates()
    return [(str(r), float(a), int(s)) for r, a, s in zip(keys["run_id"], keys["alpha"], keys["seed"], strict=True)]


# --- intervals ------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """Mean, sample standard deviation (ddof=1), count and a two-sided t interval for the mean."""

    mean: float
    std: float
    n: int
    low: float
    high: float


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
        r = row.iloc[0]
        return Interval(float(r["mean"]), float(r["std"]), int(r["n"]), float(r["ci_low"]), float(r["ci_high"]))


def paired_differences(df: pd.DataFrame, metrics=PAIRED_METRICS, confidence: float = CONFIDENCE) -> Paired:
    """Pair each MixUp run with the baseline run of the same seed and compare them at the
    last epoch both reached (the final epoch when both are complete).

    For a pair where one run stopped earlier (a partial run), the comparison is made at the
    largest epoch present in both, and a note says so. MixUp seeds without a baseline are
    left out with a note. Differences are MixUp minus baseline, in the metric's own units
    (fractions for accuracy and ECE).
    """
    pair_cols = ["alpha", "seed", "epoch", "last_epoch_mixup", "last_epoch_baseline", "metric", "mixup", "baseline"]
    base = df[df["method"] == "baseline"]
    mix = df[df["method"] == "mixup"]
    notes: list[str] = []
    rows: list[dict] = []
    base_by_seed = {int(s): g.set_index("epoch") for s, g in base.groupby("seed")}
    for (alpha, seed), g in mix.groupby(["alpha", "seed"], sort=True):
        alpha, seed = float(alpha), int(seed)
        b = base_by_seed.get(seed)
        if b is None:
            if not base.empty:
                notes.append(f"{arm_label('mixup', alpha)} seed {seed} has no baseline run with seed {seed}; left out.")
            continue
        m = g.set_index("epoch")
        common = sorted(set(m.index) & set(b.index))
        if not common:
            notes.append(f"{arm_label('mixup', alpha)} seed {seed} shares no epoch with its baseline; left out.")
            continue
        epoch = common[-1]
        last_m, last_b = int(m.index.max()), int(b.index.max())
        if epoch < max(last_m, last_b):
            notes.append(
                f"{arm_label('mixup', alpha)} seed {seed} is compared with its baseline at epoch {epoch}, "
                f"the last epoch both reached (MixUp run at {last_m}, baseline at {last_b})."
            )
        for metric in metrics:
            rows.append(
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
            )
    pairs = pd.DataFrame(rows, columns=pair_cols)
    pairs["diff"] = pairs["mixup"] - pairs["baseline"]

    summary_rows = []
    for (alpha, metric), g in pairs.groupby(["alpha", "metric"], sort=False):
        iv = mean_interval(g["diff"], confidence)
        short = bool((g["epoch"] < g[["last_epoch_mixup", "last_epoch_baseline"]].max(axis=1)).any())
        summary_rows.append(
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
    summary_cols = [
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
    ]
    summary = pd.DataFrame(summary_rows, columns=summary_cols)
    return Paired(pairs=pairs, summary=summary, notes=notes, has_baseline=not base.empty, has_mixup=not mix.empty)


def judge(interval: Interval, direction: int) -> str:
    """'supported' if the interval excludes 0 on the side `direction` (+1 above, -1 below) predicts,
    'contradicted' if it excludes 0 on the other side, 'inconclusive' if it holds 0, and
    'no interval' when there is none (fewer than two pairs)."""
    if interval.n < 2 or not (math.isfinite(interval.low) and math.isfinite(interval.high)):
        return NO_INTERVAL
    if interval.low > 0:
        return SUPPORTED if direction > 0 else CONTRADICTED
    if interval.high < 0:
        return SUPPORTED if direction < 0 else CONTRADICTED
    return INCONCLUSIVE


# --- summary table ------------------------------------------------------------------


SUMMARY_COLUMNS = (
    "arm",
    "method",
    "alpha",
    "seeds",
    "runs_done",
    "partial",
    "final_epoch_min",
    "final_epoch_max",
    "test_acc_pct_mean",
    "test_acc_pct_std",
    "best_test_acc_pct_mean",
    "best_test_acc_pct_std",
    "test_loss_mean",
    "test_loss_std",
    "clean_train_loss_mean",
    "clean_train_loss_std",
    "train_objective_mean",
    "gap_mean",
    "gap_std",
    "test_ece_pct_mean",
    "test_ece_pct_std",
    "delta_test_acc_pp",
    "delta_test_acc_pp_ci_low",
    "delta_test_acc_pp_ci_high",
    "delta_pairs",
)


def summary_table(df: pd.DataFrame, paired: Paired | None = None) -> pd.DataFrame:
    """One row per arm, baseline first (columns `SUMMARY_COLUMNS`).

    "Final" values are each run's last finished epoch (`final_epoch_min/max` give the range;
    they differ when a run is partial), averaged over seeds with the sample std. `best_test_acc`
    is each seed's highest test accuracy over epochs, averaged. The delta columns are the paired
    MixUp - baseline test accuracy in percentage points with its t interval (empty for the
    baseline and when no pair exists). Accuracy and ECE columns are in percent.
    """
    if paired is None:
        paired = paired_differences(df)
    final = final_rows(df)
    best = df.groupby("run_id")["test_acc"].max()
    rows = []
    for method, alpha in arms(df):
        f = final[(final["method"] == method) & (final["alpha"] == alpha)]
        b = best.loc[f["run_id"]]
        delta = paired.get(alpha, "test_acc") if method == "mixup" else None
        rows.append(
            {
                "arm": arm_label(method, alpha),
                "method": method,
                "alpha": alpha,
                "seeds": len(f),
                "runs_done": int(f["done"].sum()),
                "partial": bool((~f["done"]).any()),
                "final_epoch_min": int(f["epoch"].min()),
                "final_epoch_max": int(f["epoch"].max()),
                "test_acc_pct_mean": 100 * f["test_acc"].mean(),
                "test_acc_pct_std": 100 * f["test_acc"].std(),
                "best_test_acc_pct_mean": 100 * b.mean(),
                "best_test_acc_pct_std": 100 * b.std(),
                "test_loss_mean": f["test_loss"].mean(),
                "test_loss_std": f["test_loss"].std(),
                "clean_train_loss_mean": f["clean_train_loss"].mean(),
                "clean_train_loss_std": f["clean_train_loss"].std(),
                "train_objective_mean": f["train_loss"].mean(),
                "gap_mean": f["gap"].mean(),
                "gap_std": f["gap"].std(),
                "test_ece_pct_mean": 100 * f["test_ece"].mean(),
                "test_ece_pct_std": 100 * f["test_ece"].std(),
                "delta_test_acc_pp": 100 * delta.mean if delta else math.nan,
                "delta_test_acc_pp_ci_low": 100 * delta.low if delta else math.nan,
                "delta_test_acc_pp_ci_high": 100 * delta.high if delta else math.nan,
                "delta_pairs": delta.n if delta else 0,
            }
        )
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


# --- verdict --------------------------------------------------------------------------


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


def _format_ci(metric: str, iv: Interval) -> str:
    lo, hi = format_diff(metric, iv.low), format_diff(metric, iv.high)
    if metric in FRACTION_METRICS:
        lo, hi = lo.removesuffix(" pp"), hi
    return f"95% CI {lo} to {hi}"


def verdict(df: pd.DataFrame, paired: Paired | None = None) -> str:
    """One paragraph that states what the data say about the MixUp claim.

    For each MixUp alpha with paired seeds it gives MixUp - baseline at the final (common)
    epoch for clean train loss, test accuracy, test loss, the gap and ECE, each with its 95%
    t interval and a judgement of the claimed direction: supported (the interval excludes 0 in
    the claimed direction), contradicted (it excludes 0 the other way) or inconclusive. With a
    single pair it says that no interval can be given. Without a baseline arm, or a MixUp arm,
    it says that no paired comparison is possible.
    """
    if paired is None:
        paired = paired_differences(df)
    mix_alphas = sorted({float(a) for a in df.loc[df["method"] == "mixup", "alpha"]})
    if not paired.has_baseline:
        names = ", ".join(arm_label("mixup", a) for a in mix_alphas)
        return (
            f"No baseline arm (alpha=0) was found, so no paired comparison is possible and nothing can be said "
            f"about the MixUp claim; the table reports {names or 'the arms'} on their own. "
            f"Run the baseline with the same seeds (mixup-bench run without --no-baseline)."
        )
    if not paired.has_mixup:
        return (
            "Only the baseline arm was found, so there is no MixUp arm to compare and no paired comparison is "
            "possible; run at least one --alpha above 0."
        )

    sentences: list[str] = []
    for alpha in mix_alphas:
        label = arm_label("mixup", alpha)
        ivs = {m: paired.get(alpha, m) for m in PAIRED_METRICS}
        if any(iv is None for iv in ivs.values()):
            sentences.append(
                f"{label} has no run whose seed matches a baseline run, so no paired comparison is possible for it."
            )
            continue
        s = paired.summary[(paired.summary["alpha"] == alpha)].iloc[0]
        n = int(s["n"])
        epochs = (
            f"epoch {s['epoch_max']}"
            if s["epoch_min"] == s["epoch_max"]
            else f"epochs {s['epoch_min']}-{s['epoch_max']}"
        )
        if n < 2:
            parts = [
                f"{METRIC_NAMES[m] if m != 'gap' else 'gap'} {format_diff(m, ivs[m].mean)} (claimed {CLAIM_WORDS[m]})"
                for m in PAIRED_METRICS
            ]
            sentences.append(
                f"{label} was compared with the baseline on only one seed (seed {s['seeds']}, {epochs}), so no "
                f"interval can be given and these differences are single-run observations, not evidence either way: "
                f"{'; '.join(parts)}. None of the claims can be tested with one seed; run more seeds (e.g. --seeds 3)."
            )
            continue
        judged = {m: judge(ivs[m], CLAIM_DIRECTION[m]) for m in PAIRED_METRICS}
        parts = [
            f"{METRIC_NAMES[m] if m != 'gap' else 'the test-train loss gap'} by {format_diff(m, ivs[m].mean)} "
            f"({_format_ci(m, ivs[m])}; claimed {CLAIM_WORDS[m]}: {judged[m]})"
            for m in PAIRED_METRICS
        ]
        sentences.append(f"Over {n} paired seeds at {epochs}, {label} changed {', '.join(parts[:-1])} and {parts[-1]}.")
        gen = [m for m in PAIRED_METRICS if m != "clean_train_loss"]
        counts = {k: [m for m in gen if judged[m] == k] for k in (SUPPORTED, CONTRADICTED, INCONCLUSIVE)}
        gen_text = "; ".join(
            f"{k} {'on' if k == INCONCLUSIVE else 'by'} {_join([_short_name(m) for m in counts[k]])}"
            for k in (SUPPORTED, CONTRADICTED, INCONCLUSIVE)
            if counts[k]
        )
        sentences.append(
            f"So for alpha={format_alpha(alpha)} the claim of a higher training loss is {judged['clean_train_loss']}, "
            f"and the claim of better generalisation is {gen_text}."
        )
    if paired.notes:
        sentences.append("Note: " + " ".join(paired.notes))
    partial = df.groupby("run_id")["done"].first()
    if (~partial).any():
        sentences.append(
            f"{int((~partial).sum())} run(s) are still partial ({', '.join(sorted(partial.index[~partial]))}); "
            "their numbers may change."
        )
    if (paired.summary["n"] >= 2).any():
        sentences.append(
            "Intervals are 95% t intervals over paired seeds, one per comparison, not corrected for making several."
        )
    return " ".join(sentences)


def _short_name(metric: str) -> str:
    return {
        "test_acc": "test accuracy",
        "test_loss": "test loss",
        "gap": "gap",
        "test_ece": "ECE",
        "clean_train_loss": "clean train loss",
    }[metric]


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
