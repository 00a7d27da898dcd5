"""`--jobs 2`: the same results layout and exactly the same numbers as one run at a time (one CPU
thread per run in both), a Ctrl-C that stops every worker and resumes exactly, and results that
`plot` (plotting.plot_experiment) reads."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from mixup_bench.plotting import plot_experiment
from mixup_bench.results.schema import read_metrics
from mixup_bench.sweep.execute import threads_per_job
from mixup_bench.sweep.runner import run_experiment
from tests.sweep.synthetic import (
    ALL_RUNS,
    RecordingReporter,
    assert_same_results,
    checkpoint_epoch,
    experiment,
    interrupt_self_after_first_epoch,
    layout,
    metric_rows,
)


def test_threads_are_split_between_jobs(monkeypatch):
    monkeypatch.setattr("torch.get_num_threads", lambda: 8)
    assert [threads_per_job(j) for j in (1, 2, 3, 8, 16)] == [8, 4, 2, 1, 1]


@pytest.mark.slow
def test_jobs_2_interrupted_then_resumed_equals_jobs_1(tiny_cifar, tmp_path, reference):
    exp = experiment(tiny_cifar, tmp_path / "results", seeds=(0, 1), jobs=2)

    # Ctrl-C (SIGINT to this process) at the first finished epoch: every worker stops at its next step.
    stopped = RecordingReporter(on_event=interrupt_self_after_first_epoch())
    outcome = run_experiment(exp, stopped, rerun_command="mixup-bench run --jobs 2")
    assert outcome.stopped, stopped.text
    assert "Running 4 runs, 2 at a time, 1 CPU thread(s) each." in stopped.text
    assert "Stopping at the next step" in stopped.text
    assert "Resume with the same command:\n  mixup-bench run --jobs 2" in stopped.text
    started = {e["run_id"] for e in stopped.events if e["type"] == "start"}
    assert started and len(outcome.trained) < 4
    for rid in started:  # the finished epochs are on disk, checkpoint and CSV agreeing; the one in progress is lost
        run_dir = exp.path / "runs" / rid
        ckpt = checkpoint_epoch(run_dir) if (run_dir / "checkpoint.pt").exists() else 0
        assert metric_rows(run_dir) == ckpt < 4

    # The same call again finishes the sweep, resuming what was started.
    resumed = RecordingReporter()
    outcome = run_experiment(exp, resumed)
    assert not outcome.stopped and sorted(outcome.trained + outcome.skipped) == ALL_RUNS, resumed.text
    assert any(e["type"] == "start" and e["start_epoch"] > 0 for e in resumed.events), resumed.text
    assert [e["type"] for e in resumed.events].count("done") == len(outcome.trained)  # no event lost at the end

    assert layout(exp.path) == layout(reference)
    assert_same_results(exp.path, reference, ALL_RUNS)

    # `plot` reads what --jobs wrote
    report = plot_experiment(exp.path, Console(file=io.StringIO(), width=200))
    assert (exp.path / "summary.csv").exists() and report.summary is not None
    assert list(report.summary["arm"]) == ["baseline", "MixUp alpha=0.4"] and list(report.summary["seeds"]) == [2, 2]
    df = read_metrics(exp.path / "runs" / "mixup-a0.4-s1" / "metrics.csv")
    assert df["epoch"].tolist() == [1, 2, 3, 4]
