"""The results layout, the CSV schema, atomic writes, and reading results back.

    <out>/<experiment>/
      experiment.json               resolved config, versions, device, git sha, data source
      runs/<run_id>/                e.g. baseline-a0-s0, mixup-a0.4-s0, cutmix-a1-s0, smooth-e0.1-s0, manifold-a2-s0
        config.json                 this run's resolved config
        metrics.csv                 one row per finished epoch (METRICS_COLUMNS)
        lam.csv                     every lam sampled (mixup, cutmix, manifold): epoch, step, lam
        corruptions.csv             accuracy and loss per corruption type and severity (CORRUPTION_COLUMNS)
        calibration.json            per-bin counts of the latest test evaluation
        checkpoint.pt               latest state, for resume (never committed)
        lock                        held by the process training this run
        DONE                        written last, when the run finishes
      summary.csv, summary.md, plots/   written by `plot` (and paired_vs_<arm>.csv with --reference)

This module is the contract between `run` and `plot`.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mixup_bench.errors import UserError, WriteError, write_error
from mixup_bench.naming import LAM_METHODS, parse_run_id
from mixup_bench.streams import shown

# The shift evaluation (train/shift.py): filled at the last epoch and every --shift-every K epochs,
# empty on the other epochs and with --no-shift.
SHIFT_COLUMNS = (
    "corrupt_acc",  # accuracy on corrupted test images, mean over corruption types x severities 1-5
    "corrupt_loss",  # their mean cross-entropy; the per-cell numbers are in corruptions.csv
    "corrupt_ece",  # their mean 15-bin ECE
    "fgsm_acc_1",  # accuracy under FGSM at eps 1/255 (fixed 2,000-image test subset, fp32)
    "fgsm_acc_2",  # ... at eps 2/255
    "fgsm_acc_4",  # ... at eps 4/255
    "pgd_acc_2",  # accuracy under PGD-10 at eps 2/255 (step eps/4, random start)
    "shift_seconds",  # wall time of the shift evaluation
)
METRICS_COLUMNS = (
    "experiment",
    "run_id",
    "method",  # baseline | mixup | cutmix | smooth | manifold
    "alpha",  # the method's parameter: alpha (mixup, cutmix, manifold), epsilon (smooth); 0 for the baseline
    "seed",
    "epoch",  # 1-based, the epoch just finished
    "lr",  # learning rate at the last step of the epoch
    "train_loss",  # the training objective on the (mixed) batches, train mode
    "train_acc",  # lam-weighted accuracy on the (mixed) batches, train mode, in [0, 1]
    "clean_train_loss",  # eval mode, fixed subset of unaugmented training images
    "clean_train_acc",
    "val_loss",  # the fixed validation split (--val-size; never trained on; labels as noisy as the training
    "val_acc",  # labels under --label-noise). Empty with --val-size 0. Presets choose epochs by it, never by test.
    "test_loss",
    "test_acc",
    "test_ece",  # 15-bin expected calibration error on the test set, in [0, 1]
    "noise_memorised",  # --label-noise only (else empty): share of clean-train images with a corrupted
    # label that the model predicts as that wrong label, in [0, 1]. High = the noise is memorised.
    *SHIFT_COLUMNS,
    "epoch_seconds",  # wall time of the epoch, training and evaluation (not the shift evaluation)
    "images_per_second",  # training images per second, evaluation excluded
)
# Columns added after the first release: CSVs written before them still load, with NaN there.
OPTIONAL_COLUMNS = ("noise_memorised", "val_loss", "val_acc", *SHIFT_COLUMNS)
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

EXPERIMENT_FILE = "experiment.json"
RUNS_DIR = "runs"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.csv"
LAM_FILE = "lam.csv"
CORRUPTIONS_FILE = "corruptions.csv"
CALIBRATION_FILE = "calibration.json"
CHECKPOINT_FILE = "checkpoint.pt"
LOCK_FILE = "lock"
DONE_FILE = "DONE"


# --- atomic writes -----------------------------------------------------------


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the new one, never half.

    Writes a temporary file in the same folder, fsyncs it, renames it over `path`,
    and fsyncs the folder so that the rename itself survives a power cut.

    Any OSError (disk full, read-only, a file where a folder should be) is raised as a WriteError
    naming `path`, with no temporary file left behind and the old file, if any, untouched.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise write_error(path, e) from None
    try:
        try:
            os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; results are meant to be shared
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise write_error(path, e) from None
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as e:
        raise write_error(path, e) from None


def _write_all(fd: int, data: bytes) -> None:
    """os.write until every byte is written (a short write is not an error; a full disk is)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def check_output_dir(path: Path, target: Path | None = None) -> None:
    """Refuse, before any expensive work, an output folder that cannot be created or written to.

    Leaves nothing behind. Raises WriteError (`cannot write <target>: <reason>`, `target` defaulting to
    `path`) when a part of `path` is a file, a broken symlink, or the nearest existing folder is not
    writable (read-only file system, permissions, or a folder no file can be made in, such as /proc,
    which only a real try shows: a probe file is made there and deleted at once); the writes themselves
    still report a disk that fills up later.
    """
    path = Path(path)
    target = path if target is None else target
    probe = path
    while not probe.exists():
        if probe.is_symlink():
            raise WriteError(errno.ENOENT, f"{probe} is a broken symlink", str(target))
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise WriteError(errno.ENOTDIR, f"{probe} is a file, not a folder", str(target))
    if not os.access(probe, os.W_OK | os.X_OK):
        reason = "read-only file system" if _read_only(probe) else "permission denied"
        raise WriteError(errno.EACCES, f"{probe} is not writable ({reason})", str(target))
    _try_a_file_in(probe, target)


