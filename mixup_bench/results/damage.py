"""A finished run's files that are torn, missing or unreadable, and what can rebuild them.

`run` only ever replaces a file whole (results.atomic), so damage comes from outside: a copy cut short,
a crash on a file system that lost the last write, a hand edit or deletion. `run`, `plot`, `status` and
`compare` all name a damaged run through `torn_metrics` and `damaged_files`, so they say the same thing.
Both are cheap (no pandas; checkpoint.pt is only looked for), so `status` can call them for every run.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from mixup_bench.naming import LAM_METHODS, parse_run_id
from mixup_bench.results.layout import (
    CALIBRATION_FILE,
    CHECKPOINT_FILE,
    CONFIG_FILE,
    DONE_FILE,
    LAM_FILE,
    METRICS_FILE,
    is_done,
)

# What `run` can write again for a finished run: metrics.csv and lam.csv from checkpoint.pt's history
# (the record every CSV is written from), config.json from the run's own config. calibration.json is
# not kept in checkpoint.pt, so nothing rebuilds it.
FROM_CHECKPOINT = (METRICS_FILE, LAM_FILE)


@dataclass(frozen=True)
class Torn:
    """Why a run's metrics.csv is torn or short (see `torn_metrics`)."""

    reason: str
    last_row_cut: bool  # the last row is incomplete: drop it rather than read NaNs from it


def torn_metrics(run_dir: Path) -> Torn | None:
    """Whether the run's metrics.csv was cut: None when it looks whole (or is absent or unreadable,
    which its readers report).

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

    [] for a run that is not finished (its files appear as it trains); a torn metrics.csv is
    `torn_metrics`'s concern.
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
