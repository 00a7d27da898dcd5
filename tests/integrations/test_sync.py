"""sync: what a tracker is sent and when, with fake trackers and a hand-made run folder (no training)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mixup_bench.errors import UserError
from mixup_bench.integrations.rows import METRIC_COLUMNS, metric_values
from mixup_bench.integrations.sync import Sync
from mixup_bench.results.layout import CONFIG_FILE, EXPERIMENT_FILE, RUNS_DIR
from mixup_bench.results.schema import METRICS_COLUMNS, write_lam_log, write_metrics

RUN = "mixup-a0.4-s1"


class Fake:
    """A tracker that records its calls; `held` is what it says it already has; `fail_at` makes log_epoch raise."""

    def __init__(self, name="fake", held=(), fail_at=None):
        self.name, self.held, self.fail_at = name, set(held), fail_at
        self.logged: list[tuple[int, dict, list]] = []
        self.finished: list[bool] = []
        self.closed = False
        self.times: dict[str, float] = {}  # "start", "end", and "epoch N": the times it was given

    def open_run(self, run, start):
        assert run["run_id"] == RUN and run["seed"] == 1
        self.times["start"] = start
        return self.held

    def log_epoch(self, run, epoch, values, lams, at):
        if epoch == self.fail_at:
            raise ConnectionError("server gone\naway")
        self.logged.append((epoch, values, lams))
        self.times[f"epoch {epoch}"] = at

    def finish_run(self, run, final, done, end):
        self.finished.append(done)
        self.times["end"] = end

    def close(self):
        self.closed = True


def row(epoch: int) -> dict:
    return {"run_id": RUN, "method": "mixup", "alpha": 0.4, "seed": 1, "epoch": epoch, "lr": 0.1 / epoch,
            "train_loss": 2.0 / epoch, "test_acc": 0.3 + epoch / 100, "noise_memorised": ""}  # fmt: skip


@pytest.fixture
def exp_path(tmp_path) -> Path:
    """An experiment with one run of 3 finished epochs (lam.csv: 2 lams per epoch)."""
    rdir = tmp_path / "exp" / RUNS_DIR / RUN
    rdir.mkdir(parents=True)
    config = {"run_id": RUN, "method": "mixup", "alpha": 0.4, "seed": 1, "training": {"epochs": 3}}
    (rdir / CONFIG_FILE).write_text(json.dumps(config))
    write_metrics(rdir, [row(e) for e in (1, 2, 3)])
    write_lam_log(rdir, [{"epoch": e, "step": s, "lam": e / 10 + s / 100} for e in (1, 2, 3) for s in (1, 2)])
    return tmp_path / "exp"


def test_a_tracker_is_sent_only_the_epochs_it_lacks_with_that_epochs_lams(exp_path):
    fake = Fake(held={1})
    sync = Sync(exp_path, [fake])
    sync.on_event({"type": "start", "run_id": RUN, "start_epoch": 3})  # a resumed run: catch up from the CSV
    sync.on_event({"type": "epoch", **row(3)})  # already sent by the catch-up: not again
    sync.on_event({"type": "done", "run_id": RUN})
    assert [e for e, _, _ in fake.logged] == [2, 3]
    epoch, values, lams = fake.logged[0]
    assert values == {"lr": 0.05, "train_loss": 1.0, "test_acc": 0.32}  # numbers; the empty cell left out
    assert lams == [2 / 10 + 1 / 100, 2 / 10 + 2 / 100]  # epoch 2's, as lam.csv holds them
    assert fake.finished == [True]
    sync.close()
    assert fake.closed and fake.finished == [True]  # a finished run is not ended twice


def test_a_failing_tracker_is_dropped_with_one_line_and_the_others_go_on(exp_path):
    bad, good, lines = Fake("bad", fail_at=2), Fake("good"), []
    sync = Sync(exp_path, [bad, good], say=lines.append)
    sync.on_event({"type": "start", "run_id": RUN, "start_epoch": 3})
    assert [e for e, _, _ in good.logged] == [1, 2, 3] and [e for e, _, _ in bad.logged] == [1]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert lines[0].startswith("bad: server gone away; logging to it stopped")
    assert f"mixup-bench export {exp_path} --to bad" in lines[0]
    sync.close()
    assert good.closed and not bad.closed


def test_export_is_strict_and_a_stopped_command_ends_its_runs_unfinished(exp_path):
    with pytest.raises(UserError, match="^bad: server gone away$"):
        Sync(exp_path, [Fake("bad", fail_at=1)], strict=True).export()
    fake = Fake()
    sync = Sync(exp_path, [fake])
    sync.on_event({"type": "start", "run_id": RUN, "start_epoch": 0})
    sync.close()  # Ctrl-C: the run did not finish
    assert fake.finished == [False]


def test_every_metrics_column_but_the_identity_ones_is_a_metric():
    assert set(METRIC_COLUMNS) == set(METRICS_COLUMNS) - {
        "experiment",
        "run_id",
        "method",
        "alpha",
        "seed",
        "epoch",
    }
    assert metric_values({"test_acc": "0.5", "lr": "nan", "train_loss": "", "epoch": 3}) == {"test_acc": 0.5}


STARTED = "2026-01-02T03:04:05.250+00:00"
STARTED_S = 1767323045.25  # its Unix seconds


def set_times(exp_path: Path, started: str | None, seconds: dict[int, tuple[float, float | None]]) -> None:
    """Give the run a recorded start (None: none, as before it was kept) and each epoch its seconds
    (training and evaluation, shift evaluation)."""
    rdir = exp_path / RUNS_DIR / RUN
    config = json.loads((rdir / CONFIG_FILE).read_text())
    if started is not None:
        config["started"] = started
    (rdir / CONFIG_FILE).write_text(json.dumps(config))
    rows = [{**row(e), "epoch_seconds": s, "shift_seconds": "" if t is None else t} for e, (s, t) in seconds.items()]
    write_metrics(rdir, rows)


def test_times_are_the_recorded_start_plus_the_epochs_seconds_live_and_in_an_export_alike(exp_path):
    set_times(exp_path, STARTED, {1: (10.0, None), 2: (20.0, 1.5), 3: (30.0, None)})
    exported = Fake()
    Sync(exp_path, [exported], strict=True).export()
    expected = {"start": STARTED_S, "epoch 1": STARTED_S + 10, "epoch 2": STARTED_S + 31.5, "epoch 3": STARTED_S + 61.5}
    assert exported.times == pytest.approx({**expected, "end": STARTED_S + 61.5})
    live = Fake(held={1})  # a resumed run: epoch 1 was sent before, 2 from the CSV, 3 as it ends
    sync = Sync(exp_path, [live])
    sync.on_event({"type": "start", "run_id": RUN, "start_epoch": 2})
    sync.on_event({"type": "epoch", **row(3), "epoch_seconds": 30.0})
    sync.on_event({"type": "done", "run_id": RUN})
    assert live.times == pytest.approx({k: v for k, v in exported.times.items() if k != "epoch 1"})


def test_a_run_from_before_its_start_was_recorded_starts_at_the_experiments_creation(exp_path):
    set_times(exp_path, None, {1: (5.0, None)})
    (exp_path / EXPERIMENT_FILE).write_text(json.dumps({"name": "exp", "created": "2026-12-03T02:48:50+0000"}))
    fake = Fake()
    Sync(exp_path, [fake], strict=True).export()
    created = 1796266130.0  # 2026-12-03T02:48:50 UTC
    assert fake.times == pytest.approx({"start": created, "epoch 1": created + 5, "end": created + 5})
