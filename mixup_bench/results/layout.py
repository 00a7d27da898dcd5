"""The names of the files and folders of a results folder (see the package's docstring for the tree), and
the two questions about its shape every command asks: which runs an experiment holds, and which are finished."""

from __future__ import annotations

from pathlib import Path

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


def run_dirs(experiment_dir: Path) -> list[Path]:
    """The run folders of an experiment, sorted by name."""
    runs = Path(experiment_dir) / RUNS_DIR
    return sorted(p for p in runs.iterdir() if p.is_dir()) if runs.is_dir() else []


def is_done(run_dir: Path) -> bool:
    """Whether the run finished: DONE is written last, after every other file of the run."""
    return (Path(run_dir) / DONE_FILE).exists()
