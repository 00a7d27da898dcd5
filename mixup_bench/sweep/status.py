"""`mixup-bench status`: where every run of an experiment stands, without touching it.

A run is one of
- done: its DONE file exists;
- damaged: its DONE file exists, but a file it needs is missing or unreadable (damaged_files):
  the note names it and says whether `run` rebuilds it;
- locked: a live process holds its lock (it is being trained right now), with the holder;
- partial: some epochs are finished (epoch k/N) and nobody trains it; `run` resumes it;
- not started: no finished epoch yet, or no folder at all. The runs expected from
  experiment.json (baseline and every alpha, for every seed) are listed even before
  their folders exist.

Reading is cheap and safe while runs train: metrics.csv is read with the csv module
(it is replaced atomically, so it is always whole) and the checkpoint is never loaded.
metrics.csv can be one epoch behind the checkpoint after a kill; `run` reconciles that.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from mixup_bench.config import arms_of
from mixup_bench.errors import UserError
from mixup_bench.metrics import M
from mixup_bench.naming import arm_label, arm_order, method_for, parse_run_id, run_id_for
from mixup_bench.provenance import code_warnings, read_identities
from mixup_bench.results.damage import Damage, damaged_files, torn_metrics
from mixup_bench.results.discovery import find_experiment
from mixup_bench.results.layout import CONFIG_FILE, DONE_FILE, METRICS_FILE, is_done, run_dirs
from mixup_bench.results.records import read_experiment, read_json
from mixup_bench.streams import shown
from mixup_bench.sweep.locks import holder, is_locked


class RunState(str, Enum):
    """Where a run stands (see above); the value is the word `status` shows."""

    DONE = "done"
    DAMAGED = "damaged"
    PARTIAL = "partial"
    LOCKED = "locked"
    NOT_STARTED = "not started"

    def __str__(self) -> str:
        return self.value


# The colour of each state in the table, in the order the caption counts them.
STATE_STYLE = {
    RunState.DONE: "green",
    RunState.DAMAGED: "red",
    RunState.PARTIAL: "yellow",
    RunState.LOCKED: "cyan",
    RunState.NOT_STARTED: "dim",
}


@dataclass
class RunStatus:
    """One run as `status` sees it."""

    run_id: str
    alpha: float | None  # the method's parameter; None when neither config.json nor the run id tells
    seed: int | None
    state: RunState
    epochs_done: int  # rows in metrics.csv
    epochs: int | None  # planned epochs, from config.json or experiment.json
    test_acc: float | None  # of the last finished epoch, in [0, 1]
    holder: str | None = None  # 'pid 123 on host' while locked
    path: Path | None = None  # the run folder, None when it does not exist yet
    method: str | None = None  # None: from alpha (0: baseline, else mixup)
    damage: list[Damage] = field(default_factory=list)  # of a finished run (state damaged)

    @property
    def arm(self) -> tuple[str, float] | None:
        return None if self.alpha is None else (self.method or method_for(self.alpha), self.alpha)

    @property
    def progress(self) -> str:
        """'epoch k/N' (or 'epoch k' when N is unknown)."""
        return f"epoch {self.epochs_done}/{self.epochs}" if self.epochs else f"epoch {self.epochs_done}"


def experiment_status(path: Path) -> list[RunStatus]:
    """The status of every run of the experiment at `path` (an experiment folder or a results root).

    Sorted by arm (baseline first, then by alpha) and seed; folders of runs that experiment.json
    does not list are included. Raises UserError for a missing folder or one with no experiment.
    """
    exp_dir = find_experiment(Path(path))
    config = _object((read_experiment(exp_dir) or {}).get("config"))
    planned_epochs = _count(_object(config.get("training")).get("epochs"))

    statuses: dict[str, RunStatus] = {}
    for rdir in run_dirs(exp_dir):
        statuses[rdir.name] = _run_status(rdir, planned_epochs)
    for method, alpha, seed in _expected_runs(config):
        rid = run_id_for(alpha, seed, method)
        if rid not in statuses:
            statuses[rid] = RunStatus(rid, alpha, seed, RunState.NOT_STARTED, 0, planned_epochs, None, method=method)
    if not statuses:
        raise UserError(f"{exp_dir} holds no runs and no experiment.json that lists any; run `mixup-bench run` first.")
    return sorted(statuses.values(), key=_order)


def _expected_runs(config: dict) -> list[tuple[str, float, int]]:
    """The runs (method, parameter, seed) experiment.json plans; values of the wrong type (a hand-edited
    file) are left out."""
    seeds = [s for s in _list(config.get("seeds")) if _count(s) is not None]
    return [(m, a, int(s)) for s in seeds for m, a in arms_of(config)]


def _object(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _count(value) -> int | None:
    """A non-negative whole number from JSON, else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _order(s: RunStatus) -> tuple:
    return (s.arm is None, arm_order(s.arm) if s.arm else (0, 0.0), s.seed if s.seed is not None else -1, s.run_id)


