"""`mixup-bench export EXPERIMENT --to tensorboard|mlflow`: a finished experiment, from its CSVs.

The same path as live logging (`sync.Sync`), run over the run folders: a committed experiment
(results/demo) goes to a dashboard as it is, and exporting twice sends nothing twice.
"""

from __future__ import annotations

from pathlib import Path

from mixup_bench.errors import UserError
from mixup_bench.integrations.mlflow_tracker import DEFAULT_STORE, MlflowTracker, store_uri
from mixup_bench.integrations.sync import Sync, Tracker
from mixup_bench.integrations.tensorboard_tracker import TENSORBOARD_DIR, TensorBoardTracker
from mixup_bench.results.discovery import find_experiment
from mixup_bench.results.layout import run_dirs

TARGETS = ("tensorboard", "mlflow")


def export_experiment(path: Path, to: str, mlflow: str = DEFAULT_STORE, logdir: Path | None = None) -> list[str]:
    """Send every run of the experiment at `path` to `to`; lines saying what was sent and how to see it."""
    if to not in TARGETS:  # not "Unknown to 'wandb'"
        raise UserError(f"--to {to!r} is not a dashboard mixup-bench exports to; choose one of: {', '.join(TARGETS)}.")
    if to == "mlflow" and not mlflow.strip():
        store_uri(mlflow)  # its one line, before the experiment is looked for
    exp_path = find_experiment(Path(path))
    if not run_dirs(exp_path):
        raise UserError(f"{exp_path} holds no runs yet; nothing to export.")
    tracker: Tracker
    if to == "tensorboard":
        folder = Path(logdir) if logdir is not None else exp_path / TENSORBOARD_DIR
        tracker, hint = TensorBoardTracker(folder, exp_path), f"See it with: tensorboard --logdir {folder}"
    else:
        tracker = MlflowTracker(mlflow, exp_path)
    sync = Sync(exp_path, [tracker], strict=True)
    try:
        lines = sync.export()
    finally:
        sync.close()
    if isinstance(tracker, MlflowTracker):
        return [*lines, f"{exp_path} -> {to} (experiment {tracker.experiment_name!r}). {_mlflow_hint(tracker)}"]
    return [*lines, f"{exp_path} -> {to} (experiment {exp_path.name!r}). {hint}"]


def _mlflow_hint(tracker: MlflowTracker) -> str:
    """How to see the export: the UI command (a local store) or the server, and the experiment's page in
    the classic runs view (MLflow 3 opens an experiment on its GenAI overview otherwise)."""
    page = f"#/experiments/{tracker.experiment_id}?workflowType=machine_learning"
    if tracker.uri.startswith("sqlite:"):
        return f"See it with: mlflow ui --backend-store-uri {tracker.uri}, then open http://127.0.0.1:5000/{page}"
    if tracker.uri.startswith(("http://", "https://")):
        return f"See it at: {tracker.uri.rstrip('/')}/{page}"
    return f"See it at: {tracker.uri}"
