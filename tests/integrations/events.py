"""Helpers of the integration tests: a tiny experiment trained with live logging (stopped after its
first epoch, then resumed), and metrics.csv read back as numbers to compare trackers against."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from mixup_bench.config import ExperimentConfig
from mixup_bench.integrations.rows import METRIC_COLUMNS
from mixup_bench.integrations.sync import LiveLogging, Sync, Tracker
from mixup_bench.sweep.runner import run_experiment
from tests.sweep.synthetic import RecordingReporter, experiment, interrupt_self_after_first_epoch


def csv_metrics(run_dir: Path) -> dict[str, dict[int, float]]:
    """metrics.csv as {column: {epoch: value}}, finite values only (empty cells left out)."""
    out: dict[str, dict[int, float]] = {}
    with open(run_dir / "metrics.csv", newline="") as f:
        for row in csv.DictReader(f):
            for column in METRIC_COLUMNS:
                if row.get(column) not in (None, "") and math.isfinite(float(row[column])):
                    out.setdefault(column, {})[int(row["epoch"])] = float(row[column])
    return out


def train_stopped_then_resumed(data_dir: Path, out: Path, make_tracker, seeds=(0,)) -> ExperimentConfig:
    """The tiny sweep with live logging to a fresh tracker per command: the first command is stopped
    (Ctrl-C) after the first epoch of its first run, the second resumes it and finishes every run."""
    exp = experiment(data_dir, out, seeds=seeds)
    stopped = _run(exp, make_tracker(exp), RecordingReporter(on_event=interrupt_self_after_first_epoch()))
    assert stopped.stopped and not stopped.trained
    finished = _run(exp, make_tracker(exp), RecordingReporter())
    assert not finished.stopped and len(finished.trained) == len(exp.runs())
    return exp


def _run(exp: ExperimentConfig, tracker: Tracker, reporter: RecordingReporter):
    with LiveLogging(reporter, Sync(exp.path, [tracker], say=reporter.say)) as logged:
        return run_experiment(exp, logged)
