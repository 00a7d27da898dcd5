"""TensorBoard: live events of a stopped and resumed run, and an export of the committed demo, read back
with TensorBoard's own EventAccumulator: every epoch once, every value equal to metrics.csv, every run
with the same tags (one colour per run on every chart), at the recorded times."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("tensorboard")

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from mixup_bench.cli import app  # noqa: E402
from mixup_bench.integrations.tensorboard_tracker import TENSORBOARD_DIR, TensorBoardTracker  # noqa: E402
from tests.integrations.events import csv_metrics, train_stopped_then_resumed  # noqa: E402

DEMO = Path(__file__).resolve().parents[2] / "results" / "demo"


def read_events(run_logdir: Path) -> EventAccumulator:
    acc = EventAccumulator(str(run_logdir), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    return acc


def assert_equal_to_csv(acc: EventAccumulator, run_dir: Path) -> None:
    """Every metrics.csv column is the tag <column>, once per epoch, with the CSV's values."""
    expected = csv_metrics(run_dir)
    assert expected
    for column, by_epoch in expected.items():
        events = acc.Scalars(column)
        assert [e.step for e in events] == sorted(by_epoch), column  # every epoch once, in order
        for e in events:
            assert e.value == pytest.approx(by_epoch[e.step], rel=1e-6, abs=1e-7), (column, e.step)


def test_live_events_of_a_stopped_and_resumed_run_hold_every_epoch_once(tiny_cifar, tmp_path):
    exp = train_stopped_then_resumed(tiny_cifar, tmp_path, lambda exp: TensorBoardTracker(exp.path / TENSORBOARD_DIR))
    logdir = exp.path / TENSORBOARD_DIR
    assert sorted(p.name for p in logdir.iterdir()) == sorted(cfg.run_id for cfg in exp.runs())
    for cfg in exp.runs():
        acc = read_events(logdir / cfg.run_id)
        assert_equal_to_csv(acc, exp.path / "runs" / cfg.run_id)
        assert "started" in json.loads((exp.path / "runs" / cfg.run_id / "config.json").read_text())
        assert_recorded_times(acc, exp.path / "runs" / cfg.run_id)
        epochs = list(range(1, exp.training.epochs + 1))
        lam_tags = acc.Tags()["histograms"]
        if cfg.method == "mixup":  # one lam histogram per epoch, of as many lams as steps
            assert [h.step for h in acc.Histograms("lam")] == epochs
            assert all(h.histogram_value.num == 4 for h in acc.Histograms("lam"))  # a lam per step, 4 steps
        else:
            assert lam_tags == []
        assert "_hparams_/session_start_info" in acc.PluginTagToContent("hparams")  # HParams, written once
        final = acc.Scalars("hparams/test_acc")
        assert len(final) == 1 and final[0].value == pytest.approx(acc.Scalars("test_acc")[-1].value)
    # every run holds every metric tag, so every chart holds every run: TensorBoard colours a line by its
    # run, so a run has one colour on all of them
    tags = [set(read_events(logdir / cfg.run_id).Tags()["scalars"]) for cfg in exp.runs()]
    assert tags[0] == tags[1] and "test_acc" in tags[0]


def assert_recorded_times(acc: EventAccumulator, run_dir: Path) -> None:
    """Each epoch's events stand at the run's recorded start plus the seconds of its epochs so far (not at
    the time they were written): TensorBoard's "Relative" axis is the training time."""
    from mixup_bench.integrations.times import parse_time, run_start

    config = json.loads((run_dir / "config.json").read_text())
    start = run_start(run_dir.parents[1], config)
    if "started" in config:  # a run trained now records its start; the committed demo does not
        assert start == parse_time(config["started"])
    seconds = csv_metrics(run_dir)
    elapsed = 0.0
    for e in acc.Scalars("test_acc"):
        elapsed += seconds["epoch_seconds"][e.step] + seconds.get("shift_seconds", {}).get(e.step, 0.0)
        assert e.wall_time == pytest.approx(start + elapsed, abs=1e-3), e.step


def test_export_of_the_committed_demo_equals_its_csvs_and_sends_nothing_twice(tmp_path):
    runner = CliRunner()
    args = ["export", str(DEMO), "--to", "tensorboard", "--logdir", str(tmp_path / "tb")]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, args)
    assert second.exit_code == 0 and "baseline-a0-s0: 0 epochs sent" in second.output
    runs = sorted(p.name for p in (DEMO / "runs").iterdir())
    assert sorted(p.name for p in (tmp_path / "tb").iterdir()) == runs
    for run_id in runs:
        acc = read_events(tmp_path / "tb" / run_id)
        assert_equal_to_csv(acc, DEMO / "runs" / run_id)
        assert_recorded_times(acc, DEMO / "runs" / run_id)  # from the experiment's creation: no start recorded
        relative = acc.Scalars("test_acc")[-1].wall_time - acc.Scalars("test_acc")[0].wall_time
        assert relative > 60  # 14 epochs of ~8 s, not the milliseconds an export takes
        hparams = acc.PluginTagToContent("hparams")["_hparams_/session_start_info"]
        for text in ("mixup-a0.4" if run_id.startswith("mixup") else "baseline-a0", "cifar10", "947176dd315942b3"):
            assert text.encode() in hparams  # the arm, the data set and the code version, for the HParams table


@pytest.mark.slow  # two worker processes
def test_with_two_jobs_the_parent_writes_every_epoch_once(tiny_cifar, tmp_path):
    """`--jobs 2`: the runs train in workers and their events reach the parent, the one writer per run."""
    from tests.sweep.synthetic import EPOCHS, NAME, cli_args

    res = CliRunner().invoke(app, cli_args(tiny_cifar, tmp_path, "--jobs", "2", "--tensorboard", "-q"))
    assert res.exit_code == 0, res.output
    exp = tmp_path / NAME
    for run_id in ("baseline-a0-s0", "mixup-a0.4-s0"):
        acc = read_events(exp / TENSORBOARD_DIR / run_id)
        assert [e.step for e in acc.Scalars("test_acc")] == list(range(1, EPOCHS + 1))
        assert_equal_to_csv(acc, exp / "runs" / run_id)
        assert_recorded_times(acc, exp / "runs" / run_id)
