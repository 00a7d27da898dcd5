"""An experiment folder, read once: `read_folder` gives a `Folder` holding everything `plot` shows.

The runs' metrics (one tidy DataFrame, `load_experiment`), the side logs (lam, calibration bins and
corruption cells, `run_logs`), the record (experiment.json, read once), every arm the experiment
holds or plans, whether a process trains an unfinished run right now (`lock_probe`), and every warning
about what could not be read, in one list. Nothing is computed here; `report.compute_report` turns a
`Folder` into the numbers.

A run's identity is its folder name; its rows are checked beyond the column names, because
metrics.csv may be half-written by a run still training, copied by hand or left by an older
version. Bad runs are skipped with a warning rather than failing the whole report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mixup_bench.analysis import run_logs
from mixup_bench.catalog import record_title
from mixup_bench.config import arms_of
from mixup_bench.errors import UserError
from mixup_bench.lock_probe import is_locked
from mixup_bench.metrics import M
from mixup_bench.naming import METHOD_NAMES, arm_label, arm_order, arms, parse_run_id
from mixup_bench.provenance import code_warnings, read_identities
from mixup_bench.results.damage import Torn, damaged_files, torn_metrics
from mixup_bench.results.discovery import find_experiment
from mixup_bench.results.layout import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    EXPERIMENT_FILE,
    METRICS_FILE,
    RUNS_DIR,
    is_done,
    run_dirs,
)
from mixup_bench.results.records import read_experiment
from mixup_bench.results.schema import METRICS_COLUMNS, read_metrics
from mixup_bench.results.writable import check_output_dir
from mixup_bench.streams import is_text, shown


@dataclass(frozen=True, eq=False)
class Folder:
    """One experiment folder as read from disk; treat its frames as read-only."""

    path: Path
    runs: pd.DataFrame  # every finished epoch of every readable run (`load_experiment`)
    lam: pd.DataFrame  # every lam the mixing arms sampled (`run_logs.read_lam`)
    reliability: list[run_logs.Reliability]  # calibration bins pooled per arm (`run_logs.read_calibration`)
    corruptions: pd.DataFrame  # corruption cells at each run's last epoch (`run_logs.read_corruptions`)
    record: dict  # experiment.json ({} without one, or when it cannot be read: a warning says so)
    arms: list[tuple[str, float]]  # every arm the experiment holds or plans, for colours (`experiment_arms`)
    warnings: list[str]  # what could not be read, in reading order: runs, lam, calibration, record, corruptions

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def title(self) -> str:
        """The experiment in figure titles: its folder name and data set, 'demo (CIFAR-10)'."""
        return shown(f"{self.name} ({record_title(self.record)})")  # undecodable bytes as \\xNN: fonts draw them

    @property
    def looks(self) -> tuple[int, ...]:
        """The looks of the sequential design the experiment was run under (`record_looks`)."""
        return record_looks(self.record)


def record_looks(record: dict | None) -> tuple[int, ...]:
    """The looks of the sequential design an experiment was run under (experiment.json's `sequential`, written
    by `run --until-decided`); () for a fixed number of seeds or a record that holds no valid one. `plot` and
    `compare` judge with them, so that both give an experiment the same p-values."""
    sequential = (record or {}).get("sequential")
    looks = sequential.get("looks") if isinstance(sequential, dict) else None
    if not isinstance(looks, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in looks):
        return ()
    return tuple(looks) if len(looks) > 1 and looks == sorted(set(looks)) and looks[0] >= 2 else ()


def read_folder(path: Path, writable: bool = True) -> Folder:
    """Resolve `path` to an experiment (a folder, or a results root: its latest experiment) and read it once.

    With `writable` (as `plot`, which writes into it), a folder that cannot be written fails before anything
    is read. Raises UserError when the folder is missing, holds no experiment or no run can be read."""
    exp_dir = find_experiment(Path(path))
    if writable:
        check_output_dir(exp_dir)  # before the reading and drawing: a read-only folder fails at once
    df, warnings = load_experiment(exp_dir)
    lam = run_logs.read_lam(exp_dir, df, warnings)
    reliability = run_logs.read_calibration(exp_dir, df, warnings)
    record = read_record(exp_dir, warnings)
    corruptions = run_logs.read_corruptions(exp_dir, df, warnings)
    arms_held = experiment_arms(exp_dir, df, record)
    return Folder(exp_dir, df, lam, reliability, corruptions, record, arms_held, warnings)


# Every metrics.csv column but the three text ones must parse as a number.
_NUMERIC_COLUMNS = tuple(c for c in METRICS_COLUMNS if c not in ("experiment", "run_id", "method"))


def load_experiment(exp_dir: Path) -> tuple[pd.DataFrame, list[str]]:
    """Read every run of an experiment into one tidy DataFrame.

    Returns `(df, warnings)`. `df` has the `METRICS_COLUMNS` plus:

    - `done` (bool): the run folder holds the DONE marker; False means the run is still
      in progress (or was stopped) and its last row is its last finished epoch;
    - `running` (bool): an unfinished run that a process trains right now (holds its lock); an
      unfinished run that is not running was stopped, and `run` resumes it;
    - `gap` (float): test_loss - clean_train_loss, the generalisation gap in loss.

    Rows are sorted by method (baseline, mixup, cutmix, smooth, manifold), parameter, seed and epoch. A run whose
    metrics.csv is missing, empty or malformed is skipped with a warning string; a
    second run with the same (method, alpha, seed) is skipped too. A warning also says when the runs read came
    from more than one version of the code or from a dirty tree (provenance.code_warnings). Raises UserError when
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
    for run_dir in run_dirs(exp_dir):
        df = _read_run(run_dir, warnings)
        if df is None:
            continue
        key = (str(df["method"].iat[0]), float(df["alpha"].iat[0]), int(df["seed"].iat[0]))
        if key in seen:
            warnings.append(
                f"Skipped run {run_dir.name}: it repeats {arm_label(key[0], key[1])} seed {key[2]} "
                f"already read from {seen[key]}."
            )
            continue
        seen[key] = run_dir.name
        df["run_id"] = run_dir.name  # the folder name is the run's identity (lam.csv, calibration.json live there)
        df["done"] = is_done(run_dir)
        df["running"] = not df["done"].iat[0] and is_locked(run_dir)  # a process trains it right now
        frames.append(df)

    if not frames:
        detail = f" ({len(warnings)} skipped; first: {warnings[0]})" if warnings else ""
        raise UserError(
            f"{exp_dir} holds no runs with readable metrics{detail}; run `mixup-bench run` first."
            if detail
            else f"{exp_dir} holds no runs (no runs/*/metrics.csv); run `mixup-bench run` first."
        )

    configs = (exp_dir / RUNS_DIR / run_id / CONFIG_FILE for run_id in seen.values())
    warnings.extend(code_warnings(read_identities(configs)))  # the runs read: from one code version?
    df = pd.concat(frames, ignore_index=True)
    df[M.gap.name] = df[M.test_loss.name] - df[M.clean_train_loss.name]
    df["_order"] = df["method"].map(list(METHOD_NAMES).index)  # baseline, MixUp, then the neighbours
    df = df.sort_values(["_order", "alpha", "seed", "epoch"]).drop(columns="_order").reset_index(drop=True)
    return df, warnings


