"""Property-based: random values (inf, nan, huge, negative, zero, ordinary) for every numeric option of
`run` and `bench`, through the real CLI (CliRunner). Whatever comes in, the command ends with exit code
0 or 2 and one line, never a traceback, and an invalid value creates no folder.

Nothing trains: `run` stops at the data step (its loader is replaced by one that raises the UserError a
missing data set gives) and `bench` right after its checks, so each example takes milliseconds.
"""

from __future__ import annotations

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from mixup_bench.cli import app
from mixup_bench.errors import UserError

runner = CliRunner()

RUN_INT_OPTIONS = ("--seed", "--seeds", "--epochs", "--batch-size", "--subset", "--clean-train-size", "--jobs")
RUN_FLOAT_OPTIONS = ("--alpha", "--lr", "--weight-decay", "--label-noise", "--gpus-per-run")
BENCH_INT_OPTIONS = ("--batch-size", "--steps", "--warmup", "--rounds", "--workers")

DATA_STEP = "no data here (test stub)"

# The kinds of value a user (or a script gone wrong) may pass, as the text on the command line.
special = st.sampled_from(
    ["inf", "-inf", "nan", "-nan", "1e309", "-1e309", "0", "-0", "-1", "1e-320", "1e308", "9" * 40, "-" + "9" * 40]
)
huge_ints = st.integers(min_value=-(2**80), max_value=2**80).map(str)
small_ints = st.integers(min_value=-3, max_value=300).map(str)
floats = st.floats(allow_nan=True, allow_infinity=True).map(repr)
unit_floats = st.floats(min_value=-2, max_value=12).map(repr)
VALUES = st.one_of(special, huge_ints, small_ints, floats, unit_floats)


def options(names: tuple[str, ...]) -> st.SearchStrategy[list[str]]:
    """Some of `names`, each with a random value, as command-line arguments."""
    return st.dictionaries(st.sampled_from(names), VALUES, max_size=len(names)).map(
        lambda d: [arg for name, value in d.items() for arg in (name, value)]
    )


def assert_clean_exit(result) -> None:
    """Exit 0 or 2, and nothing but a SystemExit (a traceback would be any other exception)."""
    assert result.exit_code in (0, 2), (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) <= 1, result.output


@pytest.fixture
def stop_at_data(monkeypatch):
    def no_data(*args, **kwargs):
        raise UserError(DATA_STEP)

    monkeypatch.setattr("mixup_bench.sweep.runner.load_cifar10", no_data)


@pytest.fixture
def stop_before_bench(monkeypatch):
    def no_bench(cfg, *args, **kwargs):
        raise UserError(DATA_STEP)

    monkeypatch.setattr("mixup_bench.bench.bench._run", no_bench)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=options(RUN_INT_OPTIONS + RUN_FLOAT_OPTIONS))
def test_run_numeric_options_exit_0_or_2_and_create_nothing_when_refused(args, tmp_path, stop_at_data):
    out = tmp_path / "out"
    empty = tmp_path / "empty"
    empty.mkdir(exist_ok=True)
    result = runner.invoke(app, ["run", "--data-dir", str(empty), "--out", str(out), "--device", "cpu", *args])
    assert_clean_exit(result)
    assert result.exit_code == 2  # valid values reach the (stubbed) data step; invalid ones stop before it
    # Nothing is created before the data are loaded, whatever the values: no folder for invalid input.
    assert not out.exists(), result.output


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=options(BENCH_INT_OPTIONS))
def test_bench_numeric_options_exit_0_or_2(args, tmp_path, stop_before_bench):
    out = tmp_path / "sub" / "bench.json"
    result = runner.invoke(app, ["bench", "--device", "cpu", "--out", str(out), *args])
    assert_clean_exit(result)
    assert result.exit_code == 2
    assert not out.parent.exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--seed", str(10**30)], "--seed must be at most"),
        (["--seed", "-1"], "--seed must be at least 0"),
        (["--seeds", str(10**30)], "--seeds must be at most"),
        (["--seeds", str(10**12)], "--seeds must be at most 10,000"),
        (["--epochs", str(10**12)], "--epochs must be at most"),
        (["--batch-size", str(10**12)], "--batch-size must be at most"),
        (["--subset", "-5"], "--subset must be at least 0 (0 = all)"),
        (["--clean-train-size", "0"], "--clean-train-size must be at least 1"),
        (["--clean-train-size", str(10**30)], "--clean-train-size must be at most"),
        (["--gpus-per-run", "nan"], "--gpus-per-run must be a finite number"),
        (["--gpus-per-run", "-1"], "--gpus-per-run must be at least 0"),
        (["--lr", "inf"], "--lr must be a finite number"),
        (["--lr", "1e308"], "--lr must be above 0 and at most 10"),
        (["--weight-decay", "-inf"], "--weight-decay must be a finite number"),
        (["--alpha", "nan"], "--alpha must be a finite number"),
        (["--label-noise", "1"], "--label-noise must be at least 0 and at most 0.95"),
        (["--jobs", str(2**64)], "--jobs must be at most"),
    ],
)
def test_run_examples_give_one_line_and_no_folder(args, says, tmp_path, stop_at_data):
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", "--data-dir", str(tmp_path), "--out", str(out), "--device", "cpu", *args])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert result.output.startswith("error: ") and says in result.output, result.output
    assert result.output.count("\n") == 1 and DATA_STEP not in result.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--steps", str(10**30)], "--steps must be at most"),
        (["--steps", "0"], "--steps must be at least 1"),
        (["--warmup", "-1"], "--warmup must be at least 0"),
        (["--rounds", str(10**20)], "--rounds must be at most"),
        (["--workers", "-1"], "--workers must be at least 0"),
        (["--workers", str(10**20)], "--workers must be at most"),
        (["--batch-size", str(10**12)], "--batch-size must be at most"),
        (["--batch-size", "1"], "--batch-size must be at least 2"),
    ],
)
def test_bench_examples_give_one_line(args, says, tmp_path, stop_before_bench):
    result = runner.invoke(app, ["bench", "--device", "cpu", "--out", str(tmp_path / "b.json"), *args])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert result.output.startswith("error: ") and says in result.output and DATA_STEP not in result.output


def test_valid_values_reach_the_data_step(tmp_path, stop_at_data):
    """The stub is what ends a valid command: the property tests above do exercise both sides."""
    result = runner.invoke(app, ["run", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o"), "--lr", "0.05"])
    assert result.exit_code == 2 and DATA_STEP in result.output


def test_out_of_memory_is_one_line(tmp_path, monkeypatch):
    """An absurd but accepted size that the machine cannot hold: one line, not the allocator's traceback."""

    def oom(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory: you tried")

    monkeypatch.setattr("mixup_bench.bench.bench._run", oom)
    result = runner.invoke(app, ["bench", "--device", "cpu", "--out", str(tmp_path / "b.json")])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert result.output.startswith("error: out of memory; lower --batch-size")


def test_other_runtime_errors_are_not_hidden(tmp_path, monkeypatch):
    def bug(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("mixup_bench.bench.bench._run", bug)
    result = runner.invoke(app, ["bench", "--device", "cpu", "--out", str(tmp_path / "b.json")])
    assert isinstance(result.exception, RuntimeError) and not isinstance(result.exception, typer.Exit)
