"""Property-based: random values (inf, nan, huge, negative, zero, ordinary) for every numeric option of
`run` and `bench`, through the real CLI (CliRunner). Whatever comes in, the command ends with exit code
0 or 2 and one line, never a traceback, and an invalid value creates no folder. Signed and subnormal zeros
in every float option of every command end as one value (0.0, never -0.0). Names and paths made of arbitrary
bytes (as the command line and the disk give them: surrogate escapes) either work or are refused in one line.

Nothing trains: `run` stops at the data step (its loader is replaced by one that raises the UserError a
missing data set gives) and `bench` right after its checks, so each example takes milliseconds.
"""

from __future__ import annotations

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from mixup_bench import naming
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
        (["--label-noise", "0.9500001"], "at most 0.95, got 0.9500001."),  # the value as given, never rounded
        (["--label-smoothing", "0.9900001"], "at most 0.99, got 0.9900001."),
        (["--lr", "10.000000000000002"], "got 10.000000000000002."),
        (["--gpus-per-run", "1e-05"], "--gpus-per-run must be 0 or at least 0.0001, got 1e-05."),
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


# --- signed and subnormal zeros in every float option (issue 18, class 4) ----------------------------------------


def float_options() -> list[tuple[str, str]]:
    """(command, option) for every float option (or repeatable float option) of every command, read from the
    CLI itself."""
    import typing

    group = typer.main.get_command(app)
    found = []
    for name, command in group.commands.items():
        for param in command.params:
            annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
            if param.opts[0].startswith("--") and (annotation is float or float in typing.get_args(annotation)):
                found.append((name, param.opts[0]))
    return found


ZEROS = ["-0", "-0.0", "+0", "0e0", "-0e-5", "-0.000", "5e-324", "-5e-324", "1e-310", "-1e-310", "2.2e-308"]


def floats_in(node) -> list[float]:
    if isinstance(node, float):
        return [node]
    if isinstance(node, dict):
        return [x for v in node.values() for x in floats_in(v)]
    if isinstance(node, (list, tuple)):
        return [x for v in node for x in floats_in(v)]
    return []


@pytest.fixture
def capture_experiment(monkeypatch):
    """Replace the work of `run` after its checks: the ExperimentConfig it would train is kept here."""
    seen = []

    def prepare(exp, runs, reporter, outcome):
        seen.append((exp, runs))
        raise UserError(DATA_STEP)

    monkeypatch.setattr("mixup_bench.sweep.runner._prepare_and_run", prepare)
    return seen


def test_every_float_option_is_fuzzed():
    """The zeros below reach every float option there is: all are `run`'s (a command that gains one needs a
    case in the test below)."""
    assert {command for command, _ in float_options()} == {"run"}
    arms = {"--cutmix", "--label-smoothing", "--manifold-mixup"}
    assert set(RUN_FLOAT_OPTIONS) | arms <= {o for _, o in float_options()}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from([o for _, o in float_options()]),
    value=st.sampled_from(ZEROS),
    other=st.sampled_from(["0.4", "-0.0"]),
)
def test_signed_and_subnormal_zeros_end_as_one_value(name, value, other, tmp_path, capture_experiment):
    import dataclasses
    import math

    capture_experiment.clear()
    args = ["--data-dir", str(tmp_path), "--out", str(tmp_path / "out"), "--device", "cpu"]
    result = runner.invoke(app, ["run", *args, name, value, "--alpha", other])
    assert_clean_exit(result)
    if not capture_experiment:  # refused (a negative subnormal, or below an open bound): one line, no folder
        assert result.exit_code == 2 and not (tmp_path / "out").exists(), result.output
        return
    exp, runs = capture_experiment[0]
    for x in floats_in(dataclasses.asdict(exp)):
        assert not (x == 0 and math.copysign(1.0, x) < 0), (name, value, dataclasses.asdict(exp))
    for cfg in runs:
        assert "-0" not in cfg.run_id and naming.parse_run_id(cfg.run_id)[1] == cfg.alpha  # one exact spelling


