"""A real `mixup-bench run` process, killed (SIGKILL) at several points, the checkpoint write among them,
then stopped with Ctrl-C (SIGINT), resumes every time and ends with exactly the numbers of a run that was
never interrupted: epochs 1..N once each, every column equal but the timings."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest

from tests.sweep.synthetic import (
    EPOCHS,
    NAME,
    assert_same_results,
    checkpoint_epoch,
    cli_args,
    finish,
    kill,
    metric_rows,
    start_cli,
    wait_until,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="watches /proc and uses POSIX signals"),
]


def new_files(folder: Path, pattern: str, since: float) -> bool:
    """True if a file matching `pattern` was created after `since` (not one left by an earlier kill)."""
    for p in folder.glob(pattern):
        try:
            if p.stat().st_mtime >= since:
                return True
        except FileNotFoundError:  # renamed meanwhile
            pass
    return False


def test_killed_anywhere_then_interrupted_sweep_resumes_exactly(tiny_cifar, tmp_path, reference):
    out = tmp_path / "results"
    args = cli_args(tiny_cifar, out)
    runs = out / NAME / "runs"
    base, mix = runs / "baseline-a0-s0", runs / "mixup-a0.4-s0"

    # 1. SIGKILL somewhere in the baseline's second epoch.
    proc = start_cli(args)
    wait_until(proc, lambda: metric_rows(base) >= 1, "the first epoch")
    kill(proc)
    assert not (base / "DONE").exists()

    # 2. SIGKILL while checkpoint.pt is being written (its temporary file exists; the fsync is slowed down).
    since = time.time()
    proc = start_cli(args, slow_at="tmp")
    wait_until(proc, lambda: new_files(base, ".checkpoint.pt.*.tmp", since), "a checkpoint being written")
    kill(proc)
    assert list(base.glob(".checkpoint.pt.*.tmp")), "the kill should have landed inside the checkpoint write"
    assert checkpoint_epoch(base) == metric_rows(base)  # the old checkpoint stands, whole

    # 3. SIGKILL between the checkpoint and metrics.csv: the CSV is one epoch behind the checkpoint.
    inode = (base / "checkpoint.pt").stat().st_ino
    proc = start_cli(args, slow_at="after")
    wait_until(proc, lambda: (base / "checkpoint.pt").stat().st_ino != inode, "a new checkpoint")
    kill(proc)
    assert checkpoint_epoch(base) == metric_rows(base) + 1

    # 4. Ctrl-C in the second run (the first one finishes on the way): a graceful stop, exit code 130,
    # and how to resume.
    proc = start_cli(args)
    wait_until(proc, lambda: metric_rows(mix) >= 2, "the MixUp run's second epoch")
    rc, output = kill(proc, signal.SIGINT)
    assert rc == 130, output
    assert "Stopping at the next step" in output
    assert "Resume with the same command:" in output and "mixup-bench run --data-dir" in output
    assert "Traceback" not in output
    assert (base / "DONE").exists() and not (mix / "DONE").exists()

    # 5. The same command finishes the sweep.
    rc, output = finish(start_cli(args))
    assert rc == 0, output
    assert "baseline-a0-s0" in output and "already done" in output
    assert f"{EPOCHS} epochs on cpu (fp32), resuming after epoch" in output
    assert_same_results(out / NAME, reference, ["baseline-a0-s0", "mixup-a0.4-s0"])
