"""Whether a process trains a run right now: a read-only probe of the run's lock file.

`sweep.locks` takes and holds the lock (`run`); this module only asks, so that `plot` and `status`
can tell a running run from a stopped one without importing the sweep. The probe takes a shared lock
for a moment on a read-only descriptor: it never rewrites the holder's pid, and `run` retries a busy
lock for a grace period, so a probe never makes `run` skip a run.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from mixup_bench.results.layout import LOCK_FILE


def is_locked(run_dir: Path) -> bool:
    """True if a live process holds the run's lock right now."""
    path = Path(run_dir) / LOCK_FILE
    if not path.exists():
        return False
    try:
        fd = os.open(path, os.O_RDONLY)  # read-only: a probe never rewrites the holder's pid
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False  # no locking on this file system: nothing can hold it
    finally:
        os.close(fd)  # closing drops the probe's lock
    return False
