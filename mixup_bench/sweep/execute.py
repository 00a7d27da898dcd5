"""What every backend shares: one run under its lock, graceful stop on Ctrl-C, CPU threads per job."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import torch

from mixup_bench.config import RunConfig
from mixup_bench.errors import UserError
from mixup_bench.provenance import code_fields, code_identity, started_field
from mixup_bench.results.atomic import atomic_write_json
from mixup_bench.results.damage import FROM_CHECKPOINT, damaged_files, torn_metrics
from mixup_bench.results.layout import CHECKPOINT_FILE, CONFIG_FILE, METRICS_FILE, RUNS_DIR, is_done
from mixup_bench.results.records import read_json
from mixup_bench.results.schema import write_lam_log, write_metrics
from mixup_bench.sweep.driver import RunOutcome
from mixup_bench.sweep.locks import HOLD_GRACE_S, RunLock, holder
from mixup_bench.train.checkpoint import load_checkpoint
from mixup_bench.train.data import Cifar10
from mixup_bench.train.loop import StopRequested, train_run


def run_dir(exp_path: Path, cfg: RunConfig) -> Path:
    return exp_path / RUNS_DIR / cfg.run_id


def execute_run(
    cfg: RunConfig,
    data: Cifar10,
    exp_path: Path,
    emit: Callable[[dict], None],
    should_stop: Callable[[], bool],
) -> RunOutcome:
    """Train one run under its lock. Returns DONE, HELD (another process trains it) or STOPPED."""
    rdir = run_dir(exp_path, cfg)
    if is_done(rdir):
        return RunOutcome.DONE
    with RunLock(rdir) as lock:
        if not lock.acquire(wait=HOLD_GRACE_S):
            emit({"type": "message", "text": f"{cfg.run_id}: being trained by {holder(rdir)}; skipped here."})
            return RunOutcome.HELD
        if is_done(rdir):  # finished by another process while we waited
            return RunOutcome.DONE
        atomic_write_json(rdir / CONFIG_FILE, {**cfg.to_dict(), **_run_code(rdir)})
        try:
            train_run(cfg, data, rdir, emit, should_stop)
        except StopRequested:
            return RunOutcome.STOPPED
    return RunOutcome.DONE


def _run_code(rdir: Path) -> dict:
    """config.json's code keys (provenance.code_fields) and start time (provenance.started_field): this
    command's code and the time now for a run it starts; for one it resumes (a checkpoint.pt is there),
    the code that started it, with this command's in code_resumed, and the time it first started."""
    if not (rdir / CHECKPOINT_FILE).exists():
        return {**code_fields(None, code_identity()), **started_field(None)}
    try:
        previous = read_json(rdir / CONFIG_FILE)
    except UserError:  # lost or unreadable: which code started the run, and when, cannot be told
        previous = {}
    return {**code_fields(previous, code_identity()), **started_field(previous)}


def repair_finished_run(rdir: Path, cfg: RunConfig) -> str | None:
    """A finished run whose files are torn (torn_metrics) or missing or unreadable
    (damaged_files) gets what can be written again: metrics.csv and lam.csv from checkpoint.pt's
    history, the record every CSV is written from, and config.json from the checkpoint's (or this run's)
    config, with this command's code (the code that trained the run went with the file). Returns a line per
    file saying what was done or why it could not be, None when all is whole."""
    torn, damage = torn_metrics(rdir), damaged_files(rdir)
    if torn is None and not damage:
        return None
    saved = load_checkpoint(rdir, cfg) if (rdir / CHECKPOINT_FILE).exists() else None
    history = (saved or {}).get("history")
    if history and (torn is not None or any(d.path.name in FROM_CHECKPOINT for d in damage)):
        write_metrics(rdir, history)
        write_lam_log(rdir, saved.get("lam_log") or [])
    lines = []
    if torn is not None:
        metrics = rdir / METRICS_FILE
        lines.append(
            f"{cfg.run_id}: {metrics} was torn ({torn.reason}); rewrote it from checkpoint.pt."
            if history
            else f"{cfg.run_id}: {metrics} is torn ({torn.reason}) and no readable checkpoint.pt holds its history; "
            f"`plot` leaves out what is missing. Delete {rdir} to train the run again."
        )
    for d in damage:
        if d.path.name == CONFIG_FILE:
            config = (saved or {}).get("config") or cfg.to_dict()
            atomic_write_json(d.path, {**config, "code": code_identity()})
            lines.append(
                f"{cfg.run_id}: {d.path} {d.problem}; wrote it again from the run's config, with this command's "
                "code as its code (which code trained the run went with the file)."
            )
        elif d.path.name in FROM_CHECKPOINT and history:
            lines.append(f"{cfg.run_id}: {d.path} {d.problem}; rebuilt it from checkpoint.pt.")
        elif d.path.name in FROM_CHECKPOINT:
            lines.append(
                f"{cfg.run_id}: {d.path} {d.problem} and no readable checkpoint.pt holds its history; "
                f"delete {rdir} and run again to train the run anew."
            )
        else:
            lines.append(f"{cfg.run_id}: {d}")
    return "\n".join(lines)


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
            try:
                os.write(2, b"\nQuitting now; re-run the same command to resume.\n")  # os.write: safe in a handler
                self.on_force()
            except OSError:  # a closed or broken stderr: quit all the same
                pass
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
