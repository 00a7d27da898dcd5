"""TensorBoard: live events of a stopped and resumed run, and an export of the committed demo, read back
with TensorBoard's own EventAccumulator: every epoch once, every value equal to metrics.csv."""

from __future__ import annotations

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


def assert_equal_to_csv(acc: EventAccumulator, run_dir: Path, seed: int) -> None:
    """Every metrics.csv column is the tag <column>/s<seed>, once per epoch, with the CSV's values."""
    expected = csv_metrics(run_dir)
    assert expected
    for column, by_epoch in expected.items():
        events = acc.Scalars(f"{column}/s{seed}")
        assert [e.step for e in events] == sorted(by_epoch), column  # every epoch once, in order
        for e in events:
            assert e.value == pytest.approx(by_epoch[e.step], rel=1e-6, abs=1e-7), (column, e.step)


def test_live_events_of_a_stopped_and_resumed_run_hold_every_epoch_once(tiny_cifar, tmp_path):
    exp = train_stopped_then_resumed(tiny_cifar, tmp_path, lambda exp: TensorBoardTracker(exp.path / TENSORBOARD_DIR))
    logdir = exp.path / TENSORBOARD_DIR
    assert sorted(p.name for p in logdir.iterdir()) == sorted(cfg.run_id for cfg in exp.runs())
    for cfg in exp.runs():
        acc = read_events(logdir / cfg.run_id)
        assert_equal_to_csv(acc, exp.path / "runs" / cfg.run_id, cfg.seed)
        epochs = list(range(1, exp.training.epochs + 1))
        lam_tags = acc.Tags()["histograms"]
        if cfg.method == "mixup":  # one lam histogram per epoch, of as many lams as steps
            assert [h.step for h in acc.Histograms("lam/s0")] == epochs
            assert all(h.histogram_value.num == 4 for h in acc.Histograms("lam/s0"))  # a lam per step, 4 steps
        else:
            assert lam_tags == []
        assert "_hparams_/session_start_info" in acc.PluginTagToContent("hparams")  # HParams, written once
        final = acc.Scalars("hparams/test_acc")
        assert len(final) == 1 and final[0].value == pytest.approx(acc.Scalars("test_acc/s0")[-1].value)
    # the arms of one seed share every tag, so TensorBoard draws them on one chart
    tags = [set(read_events(logdir / cfg.run_id).Tags()["scalars"]) for cfg in exp.runs()]
    assert "test_acc/s0" in set.intersection(*tags)


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
        assert_equal_to_csv(read_events(tmp_path / "tb" / run_id), DEMO / "runs" / run_id, int(run_id[-1]))


@pytest.mark.slow  # two worker processes
def test_with_two_jobs_the_parent_writes_every_epoch_once(tiny_cifar, tmp_path):
    """`--jobs 2`: the runs train in workers and their events reach the parent, the one writer per run."""
    from tests.sweep.synthetic import EPOCHS, NAME, cli_args

    res = CliRunner().invoke(app, cli_args(tiny_cifar, tmp_path, "--jobs", "2", "--tensorboard", "-q"))
    assert res.exit_code == 0, res.output
    exp = tmp_path / NAME
    for run_id in ("baseline-a0-s0", "mixup-a0.4-s0"):
        acc = read_events(exp / TENSORBOARD_DIR / run_id)
        assert [e.step for e in acc.Scalars("test_acc/s0")] == list(range(1, EPOCHS + 1))
        assert_equal_to_csv(acc, exp / "runs" / run_id, 0)
