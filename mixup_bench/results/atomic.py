"""Writes that readers see whole or not at all: every file of a results folder is written through here,
so a kill, a full disk or a power cut leaves the old file or the new one, never half of one."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from mixup_bench.errors import write_error
from mixup_bench.streams import shown


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the new one, never half.

    Writes a temporary file in the same folder, fsyncs it, renames it over `path`,
    and fsyncs the folder so that the rename itself survives a power cut.

    Any OSError (disk full, read-only, a file where a folder should be) is raised as a WriteError
    naming `path`, with no temporary file left behind and the old file, if any, untouched.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise write_error(path, e) from None
    try:
        try:
            os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; results are meant to be shared
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise write_error(path, e) from None
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as e:
        raise write_error(path, e) from None


def _write_all(fd: int, data: bytes) -> None:
    """os.write until every byte is written (a short write is not an error; a full disk is)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    """`text` as UTF-8; a name's bytes that are not UTF-8 are written as `\\xNN` (`streams.shown`), so no
    text can fail to encode halfway through the files of an epoch."""
    atomic_write_bytes(path, shown(text).encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
