"""metrics.csv and lam.csv read as a dashboard is sent them: complete rows only, metrics as numbers."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from mixup_bench.errors import UserError
from mixup_bench.results.layout import LAM_FILE, METRICS_FILE
from mixup_bench.results.schema import METRICS_COLUMNS

# metrics.csv columns that say which run and epoch a row is; every other column is a metric.
IDENTITY_COLUMNS = ("experiment", "run_id", "method", "alpha", "seed", "epoch")
METRIC_COLUMNS = tuple(c for c in METRICS_COLUMNS if c not in IDENTITY_COLUMNS)


def metric_values(row: dict) -> dict[str, float]:
    """The finite metrics of one metrics.csv row (text or numbers), by column; empty cells left out."""
    values = {}
    for column in METRIC_COLUMNS:
        try:
            v = float(row.get(column))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if math.isfinite(v):
            values[column] = v
    return values


def read_epochs(run_dir: Path) -> dict[int, dict]:
    """metrics.csv's complete rows by epoch ({} when absent). Left out: a row without a whole epoch
    number, a row with fewer or more cells than the header, and a last line without its end of line
    (torn: `2.64` may be a cut `2.643975`)."""
    rows = {}
    for row in _csv_rows(run_dir / METRICS_FILE, complete=True):
        if None in row or None in row.values():  # cells past the header, or missing ones
            continue
        try:
            rows[int(row["epoch"])] = row
        except (KeyError, TypeError, ValueError):
            continue
    return rows


def read_lams(run_dir: Path, epoch: int) -> list[float]:
    """The lams drawn in one epoch, from lam.csv ([] for arms that never mix)."""
    lams = []
    for row in _csv_rows(run_dir / LAM_FILE):
        try:
            if int(row["epoch"]) == epoch:
                lams.append(float(row["lam"]))
        except (KeyError, TypeError, ValueError):
            continue
    return lams


def _csv_rows(path: Path, complete: bool = False) -> list[dict]:
    """The rows of a CSV file; complete: without a last line that lacks its end of line."""
    try:
        with open(path, newline="") as f:
            text = f.read()
        if complete and text and not text.endswith(("\n", "\r")):
            text = text[: max(text.rfind("\n"), text.rfind("\r")) + 1]
        return list(csv.DictReader(io.StringIO(text, newline="")))
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise UserError(f"cannot read {path}: {e}") from None
