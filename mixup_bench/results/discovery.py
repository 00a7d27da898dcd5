"""Which folders are experiments, and the experiment a path given to `plot`, `status` or `export` means."""

from __future__ import annotations

from pathlib import Path

from mixup_bench.errors import UserError
from mixup_bench.results.layout import EXPERIMENT_FILE, METRICS_FILE, RUNS_DIR


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
