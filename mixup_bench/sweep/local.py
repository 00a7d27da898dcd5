"""The local backends: runs one after another in this process, or `--jobs N` spawned worker processes."""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path

import torch

from mixup_bench.config import ExperimentConfig, RunConfig
from mixup_bench.sweep.driver import RunOutcome, drive
from mixup_bench.sweep.execute import GracefulStop, execute_run, threads_per_job, worker_died
from mixup_bench.sweep.progress import Reporter
from mixup_bench.train.data import Cifar10
from mixup_bench.train.datasets import load_dataset


def run_inline(exp: ExperimentConfig, pending: list[RunConfig], data: Cifar10, reporter: Reporter) -> list[RunOutcome]:
    """One run after another in this process; after a Ctrl-C the rest are not started."""
    outcomes: list[RunOutcome] = []
    with GracefulStop(reporter.say) as stop:
        for cfg in pending:
            outcomes.append(RunOutcome.STOPPED if stop() else execute_run(cfg, data, exp.path, reporter.handle, stop))
    return outcomes


# Worker-process state, set once per worker by _init_worker (spawned processes only).
_worker: dict = {}


_FINISHED = "_finished"  # a worker's last event for a run: everything the run emitted has arrived before it


def _init_worker(data_dir: str, threads: int, events, stop_event, parent: int, dataset: str = "cifar10") -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # Started with both blocked (see `_spawning`): a Ctrl-C during the start-up cannot kill the worker.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    _die_with(parent)
    torch.set_num_threads(threads)
    _worker.update(
        data=load_dataset(dataset, Path(data_dir), download=False),
        events=events,
        # Stop when asked, and also when the parent is gone (killed outright): an orphan would
        # otherwise go on training a run that nobody waits for, holding its lock.
        stop=lambda: stop_event.is_set() or os.getppid() != parent,
    )


PR_SET_PDEATHSIG = 1  # linux/prctl.h
ORPHAN_POLL_S = 1.0


def _die_with(parent: int) -> None:
    """Make this worker end soon after its parent dies, however it dies (kill -9 included): an orphan
    would hold its share of memory (the data set, the model) and keep the resource tracker alive.

    Linux: the kernel sends SIGKILL when the parent exits (prctl PR_SET_PDEATHSIG). Everywhere: a
    daemon thread polls getppid() and exits the process once the parent is gone; the training loop's
    stop check sees it too, between steps. The checkpoints survive either way.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


@contextmanager
def _spawning() -> Iterator[None]:
    """Block SIGINT and SIGTERM in this thread while worker processes are started: the mask is inherited
    by each spawned process, so a Ctrl-C that reaches the whole process group while a worker is still
    importing torch cannot kill it with a traceback (`_init_worker` ignores SIGINT, then unblocks). A
    signal that comes meanwhile is delivered here when the block ends, not lost."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _release_semaphores() -> None:
    """Before a forced exit (os._exit skips the finalizers): unlink this process's named semaphores, as
    a normal exit does, so that multiprocessing's resource tracker does not warn about "leaked
    semaphore objects". Best effort: it reaches into multiprocessing's finalizer registry."""
    try:
        from multiprocessing import synchronize, util

        for finalizer in list(util._finalizer_registry.values()):
            if getattr(finalizer, "_callback", None) is synchronize.SemLock._cleanup:
                finalizer()
    except Exception:
        pass


def _worker_run(index: int, cfg: RunConfig, exp_path: str) -> RunOutcome:
    w = _worker
    stopped = w["stop"]()
    outcome = RunOutcome.STOPPED if stopped else execute_run(cfg, w["data"], Path(exp_path), w["events"].put, w["stop"])
    w["events"].put({"type": _FINISHED, "index": index, "outcome": outcome})
    return outcome


def run_parallel(exp: ExperimentConfig, pending: list[RunConfig], reporter: Reporter) -> list[RunOutcome]:
    """Up to `exp.jobs` runs at once, each in a spawned process with its share of the CPU threads,
    driven by `driver.drive` (Ctrl-C, failures, events) as the Ray backend is."""
    ctx = mp.get_context("spawn")  # fork after torch has started threads can deadlock
    events = ctx.Queue()
    stop_event = ctx.Event()
    jobs = min(exp.jobs, len(pending))
    threads = threads_per_job(jobs)
    reporter.say(f"Running {len(pending)} runs, {jobs} at a time, {threads} CPU thread(s) each.")
    pool = ProcessPoolExecutor(
        jobs,
        ctx,
        initializer=_init_worker,
        initargs=(str(exp.data_dir), threads, events, stop_event, os.getpid(), exp.training.dataset),
    )

    def force() -> None:
        for p in list((getattr(pool, "_processes", None) or {}).values()):
            p.kill()
        _release_semaphores()

    # The pool shuts down inside GracefulStop, so a second Ctrl-C while it does still quits at once, cleanly.
    with GracefulStop(reporter.say, on_force=force) as stop:
        try:
            with _spawning():  # the workers are started by these submits
                futures = [pool.submit(_worker_run, i, cfg, str(exp.path)) for i, cfg in enumerate(pending)]
            return drive(_Workers(futures, events, stop_event), pending, reporter, stop)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            events.close()
            events.join_thread()


LAST_EVENT_GRACE_S = 5.0  # how long a returned run's last event may lag behind its future


class _Workers:
    """The worker processes' runs as a `driver.Backend`. A run's outcome comes with its last event
    (after everything the run emitted, so no event is lost); its future tells what the events cannot:
    a run cancelled before it started, a run that raised, a worker that died."""

    def __init__(self, futures: list, events, stop_event):
        self.futures, self.events, self.stop_event = futures, events, stop_event
        self.open = set(range(len(futures)))
        self.returned: dict[int, float] = {}  # when a future returned, in case its last event never arrives
        self.broken = False  # a worker died: the pool is broken

    def poll(self, wait_s: float) -> tuple[list[dict], dict[int, RunOutcome | BaseException]]:
        forwarded: list[dict] = []
        ended: dict[int, RunOutcome | BaseException] = {}
        try:
            e = self.events.get(timeout=wait_s) if wait_s > 0 else self.events.get_nowait()
            while True:
                if e["type"] == _FINISHED:
                    ended[e["index"]] = e["outcome"]
                else:
                    forwarded.append(e)
                e = self.events.get_nowait()
        except queue.Empty:
            pass
        self.open -= set(ended)
        ended.update(self._settled())
        return forwarded, ended

    def _settled(self) -> dict[int, RunOutcome | BaseException]:
        """Runs whose future ended without a last event: cancelled, failed, or a worker that died."""
        ended: dict[int, RunOutcome | BaseException] = {}
        for i in sorted(self.open):
            fut = self.futures[i]
            if fut.cancelled():
                ended[i] = RunOutcome.STOPPED
            elif fut.done() and isinstance(fut.exception(), BrokenProcessPool):  # every open run fails with it
                ended[i] = RunOutcome.FAILED if self.broken else worker_died()  # one error for the one death
                self.broken = True
            elif fut.done() and fut.exception() is not None:
                ended[i] = fut.exception()
            elif fut.done() and time.monotonic() - self.returned.setdefault(i, time.monotonic()) > LAST_EVENT_GRACE_S:
                ended[i] = fut.result()  # the worker died before its last event got through
        self.open -= set(ended)
        return ended

    def close(self) -> None:
        for fut in self.futures:
            fut.cancel()  # only runs not started yet

    def stop(self) -> None:
        self.close()
        self.stop_event.set()  # running ones stop at their next step
