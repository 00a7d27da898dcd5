"""Read the optional per-run side logs: lam.csv, calibration.json and corruptions.csv (`folder.read_folder`).

They are written by training as side logs (lam by the mixing arms, corruption cells by `run --shift`),
so a missing file is normal and silent; a malformed one is left out with a warning, appended to the
folder's one list of warnings, and never stops the report.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mixup_bench.naming import LAM_METHODS, arms
from mixup_bench.results.layout import CALIBRATION_FILE, CORRUPTIONS_FILE, LAM_FILE, RUNS_DIR
from mixup_bench.results.schema import CORRUPTION_COLUMNS, LAM_COLUMNS


def read_lam(exp_dir: Path, df: pd.DataFrame, warnings: list[str]) -> pd.DataFrame:
    """The lam values sampled by the runs of `df` that draw one (MixUp, CutMix, Manifold MixUp:
    `naming.LAM_METHODS`), from each run's lam.csv: columns method, alpha, seed, epoch, step, lam (empty
    when no such run logged any). A missing lam.csv is normal and silent; a malformed one is skipped
    with a warning appended to `warnings`.
    """
    frames = []
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
        return pd.DataFrame({"method": pd.Series(dtype=str), **empty})
    return pd.concat(frames, ignore_index=True)


CELL_COLUMNS = ("method", "alpha", "seed", "epoch", "type", "severity", "acc", "loss")  # + source


def read_corruptions(exp_dir: Path, df: pd.DataFrame, warnings: list[str]) -> pd.DataFrame:
    """Every run's corruptions.csv rows at its last epoch (the one `analysis` reports), as `CELL_COLUMNS`
    plus `source`. A missing file is normal (a run without --shift) and silent; a malformed one is left out
    with a warning appended to `warnings`."""
    frames = []
    last = df.groupby("run_id")[["method", "alpha", "seed", "epoch"]].last()
    for run_id, run in last.iterrows():
        path = Path(exp_dir) / RUNS_DIR / str(run_id) / CORRUPTIONS_FILE
        if not path.exists():
            continue
        try:
            cells = pd.read_csv(path)
            missing = [c for c in CORRUPTION_COLUMNS if c not in cells.columns]
            if missing:
                raise ValueError(f"it lacks the column(s) {', '.join(missing)}")
            cells = cells[cells["epoch"] == run["epoch"]]
            values = cells[["severity", "acc", "loss"]].apply(pd.to_numeric, errors="raise")
            if values["severity"].isna().any() or (values["severity"] % 1 != 0).any():
                raise ValueError("a severity is not a whole number")
            severity = values["severity"].astype(int)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError) as e:
            warnings.append(f"Ignored {path}: {str(e).splitlines()[0] if str(e) else type(e).__name__}.")
            continue
        frames.append(pd.DataFrame({"method": run["method"], "alpha": float(run["alpha"]), "seed": int(run["seed"]),
                                    "epoch": int(run["epoch"]), "type": cells["type"].astype(str),
                                    "severity": severity, "acc": values["acc"],
                                    "loss": values["loss"], "source": cells["source"].astype(str)}))  # fmt: skip
    if not frames:
        return pd.DataFrame(columns=[*CELL_COLUMNS, "source"])
    return pd.concat(frames, ignore_index=True)


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


def read_calibration(exp_dir: Path, df: pd.DataFrame, warnings: list[str]) -> list[Reliability]:
    """Pool each arm's calibration.json files (one per run of `df`) into one `Reliability`.

    A missing calibration.json is silent; an unreadable one, or one whose bins differ from
    the arm's other runs, is left out with a warning appended to `warnings`. Arms without any file are absent.
    """
    pooled: list[Reliability] = []
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
    return pooled


def _runs(df: pd.DataFrame, method: str | None = None, alpha: float | None = None) -> list[tuple[str, float, int]]:
    """(run_id, alpha, seed) of the runs in `df`, optionally of one method / alpha."""
    sel = df
    if method is not None:
        sel = sel[sel["method"] == method]
    if alpha is not None:
        sel = sel[sel["alpha"] == alpha]
    keys = sel[["run_id", "alpha", "seed"]].drop_duplicates()
    return [(str(r), float(a), int(s)) for r, a, s in zip(keys["run_id"], keys["alpha"], keys["seed"], strict=True)]
