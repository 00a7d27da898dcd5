"""When a run trained, as a dashboard shows it: the recorded times, never the time of the export.

A dashboard draws a run against wall-clock time (MLflow's start and end times and its metric
timestamps, TensorBoard's "Relative" and "Wall" axes). An export made an hour after training must
draw the same run as live logging did, so the times come from what the run folder records:

- the start: config.json's `started` (provenance.started_field: written when the run first started,
  kept when it resumes); a run from before it was recorded starts at its experiment.json's
  `created`, and without that, at its config.json's modification time;
- each epoch's end: the start plus the `epoch_seconds` and `shift_seconds` of that epoch and every
  one before it. That is the run's own training time: a pause between a stop and a resume is left out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

from mixup_bench.errors import UserError
from mixup_bench.provenance import STARTED_KEY
from mixup_bench.results.layout import CONFIG_FILE, RUNS_DIR
from mixup_bench.results.records import read_experiment

EPOCH_TIME_COLUMNS = ("epoch_seconds", "shift_seconds")  # metrics.csv: the seconds an epoch took


def parse_time(text: object) -> float | None:
    """Unix seconds of an ISO 8601 time as the results files hold it (`2026-12-03T02:48:50+0000`, or with
    milliseconds and `+00:00`); None for anything else. A time without a zone is taken as UTC."""
    if not isinstance(text, str):
        return None
    # Python 3.10's fromisoformat takes '+00:00' but not the '+0000' that strftime's %z writes
    text = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def run_start(exp_path: Path, config: Mapping) -> float:
    """Unix seconds at which the run of `config` (its config.json) started; see the module docstring."""
    config = config if isinstance(config, Mapping) else {}  # a hand-edited config.json may hold anything
    started = parse_time(config.get(STARTED_KEY))
    if started is not None:
        return started
    try:
        record = read_experiment(Path(exp_path)) or {}
    except UserError:
        record = {}
    created = parse_time(record.get("created"))
    if created is not None:
        return created
    run_id = config.get("run_id")
    config_file = Path(exp_path) / RUNS_DIR / str(run_id) / CONFIG_FILE
    try:
        return config_file.stat().st_mtime
    except OSError:
        return Path(exp_path).stat().st_mtime if Path(exp_path).exists() else 0.0


def epoch_seconds(values: Mapping) -> float:
    """The seconds one epoch took (its training, evaluation and shift evaluation), from its metrics."""
    total = 0.0
    for column in EPOCH_TIME_COLUMNS:
        try:
            seconds = float(values.get(column))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if math.isfinite(seconds) and seconds > 0:
            total += seconds
    return total


class RunClock:
    """The end time of each epoch of one run: its start plus the seconds of the epochs up to it."""

    def __init__(self, start: float):
        self.start = start
        self.ends: dict[int, float] = {}

    def end_of(self, epoch: int, values: Mapping) -> float:
        """Unix seconds at which `epoch` ended: the end of the latest earlier epoch seen (the start when
        none was) plus this epoch's seconds. Sync sees every epoch in order, so none is skipped."""
        if epoch not in self.ends:
            earlier = [e for e in self.ends if e < epoch]
            before = self.ends[max(earlier)] if earlier else self.start
            self.ends[epoch] = before + epoch_seconds(values)
        return self.ends[epoch]

    @property
    def last(self) -> float:
        """The end of the latest epoch seen: when the run ended (its start when none was)."""
        return self.ends[max(self.ends)] if self.ends else self.start
