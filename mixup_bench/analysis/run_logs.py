"""Read the optional per-run logs that only the figures need: lam.csv and calibration.json.

Both are written by MixUp training as side logs, so a missing file is normal and silent; a
malformed one is left out with a warning and never stops the report.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mixup_bench.naming import LAM_METHODS, arms
from mixup_bench.results.layout import CALIBRATION_FILE, LAM_FILE, RUNS_DIR
from mixup_bench.results.schema import LAM_COLUMNS


def load_lam(exp_dir: Path, df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The lam values sampled by the runs of `df` that draw one (MixUp, CutMix, Manifold MixUp:
    `naming.LAM_METHODS`), from each run's lam.csv.

    Returns `(lam, warnings)`; `lam` has columns method, alpha, seed, epoch, step, lam (empty when
    no such run logged any). A missing lam.csv is normal and silent; a malformed one is skipped
    with a warning.
    """
    frames, warnings = [], []
    runs = [(method, *run) for method in LAM_METHODS for run in _runs(df, method=method)]
    for method, run_id, alpha, seed in runs:
        path = Path(exp_dir) / RUNS_DIR / run_id / LAM_FILE
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
        missing = [c for c in LAM_COLUMNS if c not in lam.columns]
        if missing:
            warnings.append(f"Ignored {path}: it lacks the column(s) {', '.join(missing)}.")
            continue
        values = pd.to_numeric(lam["lam"], errors="coerce")
        if values.isna().any() or ((values < 0) | (values > 1)).any():
            warnings.append(f"Ignored {path}: lam values must be numbers in [0, 1].")
            continue
        frames.append(
            pd.DataFrame({"method": method, "alpha": alpha, "seed": seed, **lam[["epoch", "step"]], "lam": values})
        )
    if not frames:
        empty = {c: pd.Series(dtype=float) for c in ("alpha", "seed", "epoch", "step", "lam")}
        return pd.DataFrame({"method": pd.Series(dtype=str), **empty}), warnings
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
            path = Path(exp_dir) / RUNS_DIR / run_id / CALIBRATION_FILE
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
