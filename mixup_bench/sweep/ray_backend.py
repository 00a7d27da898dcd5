"""`run --backend ray`: every run is a Ray task, on a local Ray or on a cluster.

Contract (the same as the runner's other backends): `run_on_ray(exp, pending, reporter)`
returns one `driver.RunOutcome` per pending run, in order; the loop that polls the tasks, stops
them and raises a failure is `driver.drive`, the same as for `--jobs N`.

- Results: each task writes its run folder itself, through `execute.execute_run` (lock,
  checkpoint, resume, DONE), so the results folder must be on a file system that every
  node sees at the same absolute path (NFS and the like), with working file locks.
  Nothing is sent back to the driver but events and a status.
- Data: each task loads CIFAR-10 from `exp.data_dir` (absolute path, download=False; the
  driver has already downloaded it if needed); a Ray worker process keeps it for its next task.
- Resources: a task asks for `exp.gpus_per_run` GPUs; for CPUs, 1 with a GPU, else this
  machine's torch threads split by `--jobs` (as the local backend does) and torch uses that many.
  Without `--ray-address` a local Ray is started with all this machine's cores (its workers at
  normal priority, not Ray's default nice 15) and stopped at the end.
- Events and stop: one small actor, `_Control`, links the driver and the tasks. A task pushes
  its events to it (the latest step at most every POLL_S seconds; start/epoch/done at once)
  and every push answers with two flags. Ctrl-C on the driver sets `stop`: running tasks stop
  at their next step (the last finished epoch is in the checkpoint), tasks not started yet
  return 'stopped' as soon as they start. A second Ctrl-C cancels every task by force and
  exits; that is a kill, which the checkpoints survive as well. A failing run sets `closed`
  only: no new run starts, the running ones finish, then the error is raised (as with --jobs).
  A task that cannot reach the actor any more (the driver is gone) stops.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path

from mixup_bench.config import ExperimentConfig, RunConfig
from mixup_bench.errors import UserError
from mixup_bench.sweep.driver import RunOutcome, drive
from mixup_bench.sweep.progress import Reporter

POLL_S = 0.5  # how often a task talks to the driver (and so how soon it sees a stop)
INSTALL_HINT = '--backend ray needs Ray: pip install -e ".[ray]"'


def _import_ray():
    try:
        import ray
    except ImportError:
        raise UserError(INSTALL_HINT) from None
    return ray


def cpus_per_run(exp: ExperimentConfig) -> int:
    """CPUs each task asks for (and torch threads it uses)."""
    from mixup_bench.sweep.execute import threads_per_job

    return 1 if exp.gpus_per_run > 0 else threads_per_job(exp.jobs)


def run_on_ray(exp: ExperimentConfig, pending: list[RunConfig], reporter: Reporter) -> list[RunOutcome]:
    """Run `pending` as Ray tasks, driven by `driver.drive`; return their outcomes in order."""
    ray = _import_ray()
    from mixup_bench.sweep.execute import GracefulStop

    started_here = not ray.is_initialized()
    if started_here:
        try:
            if exp.ray_address:
                reporter.say(f"Connecting to Ray at {exp.ray_address} ...")
                ray.init(address=exp.ray_address, logging_level="WARNING")
            else:
                with _quiet_token_auth_notice():
                    ray.init(
                        num_cpus=os.cpu_count() or 1,
                        include_dashboard=False,
                        logging_level="WARNING",
                        # Ray starts its workers at nice 15; on a machine that does other work too, the runs would
                        # then get only the CPU that nothing else wants. These runs are what the user asked for.
                        _system_config={"worker_niceness": 0},
                    )
        except Exception as e:  # ConnectionError, RuntimeError, ...: one line, not a traceback
            where = f"connect to Ray at {exp.ray_address}" if exp.ray_address else "start a local Ray"
            reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise UserError(
                f"Could not {where} ({reason}); check --ray-address, or leave it out for a local Ray."
            ) from None
    try:
        return _run(ray, exp, pending, reporter, GracefulStop, started_here)
    finally:
        if started_here:
            ray.shutdown()


@contextlib.contextmanager
def _quiet_token_auth_notice():
    """Drop Ray's "Token authentication is enabled for this Ray cluster. Set RAY_AUTH_MODE=disabled to opt out"
    warning while this backend starts its own local Ray (Ray 2.60 turns token auth on for every new local
    cluster and says so each time). The token is Ray's business here (it makes ~/.ray/auth_token and passes it to
    its own processes), so the line is noise for a Ray we start and stop ourselves. Auth itself stays on: the local
    Ray's GCS and raylet listen on every interface, and the token is what keeps others on the network from running
    code through them. That is why this is not RAY_AUTH_MODE=disabled. An explicit RAY_AUTH_MODE from the user
    is left to Ray (it warns about nothing then), and a Ray that renames the logger just shows the line again."""

    def keep(record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Token authentication is enabled")

    logger = logging.getLogger("ray._private.authentication.authentication_token_setup")
    logger.addFilter(keep)
    try:
        yield
    finally:
        logger.removeFilter(keep)


def _run(
    ray, exp: ExperimentConfig, pending: list[RunConfig], reporter: Reporter, graceful_stop, started_here: bool
) -> list[RunOutcome]:
    control = ray.remote(num_cpus=0)(_Control).remote()
    task = ray.remote(max_retries=0)(_ray_task)
    cpus = cpus_per_run(exp)
    exp_path, data_dir = str(exp.path.resolve()), str(exp.data_dir.resolve())
    total = ray.cluster_resources()
    reporter.say(
        f"Ray: {len(pending)} runs as tasks of {cpus} CPU(s)"
        + (f" and {exp.gpus_per_run:g} GPU(s)" if exp.gpus_per_run else "")
        + f" each, on a cluster of {total.get('CPU', 0):g} CPU(s) and {total.get('GPU', 0):g} GPU(s)."
    )
    refs = [
        task.options(num_cpus=cpus, num_gpus=exp.gpus_per_run).remote(cfg, exp_path, data_dir, cpus, control)
        for cfg in pending
    ]

    def force() -> None:  # second Ctrl-C: kill the tasks, and the local Ray if this call started it
        for ref in refs:
            ray.cancel(ref, force=True)
        if started_here:
            ray.shutdown()

    with graceful_stop(reporter.say, on_force=force) as stop:
        return drive(_Tasks(ray, control, refs, pending), pending, reporter, stop)


class _Tasks:
    """The Ray tasks of the pending runs as a `driver.Backend`: events come through the control actor,
    outcomes as the tasks' results."""

    def __init__(self, ray, control, refs: list, pending: list[RunConfig]):
        self.ray, self.control, self.pending = ray, control, pending
        self.remaining = list(refs)
        self.index = {ref: i for i, ref in enumerate(refs)}

    def poll(self, wait_s: float) -> tuple[list[dict], dict[int, RunOutcome | BaseException]]:
        ray = self.ray
        events = ray.get(self.control.drain.remote())
        ended: dict[int, RunOutcome | BaseException] = {}
        if self.remaining:
            ready, self.remaining = ray.wait(self.remaining, num_returns=len(self.remaining), timeout=wait_s)
            for ref in ready:
                i = self.index[ref]
                try:
                    ended[i] = RunOutcome(ray.get(ref))
                except Exception as err:  # raised by the driver once the others have finished
                    ended[i] = _task_error(ray, self.pending[i], err)
        return events, ended

    def close(self) -> None:
        self.ray.get(self.control.close.remote())

    def stop(self) -> None:
        self.ray.get(self.control.request_stop.remote())


