"""An experiment = arms x seeds. Runs them in this process, in N local processes, or on Ray.

Every run is skipped when DONE, resumed when half done, and locked while trained,
so the same command can be re-run, killed, or started twice without harm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mixup_bench import results
from mixup_bench.config import ExperimentConfig, RunConfig
from mixup_bench.sweep.execute import run_dir
from mixup_bench.sweep.local import run_inline, run_parallel
from mixup_bench.sweep.progress import Reporter
from mixup_bench.sweep.record import check_compatible, write_experiment_record
from mixup_bench.train.data import load_cifar10


@dataclass
class Outcome:
    """What a call of `run_experiment` did."""

    finished: list[dict] = field(default_factory=list)  # final rows of every DONE run of this command
    trained: list[str] = field(default_factory=list)  # run ids trained (or finished) by this call
    skipped: list[str] = field(default_factory=list)  # already DONE before this call
    held: list[str] = field(default_factory=list)  # locked by another process
    stopped: bool = False  # the user asked to stop


def run_experiment(exp: ExperimentConfig, reporter: Reporter, rerun_command: str = "") -> Outcome:
    """Validate, prepare the folder, load data once, then train every run not yet DONE."""
    exp.validate()
    check_compatible(exp)  # fail fast, before the data are loaded
    runs = exp.runs()
    outcome = Outcome()
    try:
        _prepare_and_run(exp, runs, reporter, outcome)
    except KeyboardInterrupt:  # Ctrl-C outside the backends' GracefulStop, e.g. while the data load
        reporter.say("Stopped before training started.")
        outcome.stopped = True
    if outcome.held:
        reporter.say(
            f"{len(outcome.held)} run(s) are being trained by another process and were left to it: "
            f"{', '.join(outcome.held)}. `mixup-bench status {exp.path}` shows how they are getting on."
        )
    if outcome.stopped and rerun_command:
        reporter.console.print(f"Stopped. Resume with the same command:\n  {rerun_command}", highlight=False)
    for cfg in runs:
        done_file = run_dir(exp.path, cfg) / results.DONE_FILE
        if done_file.exists():
            outcome.finished.append(results.read_json(done_file))
    return outcome


def _prepare_and_run(exp: ExperimentConfig, runs: list[RunConfig], reporter: Reporter, outcome: Outcome) -> None:
    data = load_cifar10(exp.data_dir, progress=reporter.say)
    exp.training.check_data(data.train_x.shape[0])
    write_experiment_record(exp, data)
    pending = []
    for cfg in runs:
        if results.is_done(run_dir(exp.path, cfg)):
            outcome.skipped.append(cfg.run_id)
            reporter.handle({"type": "skipped", "run_id": cfg.run_id})
        else:
            pending.append(cfg)
    if outcome.skipped:
        reporter.say(f"{len(outcome.skipped)} run(s) already done, skipped: {', '.join(outcome.skipped)}")

    if pending:
        if exp.backend == "ray":
            from mixup_bench.sweep.ray_backend import run_on_ray

            statuses = run_on_ray(exp, pending, reporter)
        elif exp.jobs > 1 and len(pending) > 1:
            statuses = run_parallel(exp, pending, reporter)
        else:
            statuses = run_inline(exp, pending, data, reporter)
        for cfg, status in zip(pending, statuses, strict=True):
            if status == "done":
                outcome.trained.append(cfg.run_id)
            elif status == "held":
                outcome.held.append(cfg.run_id)
            else:
                outcome.stopped = True


