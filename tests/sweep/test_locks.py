"""Run locks: one trainer per run, stale locks of dead processes taken over, a `status` probe that never
makes a `run` skip a run, and two real `run` processes on one experiment that share the work without
ever training the same run twice."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading

import pytest
from typer.testing import CliRunner

from mixup_bench.cli import app
from mixup_bench.sweep import locks
from mixup_bench.sweep.driver import RunOutcome
from mixup_bench.sweep.execute import execute_run
from mixup_bench.sweep.locks import HOLD_GRACE_S, RunLock, holder, is_locked
from mixup_bench.train.datasets.cifar10 import load_cifar10
from tests.sweep.synthetic import (
    NAME,
    assert_same_results,
    cli_args,
    experiment,
    finish,
    metric_rows,
    start_cli,
    wait_until,
)

HOLD_SCRIPT = """
import sys, time
from mixup_bench.sweep.locks import RunLock
assert RunLock(sys.argv[1]).acquire()
print("locked", flush=True)
time.sleep(600)
"""


def test_lock_is_exclusive_and_released(tmp_path):
    a, b = RunLock(tmp_path / "run"), RunLock(tmp_path / "run")
    assert a.acquire()
    assert not b.acquire()  # flock conflicts between two open files, even in one process
    assert is_locked(tmp_path / "run")
    assert holder(tmp_path / "run") == f"pid {os.getpid()} on {os.uname().nodename}"
    a.release()
    assert not is_locked(tmp_path / "run")
    with b:
        assert b.acquire()
    assert not is_locked(tmp_path / "run")
    assert not is_locked(tmp_path / "never-run")


def test_stale_lock_of_a_killed_process_is_taken_over(tmp_path):
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", HOLD_SCRIPT, str(run)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        assert is_locked(run) and holder(run) == f"pid {proc.pid} on {os.uname().nodename}"
        assert not RunLock(run).acquire(wait=0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert (run / "lock").exists()  # the file stays; the kernel dropped the lock with the process
    assert not is_locked(run)
    lock = RunLock(run)
    assert lock.acquire()
    assert holder(run) == f"pid {os.getpid()} on {os.uname().nodename}"
    lock.release()


def test_status_probe_never_makes_run_skip(tmp_path):
    """`status` probes by taking the lock for a moment; `run` retries for HOLD_GRACE_S, so it always wins."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "lock").touch()
    done = threading.Event()

    def probe() -> None:
        while not done.is_set():
            is_locked(run)

    t = threading.Thread(target=probe)
    t.start()
    try:
        for _ in range(200):
            lock = RunLock(run)
            assert lock.acquire(wait=HOLD_GRACE_S)
            lock.release()
    finally:
        done.set()
        t.join()


def test_experiment_lock_serialises(tmp_path):
    order = []

    def other() -> None:
        with locks.experiment_lock(tmp_path):
            order.append("other")

    with locks.experiment_lock(tmp_path):
        t = threading.Thread(target=other)
        t.start()
        t.join(0.2)  # it waits for the lock
        order.append("first")
    t.join()
    assert order == ["first", "other"]


def test_held_run_is_skipped_with_a_message(tiny_cifar, tmp_path):
    exp = experiment(tiny_cifar, tmp_path / "results", epochs=1)
    cfg = exp.runs()[0]
    rdir = exp.path / "runs" / cfg.run_id
    data = load_cifar10(tiny_cifar)
    events: list[dict] = []
    with RunLock(rdir) as other:
        assert other.acquire()
        assert execute_run(cfg, data, exp.path, events.append, lambda: False) is RunOutcome.HELD
    who = f"pid {os.getpid()} on {os.uname().nodename}"
    assert events == [{"type": "message", "text": f"{cfg.run_id}: being trained by {who}; skipped here."}]
    assert not (rdir / "config.json").exists() and not (rdir / "metrics.csv").exists()


def test_run_command_leaves_a_held_run_to_its_holder(tiny_cifar, tmp_path):
    out = tmp_path / "results"
    held = out / NAME / "runs" / "baseline-a0-s0"
    with RunLock(held) as other:
        assert other.acquire()
        res = CliRunner().invoke(app, cli_args(tiny_cifar, out, epochs=1))
    assert res.exit_code == 0, res.output
    assert f"baseline-a0-s0: being trained by pid {os.getpid()}" in res.output
    assert "1 run(s) are being trained by another process and were left to it: baseline-a0-s0" in res.output
    assert not (held / "DONE").exists() and (out / NAME / "runs" / "mixup-a0.4-s0" / "DONE").exists()


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX signals")
def test_two_run_processes_share_the_sweep_and_never_train_a_run_twice(tiny_cifar, tmp_path, reference):
    """A holds the first run's lock and is frozen (SIGSTOP) while B starts: B must leave that run to A and
    train the others. A is thawed while B trains, so both then run at once over the rest of the sweep."""
    out = tmp_path / "results"
    args = cli_args(tiny_cifar, out, seeds=2)
    runs = out / NAME / "runs"
    first = runs / "baseline-a0-s0"

    a = start_cli(args)
    wait_until(a, lambda: holder(first).startswith(f"pid {a.pid} ") and metric_rows(first) >= 1, "A training")
    a.send_signal(signal.SIGSTOP)
    try:
        b = start_cli(args)
        wait_until(b, lambda: any(holder(r).startswith(f"pid {b.pid} ") for r in runs.iterdir()), "B training")
    finally:
        a.send_signal(signal.SIGCONT)
    (rc_a, out_a), (rc_b, out_b) = finish(a), finish(b)
    assert rc_a == 0 and rc_b == 0, out_a + out_b
    assert f"baseline-a0-s0: being trained by pid {a.pid}" in out_b

    all_runs = ["baseline-a0-s0", "mixup-a0.4-s0", "baseline-a0-s1", "mixup-a0.4-s1"]
    for rid in all_runs:  # each run started (from scratch, never resumed) by exactly one of the two
        starts = [o for o in (out_a, out_b) if re.search(rf"^{re.escape(rid)}: \d+ epochs on cpu", o, re.M)]
        assert len(starts) == 1, (rid, out_a, out_b)
    assert "resuming" not in out_a + out_b
    assert_same_results(out / NAME, reference, all_runs)
    assert json.loads((out / NAME / "experiment.json").read_text())["config"]["seeds"] == [0, 1]
