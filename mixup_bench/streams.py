"""Output that cannot stop the work: standard streams that survive being closed or broken, and text
that holds bytes which are not UTF-8.

`mixup-bench run ... | head -1` closes the pipe after one line. Python then raises BrokenPipeError at
the next write, and Rich answers that with SystemExit(1): the training would end, silently, with its
runs left behind. Inside `guarded_streams()` (every command runs in it), sys.stdout and sys.stderr are
wrapped: the first write that fails marks the stream lost and says so once on the other stream, and
every later write to it is dropped. The work goes on and its results reach the disk as usual.

Names on disk and on the command line may hold bytes that are not UTF-8; Python keeps each such byte
as a surrogate escape ('\\udcff'), which no UTF-8 stream or file accepts. `shown(text)` writes each
one as `\\xff`: that is how such a name appears in messages, on the console and in written text files.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

_SURROGATE = re.compile("[\ud800-\udfff]")


def shown(text: str) -> str:
    """`text` with every undecodable byte (a surrogate escape) written as `\\xNN`, and any other lone
    surrogate as `\\uNNNN`: printable and encodable in UTF-8, and the original bytes still readable."""
    return _SURROGATE.sub(_escape, text)


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def quoted(text: str) -> str:
    """`text` quoted as Python's repr quotes it (control characters escaped, so the value is seen exactly
    as given), with each undecodable byte as `\\xNN` rather than as its surrogate escape."""
    return _REPR_ESCAPE.sub(r"\1\\x\2", repr(text))


_REPR_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\udc([89a-f][0-9a-f])")  # an escape, not an escaped backslash


CUT_AT = 80  # characters of a value shown in a message


def cut(text: str, limit: int = CUT_AT) -> str:
    """`text` when it is at most `limit` characters long, else its start and `…`, `limit` in all."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


# A quoted value ('...' or "...", with backslash escapes) that opens after no letter (CIFAR-10's is no
# quote), a run of digits, and any other run without a space that no path could be as long as.
_LONG_QUOTED = re.compile(rf"""(?<!\w)(?:'(?:[^'\\\n]|\\.){{{CUT_AT},}}'|"(?:[^"\\\n]|\\.){{{CUT_AT},}}")""")
_LONG_DIGITS = re.compile(rf"\d{{{CUT_AT},}}")
_LONG_RUN = re.compile(rf"\S{{{4096 + 1},}}")


def shortened(message: str) -> str:
    """`message` with each long value in it cut to about 80 characters (`cut`), its quotes kept: a quoted
    value, a number of many digits, a run without a space longer than any path. A 1 MB value in a
    settings file makes an error line a person can read, however many times the message names it."""
    message = _LONG_QUOTED.sub(lambda m: cut(m.group()[:-1], CUT_AT - 1) + m.group()[-1], message)
    message = _LONG_DIGITS.sub(lambda m: f"{m.group()[:20]}…({len(m.group())} digits)", message)
    return _LONG_RUN.sub(lambda m: cut(m.group()), message)


def is_text(text: str) -> bool:
    """True when `text` holds no undecodable byte (it encodes as UTF-8 as it is)."""
    return _SURROGATE.search(text) is None


class GuardedStream:
    """A text stream whose writes never raise. Undecodable bytes are written through `shown` (also where the
    locale would let them through raw), text the stream cannot encode with backslash escapes;
    the first write or flush that fails (a broken pipe, a closed or vanished terminal, a full disk)
    marks the stream lost, says so on `partner`, and drops everything written to it afterwards."""

    def __init__(self, stream: TextIO | None, name: str):
        self.stream = stream
        self.name = name
        self.partner: GuardedStream | None = None
        self.lost = stream is None  # closed before the program started: Python gives None
        self.reason = "closed" if stream is None else ""

    def write(self, text: str) -> int:
        if not self.lost:
            try:
                try:
                    self.stream.write(text if is_text(text) else shown(text))  # the same in every locale
                except UnicodeEncodeError:
                    self.stream.write(shown(text).encode(self.encoding, "backslashreplace").decode(self.encoding))
            except (OSError, ValueError) as e:  # ValueError: "I/O operation on closed file"
                self._lose(e)
        return len(text)

    def flush(self) -> None:
        if not self.lost:
            try:
                self.stream.flush()
            except (OSError, ValueError) as e:
                self._lose(e)

    def isatty(self) -> bool:
        try:
            return not self.lost and self.stream.isatty()
        except (OSError, ValueError):
            return False

    @property
    def encoding(self) -> str:
        return getattr(self.stream, "encoding", None) or "utf-8"

    def __getattr__(self, attr: str):
        return getattr(self.stream, attr)

    def _lose(self, e: BaseException) -> None:
        self.lost = True
        self.reason = getattr(e, "strerror", None) or str(e) or type(e).__name__
        if self.stream is sys.__stdout__ or self.stream is sys.__stderr__:
            _point_at_devnull(self.stream)  # what is still buffered must not fail again at exit
        if self.partner is not None:
            self.partner.say_lost(self)

    def say_lost(self, other: GuardedStream) -> None:
        """One line, once, on this stream: `other` is gone and the work goes on without it."""
        self.write(f"note: {other.name} is closed ({other.reason}); its output is dropped and the work goes on.\n")
        self.flush()


def _point_at_devnull(stream: TextIO) -> None:
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, stream.fileno())
        finally:
            os.close(null)
    except (OSError, ValueError):
        pass


def _reopen_closed_descriptors() -> None:
    """Put /dev/null on a standard descriptor (0, 1, 2) that is closed (`run >&-`): otherwise the next
    file this program opens (a lock, a checkpoint) would get that number, and anything written to
    standard output would land in it."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)


@contextmanager
def guarded_streams() -> Iterator[None]:
    """Run the body with sys.stdout and sys.stderr wrapped in `GuardedStream`s (see the module's
    docstring); the original streams are put back afterwards. Nested use wraps once."""
    if isinstance(sys.stdout, GuardedStream):
        yield
        return
    _reopen_closed_descriptors()
    old = sys.stdout, sys.stderr
    out, err = GuardedStream(sys.stdout, "standard output"), GuardedStream(sys.stderr, "standard error")
    out.partner, err.partner = err, out
    sys.stdout, sys.stderr = out, err  # type: ignore[assignment]
    try:
        if out.lost and not err.lost:
            err.say_lost(out)
        yield
    finally:
        sys.stdout, sys.stderr = old