def _task_error(ray, cfg: RunConfig, err: Exception) -> Exception:
    """The exception to report for a failed task: the task's own (a UserError stays one line), or,
    when Ray lost the task (worker killed, out of memory, node gone), a UserError that says how to resume."""
    cause = getattr(err, "cause", None)
    if isinstance(err, ray.exceptions.RayTaskError) and isinstance(cause, Exception):
        return cause
    if isinstance(err, ray.exceptions.RayError):
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
        return UserError(
            f"{cfg.run_id}: Ray lost the task ({type(err).__name__}: {reason}); finished epochs are kept, "
            "re-run the same command to resume."
        )
    return err


class _Control:
    """Ray actor: the events of every task, and the driver's stop flag."""

    def __init__(self):
        self.events: list[dict] = []
        self.stop = False  # running tasks stop at their next step
        self.closed = False  # tasks not started yet do not start

    def push(self, events: list[dict]) -> tuple[bool, bool]:
        self.events.extend(events)
        return self.stop, self.closed or self.stop

    def drain(self) -> list[dict]:
        out, self.events = self.events, []
        return out

    def request_stop(self) -> None:
        self.stop = True

    def close(self) -> None:
        self.closed = True


class _Link:
    """Inside a task: sends events to the control actor and reads the driver's flags from its answers.

    No `ray.get` or `ray.wait` here: a task in either call tells the scheduler it is blocked, which
    lends its CPUs to the next task, and the two then share the cores that one asked for (seen with
    Ray 2.60, even for answers that had already come). So pushes are fire-and-forget, and their
    answers are read through `ObjectRef.future()`, which Ray completes from its own thread.
    """

    def __init__(self, control):
        self.control = control
        self.buffer: list[dict] = []
        self.last_step: dict | None = None  # only the latest step event is worth sending
        self.last_push = 0.0
        self.inflight = None  # future of a push whose answer (the flags) is not read yet
        self.latest = None  # future of the latest push: once it has run, all earlier ones have (in order)
        self.stop = False
        self.closed = False

    def emit(self, e: dict) -> None:
        if e.get("type") == "step":
            self.last_step = e
            if time.monotonic() - self.last_push >= POLL_S:
                self.push()
            return
        if self.last_step is not None:
            self.buffer.append(self.last_step)
            self.last_step = None
        self.buffer.append(e)
        self.push()

    def should_stop(self) -> bool:
        self.read_flags()
        if not self.stop and time.monotonic() - self.last_push >= POLL_S:
            self.push()
        return self.stop

    def push(self) -> None:
        batch = self.buffer + ([self.last_step] if self.last_step is not None else [])
        self.buffer, self.last_step = [], None
        self.last_push = time.monotonic()
        try:
            self.latest = self.control.push.remote(batch).future()
        except Exception:  # the driver (and its actor) is gone: nobody waits for this run
            self.stop = self.closed = True
            return
        if self.inflight is None:
            self.inflight = self.latest

    def read_flags(self, wait_s: float = 0.0) -> None:
        """Take the flags from the push in flight if its answer has come, waiting up to `wait_s`."""
        if self.inflight is None or not self._ready(self.inflight, wait_s):
            return
        try:
            stop, closed = self.inflight.result()  # done: does not block
        except Exception:  # the actor is gone with the driver
            stop = closed = True
        self.inflight = None
        self.stop, self.closed = self.stop or stop, self.closed or closed

    def flush(self, wait_s: float = 10.0) -> None:
        """Send what is left and wait until the actor has it (before the task's result is visible)."""
        self.push()
        if self.latest is not None:
            self._ready(self.latest, wait_s)

    @staticmethod
    def _ready(future, wait_s: float) -> bool:
        deadline = time.monotonic() + wait_s
        while not future.done() and time.monotonic() < deadline:
            time.sleep(0.005)
        return future.done()


_data_cache: dict[str, object] = {}  # per Ray worker process: data_dir -> Cifar10


def _ray_task(cfg: RunConfig, exp_path: str, data_dir: str, threads: int, control) -> RunOutcome:
    """One run inside a Ray worker."""
    import torch

    from mixup_bench.sweep.execute import execute_run
    from mixup_bench.train.datasets import load_dataset

    link = _Link(control)
    link.push()
    link.read_flags(wait_s=10.0)  # has the driver asked to stop, or to start nothing new?
    if link.closed:
        return RunOutcome.STOPPED
    torch.set_num_threads(threads)
    key = f"{cfg.training.dataset}:{data_dir}"
    if key not in _data_cache:
        _data_cache.clear()
        _data_cache[key] = load_dataset(cfg.training.dataset, Path(data_dir), download=False)
    try:
        return execute_run(cfg, _data_cache[key], Path(exp_path), link.emit, link.should_stop)
    finally:
        link.flush()
