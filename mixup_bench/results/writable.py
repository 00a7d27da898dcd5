"""Refusing an output that cannot be written before any expensive work starts: `run`, `plot`, `compare`
and the trackers check their folder (or file) here, so a typo or a read-only disk costs a second, not a
training run. The writes themselves (results.atomic) still report a disk that fills up later."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from mixup_bench.errors import WriteError


def check_output_dir(path: Path, target: Path | None = None) -> None:
    """Refuse, before any expensive work, an output folder that cannot be created or written to.

    Leaves nothing behind. Raises WriteError (`cannot write <target>: <reason>`, `target` defaulting to
    `path`) when a part of `path` is a file, a broken symlink, or the nearest existing folder is not
    writable (read-only file system, permissions, or a folder no file can be made in, such as /proc,
    which only a real try shows: a probe file is made there and deleted at once); the writes themselves
    still report a disk that fills up later.
    """
    path = Path(path)
    target = path if target is None else target
    probe = path
    while not probe.exists():
        if probe.is_symlink():
            raise WriteError(errno.ENOENT, f"{probe} is a broken symlink", str(target))
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise WriteError(errno.ENOTDIR, f"{probe} is a file, not a folder", str(target))
    if not os.access(probe, os.W_OK | os.X_OK):
        reason = "read-only file system" if _read_only(probe) else "permission denied"
        raise WriteError(errno.EACCES, f"{probe} is not writable ({reason})", str(target))
    _try_a_file_in(probe, target)


def _try_a_file_in(folder: Path, target: Path) -> None:
    """Make and delete a file in `folder`: what os.access cannot tell (root's view of /proc or sysfs)."""
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".mixup-bench-probe.", suffix=".tmp")
    except OSError as e:
        raise WriteError(e.errno, f"no file can be made in {folder} ({e.strerror or e})", str(target)) from None
    os.close(fd)
    Path(tmp).unlink(missing_ok=True)


def check_output_file(path: Path) -> None:
    """As `check_output_dir`, for a file that will be (re)written: it must not be a folder."""
    path = Path(path)
    if path.is_dir():
        raise WriteError(errno.EISDIR, "it is a folder; give a file name", str(path))
    if path.exists() and not path.is_file():  # a device or a pipe: the rename would replace it
        raise WriteError(errno.EINVAL, "it is not a regular file (a device, pipe or socket)", str(path))
    check_output_dir(path.parent, target=path)


def _read_only(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False
