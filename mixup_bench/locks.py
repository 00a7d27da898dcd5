"""One lock file per run, so two `run` processes never train the same run.

The lock is an fcntl.flock on `runs/<id>/lock`. The kernel drops it when the
holding process dies, however it dies, so a stale lock from a killed process is
simply taken over by the next one. The file holds the holder's pid and host, for
messages only.
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path

from mixup_bench.results import LOCK_FILE


class RunLock:
    """Non-blocking exclusive lock on a run folder. `acquire()` returns False if held elsewhere."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK_FILE
        self.fd: int | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def is_locked(run_dir: Path) -> bool:
    """True if a live process holds the run's lock right now."""
    lock = RunLock(run_dir)
    if not lock.path.exists():
        return False
    if lock.acquire():
        lock.release()
        return False
    return True


def holder(run_dir: Path) -> str:
    """'pid 123 on host' from the lock file, or 'another process'."""
    try:
        pid, host = (Path(run_dir) / LOCK_FILE).read_text().split()[:2]
        return f"pid {pid} on {host}"
    except (OSError, ValueError):
        return "another process"