def _try_a_file_in(folder: Path, target: Path) -> None:
    """Make and delete a file in `folder`: what os.access cannot tell (root's view of /proc or sysfs)."""
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".mixup-bench-probe.", suffix=".tmp")
    except OSError as e:
        raise WriteError(e.errno, f"no file can be made in {folder} ({e.strerror or e})", str(target)) from None
    os.close(fd)
    Path(tmp).unlink(missing_ok=True)


def check_output_file(path: Path) -> None:
    """As `check_output_dir`, for a file that will be (re)written: it must not be a folder."""
    path = Path(path)
    if path.is_dir():
        raise WriteError(errno.EISDIR, "it is a folder; give a file name", str(path))
    if path.exists() and not path.is_file():  # a device or a pipe: the rename would replace it
        raise WriteError(errno.EINVAL, "it is not a regular file (a device, pipe or socket)", str(path))
    check_output_dir(path.parent, target=path)


def _read_only(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    """`text` as UTF-8; a name's bytes that are not UTF-8 are written as `\\xNN` (`streams.shown`), so no
    text can fail to encode halfway through the files of an epoch."""
    atomic_write_bytes(path, shown(text).encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


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


# --- reading -----------------------------------------------------------------


def read_json(path: Path) -> dict:
    """A JSON object from `path`. UserError, one line, when the file is missing, unreadable, not
    JSON, or JSON other than an object (a list, a number, null ...)."""
    try:
        record = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UserError(f"{path} is missing.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path} is not valid JSON ({e}); restore it or delete the folder.") from None
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror or e}.") from None
    if not isinstance(record, dict):
        raise UserError(f"{path} holds {_JSON_KINDS.get(type(record), 'null')}, not a JSON object.")
    return record


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


@dataclass(frozen=True)
class Torn:
    """Why a run's metrics.csv is torn or short (see `torn_metrics`)."""

    reason: str
    last_row_cut: bool  # the last row is incomplete: drop it rather than read NaNs from it


def torn_metrics(run_dir: Path) -> Torn | None:
    """Whether the run's metrics.csv was cut: None when it looks whole (or is absent or unreadable,
    which its readers report). `run` only ever replaces it whole, so a torn file comes from outside:
    a copy cut short, a crash on a file system that lost the last write, a hand edit.

    Torn means: the last row ends without a line end or with fewer fields than the header; or a
    finished run (DONE) holds fewer epochs than DONE's epoch or its config.json's planned epochs.
    """
    run_dir = Path(run_dir)
    try:
        text = (run_dir / METRICS_FILE).read_text()
    except (OSError, UnicodeDecodeError):
        return None
    lines = text.splitlines()
    if not lines:
        return None
    try:
        header, *rows = [r for r in csv.reader(lines) if any(c.strip() for c in r)]
    except (csv.Error, ValueError):
        return None
    if rows and len(rows[-1]) < len(header):
        return Torn(f"its last row has {len(rows[-1])} of {len(header)} fields", True)
    if rows and not text.endswith("\n"):
        return Torn("its last row ends without a line end", True)
    if not is_done(run_dir):
        return None
    expected = max(_json_int(run_dir / DONE_FILE, ("epoch",)), _json_int(run_dir / CONFIG_FILE, ("training", "epochs")))
    if len(rows) < expected:
        return Torn(f"it holds {len(rows)} epoch row(s) of the {expected} the finished run trained", False)
    return None


def _json_int(path: Path, keys: tuple[str, ...]) -> int:
    """An integer at `keys` in a JSON file, 0 when absent or unreadable."""
    try:
        node = json.loads(path.read_text())
        for k in keys:
            node = node[k]
        return int(node) if isinstance(node, (int, float)) and not isinstance(node, bool) else 0
    except (OSError, ValueError, KeyError, TypeError, IndexError, OverflowError):
        return 0


# --- the files of a finished run -------------------------------------------------------------

# What `run` can write again for a finished run: metrics.csv and lam.csv from checkpoint.pt's history
# (the record every CSV is written from), config.json from the run's own config. calibration.json is
# not kept in checkpoint.pt, so nothing rebuilds it.
FROM_CHECKPOINT = (METRICS_FILE, LAM_FILE)


@dataclass(frozen=True)
class Damage:
    """A file that a finished run needs and that is missing or cannot be read (see `damaged_files`)."""

    path: Path
    problem: str  # 'is missing', 'is not valid JSON', ...
    rebuildable: bool  # the next `run` of the same command writes it again

    def __str__(self) -> str:
        if not self.rebuildable:
            fix = f"nothing can rebuild it: delete {self.path.parent} and run again to train the run anew"
        elif self.path.name in FROM_CHECKPOINT:
            fix = "the same `mixup-bench run` command rebuilds it from checkpoint.pt"
        else:
            fix = "the same `mixup-bench run` command writes it again"
        return f"{self.path} {self.problem}; {fix}"

    @property
    def short(self) -> str:
        """The same in a few words, for a table cell: 'metrics.csv is missing (`run` rebuilds it)'."""
        return f"{self.path.name} {self.problem} ({'`run` rebuilds it' if self.rebuildable else 'lost'})"


def damaged_files(run_dir: Path) -> list[Damage]:
    """The files a finished run (DONE) needs that are missing or cannot be read: metrics.csv (or it holds
    no epoch row), config.json, lam.csv (for the arms that draw a lam) and calibration.json.

    `run`, `plot`, `status` and `compare` all name a damaged run through this one list. [] for a run that
    is not finished (its files appear as it trains); a torn metrics.csv is `torn_metrics`'s concern. Cheap
    (no pandas, checkpoint.pt is only looked for), so `status` can call it for every run.
    """
    run_dir = Path(run_dir)
    if not is_done(run_dir):
        return []
    parsed = parse_run_id(run_dir.name)
    needed = [METRICS_FILE, CONFIG_FILE, CALIBRATION_FILE]
    if parsed is not None and parsed[0] in LAM_METHODS:
        needed.append(LAM_FILE)
    has_checkpoint = (run_dir / CHECKPOINT_FILE).is_file()
    damage = []
    for name in needed:
        path = run_dir / name
        problem = _json_problem(path) if name.endswith(".json") else _csv_problem(path, name == METRICS_FILE)
        if problem:
            rebuildable = name == CONFIG_FILE or (name in FROM_CHECKPOINT and has_checkpoint)
            damage.append(Damage(path, problem, rebuildable))
    return damage


def _text_problem(path: Path) -> tuple[str | None, str]:
    """(what is wrong with reading `path` as text or None, its text)."""
    try:
        return None, path.read_text()
    except FileNotFoundError:
        return "is missing", ""
    except UnicodeDecodeError:
        return "is not UTF-8 text", ""
    except OSError as e:
        return f"cannot be read ({e.strerror or e})", ""


def _json_problem(path: Path) -> str | None:
    problem, text = _text_problem(path)
    if problem:
        return problem
    try:
        record = json.loads(text)
    except json.JSONDecodeError:
        return "is not valid JSON"
    return None if isinstance(record, dict) else "holds JSON that is not an object"


def _csv_problem(path: Path, needs_rows: bool) -> str | None:
    problem, text = _text_problem(path)
    if problem:
        return problem
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return "is empty"
    return "holds no epoch row" if needs_rows and len(lines) < 2 else None


def run_dirs(experiment_dir: Path) -> list[Path]:
    """The run folders of an experiment, sorted by name."""
    runs = Path(experiment_dir) / RUNS_DIR
    return sorted(p for p in runs.iterdir() if p.is_dir()) if runs.is_dir() else []


def is_done(run_dir: Path) -> bool:
    return (Path(run_dir) / DONE_FILE).exists()


def find_experiment(path: Path) -> Path:
    """Resolve what the user gave `plot`/`status` to an experiment folder.

    `path` may be an experiment folder, or a results root: then the experiment
    written to most recently is taken.
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path} does not exist; run `mixup-bench run` first or give the experiment folder.")
    if not path.is_dir():
        raise UserError(f"{path} is not a folder; give an experiment folder such as results/default.")
    if is_experiment(path):
        return path
    candidates = experiments_in(path)
    if not candidates:
        raise UserError(f"{path} holds no experiment (no runs/ folder); run `mixup-bench run` first.")
    return max(candidates, key=_last_write)


def is_experiment(path: Path) -> bool:
    """Whether `path` is an experiment folder: it holds runs/ or experiment.json. The one test of it."""
    path = Path(path)
    return (path / RUNS_DIR).is_dir() or (path / EXPERIMENT_FILE).exists()


def experiments_in(path: Path) -> list[Path]:
    """The experiment folders directly inside `path` (a results root), sorted by name."""
    return [p for p in sorted(Path(path).iterdir()) if p.is_dir() and is_experiment(p)]


def _last_write(experiment_dir: Path) -> float:
    files = [p for p in experiment_dir.rglob(METRICS_FILE)] or [experiment_dir]
    return max(p.stat().st_mtime for p in files)


_JSON_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


def read_experiment(experiment_dir: Path) -> dict | None:
    """The experiment.json of an experiment folder, or None when the folder has none.

    The one reader of experiment.json (`run`, `status` and `plot` all use it). Raises UserError,
    one line, when the file cannot be read, is not valid JSON, or holds JSON other than an object.
    """
    path = Path(experiment_dir) / EXPERIMENT_FILE
    fix = "restore it, or delete it to start the record anew"
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UserError(f"{path} is not readable JSON ({e}); {fix}.") from None
    if not isinstance(record, dict):
        kind = _JSON_KINDS.get(type(record), "null")
        raise UserError(f"{path} holds {kind}, not a JSON object; {fix}.")
    return record