# --- names and paths made of arbitrary bytes (issue 18, class 1) ----------------------------------------------------


def odd_text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


# argv cannot hold a NUL byte, and a path component holds no "/"
name_bytes = st.binary(min_size=0, max_size=30).filter(lambda b: b"\0" not in b)
component_bytes = st.binary(min_size=1, max_size=30).filter(lambda b: b"\0" not in b and b"/" not in b)


def assert_no_surrogates(text: str) -> None:
    """What reaches the user shows a byte that is not UTF-8 as \\xNN, never as a raw surrogate."""
    assert all(not 0xD800 <= ord(c) <= 0xDFFF for c in text), ascii(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=name_bytes, where=st.sampled_from(["--name", "--preset", "--model", "--device", "--lam-mode"]))
def test_names_of_any_bytes_work_or_are_one_line(raw, where, tmp_path, capture_experiment):
    capture_experiment.clear()
    out = tmp_path / "out"
    name = odd_text(raw)
    result = runner.invoke(app, ["run", "--data-dir", str(tmp_path), "--out", str(out), where, name])
    assert_clean_exit(result)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert_no_surrogates(result.output)
    if capture_experiment:  # accepted: it is a folder name every results file can hold as text
        exp = capture_experiment[0][0]
        assert exp.path.parent == out and exp.name.encode("utf-8") and "/" not in exp.name
    else:
        assert not out.exists()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=name_bytes, where=st.sampled_from([("plot", "--reference"), ("compare", "--setting")]))
def test_arm_and_setting_names_of_any_bytes_are_one_line(raw, where, tmp_path):
    command, option = where
    paths = [str(tmp_path / "x")] * (2 if command == "compare" else 1)
    result = runner.invoke(app, [command, *paths, option, odd_text(raw)])
    assert_clean_exit(result)
    assert result.exit_code == 2
    assert_no_surrogates(result.output)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    raw=component_bytes,
    command=st.sampled_from(["run --out", "run --data-dir", "data --data-dir", "status", "plot", "compare", "bench"]),
)
def test_paths_of_any_bytes_work_or_are_one_line(raw, command, tmp_path, capture_experiment, stop_before_bench):
    capture_experiment.clear()
    if raw in (b".", b".."):
        raw += b"x"
    path = tmp_path / "p" / odd_text(raw)
    args = {
        "run --out": ["run", "--data-dir", str(tmp_path), "--out", str(path)],
        "run --data-dir": ["run", "--data-dir", str(path), "--out", str(tmp_path / "out")],
        "data --data-dir": ["data", "--data-dir", str(path)],
        "status": ["status", str(path)],
        "plot": ["plot", str(path)],
        "compare": ["compare", str(path), str(path / "b")],
        "bench": ["bench", "--device", "cpu", "--out", str(path / "b.json")],
    }[command]
    result = runner.invoke(app, args)
    assert_clean_exit(result)
    assert result.exit_code == 2  # each stops at a stub or at a path that holds nothing
    assert_no_surrogates(result.output)
    if capture_experiment:  # `run` accepted the path and reached the data step
        assert capture_experiment[0][0].path.parent in (path, tmp_path / "out")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(class_raw=component_bytes, file_raw=component_bytes)
def test_image_folders_with_names_of_any_bytes_load(class_raw, file_raw, tmp_path_factory):
    """A class folder and an image file named with any bytes: `data` reads them (a hidden folder, with a
    leading dot, is no class), and shows the class as text."""
    from tests.images import write_image_folder

    cls = odd_text(class_raw)
    if cls.startswith(".") or cls == "a":
        cls = "c" + cls
    root = write_image_folder(tmp_path_factory.mktemp("odd") / "data", classes=("a", cls), n_train=4, n_test=2)
    first = next((root / "train" / cls).iterdir())
    first.rename(first.with_name(odd_text(file_raw) + ".x.png"))  # never the name of another image
    result = runner.invoke(app, ["data", "--data-dir", str(root)])
    assert result.exit_code == 0, result.output
    assert_no_surrogates(result.output)
    assert "train: 8 images" in result.output
