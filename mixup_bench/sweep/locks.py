"""One lock file per run, so two `run` processes never train the same run.

The lock is an fcntl.flock on `runs/<id>/lock`. The kernel drops it when the
holding process dies, however it dies, so a stale lock from a killed process is
simply taken over by the next one. The file holds the holder's pid and host, for
messages only.

`is_locked` (`lock_probe`, used by `status` and `plot`) probes by taking the lock for a moment. So that a
probe never makes a `run` skip a run, `run` retries for a short grace period
before it calls a run held.

The same kind of lock, blocking and on `<experiment>/lock`, serialises the
read-merge-write of experiment.json between processes (`experiment_lock`).
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mixup_bench.errors import UserError, write_error
from mixup_bench.lock_probe import is_locked  # noqa: F401  (the probe lives outside the sweep; re-exported)
from mixup_bench.results.layout import LOCK_FILE

HOLD_GRACE_S = 0.25  # how long `run` retries a busy lock before it calls the run held (a status probe is ~µs)
_RETRY_S = 0.01


def _no_locks(path: Path, e: OSError) -> UserError:
    return UserError(
        f"Cannot lock {path} ({e.strerror or e}); the results folder must be on a file system with file locks "
        "(local disk, NFSv4 or another that supports flock)."
    )


class RunLock:
    """Non-blocking exclusive lock on a run folder. `acquire()` returns False if held elsewhere."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK_FILE
        self.fd: int | None = None

    def acquire(self, wait: float = 0.0) -> bool:
        """Take the lock, retrying for up to `wait` seconds. False if another process holds it."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise write_error(self.path, e) from None
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(_RETRY_S)
            except OSError as e:
                os.close(fd)
                if e.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                    raise _no_locks(self.path, e) from None
                raise
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        except OSError as e:  # a full disk: the lock is not taken
            os.close(fd)
            raise write_error(self.path, e) from None
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


def holder(run_dir: Path) -> str:
    """'pid 123 on host' from the lock file, or 'another process'."""
    try:
        pid, host = (Path(run_dir) / LOCK_FILE).read_text().split()[:2]
        return f"pid {pid} on {host}"
    except (OSError, ValueError):
        return "another process"


@contextmanager
def experiment_lock(experiment_dir: Path) -> Iterator[None]:
    """Blocking exclusive lock on `<experiment>/lock`, for short read-modify-write sections."""
    path = Path(experiment_dir) / LOCK_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise write_error(path, e) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as e:
            if e.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                raise _no_locks(path, e) from None
            raise
        yield
    finally:
        os.close(fd)
