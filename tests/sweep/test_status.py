"""`mixup-bench status`: done, partial (epoch k/N), locked (with its holder) and not started, the last
test accuracy, expected runs that have no folder yet, and one-line errors."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from typer.testing import CliRunner

from mixup_bench.cli import app
from mixup_bench.errors import UserError
from mixup_bench.sweep.driver import RunOutcome
from mixup_bench.sweep.execute import execute_run
from mixup_bench.sweep.locks import RunLock
from mixup_bench.sweep.record import write_experiment_record
from mixup_bench.sweep.runner import run_experiment
from mixup_bench.sweep.status import RunState, experiment_status, status_table
from mixup_bench.train.datasets.cifar10 import load_cifar10
from tests.sweep.synthetic import RecordingReporter, experiment


def status_cli(*args: str):
    return CliRunner().invoke(app, ["status", *args], env={"COLUMNS": "200"})


@pytest.fixture
def mixed_experiment(tiny_cifar, tmp_path):
    """Seed 0: both runs done. Seed 1: baseline stopped after 1 of 2 epochs, MixUp locked by this
    process. Seed 2: listed in experiment.json, no folders yet."""
    out = tmp_path / "results"
    run_experiment(experiment(tiny_cifar, out, seeds=(0,), epochs=2), RecordingReporter())
    exp = experiment(tiny_cifar, out, seeds=(0, 1, 2), epochs=2)
    data = load_cifar10(tiny_cifar)
    write_experiment_record(exp, data)
    baseline_s1 = exp.runs()[2]
    assert baseline_s1.run_id == "baseline-a0-s1"
    finished: list[int] = []

    def on_event(e: dict) -> None:
        if e["type"] == "epoch":
            finished.append(e["epoch"])

    status = execute_run(baseline_s1, data, exp.path, on_event, lambda: bool(finished))  # stops in epoch 2
    assert status is RunOutcome.STOPPED
    lock = RunLock(exp.path / "runs" / "mixup-a0.4-s1")
    assert lock.acquire()
    yield exp.path
    lock.release()


def test_status_of_every_state(mixed_experiment):
    statuses = {s.run_id: s for s in experiment_status(mixed_experiment)}
    assert list(statuses) == [
        "baseline-a0-s0",
        "baseline-a0-s1",
        "baseline-a0-s2",
        "mixup-a0.4-s0",
        "mixup-a0.4-s1",
        "mixup-a0.4-s2",
    ]
    states = {rid: (s.state, s.epochs_done, s.epochs) for rid, s in statuses.items()}
    assert states == {
        "baseline-a0-s0": (RunState.DONE, 2, 2),
        "mixup-a0.4-s0": (RunState.DONE, 2, 2),
        "baseline-a0-s1": (RunState.PARTIAL, 1, 2),
        "mixup-a0.4-s1": (RunState.LOCKED, 0, 2),
        "baseline-a0-s2": (RunState.NOT_STARTED, 0, 2),
        "mixup-a0.4-s2": (RunState.NOT_STARTED, 0, 2),
    }
    assert all(isinstance(s.state, RunState) for s in statuses.values())
    for rid in ("baseline-a0-s0", "baseline-a0-s1"):
        last = pd.read_csv(mixed_experiment / "runs" / rid / "metrics.csv")["test_acc"].iloc[-1]
        assert statuses[rid].test_acc == pytest.approx(last)
    assert statuses["mixup-a0.4-s1"].holder == f"pid {os.getpid()} on {os.uname().nodename}"
    assert statuses["baseline-a0-s2"].path is None and statuses["baseline-a0-s2"].test_acc is None
    assert status_table(list(statuses.values())).caption == "2 done, 1 partial, 1 locked, 2 not started"


def test_status_command(mixed_experiment):
    res = status_cli(str(mixed_experiment))
    assert res.exit_code == 0, res.output
    lines = {line.split()[1]: line for line in res.output.splitlines() if line.startswith("│ ")}
    assert "done" in lines["baseline-a0-s0"] and "2/2" in lines["baseline-a0-s0"]
    assert "partial" in lines["baseline-a0-s1"] and "1/2" in lines["baseline-a0-s1"]
    assert "locked" in lines["mixup-a0.4-s1"] and f"pid {os.getpid()}" in lines["mixup-a0.4-s1"]
    assert "not started" in lines["mixup-a0.4-s2"] and "0/2" in lines["mixup-a0.4-s2"]
    assert "%" in lines["baseline-a0-s1"] and "%" not in lines["mixup-a0.4-s2"]
    assert "2 done, 1 partial, 1 locked, 2 not started" in res.output
    # A results root resolves to its latest experiment, named on a first line.
    root = status_cli(str(mixed_experiment.parent))
    first, rest = root.output.split("\n", 1)
    assert root.exit_code == 0 and rest == res.output and first.startswith(f"{mixed_experiment} (the latest under")


def test_folder_with_a_dead_lock_and_no_epoch_is_not_started(mixed_experiment):
    """A trainer that died before its first epoch leaves a folder and a lock file that nobody holds."""
    rdir = mixed_experiment / "runs" / "baseline-a0-s2"
    rdir.mkdir()
    (rdir / "lock").write_text("999999 elsewhere\n")
    s = {s.run_id: s for s in experiment_status(mixed_experiment)}["baseline-a0-s2"]
    assert (s.state, s.path, s.holder) == (RunState.NOT_STARTED, rdir, None)


@pytest.mark.parametrize("make", ["missing", "empty", "not_an_object"])
def test_status_errors_are_one_line(tmp_path, make):
    target = tmp_path / "nothing"
    if make != "missing":
        target.mkdir()
    if make == "not_an_object":
        (target / "experiment.json").write_text("[1, 2]")
    res = status_cli(str(target))
    assert res.exit_code == 2
    assert "error:" in res.output and len(res.output.strip().splitlines()) == 1
    assert "Traceback" not in res.output
    with pytest.raises(UserError):
        experiment_status(target)


def test_status_names_arms_as_everywhere_else(tmp_path):
    exp = tmp_path / "exp"
    (exp / "runs" / "mixup-a0.4-s1").mkdir(parents=True)
    (exp / "runs" / "odd-name").mkdir()
    statuses = experiment_status(exp)
    assert [(s.run_id, s.alpha, s.seed) for s in statuses] == [("mixup-a0.4-s1", 0.4, 1), ("odd-name", None, None)]
    assert list(status_table(statuses).columns[1].cells) == ["MixUp alpha=0.4", "?"]


def test_final_table_names_every_arm_by_its_method():
    from rich.console import Console

    from mixup_bench.sweep.progress import final_table

    def row(method, alpha, seed, acc):
        values = {"train_loss": 1.0, "clean_train_loss": 0.5, "test_loss": 0.9, "test_acc": acc, "test_ece": 0.05}
        return {"method": method, "alpha": alpha, "seed": seed, **values}

    rows = [row("smooth", 0.1, 0, 0.6), row("cutmix", 1.0, 0, 0.7), row("cutmix", 1.0, 1, 0.8)]
    rows += [row("mixup", 1.0, 0, 0.5), {k: v for k, v in row(None, 0.0, 0, 0.4).items() if k != "method"}]
    table = final_table(rows)
    assert list(table.columns[0].cells) == ["baseline", "MixUp alpha=1", "CutMix alpha=1", "label smoothing eps=0.1"]
    assert list(table.columns[1].cells) == ["1", "1", "2", "1"]
    assert list(table.columns[5].cells)[2] == "75.00%"  # CutMix's two seeds, kept apart from MixUp alpha=1
    console = Console(record=True, width=200)
    console.print(table)
    assert "mixup a=" not in console.export_text()
