"""driver.drive, the loop that `--jobs N` and Ray share, against a scripted backend: events forwarded in
order, a Ctrl-C that stops the backend once, a failure that closes it and is raised after the other runs end."""

from __future__ import annotations

import pytest

from mixup_bench.config import RunConfig
from mixup_bench.errors import UserError
from mixup_bench.sweep.driver import RunOutcome, drive
from tests.sweep.synthetic import RecordingReporter

PENDING = [RunConfig("exp", alpha, 0) for alpha in (0.0, 0.4, 1.0)]


class Scripted:
    """A backend whose polls return what a script says, and that records what the driver asked of it."""

    def __init__(self, script: list[tuple[list[dict], dict]]):
        self.script = list(script)
        self.calls: list[str] = []

    def poll(self, wait_s: float):
        self.calls.append("poll")
        return self.script.pop(0) if self.script else ([], {})

    def close(self) -> None:
        self.calls.append("close")

    def stop(self) -> None:
        self.calls.append("stop")


def message(text: str) -> dict:
    return {"type": "message", "text": text}


def test_events_are_forwarded_in_order_and_outcomes_returned_in_the_runs_order():
    backend = Scripted(
        [
            ([message("a"), message("b")], {2: RunOutcome.HELD}),
            ([message("c")], {0: RunOutcome.DONE, 1: RunOutcome.DONE}),
            ([message("late")], {}),  # on its way when the last run ended
        ]
    )
    reporter = RecordingReporter()
    assert drive(backend, PENDING, reporter, lambda: False) == [RunOutcome.DONE, RunOutcome.DONE, RunOutcome.HELD]
    assert [e["text"] for e in reporter.events] == ["a", "b", "c", "late"]
    assert "close" not in backend.calls and "stop" not in backend.calls


def test_a_stop_closes_and_stops_the_backend_once():
    backend = Scripted([([], {0: RunOutcome.DONE}), ([], {}), ([], {1: RunOutcome.STOPPED, 2: RunOutcome.STOPPED})])
    ctrl_c_after_first_poll = lambda: "poll" in backend.calls  # noqa: E731
    outcomes = drive(backend, PENDING, RecordingReporter(), ctrl_c_after_first_poll)
    assert outcomes == [RunOutcome.DONE, RunOutcome.STOPPED, RunOutcome.STOPPED]
    assert backend.calls == ["poll", "close", "stop", "poll", "poll", "poll"]


def test_a_failure_closes_the_backend_and_is_raised_once_every_run_has_ended():
    error = UserError("mixup-a0.4-s0 diverged at epoch 2")
    backend = Scripted([([], {1: error}), ([message("still training")], {}), ([], {0: RunOutcome.DONE, 2: error})])
    reporter = RecordingReporter()
    with pytest.raises(UserError, match="diverged") as raised:
        drive(backend, PENDING, reporter, lambda: False)
    assert raised.value is error
    assert backend.calls == ["poll", "close", "poll", "poll", "poll"]  # closed once, never stopped
    assert "mixup-a0.4-s0: failed: mixup-a0.4-s0 diverged at epoch 2" in reporter.text
    assert [e["text"] for e in reporter.events if e["type"] == "message"] == ["still training"]


def test_outcomes_are_their_words():
    assert [str(o) for o in RunOutcome] == ["done", "held", "stopped", "failed"]
    assert RunOutcome("stopped") is RunOutcome.STOPPED
