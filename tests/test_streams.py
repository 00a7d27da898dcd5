"""Output that cannot stop the work (`mixup_bench.streams`): text with bytes that are not UTF-8 is shown as
\\xNN, and a closed or broken stdout or stderr (`| head -1`, `>&-`) drops the output, says so once on the
other stream, and lets the command finish: `run` trains every run to DONE, `plot`, `compare` and `status`
write and exit as they would have. The end-to-end cases run the real program with a real pipe."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mixup_bench.streams import GuardedStream, guarded_streams, is_text, quoted, shown
from tests.sweep.synthetic import NAME, REPO, cli_args

NOTE = "note: standard output is closed"


def test_shown_writes_undecodable_bytes_as_hex_escapes():
    name = b"bad\xffname\xfe".decode("utf-8", "surrogateescape")
    assert shown(name) == "bad\\xffname\\xfe"
    assert shown("caf\u00e9 \u03b1") == "caf\u00e9 \u03b1"  # real text stays as it is
    assert shown("\ud800") == "\\ud800"  # a lone surrogate that is no escaped byte
    assert not is_text(name) and is_text("caf\u00e9")


def test_quoted_is_repr_with_bytes_as_hex():
    assert quoted(b"bad\xff".decode("utf-8", "surrogateescape")) == "'bad\\xff'"
    assert quoted("a\nb") == "'a\\nb'"
    assert quoted("x\\udcff") == "'x\\\\udcff'"  # a real backslash is not taken for an escape


class Broken(io.StringIO):
    """A stream that takes `lines` writes, then raises what a closed pipe raises."""

    def __init__(self, lines: int = 1, error: type[BaseException] = BrokenPipeError):
        super().__init__()
        self.left, self.error = lines, error

    def write(self, text: str) -> int:
        if self.left <= 0:
            raise self.error(32, "Broken pipe")
        self.left -= 1
        return super().write(text)


class StrictAscii(io.StringIO):
    encoding = "ascii"

    def write(self, text: str) -> int:
        text.encode("ascii")  # raises UnicodeEncodeError as a TextIOWrapper would
        return super().write(text)


def test_a_broken_stream_drops_its_output_and_says_so_once_on_the_other(monkeypatch):
    out, err = Broken(lines=1), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    with guarded_streams():
        for i in range(5):
            print(f"line {i}")
        sys.stdout.flush()
        print("still here", file=sys.stderr)
    assert out.getvalue() == "line 0"  # print writes the text and its end separately
    assert err.getvalue().count("note: standard output is closed (Broken pipe)") == 1
    assert err.getvalue().endswith("still here\n")
    assert sys.stdout is out  # put back


def test_both_streams_broken_is_silent_and_raises_nothing(monkeypatch):
    monkeypatch.setattr(sys, "stdout", Broken(0))
    monkeypatch.setattr(sys, "stderr", Broken(0, OSError))
    with guarded_streams():
        print("x")
        print("y", file=sys.stderr)


def test_a_stream_closed_before_the_start_is_said_at_once(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stdout", None)  # what Python gives when fd 1 is closed (`>&-`)
    monkeypatch.setattr(sys, "stderr", err)
    with guarded_streams():
        print("dropped")
    assert err.getvalue() == "note: standard output is closed (closed); its output is dropped and the work goes on.\n"


def test_text_the_stream_cannot_encode_is_shown():
    raw = StrictAscii()
    GuardedStream(raw, "standard output").write("x\udcff \u00e9\n")
    assert raw.getvalue() == "x\\xff \\xe9\n"


# --- the real program with a real pipe -----------------------------------------------------------------------


def program(*args: str, stdout=subprocess.PIPE, pass_fds=(), close_stdout: bool = False) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", COLUMNS="200")
    return subprocess.Popen(
        [sys.executable, "-m", "mixup_bench", *args],
        cwd=REPO,
        env=env,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        pass_fds=pass_fds,
        preexec_fn=(lambda: os.close(1)) if close_stdout else None,
    )


def with_broken_stdout(*args: str) -> tuple[int, str]:
    """Run the program with a stdout pipe whose reader is gone before the first write: every write fails."""
    read, write = os.pipe()
    os.close(read)
    proc = program(*args, stdout=write)
    os.close(write)
    _, err = proc.communicate(timeout=600)
    return proc.returncode, err


@pytest.fixture(scope="module")
def finished_pair(tmp_path_factory) -> Path:
    from typer.testing import CliRunner

    from mixup_bench.cli import app
    from tests.images import write_image_folder

    root = tmp_path_factory.mktemp("streams")
    data = write_image_folder(root / "tiny")
    result = CliRunner().invoke(app, cli_args(data, root / "results", "-q", epochs=1))
    assert result.exit_code == 0, result.output
    return root / "results" / NAME


def test_status_with_a_broken_stdout_exits_0(finished_pair):
    code, err = with_broken_stdout("status", str(finished_pair))
    assert code == 0 and "Traceback" not in err, err
    assert NOTE in err


def test_an_error_with_a_broken_stderr_still_exits_2(tmp_path):
    read, write = os.pipe()
    os.close(read)
    proc = subprocess.Popen(
        [sys.executable, "-m", "mixup_bench", "status", str(tmp_path / "nothing")],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=write,
        text=True,
    )
    os.close(write)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "note: standard error is closed" in out


@pytest.mark.slow  # end to end: trains in a subprocess
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_run_piped_into_head_trains_every_run_to_done(tmp_path, jobs):
    from tests.images import write_image_folder

    data = write_image_folder(tmp_path / "tiny")
    proc = program(*cli_args(data, tmp_path / "results", "--jobs", jobs, epochs=2))
    first = proc.stdout.readline()  # `| head -1`: one line, then the reader is gone
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=600) == 0, err
    assert first and "Traceback" not in err and NOTE in err, err
    runs = tmp_path / "results" / NAME / "runs"
    assert sorted(p.name for p in runs.iterdir()) == ["baseline-a0-s0", "mixup-a0.4-s0"]
    assert all((p / "DONE").exists() for p in runs.iterdir())


@pytest.mark.slow  # end to end: trains in a subprocess
def test_run_with_stdout_closed_trains_and_writes_nothing_into_its_files(tmp_path):
    from tests.images import write_image_folder

    data = write_image_folder(tmp_path / "tiny")
    proc = program(*cli_args(data, tmp_path / "results", epochs=1), stdout=None, close_stdout=True)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0 and NOTE in err, err
    run_dir = tmp_path / "results" / NAME / "runs" / "baseline-a0-s0"
    assert (run_dir / "DONE").exists()
    assert (run_dir / "lock").read_text().split()[0].isdigit()  # no progress line landed in an opened file


@pytest.mark.slow  # end to end: renders every figure in a subprocess
def test_plot_and_compare_with_a_broken_stdout_write_their_files(finished_pair, tmp_path):
    exp = tmp_path / "results" / "exp"
    shutil.copytree(finished_pair, exp)
    code, err = with_broken_stdout("plot", str(exp))
    assert code == 0 and NOTE in err and "Traceback" not in err, err
    assert (exp / "summary.md").exists()
    other = tmp_path / "results" / "exp-e2"
    shutil.copytree(finished_pair, other)
    record = (other / "experiment.json").read_text().replace('"epochs": 1', '"epochs": 2')
    (other / "experiment.json").write_text(record)
    code, err = with_broken_stdout("compare", str(exp), str(other), "--out", str(tmp_path / "cmp"))
    assert code == 0 and NOTE in err and "Traceback" not in err, err
    assert (tmp_path / "cmp" / "regime_map.md").exists()