def _run_status(rdir: Path, planned_epochs: int | None) -> RunStatus:
    cfg = _read_json_or_none(rdir / CONFIG_FILE) or {}
    alpha, seed, method = _float(cfg.get("alpha")), _count(cfg.get("seed")), cfg.get("method")
    if alpha is None or alpha < 0 or seed is None or not isinstance(method, str):
        method, alpha, seed = parse_run_id(rdir.name) or (None, None, None)
    epochs = _count(_object(cfg.get("training")).get("epochs")) or planned_epochs
    rows = _metrics_rows(rdir / METRICS_FILE)
    test_acc = _float(rows[-1].get(M.test_acc.name)) if rows else None
    status = RunStatus(
        rdir.name, alpha, seed, RunState.NOT_STARTED, len(rows), epochs, test_acc, path=rdir, method=method
    )
    if is_done(rdir):
        status.state = RunState.DONE
        final = _read_json_or_none(rdir / DONE_FILE) or {}
        status.test_acc = _float(final.get(M.test_acc.name, test_acc))
        status.epochs_done = max(status.epochs_done, _count(final.get("epoch")) or 0)
        status.damage = damaged_files(rdir)
        if status.damage:
            status.state = RunState.DAMAGED
    elif is_locked(rdir):
        status.state = RunState.LOCKED
        status.holder = holder(rdir)
    elif rows:
        status.state = RunState.PARTIAL
    return status


def _read_json_or_none(path: Path) -> dict | None:
    try:
        return read_json(path)
    except UserError:
        return None


def _metrics_rows(path: Path) -> list[dict]:
    try:
        with open(path, newline="") as f:
            return [row for row in csv.DictReader(f) if row.get("epoch")]
    except (OSError, csv.Error, UnicodeDecodeError):
        return []


def _float(value) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


class StatusTable(Table):
    """A Table that prints its `warnings` under it, in yellow."""

    warnings: tuple[str, ...] = ()

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from super().__rich_console__(console, options)
        for w in self.warnings:
            yield Text(f"Warning: {w}", style="yellow")


def status_table(statuses: list[RunStatus], title: str | None = None) -> StatusTable:
    """A rich table: run, arm, seed, state, epochs, last test accuracy, note; a count per state as caption;
    under it the code warnings (provenance.code_warnings) of the runs with a finished epoch."""
    counts = {state: sum(s.state == state for s in statuses) for state in STATE_STYLE}
    caption = ", ".join(f"{n} {state.value}" for state, n in counts.items() if n)
    table = StatusTable(title=title, caption=caption)
    trained = (s.path / CONFIG_FILE for s in statuses if s.path and s.state is not RunState.NOT_STARTED)
    table.warnings = tuple(code_warnings(read_identities(trained)))
    for col, justify in (
        ("run", "left"),
        ("arm", "left"),
        ("seed", "right"),
        ("state", "left"),
        ("epochs", "right"),
        ("test acc", "right"),
        ("note", "left"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for s in statuses:
        arm = "?" if s.arm is None else arm_label(*s.arm)
        notes = [f"training: {s.holder}"] if s.state is RunState.LOCKED else [d.short for d in s.damage]
        if s.path is not None and (torn := torn_metrics(s.path)) is not None:
            finished = s.state in (RunState.DONE, RunState.DAMAGED)
            notes.append(f"metrics.csv torn ({torn.reason}); `run` repairs it" if finished else "metrics.csv torn")
        note = "; ".join(notes)
        table.add_row(
            Text(shown(s.run_id)),  # Text: never markup; shown: a byte that is not UTF-8 as \xNN
            arm,
            "" if s.seed is None else str(s.seed),
            f"[{STATE_STYLE[s.state]}]{s.state.value}[/]",
            f"{s.epochs_done}/{s.epochs}" if s.epochs else str(s.epochs_done),
            "" if s.test_acc is None else f"{100 * s.test_acc:.2f}%",
            Text(note),
        )
    return table
