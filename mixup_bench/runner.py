"""An experiment = arms x seeds. Runs them in this process, in N local processes, or on Ray.

Every run is skipped when DONE, resumed when half done, and locked while trained,
so the same command can be re-run, killed, or started twice without harm.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import platform
import queue
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import torch

from mixup_bench import results
from mixup_bench.config import TRAINING_KEYS, ExperimentConfig, RunConfig
from mixup_bench.data import Cifar10, load_cifar10
from mixup_bench.errors import UserError
from mixup_bench.locks import HOLD_GRACE_S, RunLock, experiment_lock, holder
from mixup_bench.progress import Reporter
from mixup_bench.train import StopRequested, resolve_device, resolve_precision, train_run


@dataclass
class Outcome:
    """What a call of `run_experiment` did."""

    finished: list[dict] = field(default_factory=list)  # final rows of every DONE run of this command
    trained: list[str] = field(default_factory=list)  # run ids trained (or finished) by this call
    skipped: list[str] = field(default_factory=list)  # already DONE before this call
    held: list[str] = field(default_factory=list)  # locked by another process
    stopped: bool = False  # the user asked to stop


# --- experiment folder -------------------------------------------------------


def git_sha() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def environment(exp: ExperimentConfig) -> dict:
    """Versions and hardware, stored next to the results they produced."""
    import torchvision

    from mixup_bench import __version__

    device = resolve_device(exp.device)
    amp = resolve_precision(exp.training.precision, device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    return {
        "versions": {
            "mixup_bench": __version__,
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
        },
        "device": {
            "requested": exp.device,
            "resolved": str(device),
            "name": name,
            "precision": "bf16" if amp else "fp32",
        },
        "threads": torch.get_num_threads(),
        "git_sha": git_sha(),
    }


def check_compatible(exp: ExperimentConfig) -> dict | None:
    """Refuse to mix a changed config into an existing experiment folder. Returns the old record."""
    path = exp.path / results.EXPERIMENT_FILE
    if not path.exists():
        return None
    old = results.read_json(path)
    old_training = old.get("config", {}).get("training", {})
    new_training = dataclasses.asdict(exp.training)
    for key in TRAINING_KEYS:
        if key in old_training and old_training[key] != new_training[key]:
            raise UserError(
                f"{exp.path} was run with {key}={old_training[key]!r}, this command asks for {new_training[key]!r}; "
                "use another --name, or delete that folder to start over."
            )
    return old


def write_experiment_record(exp: ExperimentConfig, data: Cifar10) -> None:
    """experiment.json: the resolved config (alphas and seeds merged with earlier calls), versions, data.

    The read-merge-write runs under the experiment's lock, so two `run` commands started
    together on one experiment (say with different seeds) both end up in the record.
    """
    with experiment_lock(exp.path):
        old = check_compatible(exp)  # re-read under the lock: another process may have written it meanwhile
        _write_experiment_record(exp, data, old)


def _write_experiment_record(exp: ExperimentConfig, data: Cifar10, old: dict | None) -> None:
    cfg = dataclasses.asdict(exp)
    old_cfg = (old or {}).get("config", {})
    cfg["alphas"] = sorted(set(old_cfg.get("alphas", [])) | set(exp.alphas))
    cfg["seeds"] = sorted(set(old_cfg.get("seeds", [])) | set(exp.seeds))
    record = {
        "name": exp.name,
        "config": cfg,
        "data": data.describe(),
        "created": (old or {}).get("created", time.strftime("%Y-%m-%dT%H:%M:%S%z")),
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **environment(exp),
    }
    results.atomic_write_json(exp.path / results.EXPERIMENT_FILE, record)


def run_dir(exp_path: Path, cfg: RunConfig) -> Path:
    return exp_path / results.RUNS_DIR / cfg.run_id


# --- one run, wherever it executes -------------------------------------------


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


# --- backends ----------------------------------------------------------------


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
            from mixup_bench.ray_backend import run_on_ray

            statuses = run_on_ray(exp, pending, reporter)
        elif exp.jobs > 1 and len(pending) > 1:
            statuses = _run_parallel(exp, pending, reporter)
        else:
            statuses = _run_inline(exp, pending, data, reporter)
        for cfg, status in zip(pending, statuses, strict=True):
            if status == "done":
                outcome.trained.append(cfg.run_id)
            elif status == "held":
                outcome.held.append(cfg.run_id)
            else:
                outcome.stopped = True


def _run_inline(exp: ExperimentConfig, pending: list[RunConfig], data: Cifar10, reporter: Reporter) -> list[str]:
    statuses: list[str] = []
    with GracefulStop(reporter.say) as stop:
        for cfg in pending:
            status = "stopped" if stop() else execute_run(cfg, data, exp.path, reporter.handle, stop)
            statuses.append(status)
    return statuses


# Worker-process state, set once per worker by _init_worker (spawned processes only).
_worker: dict = {}
_FINISHED = "_finished"  # a worker's last event for a run: everything the run emitted has arrived before it


def _init_worker(data_dir: str, threads: int, events, stop_event) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    torch.set_num_threads(threads)
    parent = os.getppid()
    _worker.update(
        data=load_cifar10(Path(data_dir), download=False),
        events=events,
        # Stop when asked, and also when the parent is gone (killed outright): an orphan would
        # otherwise go on training a run that nobody waits for, holding its lock.
        stop=lambda: stop_event.is_set() or os.getppid() != parent,
    )


def _worker_run(index: int, cfg: RunConfig, exp_path: str) -> str:
    w = _worker
    status = "stopped" if w["stop"]() else execute_run(cfg, w["data"], Path(exp_path), w["events"].put, w["stop"])
    w["events"].put({"type": _FINISHED, "index": index, "status": status})
    return status


def threads_per_job(jobs: int) -> int:
    """Split the CPU threads torch would use between the jobs, at least one each."""
    return max(1, torch.get_num_threads() // jobs)


def worker_died() -> UserError:
    return UserError(
        "A worker process died (killed, or out of memory?); the other runs were stopped. Finished epochs are "
        "kept: re-run the same command to resume."
    )


def _run_parallel(exp: ExperimentConfig, pending: list[RunConfig], reporter: Reporter) -> list[str]:
    """Up to `exp.jobs` runs at once, each in a spawned process with its share of the CPU threads.

    Statuses come back through the event queue (after the run's own events, so none is lost).
    Ctrl-C: runs not started are cancelled, running ones stop at their next step. A failing
    run lets the running ones finish, starts no new one, and is raised at the end.
    """
    ctx = mp.get_context("spawn")  # fork after torch has started threads can deadlock
    events = ctx.Queue()
    stop_event = ctx.Event()
    jobs = min(exp.jobs, len(pending))
    threads = threads_per_job(jobs)
    reporter.say(f"Running {len(pending)} runs, {jobs} at a time, {threads} CPU thread(s) each.")
    pool = ProcessPoolExecutor(
        jobs, ctx, initializer=_init_worker, initargs=(str(exp.data_dir), threads, events, stop_event)
    )

    def force() -> None:
        for p in list((getattr(pool, "_processes", None) or {}).values()):
            p.kill()

    statuses: dict[int, str] = {}
    errors: list[BaseException] = []
    returned: dict[int, float] = {}  # when a future returned, in case its last event never arrives
    try:
        with GracefulStop(reporter.say, on_force=force) as stop:
            futures = [pool.submit(_worker_run, i, cfg, str(exp.path)) for i, cfg in enumerate(pending)]
            outstanding = set(range(len(pending)))
            stopping = False
            while outstanding:
                if (stop() or errors) and not stopping:
                    stopping = True
                    for fut in futures:
                        fut.cancel()  # only runs not started yet
                    if stop():
                        stop_event.set()  # running ones stop at their next step
                try:
                    e = events.get(timeout=0.2)
                except queue.Empty:
                    e = None
                if e is not None and e["type"] == _FINISHED:
                    statuses[e["index"]] = e["status"]
                    outstanding.discard(e["index"])
                elif e is not None:
                    reporter.handle(e)
                for i in list(outstanding):
                    fut = futures[i]
                    if fut.cancelled():
                        statuses[i] = "stopped"
                        outstanding.discard(i)
                    elif fut.done() and fut.exception() is not None:
                        err = fut.exception()
                        if isinstance(err, BrokenProcessPool):
                            err = worker_died()
                        else:
                            reporter.say(f"{pending[i].run_id}: failed: {err}")
                        errors.append(err)
                        statuses[i] = "failed"
                        outstanding.discard(i)
                    elif fut.done() and time.monotonic() - returned.setdefault(i, time.monotonic()) > 5.0:
                        statuses[i] = fut.result()  # the worker died before its last event got through
                        outstanding.discard(i)
            _drain(events, reporter)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if errors:
        raise errors[0]
    return [statuses[i] for i in range(len(pending))]


def _drain(events, reporter: Reporter) -> None:
    while True:
        try:
            reporter.handle(events.get_nowait())
        except queue.Empty:
            return
