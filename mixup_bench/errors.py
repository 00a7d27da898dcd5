"""The exception types that the CLI turns into a single line and exit code 2."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix: bad input, missing data, a clash in the results folder.

    The message is one line that says what is wrong and what to do about it.
    """


class WriteError(OSError, UserError):
    """An output file or folder could not be written (disk full, read-only, a file where a folder
    should be, ...). Still an OSError, so code that tolerates a failed write (a cache) goes on doing so;
    also a UserError, so the CLI prints it as one line: `cannot write <path>: <reason>`."""

    def __str__(self) -> str:
        reason = self.strerror or (str(self.args[0]) if self.args else "unknown error")
        return f"cannot write {self.filename}: {reason}"


def write_error(path, e: OSError) -> WriteError:
    """`e` (raised while writing `path`) as a WriteError that names `path` rather than a temporary file."""
    if isinstance(e, WriteError):
        return e
    return WriteError(e.errno, e.strerror or str(e), str(path))
