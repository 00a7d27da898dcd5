"""Helpers for the robustness tests (resume, locks, --jobs, Ray, status): a tiny sweep on the
synthetic image folder of tests/images.py, the CLI in a real subprocess, and exact comparison of
results folders. A plain module of the tests package: `from tests.sweep.synthetic import ...`.

Every sweep here is the same tiny one (3 classes x 24 train / 8 test images, batch 16, so
4 steps per epoch, fp32 on the CPU, one thread), so one uninterrupted reference run, made
once per session by the `reference` fixture of tests/sweep/conftest.py, is what every
interrupted, parallel or Ray run must equal exactly.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from rich.console import Console

from mixup_bench.config import ExperimentConfig, TrainingConfig, alias_specs
from mixup_bench.results import schema
from mixup_bench.sweep.driver import RunOutcome
from mixup_bench.sweep.progress import Reporter
from mixup_bench.sweep.runner import run_experiment

EPOCHS = 4
BATCH = 16
NAME = "sweep"
# Columns that must match exactly between an interrupted (or parallel) run and an uninterrupted one.
TIMING_COLUMNS = (*schema.TIMING_COLUMNS, schema.SHIFT_SECONDS)
# The runs of the whole sweep (seeds 0 and 1), sorted.
ALL_RUNS = ["baseline-a0-s0", "baseline-a0-s1", "mixup-a0.4-s0", "mixup-a0.4-s1"]
REPO = Path(__file__).resolve().parents[2]


def experiment(data_dir: Path, out: Path, seeds=(0,), alphas=(0.4,), epochs: int = EPOCHS, **kw) -> ExperimentConfig:
    """The tiny sweep as an ExperimentConfig (the same settings as `cli_args`)."""
    training = TrainingConfig(epochs=epochs, batch_size=BATCH, precision="fp32", subset=None, val_size=0)  # all 72
    kw.setdefault("jobs", 1)  # as `cli_args`: one run at a time unless a test asks for more
    return ExperimentConfig(
        name=NAME,
        out=Path(out),
        arms=alias_specs("alphas", alphas),
        seeds=tuple(seeds),
        training=training,
        device="cpu",
        data_dir=Path(data_dir),
        **kw,
    )


class RecordingReporter(Reporter):
    """A plain reporter that writes to a string and keeps every event; `on_event` may act on them."""

    def __init__(self, on_event: Callable[[dict], None] | None = None):
        self.buffer = io.StringIO()
        super().__init__(Console(file=self.buffer, width=200), total_runs=0)
        self.events: list[dict] = []
        self.on_event = on_event

    def handle(self, e: dict) -> None:
        self.events.append(e)
        super().handle(e)
        if self.on_event:
            self.on_event(e)

    @property
    def text(self) -> str:
        return self.buffer.getvalue()


def interrupt_self_after_first_epoch() -> Callable[[dict], None]:
    """An `on_event` that sends SIGINT to this process (as Ctrl-C would) at the first finished epoch."""
    sent = []

    def on_event(e: dict) -> None:
        if e["type"] == "epoch" and not sent:
            sent.append(e["run_id"])
            os.kill(os.getpid(), signal.SIGINT)

    return on_event


def stop_at_first_epoch(exp: ExperimentConfig, rerun_command: str) -> tuple[RecordingReporter, RunOutcome, set[str]]:
    """Run the whole sweep `exp` with a Ctrl-C at its first finished epoch and check what the stop leaves:
    the stop and the command to resume are said, not every run finished, and every started run that did
    not finish holds as many metrics.csv rows as its checkpoint's epochs (the epoch in progress is lost).

    Returns the reporter, the outcome and the runs stopped after at least one epoch: those the resume must
    go on from (`resume_equals_reference`)."""
    stopped = RecordingReporter(on_event=interrupt_self_after_first_epoch())
    outcome = run_experiment(exp, stopped, rerun_command=rerun_command)
    assert outcome.stopped, stopped.text
    assert "Stopping at the next step" in stopped.text
    assert f"Resume with the same command:\n  {rerun_command}" in stopped.text
    assert len(outcome.trained) < len(ALL_RUNS)
    partial = set()
    for rid in {e["run_id"] for e in stopped.events if e["type"] == "start"} - set(outcome.trained):
        run_dir = exp.path / "runs" / rid
        ckpt = checkpoint_epoch(run_dir) if (run_dir / "checkpoint.pt").exists() else 0
        assert metric_rows(run_dir) == ckpt < EPOCHS, rid
        if ckpt > 0:
            partial.add(rid)
    return stopped, outcome, partial


def resume_equals_reference(exp: ExperimentConfig, reference: Path, partial: set[str]) -> RecordingReporter:
    """Run `exp` again after `stop_at_first_epoch`: every run ends finished, each of `partial` resumes from its
    checkpoint (never restarts), no event is lost at the end, and the folder equals the uninterrupted
    `reference`, file for file and number for number. Returns the resumed command's reporter."""
    resumed = RecordingReporter()
    outcome = run_experiment(exp, resumed)
    assert not outcome.stopped and sorted(outcome.trained + outcome.skipped) == ALL_RUNS, resumed.text
    kinds = [e["type"] for e in resumed.events]
    assert kinds.count("done") == len(outcome.trained) and kinds.count("epoch") >= len(outcome.trained)
    resumed_from = {e["run_id"]: e["start_epoch"] for e in resumed.events if e["type"] == "start"}
    assert all(resumed_from.get(rid, 0) > 0 for rid in partial), resumed.text
    assert layout(exp.path) == layout(reference)
    assert_same_results(exp.path, reference, ALL_RUNS)
    return resumed


