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
from tests.sweep.synthetic import experiment, resume_equals_reference, stop_at_first_epoch


def test_threads_are_split_between_jobs(monkeypatch):
    monkeypatch.setattr("torch.get_num_threads", lambda: 8)
    assert [threads_per_job(j) for j in (1, 2, 3, 8, 16)] == [8, 4, 2, 1, 1]


@pytest.mark.slow
def test_jobs_2_interrupted_then_resumed_equals_jobs_1(tiny_cifar, tmp_path, reference):
    exp = experiment(tiny_cifar, tmp_path / "results", seeds=(0, 1), jobs=2)

    # Ctrl-C (SIGINT to this process) at the first finished epoch: every worker stops at its next step.
    stopped, _, partial = stop_at_first_epoch(exp, rerun_command="mixup-bench run --jobs 2")
    assert "Running 4 runs, 2 at a time, 1 CPU thread(s) each." in stopped.text
    assert partial, stopped.text  # two runs were under way: at least one stopped after its first epoch
    # The same call again finishes the sweep, resuming what was started, and equals one run at a time.
    resume_equals_reference(exp, reference, partial)

    # `plot` reads what --jobs wrote
    report = plot_experiment(exp.path, Console(file=io.StringIO(), width=200))
    assert (exp.path / "summary.csv").exists() and report.summary is not None
    assert list(report.summary["arm"]) == ["baseline", "MixUp alpha=0.4"] and list(report.summary["seeds"]) == [2, 2]
    df = read_metrics(exp.path / "runs" / "mixup-a0.4-s1" / "metrics.csv")
    assert df["epoch"].tolist() == [1, 2, 3, 4]
