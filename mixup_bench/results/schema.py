"""The CSV files of a run: their columns, writing them from a run's history, reading metrics.csv back.

Floats are written with full precision (repr), so a CSV read back holds the numbers the run computed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

from mixup_bench.errors import UserError
from mixup_bench.metrics import LOGGED, METRICS, SHIFT
from mixup_bench.results.atomic import atomic_write_text
from mixup_bench.results.layout import CORRUPTIONS_FILE, LAM_FILE, METRICS_FILE

# The run and epoch a row belongs to.
RUN_COLUMNS = (
    "experiment",
    "run_id",
    "method",  # baseline | mixup | cutmix | smooth | manifold | ... (methods.METHODS)
    "alpha",  # the method's parameter: alpha (mixup, cutmix, manifold), epsilon (smooth); 0 for the baseline
    "seed",
    "epoch",  # 1-based, the epoch just finished
    "lr",  # learning rate at the last step of the epoch
)
# The shift evaluation (train/shift.py): filled at the last epoch and every --shift-every K epochs,
# empty on the other epochs and with --no-shift; then its wall time.
SHIFT_SECONDS = "shift_seconds"
SHIFT_COLUMNS = (*SHIFT, SHIFT_SECONDS)
TIMING_COLUMNS = (
    "epoch_seconds",  # wall time of the epoch, training and evaluation (not the shift evaluation)
    "images_per_second",  # training images per second, evaluation excluded
)
# One row per finished epoch. The measures and their order come from `metrics.METRICS` (each record's
# `column`): what each means is its `Metric.label`, and docs/metrics.md's table.
METRICS_COLUMNS = (*RUN_COLUMNS, *(n for n in LOGGED if n not in SHIFT), *SHIFT_COLUMNS, *TIMING_COLUMNS)
# Columns added after the first release (`Metric.required` False): CSVs written before them still load,
# with NaN there.
OPTIONAL_COLUMNS = (*(n for n in LOGGED if not METRICS[n].required), SHIFT_SECONDS)
LAM_COLUMNS = ("epoch", "step", "lam")
# corruptions.csv: one row per evaluated epoch, corruption type and severity (see train/shift.py).
CORRUPTION_COLUMNS = (
    "epoch",
    "source",  # built-in (train/corruptions.py) or CIFAR-10-C (--cifar10c-dir)
    "type",  # the corruption, by CIFAR-10-C's file name: gaussian_noise, defocus_blur, ...
    "severity",  # 1-5
    "images",  # test images it was evaluated on (a fixed subset)
    "acc",
    "loss",
    "ece",
)


def csv_text(columns: Iterable[str], rows: Iterable[dict]) -> str:
    """Rows as CSV text with a header; floats keep full precision."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()})
    return buf.getvalue()


def write_metrics(run_dir: Path, rows: list[dict]) -> None:
    """Rewrite metrics.csv atomically from the run's full history (a few KB).

    Rewriting rather than appending means a kill can never leave a torn row.
    """
    atomic_write_text(run_dir / METRICS_FILE, csv_text(METRICS_COLUMNS, rows))


def write_lam_log(run_dir: Path, rows: list[dict]) -> None:
    atomic_write_text(run_dir / LAM_FILE, csv_text(LAM_COLUMNS, rows))


def write_corruptions(run_dir: Path, rows: list[dict]) -> None:
    """Rewrite corruptions.csv from every shift evaluation of the run so far; no file while there is none."""
    if rows:
        atomic_write_text(run_dir / CORRUPTIONS_FILE, csv_text(CORRUPTION_COLUMNS, rows))


def read_metrics(path: Path):
    """Read one metrics.csv into a DataFrame, checking the schema.

    Raises UserError for a missing, empty or malformed file, naming the missing columns.
    """
    import pandas as pd  # local: pandas is slow to import and `run` does not need it

    path = Path(path)
    try:
        df = pd.read_csv(path)
    except FileNotFoundError:
        raise UserError(f"{path} is missing.") from None
    except pd.errors.EmptyDataError:
        raise UserError(f"{path} is empty.") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise UserError(f"{path} is not a valid CSV ({str(e).splitlines()[0]}).") from None
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror or e}.") from None
    for c in OPTIONAL_COLUMNS:
        if c not in df.columns:
            df[c] = float("nan")
    missing = [c for c in METRICS_COLUMNS if c not in df.columns]
    if missing:
        raise UserError(f"{path} lacks the column(s) {', '.join(missing)}; it was not written by mixup-bench run.")
    if df.empty:
        raise UserError(f"{path} has a header but no epochs yet.")
    return df
