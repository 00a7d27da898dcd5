"""An experiment = arms x seeds. Runs them in this process, in N local processes, or on Ray.

Every run is skipped when DONE, resumed when half done, and locked while trained,
so the same command can be re-run, killed, or started twice without harm.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

import torch

from mixup_bench.config import ExperimentConfig, RunConfig
from mixup_bench.errors import UserError
from mixup_bench.results.layout import DONE_FILE, is_done
from mixup_bench.results.records import read_json
from mixup_bench.results.writable import check_output_dir
from mixup_bench.sweep.driver import RunOutcome
from mixup_bench.sweep.estimate import cost_line, estimate_range, measure_machine, measure_rates, plan_estimate
from mixup_bench.sweep.execute import repair_finished_run, run_dir, threads_per_job
from mixup_bench.sweep.local import run_inline, run_parallel
from mixup_bench.sweep.progress import FINAL_TABLE, Reporter
from mixup_bench.sweep.record import check_compatible, write_experiment_record
from mixup_bench.train.cifar10c import check_cifar10c_dir
from mixup_bench.train.datasets import load_dataset
from mixup_bench.train.datasets.cifar10 import load_cifar10
from mixup_bench.train.device import resolve_device, resolve_precision
from mixup_bench.train.plugin_check import check_plugin_arms


@dataclass
class Outcome:
    """What a call of `run_experiment` did."""

    finished: list[dict] = field(default_factory=list)  # final rows of every DONE run of this command
    trained: list[str] = field(default_factory=list)  # run ids trained (or finished) by this call
    skipped: list[str] = field(default_factory=list)  # already DONE before this call
    held: list[str] = field(default_factory=list)  # locked by another process
    stopped: bool = False  # the user asked to stop


def check_before_data(exp: ExperimentConfig) -> None:
    """What `run` (and `plan.preflight`) checks before any data are loaded, in one place: the folder can be
    written (leaving nothing behind), an existing experiment there was made with these settings, and every
    plugin arm's mixer passes its probe."""
    check_output_dir(exp.path)
    check_compatible(exp)
    check_plugin_arms(exp.planned_arms, exp.training.model, exp.training.lam_mode)


def run_experiment(exp: ExperimentConfig, reporter: Reporter | None = None, rerun_command: str = "") -> Outcome:
    """Validate, prepare the folder, load data once, then train every run not yet DONE.

    reporter: where progress goes; None = a quiet one (the Python API's default).
    """
    if reporter is None:
        from rich.console import Console

        reporter = Reporter(Console(emoji=False), len(exp.runs()), quiet=True)
    exp.validate()
    check_before_data(exp)  # fail fast, before the data are loaded: --out a file, read-only, ...
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
            f"{', '.join(outcome.held)}. `{shlex.join(['mixup-bench', 'status', str(exp.path)])}` "
            "shows how they are getting on."
        )
    if outcome.stopped and rerun_command:
        # Whole and as it is: a wrapped or markup-eaten command would not work when pasted.
        reporter.console.print(
            f"Stopped. Resume with the same command:\n  {rerun_command}", markup=False, highlight=False, soft_wrap=True
        )
    for cfg in runs:
        done_file = run_dir(exp.path, cfg) / DONE_FILE
        if done_file.exists() and (row := _final_row(done_file, reporter)) is not None:
            outcome.finished.append(row)
    return outcome


_FINAL_KEYS = ("alpha", *(m.name for m, _ in FINAL_TABLE))  # what the closing table reads


def _final_row(done_file: Path, reporter: Reporter) -> dict | None:
    """The final metrics a DONE file holds, for the closing table; None (with a line) when it is damaged."""
    try:
        row = read_json(done_file)
    except UserError as e:
        reporter.say(f"Left out of the final table: {e}")
        return None
    if not all(isinstance(row.get(k), (int, float)) and not isinstance(row.get(k), bool) for k in _FINAL_KEYS):
        reporter.say(f"Left out of the final table: {done_file} lacks the final metrics ({', '.join(_FINAL_KEYS)}).")
        return None
    return row


def estimate_event(exp: ExperimentConfig, pending: list[RunConfig], n_train: int, n_test: int) -> dict:
    """The "estimate" event: the expected wall time of the whole command, timed on this machine now (the
    rates) and measured in this process (start-up, data load), with its parts (also what `run --dry-run`
    prints, with CIFAR-10's sizes). `seconds` counts from now to the end; `seconds_min`/`seconds_max` the
    whole command, from process start, for the fewest and the most seeds of a sequential run."""
    import dataclasses
    import time

    device = resolve_device(exp.device)
    amp = resolve_precision(exp.training.precision, device)
    parallel = exp.jobs > 1 and len(pending) > 1
    threads = threads_per_job(exp.jobs) if parallel and device.type == "cpu" else torch.get_num_threads()
    t0 = time.perf_counter()
    rates = measure_rates(pending[0], device, amp, threads)
    machine = measure_machine(exp.data_dir, time.perf_counter() - t0, n_train + n_test)
    est = plan_estimate(exp, len(pending), rates, n_train, n_test, machine)
    low, high = estimate_range(exp, est, rates, n_train, n_test, machine)
    return {
        "type": "estimate",
        "seconds": est.remaining,
        "seconds_min": low,
        "seconds_max": high,
        "elapsed": est.so_far + est.measuring,
        "finish": est.finish,
        "lead": est.workers_start,
        "parts": dataclasses.asdict(est),
        "epochs": len(pending) * exp.training.epochs,
        "text": cost_line(exp, len(pending), rates, n_train, n_test, est, (low, high)),
    }


def _prepare_and_run(exp: ExperimentConfig, runs: list[RunConfig], reporter: Reporter, outcome: Outcome) -> None:
    if exp.training.dataset == "cifar10":  # as before --dataset: the loader tests stand in for
        data = load_cifar10(exp.data_dir, progress=reporter.say)
    else:
        data = load_dataset(exp.training.dataset, exp.data_dir, progress=reporter.say)
    exp.training.check_data(data.train_x.shape[0])
    if exp.training.shift and exp.training.cifar10c_dir is not None:  # a missing or cut file: one line, not a crash
        # (else at the end of every run)
        check_cifar10c_dir(Path(exp.training.cifar10c_dir), data.num_classes, exp.training.dataset)
    write_experiment_record(exp, data)
    pending = []
    for cfg in runs:
        if is_done(run_dir(exp.path, cfg)):
            repaired = repair_finished_run(run_dir(exp.path, cfg), cfg)
            if repaired:
                reporter.say(repaired)
            outcome.skipped.append(cfg.run_id)
            reporter.handle({"type": "skipped", "run_id": cfg.run_id})
        else:
            pending.append(cfg)
    if outcome.skipped:
        reporter.say(f"{len(outcome.skipped)} run(s) already done, skipped: {', '.join(outcome.skipped)}")

    if pending:
        if exp.backend == "local":
            reporter.handle(estimate_event(exp, pending, data.train_x.shape[0], data.test_x.shape[0]))
        if exp.backend == "ray":
            from mixup_bench.sweep.ray_backend import run_on_ray

            outcomes = run_on_ray(exp, pending, reporter)
        elif exp.jobs > 1 and len(pending) > 1:
            outcomes = run_parallel(exp, pending, reporter)
        else:
            outcomes = run_inline(exp, pending, data, reporter)
        for cfg, run_outcome in zip(pending, outcomes, strict=True):
            if run_outcome is RunOutcome.DONE:
                outcome.trained.append(cfg.run_id)
            elif run_outcome is RunOutcome.HELD:
                outcome.held.append(cfg.run_id)
            else:
                outcome.stopped = True
