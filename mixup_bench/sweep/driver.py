"""The driver loop that the parallel backends share (`--jobs N` worker processes, and Ray).

A backend starts the pending runs itself and is then polled by `drive` until every run has an
outcome. The driver, not the backend, decides what happens and when:
- each poll's events go to the reporter, in the order they came;
- the first Ctrl-C (`stop()` turns true) stops the backend: running runs stop at their next step
  (their last finished epoch is in the checkpoint), runs not started yet never start;
- the first failure closes it: no new run starts, the running ones finish, and the failure is
  raised once every run has ended (after a line that names the run);
- the events still on their way when the last run ends are forwarded before `drive` returns.
The backend only says how to poll, close and stop (`Backend`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum
from typing import Protocol

from mixup_bench.config import RunConfig
from mixup_bench.sweep.progress import Reporter

WAIT_S = 0.2  # the driver's loop period: how long one poll waits for an event


class RunOutcome(str, Enum):
    """What became of one run of a `run` command, as a backend returns it."""

    DONE = "done"  # finished (by this call, or by another process while this one waited)
    HELD = "held"  # another process holds its lock and trains it: left to it
    STOPPED = "stopped"  # stopped at a step boundary (Ctrl-C), or never started after one
    FAILED = "failed"  # raised an error: the driver raises it once the other runs have ended

    def __str__(self) -> str:
        return self.value


class Backend(Protocol):
    """The runs of one `run` command, started by a backend, as the driver polls them."""

    def poll(self, wait_s: float) -> tuple[list[dict], dict[int, RunOutcome | BaseException]]:
        """The events that came since the last poll (waiting up to `wait_s` for them) and the runs that
        ended since then: index in `pending` -> its outcome, or the exception it failed with."""
        ...

    def close(self) -> None:
        """Start no run that has not started yet."""
        ...

    def stop(self) -> None:
        """Ask the running runs to stop at their next step (and start no new one)."""
        ...


def drive(
    backend: Backend, pending: Sequence[RunConfig], reporter: Reporter, stop: Callable[[], bool]
) -> list[RunOutcome]:
    """Poll `backend` until every run of `pending` has ended; return their outcomes in order.

    `stop`: the graceful-stop flag (`execute.GracefulStop`), polled once per loop. Raises the first
    run's failure, if any, once all runs have ended.
    """
    outcomes: dict[int, RunOutcome] = {}
    errors: list[BaseException] = []
    closed = stopped = False
    while len(outcomes) < len(pending):
        if (errors or stop()) and not closed:
            closed = True
            backend.close()
        if stop() and not stopped:
            stopped = True
            backend.stop()
        events, ended = backend.poll(WAIT_S)
        for e in events:
            reporter.handle(e)
        for i, result in ended.items():
            if isinstance(result, BaseException):
                reporter.say(f"{pending[i].run_id}: failed: {result}")
                errors.append(result)
                result = RunOutcome.FAILED
            outcomes[i] = result
    for e in backend.poll(0.0)[0]:  # events that were on their way when the last run ended
        reporter.handle(e)
    if errors:
        raise errors[0]
    return [outcomes[i] for i in range(len(pending))]