# --- the CLI in a subprocess -------------------------------------------------------------------------------------

# Test-only launcher: the real CLI, with one write made slow so that a kill can land inside it.
# SLOW_AT=tmp: fsync of checkpoint.pt's temporary file sleeps (the temporary file exists meanwhile);
# SLOW_AT=after: the rename onto checkpoint.pt is followed by a sleep (metrics.csv is one row behind).
SLOW_LAUNCHER = """
import os, sys, time
delay, where = float(os.environ["SLOW_S"]), os.environ["SLOW_AT"]
_fsync, _replace = os.fsync, os.replace
def fsync(fd):
    if where == "tmp" and ".checkpoint.pt." in os.readlink(f"/proc/self/fd/{fd}"):
        time.sleep(delay)
    return _fsync(fd)
def replace(src, dst, *args, **kwargs):
    out = _replace(src, dst, *args, **kwargs)
    if where == "after" and str(dst).endswith("checkpoint.pt"):
        time.sleep(delay)
    return out
os.fsync, os.replace = fsync, replace
from mixup_bench.cli import app
app(prog_name="mixup-bench")
"""


def cli_args(data_dir: Path, out: Path, *extra: str, seeds: int = 1, epochs: int = EPOCHS) -> list[str]:
    return [
        "run",
        "--data-dir",
        str(data_dir),
        "--out",
        str(out),
        "--name",
        NAME,
        "--alpha",
        "0.4",
        "--seeds",
        str(seeds),
        "--epochs",
        str(epochs),
        "--batch-size",
        str(BATCH),
        "--precision",
        "fp32",
        "--device",
        "cpu",
        "--subset",
        "0",
        "--val-size",
        "0",  # as `experiment` (TrainingConfig's default): the presets' 5,000 would leave no tiny image
        "--jobs",
        "1",
        *extra,
    ]


def start_cli(args: list[str], slow_at: str | None = None, slow_s: float = 3.0) -> subprocess.Popen:
    """`python -m mixup_bench ARGS` (or the slow launcher) with one CPU thread, output to a pipe."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1", COLUMNS="200")
    if slow_at:
        env.update(SLOW_AT=slow_at, SLOW_S=str(slow_s))
        cmd = [sys.executable, "-c", SLOW_LAUNCHER, *args]
    else:
        cmd = [sys.executable, "-m", "mixup_bench", *args]
    return subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )


def wait_until(proc: subprocess.Popen, condition: Callable[[], bool], what: str, limit_s: float = 120.0) -> None:
    """Poll `condition` every 2 ms while `proc` runs; fail (with its output) if it ends first."""
    deadline = time.monotonic() + limit_s
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended (rc {proc.returncode}) before {what}:\n{proc.stdout.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"no {what} within {limit_s} s:\n{proc.communicate()[0]}")
        time.sleep(0.002)


def kill(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> tuple[int, str]:
    """Send `sig` to the CLI process, wait for it, return (exit code, output)."""
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=120)
    return proc.returncode, out


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=300)
    return proc.returncode, out


# --- reading and comparing results -------------------------------------------------------------------------------


def metric_rows(run_dir: Path) -> int:
    """Finished epochs in metrics.csv (0 when absent)."""
    try:
        return max(0, len((run_dir / "metrics.csv").read_text().splitlines()) - 1)
    except FileNotFoundError:
        return 0


def checkpoint_epoch(run_dir: Path) -> int:
    import torch

    return torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=True)["epoch"]


def assert_same_results(exp_dir: Path, reference_dir: Path, runs: list[str] | None = None) -> None:
    """Every run: DONE, metrics.csv with epochs 1..N exactly once, and every number (timings aside)
    equal to the reference run's; lam.csv, calibration.json and corruptions.csv equal too."""
    runs = runs or sorted(p.name for p in (reference_dir / "runs").iterdir())
    for rid in runs:
        got_dir, ref_dir = exp_dir / "runs" / rid, reference_dir / "runs" / rid
        assert (got_dir / "DONE").exists(), f"{rid} has no DONE"
        got, ref = pd.read_csv(got_dir / "metrics.csv"), pd.read_csv(ref_dir / "metrics.csv")
        assert got["epoch"].tolist() == list(range(1, EPOCHS + 1)), f"{rid}: epochs {got['epoch'].tolist()}"
        cols = [c for c in ref.columns if c not in TIMING_COLUMNS]
        pd.testing.assert_frame_equal(got[cols], ref[cols], check_exact=True, obj=f"{rid} metrics.csv")
        side_files = ["lam.csv", "calibration.json"]
        if (ref_dir / "corruptions.csv").exists() or (got_dir / "corruptions.csv").exists():  # runs with --shift
            side_files.append("corruptions.csv")
        for name in side_files:
            assert (got_dir / name).read_text() == (ref_dir / name).read_text(), f"{rid}: {name} differs"
        assert not list(got_dir.glob(".*.tmp")), f"{rid}: temporary files left"


def layout(exp_dir: Path) -> dict[str, list[str]]:
    """Run folder -> sorted file names (the results layout, without the contents)."""
    return {p.name: sorted(f.name for f in p.iterdir()) for p in sorted((exp_dir / "runs").iterdir())}
