"""What every backend shares: one run under its lock, graceful stop on Ctrl-C, CPU threads per job."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import torch

from mixup_bench import results
from mixup_bench.config import RunConfig
from mixup_bench.errors import UserError
from mixup_bench.sweep.locks import HOLD_GRACE_S, RunLock, holder
from mixup_bench.train.checkpoint import load_checkpoint
from mixup_bench.train.data import Cifar10
from mixup_bench.train.loop import StopRequested, train_run


def run_dir(exp_path: Path, cfg: RunConfig) -> Path:
    return exp_path / results.RUNS_DIR / cfg.run_id


def execute_run(
    cfg: RunConfig,
    data: Cifar10,
    exp_path: Path,
    emit: Callable[[dict], None],
    should_stop: Callable[[], bool],
) -> str:
    """Train one run under its lock. Returns 'done', 'held' or 'stopped'."""
    rdir = run_dir(exp_path, cfg)
    if results.is_done(rdir):
        return "done"
    with RunLock(rdir) as lock:
        if not lock.acquire(wait=HOLD_GRACE_S):
            emit({"type": "message", "text": f"{cfg.run_id}: being trained by {holder(rdir)}; skipped here."})
            return "held"
        if results.is_done(rdir):  # finished by another process while we waited
            return "done"
        results.atomic_write_json(rdir / results.CONFIG_FILE, cfg.to_dict())
        try:
            train_run(cfg, data, rdir, emit, should_stop)
        except StopRequested:
            return "stopped"
    return "done"


def repair_finished_run(rdir: Path, cfg: RunConfig) -> str | None:
    """A finished run whose metrics.csv was torn (see results.torn_metrics) gets it, and lam.csv,
    rewritten from checkpoint.pt's history, the record every CSV is written from. Returns a line
    saying what was done (or why it could not be), None when the file is whole."""
    torn = results.torn_metrics(rdir)
    if torn is None:
        return None
    metrics = rdir / results.METRICS_FILE
    saved = load_checkpoint(rdir, cfg) if (rdir / results.CHECKPOINT_FILE).exists() else None
    if not saved or not saved.get("history"):
        return (
            f"{cfg.run_id}: {metrics} is torn ({torn.reason}) and no readable checkpoint.pt holds its history; "
            f"`plot` leaves out what is missing. Delete {rdir} to train the run again."
        )
    results.write_metrics(rdir, saved["history"])
    results.write_lam_log(rdir, saved.get("lam_log") or [])
    return f"{cfg.run_id}: {metrics} was torn ({torn.reason}); rewrote it from checkpoint.pt."


class GracefulStop:
    """First Ctrl-C or SIGTERM: stop at the next step boundary. Second: exit at once (code 130).

    The last epoch-end checkpoint stands either way, so at most the epoch in
    progress is lost, and re-running the same command resumes.

    The signal handler only sets a flag: the message is printed by the first poll
    (`stop()`) that sees it, because printing from a handler can interrupt a print in
    progress and the console would write its buffer twice.
    """

    MESSAGE = "Stopping at the next step; the last finished epoch is saved. Ctrl-C again to quit at once."

    def __init__(self, say: Callable[[str], None], on_force: Callable[[], None] = lambda: None):
        self.requested = False
        self.say = say
        self.on_force = on_force
        self._announced = False
        self._old: dict = {}

    def __call__(self) -> bool:
        if self.requested and not self._announced:
            self._announced = True
            self.say(self.MESSAGE)
        return self.requested

    def _handle(self, signum, frame) -> None:
        if self.requested:
            os.write(2, b"\nQuitting now; re-run the same command to resume.\n")  # os.write: safe in a handler
            try:
                self.on_force()
            finally:
                os._exit(130)
        self.requested = True

    def __enter__(self) -> GracefulStop:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread (e.g. inside a test runner thread)
                pass
        return self

    def __exit__(self, *exc) -> None:
        self()  # announce a stop that came after the last poll
        for sig, old in self._old.items():
            signal.signal(sig, old)


def threads_per_job(jobs: int) -> int:
    """Split the CPU threads torch would use between the jobs, at least one each."""
    return max(1, torch.get_num_threads() // jobs)


def worker_died() -> UserError:
    return UserError(
        "A worker process died (killed, or out of memory?); the other runs were stopped. Finished epochs are "
        "kept: re-run the same command to resume."
    )
