"""`run --dry-run`: what a run command would do, read from its config and the results folder alone.

Nothing is loaded, trained or written: the runs and where each stands (new, partial, done), and
the time estimate that `run` prints before it starts.
"""

from __future__ import annotations

from mixup_bench import results
from mixup_bench.config import CIFAR10_TEST_IMAGES, CIFAR10_TRAIN_IMAGES, ExperimentConfig
from mixup_bench.errors import UserError
from mixup_bench.naming import plural


def run_plan(exp: ExperimentConfig) -> list[str]:
    """One line per run (its id and state) and the estimate, as the user would read them."""
    from mixup_bench.sweep.runner import estimate_event  # local: torch, and the runner imports the backends

    states = _states(exp)
    runs = exp.runs()
    arms, seeds = len(runs) // len(exp.seeds), len(exp.seeds)
    lines = [f"{plural(len(runs), 'run')} ({plural(arms, 'arm')} x {plural(seeds, 'seed')}) into {exp.path}:"]
    for cfg in runs:
        lines.append(f"  {cfg.run_id:<20} {states.get(cfg.run_id, 'new')}")
    pending = [cfg for cfg in runs if states.get(cfg.run_id) != "done"]
    if pending:  # timed on this machine now (a few seconds), as `run` does before it starts
        lines.append(estimate_event(exp, pending, CIFAR10_TRAIN_IMAGES, CIFAR10_TEST_IMAGES)["text"])
    lines.append("Dry run: nothing was trained or written.")
    return lines


def _states(exp: ExperimentConfig) -> dict[str, str]:
    """run id -> 'done', 'partial (epoch k/N)', 'locked', ... for the runs already in the folder."""
    if not ((exp.path / results.RUNS_DIR).is_dir() or (exp.path / results.EXPERIMENT_FILE).exists()):
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