def _read_run(run_dir: Path, warnings: list[str]) -> pd.DataFrame | None:
    """One run's checked rows, or None when it cannot be used; what is wrong goes to `warnings`. The
    files a finished run lacks are named (damaged_files), as `run` and `status` name them."""
    metrics_path = run_dir / METRICS_FILE
    if not is_text(run_dir.name):
        warnings.append(f"Skipped run {shown(run_dir.name)}: its folder name is not UTF-8 text; rename it.")
        return None
    damage = damaged_files(run_dir)
    lost = [d for d in damage if d.path.name == METRICS_FILE]
    warnings.extend(f"Run {run_dir.name} is damaged: {d}." for d in damage if d not in lost)
    if lost:
        warnings.append(f"Skipped run {run_dir.name}: it is finished (DONE), but {lost[0]}.")
        return None
    if not metrics_path.exists():
        warnings.append(f"Skipped run {run_dir.name}: no {METRICS_FILE} yet (no epoch finished).")
        return None
    torn = torn_metrics(run_dir)
    if torn is not None:
        warnings.append(f"Run {run_dir.name}: {torn_note(run_dir, torn)}")
    try:
        df = read_metrics(metrics_path)
        if torn is not None and torn.last_row_cut:
            df = df.iloc[:-1]
            if df.empty:
                raise UserError(f"{metrics_path} holds no whole epoch row.")
        df, notes = _clean_run(df, metrics_path)
    except UserError as e:
        warnings.append(f"Skipped run {run_dir.name}: {e}")
        return None
    warnings.extend(f"Run {run_dir.name}: {note}" for note in notes)
    return df


