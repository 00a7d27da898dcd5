"""`run --dry-run`: what a run command would do, read from its config and the results folder alone.

Nothing is loaded, trained or written: the runs and where each stands (new, partial, done), and
the time estimate that `run` prints before it starts. Before them, `preflight` makes every check that
`run` makes before it trains (so a dry run that says yes is a run that starts): the backend, the
output folder, the experiment's compatibility, the data sizes (CIFAR-10's), CIFAR-10-C's files and
the MLflow store.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from mixup_bench.config import CIFAR10_TEST_IMAGES, CIFAR10_TRAIN_IMAGES, ExperimentConfig
from mixup_bench.errors import UserError
from mixup_bench.naming import plural
from mixup_bench.results.layout import EXPERIMENT_FILE, RUNS_DIR


def check_backend(exp: ExperimentConfig) -> None:
    """`--backend ray` needs Ray installed: refused before anything is written (found, not imported: seconds)."""
    if exp.backend == "ray" and importlib.util.find_spec("ray") is None:
        from mixup_bench.sweep.ray_backend import INSTALL_HINT

        raise UserError(INSTALL_HINT)


def preflight(exp: ExperimentConfig) -> None:
    """The checks `run` makes before it trains, made without loading the data or writing: the data sizes
    are the chosen data set's, its published ones or an image folder's file counts (`data_sizes`; `run`
    checks them again on the data it loads). The tracker is probed by the command
    layer (the sweep does not import the integrations)."""
    from mixup_bench.sweep.runner import check_before_data  # local: torch
    from mixup_bench.train.cifar10c import check_cifar10c_dir

    check_backend(exp)
    check_before_data(exp)
    sizes = data_sizes(exp)
    if sizes is not None:  # an image folder without train/: `run` says why when it loads it
        exp.training.check_data(sizes[0])
    if exp.training.shift and exp.training.cifar10c_dir is not None:
        check_cifar10c_dir(Path(exp.training.cifar10c_dir), dataset=exp.training.dataset)


def run_plan(exp: ExperimentConfig) -> list[str]:
    """One line per run (its id and state) and the estimate, as the user would read them (`run --dry-run`
    makes the `preflight` checks first)."""
    from mixup_bench.sweep.runner import estimate_event  # local: torch, and the runner imports the backends

    states = _states(exp)
    runs = exp.runs()
    arms, seeds = len(runs) // len(exp.seeds), len(exp.seeds)
    lines = [f"{plural(len(runs), 'run')} ({plural(arms, 'arm')} x {plural(seeds, 'seed')}) into {exp.path}:"]
    for cfg in runs:
        lines.append(f"  {cfg.run_id:<20} {states.get(cfg.run_id, 'new')}")
    pending = [cfg for cfg in runs if states.get(cfg.run_id) != "done"]
    if pending:  # timed on this machine now (a few seconds), as `run` does before it starts
        n_train, n_test = data_sizes(exp) or (CIFAR10_TRAIN_IMAGES, CIFAR10_TEST_IMAGES)
        lines.append(estimate_event(exp, pending, n_train, n_test)["text"])
    lines.append("Dry run: nothing was trained or written.")
    return lines


def data_sizes(exp: ExperimentConfig) -> tuple[int, int] | None:
    """(train, test) images of the experiment's data set, without reading it (train.datasets.split_sizes)."""
    from mixup_bench.train.datasets import split_sizes  # local: torch

    return split_sizes(exp.training.dataset, exp.data_dir)


def _states(exp: ExperimentConfig) -> dict[str, str]:
    """run id -> 'done', 'partial (epoch k/N)', 'locked', ... for the runs already in the folder."""
    if not ((exp.path / RUNS_DIR).is_dir() or (exp.path / EXPERIMENT_FILE).exists()):
        return {}
    from mixup_bench.sweep.status import RunState, experiment_status  # local: rich tables, only with a folder

    try:
        statuses = experiment_status(exp.path)
    except UserError:
        return {}
    states = {}
    for s in statuses:
        if s.state is not RunState.NOT_STARTED:
            states[s.run_id] = s.state.value if s.state is RunState.DONE else f"{s.state.value} ({s.progress})"
    return states
