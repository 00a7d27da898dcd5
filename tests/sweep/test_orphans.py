"""`--jobs 2` leaves nothing behind: after `kill -9` of the parent its workers (and multiprocessing's
resource tracker) exit within seconds; a Ctrl-C, even one that lands while the workers are still
starting, or a second one that quits at once, ends without a traceback or a "leaked semaphore" warning.

The fast tests check the pieces (the signal mask while spawning, the semaphore release, the death
watch); the slow ones kill a real `mixup-bench run --jobs 2` process.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mixup_bench.sweep import local
from tests.images import write_image_folder
from tests.sweep.synthetic import REPO, cli_args, start_cli


def test_workers_are_spawned_with_ctrl_c_blocked_and_the_mask_is_restored():
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    with local._spawning():
        inside = signal.pthread_sigmask(signal.SIG_BLOCK, [])
        assert {signal.SIGINT, signal.SIGTERM} <= inside
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == before


def test_forced_exit_releases_this_process_semaphores():
    from multiprocessing import synchronize, util

    lock = mp.get_context("spawn").Lock()  # a named semaphore, registered with the resource tracker

    def ours() -> list:
        return [
            f
            for f in util._finalizer_registry.values()
            if f._callback is synchronize.SemLock._cleanup and f._args == (lock._semlock.name,)
        ]

    assert ours()
    local._release_semaphores()
    assert not ours()  # unlinked and unregistered: the tracker has nothing to warn about


SCRIPT = """
import os, sys, time
from mixup_bench.sweep import local
parent = os.getppid()
pid = os.fork()
if pid == 0:  # the worker: dies with its parent (this script's first process)
    local._die_with(os.getppid())
    time.sleep(60)
    os._exit(0)
print(pid, flush=True)
time.sleep(60)
"""


@pytest.mark.slow
def test_a_worker_dies_with_its_parent():
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], cwd=REPO, stdout=subprocess.PIPE, text=True)
    child = int(proc.stdout.readline())
    time.sleep(0.5)
    proc.kill()  # kill -9 of the parent
    proc.wait()
    assert gone(child, 5.0)


def gone(pid: int, limit_s: float) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if _zombie(pid):
            return True
        time.sleep(0.05)
    return False


def session_pids(sid: int) -> list[int]:
    """Live processes of the session (zombies have exited: only their reaping is left)."""
    out = subprocess.run(["pgrep", "-s", str(sid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split() if not _zombie(int(p))]


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return True  # gone already


def session_ends(sid: int, limit_s: float) -> list[int]:
    """Wait up to `limit_s` for every process of the session to end; return (and kill) those left."""
    deadline = time.monotonic() + limit_s
    while session_pids(sid) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = session_pids(sid)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return left


def start_jobs_2(tmp_path: Path) -> subprocess.Popen:
    data = write_image_folder(tmp_path / "data", n_train=40)
    return start_cli(cli_args(data, tmp_path / "results", "--jobs", "2", "--subset", "0", seeds=2, epochs=50))


def read_until(proc: subprocess.Popen, marker: str, limit_s: float = 120.0) -> str:
    seen = ""
    deadline = time.monotonic() + limit_s
    while marker not in seen:
        line = proc.stdout.readline()
        if not line or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"no {marker!r} in:\n{seen}")
        seen += line
    return seen


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pgrep -s and /proc")
def test_kill_9_of_the_parent_leaves_no_worker_or_tracker(tmp_path):
    proc = start_jobs_2(tmp_path)
    read_until(proc, "epoch   1")
    assert len(session_pids(proc.pid)) >= 3  # the parent, two workers, the resource tracker
    proc.kill()
    proc.wait()
    assert session_ends(proc.pid, 10.0) == [], "orphans left running after kill -9 of the parent"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("marker", "presses"),
    [("Running", 1), ("epoch   1", 2)],
    ids=["ctrl-c-while-workers-start", "ctrl-c-twice"],
)
def test_ctrl_c_of_jobs_2_is_clean(tmp_path, marker, presses):
    proc = start_jobs_2(tmp_path)
    before = read_until(proc, marker)
    for _ in range(presses):
        os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole process group
        time.sleep(0.02)
    out, _ = proc.communicate(timeout=120)  # the pipe closes when every process holding it has exited
    text = before + out
    assert proc.returncode == 130, text
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text
    assert "leaked semaphore" not in text, text
    assert "worker process died" not in text, text
    assert session_ends(proc.pid, 10.0) == []