def torn_note(run_dir: Path, torn: Torn) -> str:
    """A warning for a torn metrics.csv: what is wrong, what the report does, how to repair it."""
    path = run_dir / METRICS_FILE
    done = " (its cut last row is left out)" if torn.last_row_cut else ""
    if (run_dir / CHECKPOINT_FILE).exists():
        fix = "re-run the same `mixup-bench run` command to rewrite it from checkpoint.pt"
    else:
        fix = "there is no checkpoint.pt to rebuild it from"
    return f"{path} is torn: {torn.reason}{done}; {fix}."


def _clean_run(df: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, list[str]]:
    """Check one run's metrics beyond the column names; return typed rows sorted by epoch and notes."""
    notes: list[str] = []
    df = df[list(METRICS_COLUMNS)].copy()
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
    if method not in METHOD_NAMES:
        raise UserError(f"{path} has method {method!r}; expected one of {', '.join(METHOD_NAMES)}.")
    if method in ("baseline", "mixup") and (method == "baseline") != (alpha == 0):
        raise UserError(f"{path} has method {method} with alpha {alpha:g}; the baseline has alpha 0, MixUp above 0.")
    if method not in ("baseline", "mixup") and not alpha > 0:
        raise UserError(f"{path} has method {method} with parameter {alpha:g}; it must be above 0.")
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


def read_record(exp_dir: Path, warnings: list[str] | None = None) -> dict:
    """experiment.json for the report: {} when the folder has none, and {} with a warning (appended to
    `warnings`) when it cannot be read, as the report can go on without it."""
    try:
        return read_experiment(exp_dir) or {}
    except UserError as e:
        if warnings is not None:
            warnings.append(f"Ignored {EXPERIMENT_FILE}: {e}")
        return {}


def experiment_arms(
    exp_dir: Path, df: pd.DataFrame | None = None, record: dict | None = None
) -> list[tuple[str, float]]:
    """Every arm (method, parameter) the experiment holds or plans, in `naming.arm_order`: from the
    loaded runs, the run folder names (even of runs that could not be read) and experiment.json
    (`record`, read here when not given: its alphas, cutmix, smoothing and manifold lists) when present
    and readable. The baseline is always among them.

    Used to give each arm the same colour in every figure, whatever subset is drawn.
    """
    found: set[tuple[str, float]] = {("baseline", 0.0)}
    if df is not None and not df.empty:
        found.update(arms(df))
    for run_dir in run_dirs(Path(exp_dir)):
        parsed = parse_run_id(run_dir.name)
        if parsed:
            found.add((parsed[0], parsed[1]))
    if record is None:
        record = read_record(exp_dir)  # an unreadable experiment.json is reported by read_folder
    for node in (record, record.get("config")):
        if isinstance(node, dict):
            found.update(arms_of(node))
    return sorted(found, key=arm_order)


def config_line(record: dict) -> str:
    """The regime the verdict holds for, in one line, from an experiment.json record ("" when it holds none).

    e.g. "Regime: CIFAR-10, small-cnn, 10,000 training images, 40% label noise, 15 epochs, batch 128, peak lr 0.1,
    weight decay 0.0005, no augmentation; device cpu (bf16)."
    """
    config = record.get("config") if isinstance(record.get("config"), dict) else {}
    t = config.get("training") if isinstance(config.get("training"), dict) else {}
    parts = []
    if "model" in t:
        parts.append(str(t["model"]))
    if "subset" in t:
        parts.append(f"{t['subset']:,} training images" if isinstance(t["subset"], int) else "all training images")
    if isinstance(t.get("val_size"), int) and t["val_size"] > 0:
        parts.append(f"{t['val_size']:,} validation images")
    if isinstance(t.get("label_noise"), (int, float)) and t["label_noise"] > 0:
        parts.append(f"{100 * t['label_noise']:g}% label noise")
    for key, fmt in (("epochs", "{} epochs"), ("batch_size", "batch {}"), ("lr", "peak lr {}"),
                     ("weight_decay", "weight decay {}")):  # fmt: skip
        if key in t:
            parts.append(fmt.format(t[key]))
    if "augment" in t:
        parts.append("crop+flip augmentation" if t["augment"] else "no augmentation")
    if t.get("lam_mode") == "elem":
        parts.append("one lam per image")
    device = record.get("device") if isinstance(record.get("device"), dict) else {}
    if device.get("resolved"):
        parts.append(f"device {device['resolved']} ({device.get('precision', '?')})")
    # first the data set (CIFAR-10 for a record from before it was kept)
    return "Regime: " + ", ".join(map(str, [record_title(record), *parts])) + "." if parts else ""
