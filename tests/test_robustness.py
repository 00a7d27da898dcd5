"""Faults and bad input through the real CLI (CliRunner), one test per case of docs/robustness.md's matrix:
a run that diverges, output paths that cannot be written (checked before the work; a disk that fills up
during `run` or `plot`), text that Rich would read as markup, results files that parse but are wrong
(a torn metrics.csv, JSON that is not an object), and hints that must survive being pasted.

Each ends with one line and exit code 2, or is handled and said, never with a traceback.
"""

from __future__ import annotations

import errno
import io
import json
import os
import shlex
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
from rich.console import Console
from typer.testing import CliRunner

from mixup_bench.cli import app, os_error_line
from mixup_bench.config import ExperimentConfig, TrainingConfig
from mixup_bench.errors import UserError, WriteError
from mixup_bench.results import atomic
from mixup_bench.results.atomic import atomic_write_text
from mixup_bench.results.damage import torn_metrics
from mixup_bench.results.records import read_json
from mixup_bench.results.writable import check_output_dir
from mixup_bench.sweep import runner as runner_mod
from mixup_bench.sweep.progress import Reporter
from mixup_bench.sweep.status import experiment_status, status_table
from tests.images import write_image_folder

cli = CliRunner()

RUNS = ("baseline-a0-s0", "mixup-a0.4-s0")


def run_args(data_dir: Path, out: Path, *extra: str, name: str = "exp") -> list[str]:
    return [
        "run", "--data-dir", str(data_dir), "--out", str(out), "--name", name, "--seeds", "1", "--epochs", "2",
        "--batch-size", "16", "--subset", "0", "--clean-train-size", "24", "--val-size", "0", "--jobs", "1",
        "--device", "cpu", "--precision", "fp32", *extra,
    ]  # fmt: skip


def one_line_error(result, *needles: str) -> str:
    """The exit code is 2, the only exception SystemExit, and exactly one `error:` line holds every needle."""
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), (result.exit_code, result.output)
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def leftover_tmp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob(".*.tmp")]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return write_image_folder(tmp_path_factory.mktemp("data") / "tiny")


@pytest.fixture(scope="module")
def finished(tmp_path_factory, data_dir) -> Path:
    """A finished tiny experiment (baseline and MixUp 0.4, seed 0, 2 epochs), made once; copy before changing."""
    out = tmp_path_factory.mktemp("finished") / "results"
    torch.set_num_threads(1)
    result = cli.invoke(app, run_args(data_dir, out, "-q"))
    assert result.exit_code == 0, result.output
    return out / "exp"


@pytest.fixture
def experiment(finished, tmp_path) -> Path:
    """A private copy of the finished experiment, at the same depth: <tmp>/results/exp."""
    copy = tmp_path / "results" / "exp"
    shutil.copytree(finished, copy)
    return copy


# --- 1. numbers: a run that diverges ---------------------------------------------------------------------------


def test_diverged_run_stops_at_once_with_one_line_and_no_done(data_dir, tmp_path):
    out = tmp_path / "results"
    # lr 10 with weight decay 1 on the tiny set: the loss becomes NaN in the second epoch
    args = run_args(data_dir, out, "--lr", "10", "--weight-decay", "1", "--batch-size", "8", "--epochs", "3")
    result = cli.invoke(app, args)
    line = one_line_error(result, "baseline-a0-s0 diverged at epoch", "; lower --lr")
    assert "not marked done" in line
    run_dir = out / "exp" / "runs" / "baseline-a0-s0"
    assert not (run_dir / "DONE").exists()
    epoch = int(line.split("diverged at epoch ")[1].split(",")[0])
    kept = pd.read_csv(run_dir / "metrics.csv")
    assert kept["epoch"].tolist() == list(range(1, epoch)) and kept["train_loss"].notna().all()
    assert not (out / "exp" / "runs" / "mixup-a0.4-s0").exists()  # the command stopped there


def test_divergence_in_the_first_step_is_reported(data_dir, tmp_path, monkeypatch):
    """A loss that is inf from the first step (monkeypatched) is caught there, epoch 1, step 1."""
    from mixup_bench.train import loop

    real = loop.train_step

    def exploding(ctx, xb, yb):
        out = real(ctx, xb, yb)
        out.loss = out.loss * float("inf")
        return out

    monkeypatch.setattr(loop, "train_step", exploding)
    result = cli.invoke(app, run_args(data_dir, tmp_path / "results"))
    one_line_error(result, "diverged at epoch 1, step 1; lower --lr")
    assert not (tmp_path / "results" / "exp" / "runs" / "baseline-a0-s0" / "DONE").exists()


# --- 2. file-system errors on output paths ------------------------------------------------------------------------


def test_run_out_that_is_a_file_fails_before_the_data_load(data_dir, tmp_path, monkeypatch):
    a_file = tmp_path / "results"
    a_file.write_text("not a folder")
    loaded = []
    monkeypatch.setattr(runner_mod, "load_cifar10", lambda *a, **k: loaded.append(a))
    result = cli.invoke(app, run_args(data_dir, a_file))
    one_line_error(result, f"cannot write {a_file / 'exp'}", f"{a_file} is a file, not a folder")
    assert loaded == []


def test_run_out_below_a_broken_symlink_fails_before_the_data_load(data_dir, tmp_path, monkeypatch):
    link = tmp_path / "results"
    os.symlink(tmp_path / "gone", link)
    monkeypatch.setattr(runner_mod, "load_cifar10", lambda *a, **k: pytest.fail("loaded the data"))
    one_line_error(cli.invoke(app, run_args(data_dir, link)), "broken symlink")


def test_plot_of_a_read_only_experiment_fails_before_reading(experiment, monkeypatch):
    from mixup_bench.analysis import folder as load

    real_access = os.access

    def access(path, mode, **kw):  # as for root on a read-only mount: reading works, writing does not
        return not (Path(path) == experiment and mode & os.W_OK) and real_access(path, mode, **kw)

    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr(load, "load_experiment", lambda *a, **k: pytest.fail("read the runs"))
    one_line_error(cli.invoke(app, ["plot", str(experiment)]), f"cannot write {experiment}", "not writable")


def test_bench_out_below_a_file_fails_before_the_benchmark(tmp_path, monkeypatch):
    (tmp_path / "afile").write_text("x")
    monkeypatch.setattr("mixup_bench.bench.bench._run", lambda *a, **k: pytest.fail("benchmarked"))
    result = cli.invoke(app, ["bench", "--device", "cpu", "--out", str(tmp_path / "afile" / "b.json")])
    one_line_error(result, f"cannot write {tmp_path / 'afile' / 'b.json'}", "is a file, not a folder")


def test_compare_out_below_a_file_fails_before_reading(experiment, tmp_path, monkeypatch):
    from mixup_bench.analysis import folder

    if "compare" not in {c.name or c.callback.__name__ for c in app.registered_commands}:
        pytest.skip("no compare command")
    other = experiment.parent / "exp-noise"
    shutil.copytree(experiment, other)
    record = json.loads((other / "experiment.json").read_text())
    record["config"]["training"]["label_noise"] = 0.2
    (other / "experiment.json").write_text(json.dumps(record))
    (tmp_path / "afile").write_text("x")
    monkeypatch.setattr(folder, "load_experiment", lambda *a, **k: pytest.fail("read the runs"))
    result = cli.invoke(app, ["compare", str(experiment), str(other), "--out", str(tmp_path / "afile" / "cmp")])
    one_line_error(result, "cannot write", "is a file, not a folder")


class DiskFull:
    """Replaces atomic._write_all: the `fail_at`-th write whose file name holds `name` raises ENOSPC."""

    def __init__(self, monkeypatch, name: str, fail_at: int = 1):
        self.real, self.name, self.fail_at, self.seen = atomic._write_all, name, fail_at, 0
        monkeypatch.setattr(atomic, "_write_all", self)

    def __call__(self, fd: int, data: bytes) -> None:
        if f".{self.name}." in os.readlink(f"/proc/self/fd/{fd}"):
            self.seen += 1
            if self.seen == self.fail_at:
                self.real(fd, data[: len(data) // 2])  # half written, then the disk is full
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.real(fd, data)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="names the file through /proc/self/fd")
def test_disk_full_during_run_is_one_line_and_keeps_the_last_epoch(data_dir, tmp_path, monkeypatch):
    out = tmp_path / "results"
    DiskFull(monkeypatch, "checkpoint.pt", fail_at=2)  # epoch 2's checkpoint
    result = cli.invoke(app, run_args(data_dir, out))
    one_line_error(result, "cannot write", "checkpoint.pt: No space left on device")
    run_dir = out / "exp" / "runs" / "baseline-a0-s0"
    assert not (run_dir / "DONE").exists() and leftover_tmp_files(out) == []
    assert torch.load(run_dir / "checkpoint.pt", weights_only=True)["epoch"] == 1  # the old file, whole
    assert pd.read_csv(run_dir / "metrics.csv")["epoch"].tolist() == [1]
    monkeypatch.undo()
    again = cli.invoke(app, run_args(data_dir, out, "-q"))  # space again: it resumes and finishes
    assert again.exit_code == 0, again.output
    assert all((out / "exp" / "runs" / r / "DONE").exists() for r in RUNS)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="names the file through /proc/self/fd")
@pytest.mark.usefixtures("no_drawing")
def test_disk_full_during_plot_is_one_line_and_keeps_the_data(experiment, monkeypatch):
    before = {p: p.read_bytes() for p in experiment.rglob("*") if p.is_file()}
    DiskFull(monkeypatch, "summary.md")
    result = cli.invoke(app, ["plot", str(experiment)])
    one_line_error(result, f"cannot write {experiment / 'summary.md'}: No space left on device")
    assert not (experiment / "summary.md").exists() and leftover_tmp_files(experiment) == []
    assert all(p.read_bytes() == data for p, data in before.items())  # every run file as it was


def test_write_error_keeps_the_old_file_and_names_the_target(tmp_path, monkeypatch):
    target = tmp_path / "f.json"
    atomic_write_text(target, "old")

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic, "_write_all", full)
    with pytest.raises(WriteError) as info:
        atomic_write_text(target, "new")
    assert str(info.value) == f"cannot write {target}: No space left on device"
    assert isinstance(info.value, OSError) and isinstance(info.value, UserError)
    assert target.read_text() == "old" and leftover_tmp_files(tmp_path) == []


def test_an_oserror_that_escapes_is_one_line(tmp_path, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "lock"))

    monkeypatch.setattr(runner_mod, "load_cifar10", denied)
    result = cli.invoke(app, run_args(tmp_path, tmp_path / "results"))
    one_line_error(result, f"cannot access {tmp_path / 'lock'}: Permission denied")
    assert os_error_line(OSError(errno.ENOSPC, "No space left on device")) == "No space left on device (OSError)"


# --- 5. text that Rich would read as markup ---------------------------------------------------------------------


@pytest.mark.parametrize("command", ["plot", "status"])
def test_markup_like_path_is_printed_as_it_is(command):
    result = cli.invoke(app, [command, "[/oops]"])
    one_line_error(result, "[/oops] does not exist")


def test_ray_install_hint_keeps_its_brackets(data_dir, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    result = cli.invoke(app, run_args(data_dir, tmp_path / "results", "--backend", "ray"))
    one_line_error(result, 'pip install -e ".[ray]"')


@pytest.mark.slow  # end to end: trains or renders every figure
def test_paths_with_brackets_in_run_plot_and_status_output(data_dir, tmp_path):
    out = tmp_path / "res [bold]x[/bold] [/oops]"
    result = cli.invoke(app, run_args(data_dir, out, "--epochs", "1"))
    assert result.exit_code == 0, result.output
    assert str(out / "exp") in result.output
    plot = cli.invoke(app, ["plot", str(out / "exp")])
    assert plot.exit_code == 0, plot.output
    assert f"Experiment {out / 'exp'}" in plot.output and f"into {out / 'exp'}:" in plot.output
    odd = out / "exp" / "runs" / "[red]odd"
    odd.mkdir()
    table = Console(file=io.StringIO(), width=300)
    table.print(status_table(experiment_status(out / "exp")))
    assert "[red]odd" in table.file.getvalue()


def test_reporter_messages_are_not_markup():
    buf = io.StringIO()
    Reporter(Console(file=buf, width=60), 1).say("held by pid 1 on [/host] at /a/[b]/c")
    assert buf.getvalue() == "held by pid 1 on [/host] at /a/[b]/c\n"


# --- 6. results files that parse but are wrong ---------------------------------------------------------------------


def cut_last_row(path: Path, chars: int = 25) -> None:
    text = path.read_text()
    path.write_text(text[: len(text) - chars])


def test_torn_metrics_detection(experiment):
    run_dir = experiment / "runs" / "mixup-a0.4-s0"
    assert torn_metrics(run_dir) is None
    metrics = run_dir / "metrics.csv"
    whole = metrics.read_text()
    cut_last_row(metrics, 25)  # fewer fields
    assert torn_metrics(run_dir).last_row_cut
    metrics.write_text(whole[:-3])  # every field, but the last number cut
    assert torn_metrics(run_dir).reason == "its last row ends without a line end"
    metrics.write_text("".join(whole.splitlines(keepends=True)[:2]))  # a whole row short of DONE's epoch
    torn = torn_metrics(run_dir)
    assert not torn.last_row_cut and "1 epoch row(s) of the 2" in torn.reason
    (run_dir / "DONE").unlink()  # a partial run may be short
    assert torn_metrics(run_dir) is None


@pytest.mark.usefixtures("no_drawing")
def test_plot_warns_about_a_torn_metrics_csv_and_leaves_out_the_cut_row(experiment):
    metrics = experiment / "runs" / "mixup-a0.4-s0" / "metrics.csv"
    cut_last_row(metrics)
    result = cli.invoke(app, ["plot", str(experiment)])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert f"Warning: Run mixup-a0.4-s0: {metrics} is torn: its last row has" in flat
    assert "re-run the same `mixup-bench run` command" in flat
    summary = pd.read_csv(experiment / "summary.csv")
    mixup = summary[summary["arm"] != "baseline"].iloc[0]
    assert mixup["final_epoch_max"] == 1  # the whole rows only, no NaN row
    assert "torn" in (experiment / "summary.md").read_text()


def test_run_rewrites_a_torn_metrics_csv_of_a_finished_run_from_its_checkpoint(experiment, data_dir):
    metrics = experiment / "runs" / "mixup-a0.4-s0" / "metrics.csv"
    lam = experiment / "runs" / "mixup-a0.4-s0" / "lam.csv"
    whole, whole_lam = metrics.read_text(), lam.read_text()
    cut_last_row(metrics)
    cut_last_row(lam, 7)
    result = cli.invoke(app, run_args(data_dir, experiment.parent))
    assert result.exit_code == 0, result.output
    assert f"mixup-a0.4-s0: {metrics} was torn" in " ".join(result.output.split())
    assert metrics.read_text() == whole and lam.read_text() == whole_lam
    assert torn_metrics(metrics.parent) is None


def test_run_says_when_a_torn_metrics_csv_cannot_be_rebuilt(experiment, data_dir):
    run_dir = experiment / "runs" / "baseline-a0-s0"
    cut_last_row(run_dir / "metrics.csv")
    (run_dir / "checkpoint.pt").unlink()
    result = cli.invoke(app, run_args(data_dir, experiment.parent))
    assert result.exit_code == 0, result.output
    assert "no readable checkpoint.pt holds its history" in " ".join(result.output.split())


def test_status_notes_a_torn_metrics_csv(experiment):
    cut_last_row(experiment / "runs" / "baseline-a0-s0" / "metrics.csv")
    result = cli.invoke(app, ["status", str(experiment)], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "metrics.csv torn" in result.output, result.output


@pytest.mark.usefixtures("no_drawing")
@pytest.mark.parametrize("content", ["[1, 2]", '"text"', "3", "null", '{"config": [1]}', '{"config": {"training": 1}}'])
def test_experiment_json_that_is_not_an_object_is_one_line(experiment, data_dir, content):
    (experiment / "experiment.json").write_text(content)
    one_line_error(cli.invoke(app, run_args(data_dir, experiment.parent)), "experiment.json")
    status = cli.invoke(app, ["status", str(experiment)])
    assert status.exit_code in (0, 2)
    assert status.exception is None or isinstance(status.exception, SystemExit), status.output
    plot = cli.invoke(app, ["plot", str(experiment)])
    assert plot.exit_code == 0, plot.output


def test_status_reads_around_wrongly_typed_json(experiment):
    (experiment / "experiment.json").write_text(json.dumps({"config": {"alphas": ["x", 0.4], "seeds": "01"}}))
    (experiment / "runs" / "baseline-a0-s0" / "config.json").write_text(json.dumps({"training": [], "alpha": "a"}))
    (experiment / "runs" / "mixup-a0.4-s0" / "DONE").write_text("[1]")
    result = cli.invoke(app, ["status", str(experiment)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "baseline-a0-s0" in result.output and "mixup-a0.4-s0" in result.output


@pytest.mark.parametrize("content", ["[1]", "", "{}", '{"alpha": "x"}'])
def test_a_damaged_done_file_is_left_out_of_the_final_table(experiment, data_dir, content):
    (experiment / "runs" / "mixup-a0.4-s0" / "DONE").write_text(content)
    result = cli.invoke(app, run_args(data_dir, experiment.parent))
    assert result.exit_code == 0, result.output
    assert "Left out of the final table" in result.output


def test_read_json_refuses_json_that_is_not_an_object(tmp_path):
    path = tmp_path / "DONE"
    path.write_text("[1, 2]")
    with pytest.raises(UserError, match="holds an array, not a JSON object"):
        read_json(path)


# --- 8. hints that must survive being pasted ----------------------------------------------------------------------


def test_plot_hint_quotes_a_path_with_spaces_and_is_not_wrapped(data_dir, tmp_path):
    out = tmp_path / ("a folder with spaces " + "x" * 60)
    result = cli.invoke(app, run_args(data_dir, out, "--epochs", "1", "-q"))
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("Results:"))
    command = line.split("(draw them with: ", 1)[1].rstrip(")")
    assert len(line) > 80 and shlex.split(command) == ["mixup-bench", "plot", str(out / "exp")]


def test_resume_and_status_hints_are_whole_lines(tmp_path, monkeypatch):
    exp = ExperimentConfig(name="exp", out=tmp_path / "a b" / ("y" * 70), training=TrainingConfig(), device="cpu")

    def stopped(exp, runs, reporter, outcome):
        outcome.held.append("baseline-a0-s0")
        outcome.stopped = True

    monkeypatch.setattr(runner_mod, "_prepare_and_run", stopped)
    rerun = shlex.join(["mixup-bench", "run", "--out", str(exp.out), "--name", "[x]"])
    buf = io.StringIO()
    runner_mod.run_experiment(exp, Reporter(Console(file=buf, width=80), 1), rerun_command=rerun)
    lines = buf.getvalue().splitlines()
    assert f"  {rerun}" in lines  # one line, brackets kept, however long
    status = next(x for x in lines if "shows how they are getting on" in x)
    assert shlex.join(["mixup-bench", "status", str(exp.path)]) in status


# --- 9. names and paths that are not UTF-8 (issue 18, class 1) -------------------------------------------------------


def odd(raw: bytes) -> str:
    """A name as Python gets it from the command line or the disk when its bytes are not UTF-8."""
    return raw.decode("utf-8", "surrogateescape")


def test_a_name_that_is_not_utf8_is_one_line_before_any_work(data_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(runner_mod, "load_cifar10", lambda *a, **k: pytest.fail("loaded the data"))
    result = cli.invoke(app, run_args(data_dir, tmp_path / "results", name=odd(b"bad\xffname")))
    one_line_error(result, "--name must be UTF-8 text, got 'bad\\xffname'")
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    ("name", "says"),
    [("a\nb", "control characters"), ("x" * 256, "at most 255 bytes"), ("..", "plain folder name"), ("a/b", "plain")],
)
def test_names_no_folder_can_hold_are_one_line(data_dir, tmp_path, name, says):
    one_line_error(cli.invoke(app, run_args(data_dir, tmp_path / "results", name=name)), "--name", says)


def test_paths_and_file_names_that_are_not_utf8_work_end_to_end(tmp_path):
    """Bytes that are not UTF-8 in --out, --data-dir, a class folder and an image file: `run`, `status`
    and `data` work, and every text they print or write shows the bytes as \\xNN."""
    data = write_image_folder(tmp_path / odd(b"data\xff"), classes=("cat", odd(b"d\xfeg"), "frog"))
    image = next((data / "train" / "cat").iterdir())
    image.rename(image.with_name(odd(b"x\xfe.png")))
    out = tmp_path / odd(b"res\xff")
    result = cli.invoke(app, run_args(data, out, "--epochs", "1"))
    assert result.exit_code == 0, result.output
    assert f"Results: {tmp_path}/res\\xff/exp" in result.output
    record = json.loads((out / "exp" / "experiment.json").read_text())
    assert record["data"]["classes"] == ["cat", "d\\xfeg", "frog"]
    assert all((out / "exp" / "runs" / r / "DONE").exists() for r in RUNS)
    status = cli.invoke(app, ["status", str(out / "exp")], env={"COLUMNS": "200"})
    assert status.exit_code == 0 and "2 done" in status.output, status.output
    described = cli.invoke(app, ["data", "--data-dir", str(data)])
    assert described.exit_code == 0 and "classes: cat, d\\xfeg, frog" in described.output, described.output


@pytest.mark.slow  # renders every figure
def test_plot_and_compare_of_experiments_named_with_odd_bytes(experiment):
    """An experiment folder renamed by hand to a name that is not UTF-8: its figures, summary.md and the regime
    map show the name as \\xNN (the font renderer and UTF-8 files take no surrogate escape)."""
    odd_dir = experiment.parent / odd(b"exp\xff")
    experiment.rename(odd_dir)
    shutil.copytree(odd_dir / "runs" / "baseline-a0-s0", odd_dir / "runs" / odd(b"copy\xfe"))
    plot = cli.invoke(app, ["plot", str(odd_dir)])
    assert plot.exit_code == 0, plot.output
    assert "Skipped run copy\\xfe: its folder name is not UTF-8 text; rename it." in plot.output
    assert (odd_dir / "summary.md").read_text().startswith("# MixUp benchmark: exp\\xff")
    assert (odd_dir / "plots" / "dashboard.png").stat().st_size > 0
    other = experiment.parent / odd(b"e\xfe2")
    shutil.copytree(odd_dir, other)
    record = json.loads((other / "experiment.json").read_text())
    record["config"]["training"]["epochs"] = 3
    (other / "experiment.json").write_text(json.dumps(record))
    compare = cli.invoke(app, ["compare", str(odd_dir), str(other), "--out", str(experiment.parent / "cmp")])
    assert compare.exit_code == 0, compare.output
    assert "e\\xfe2" in (experiment.parent / "cmp" / "regime_map.md").read_text()


def test_text_files_never_fail_to_encode(tmp_path):
    """No text a run writes can fail halfway through its files: a byte that is not UTF-8 is written as \\xNN."""
    atomic_write_text(tmp_path / "m.csv", "experiment\n" + odd(b"e\xff") + "\n")
    assert (tmp_path / "m.csv").read_text() == "experiment\ne\\xff\n"


# --- 10. a finished run with a file missing or unreadable (issue 18, class 3) -------------------------------------


def flat(text: str) -> str:
    return " ".join(text.split())


# (file, run, whether the next `run` rebuilds it: metrics.csv and lam.csv from checkpoint.pt, config.json from
# the run's config; calibration.json is not in the checkpoint)
DAMAGE = [
    ("metrics.csv", "baseline-a0-s0", True),
    ("config.json", "baseline-a0-s0", True),
    ("lam.csv", "mixup-a0.4-s0", True),
    ("calibration.json", "mixup-a0.4-s0", False),
]


@pytest.mark.usefixtures("no_drawing")
@pytest.mark.parametrize(("name", "run_id", "rebuilt"), DAMAGE)
@pytest.mark.parametrize("how", ["missing", "unreadable"])
def test_a_finished_run_with_a_file_missing_is_named_by_status_plot_and_run(
    experiment, data_dir, name, run_id, rebuilt, how
):
    path = experiment / "runs" / run_id / name
    whole = path.read_bytes()
    if how == "missing":
        path.unlink()
    else:
        path.write_bytes(b"\xff\xfe{")  # neither UTF-8 nor JSON
    problem = "is missing" if how == "missing" else "is not UTF-8 text"
    status = cli.invoke(app, ["status", str(experiment)], env={"COLUMNS": "250"})
    row = next(line for line in status.output.splitlines() if run_id in line)
    assert status.exit_code == 0 and "damaged" in row and f"{name} {problem}" in row, status.output
    plot = cli.invoke(app, ["plot", str(experiment)])
    assert plot.exit_code == 0, plot.output
    assert f"{path} {problem}" in flat(plot.output)
    again = cli.invoke(app, run_args(data_dir, experiment.parent))
    assert again.exit_code == 0, again.output
    assert f"{run_id}: {path} {problem}" in flat(again.output)
    after = cli.invoke(app, ["status", str(experiment)], env={"COLUMNS": "250"})
    if rebuilt:
        if name == "config.json":  # its recorded start went with the file: nothing else holds it
            kept = {k: v for k, v in json.loads(whole).items() if k != "started"}
            whole = json.dumps(kept, indent=2, sort_keys=True).encode() + b"\n"
        assert path.read_bytes() == whole, "rebuilt byte for byte"
        assert "damaged" not in after.output and "2 done" in after.output
    else:
        assert "nothing can rebuild it" in flat(again.output) and "damaged" in after.output


def test_a_missing_metrics_csv_without_a_checkpoint_is_named_as_lost(experiment, data_dir):
    run_dir = experiment / "runs" / "baseline-a0-s0"
    (run_dir / "metrics.csv").unlink()
    (run_dir / "checkpoint.pt").unlink()
    status = cli.invoke(app, ["status", str(experiment)], env={"COLUMNS": "250"})
    assert "metrics.csv is missing (lost)" in status.output, status.output
    again = cli.invoke(app, run_args(data_dir, experiment.parent))
    assert again.exit_code == 0
    assert "no readable checkpoint.pt holds its history; delete" in flat(again.output)


def test_compare_names_a_damaged_baseline_instead_of_a_missing_one(experiment):
    other = experiment.parent / "exp-noise"
    shutil.copytree(experiment, other)
    record = json.loads((other / "experiment.json").read_text())
    record["config"]["training"]["label_noise"] = 0.2
    (other / "experiment.json").write_text(json.dumps(record))
    (other / "runs" / "baseline-a0-s0" / "metrics.csv").unlink()
    result = cli.invoke(app, ["compare", str(experiment), str(other), "--out", str(experiment.parent / "cmp")])
    line = one_line_error(result, "no baseline run", "it is finished (DONE), but")
    assert "metrics.csv is missing; the same `mixup-bench run` command rebuilds it from checkpoint.pt" in line


# --- 11. output paths a probe must try (issue 18, class 8) --------------------------------------------------------


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc")
def test_bench_out_in_proc_fails_before_the_benchmark(monkeypatch):
    """/proc looks writable to root (os.access says yes), yet no file can be made there: the probe tries."""
    monkeypatch.setattr("mixup_bench.bench.bench._run", lambda *a, **k: pytest.fail("benchmarked"))
    result = cli.invoke(app, ["bench", "--device", "cpu", "--out", "/proc/x.json"])
    one_line_error(result, "cannot write /proc/x.json")


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc")
def test_run_out_in_proc_fails_before_the_data_load(data_dir, monkeypatch):
    monkeypatch.setattr(runner_mod, "load_cifar10", lambda *a, **k: pytest.fail("loaded the data"))
    one_line_error(cli.invoke(app, run_args(data_dir, Path("/proc/results"))), "cannot write /proc/results/exp")


def test_bench_out_that_is_a_device_is_refused(monkeypatch):
    """The atomic rename would replace /dev/null itself (as root): a file that is no regular file is refused."""
    monkeypatch.setattr("mixup_bench.bench.bench._run", lambda *a, **k: pytest.fail("benchmarked"))
    result = cli.invoke(app, ["bench", "--device", "cpu", "--out", os.devnull])
    one_line_error(result, f"cannot write {os.devnull}: it is not a regular file")


def test_the_probe_leaves_nothing_behind(tmp_path):
    check_output_dir(tmp_path / "a" / "b")
    assert list(tmp_path.iterdir()) == []


# --- 12. one value, one spelling (issue 18, class 4) ---------------------------------------------------------------


def test_negative_zero_is_stored_and_named_as_zero(data_dir, tmp_path):
    out = tmp_path / "results"
    args = run_args(data_dir, out, "--epochs", "1", "--label-noise", "-0.0", "--weight-decay", "-0", "-q")
    result = cli.invoke(app, [*args, "--alpha", "-0.0", "--alpha", "0.4"])
    assert result.exit_code == 0, result.output
    text = (out / "exp" / "experiment.json").read_text()
    assert "-0.0" not in text  # json writes a negative zero as -0.0
    record = json.loads(text)
    assert str(record["config"]["training"]["label_noise"]) == "0.0"
    assert record["config"]["arms"] == ["baseline", "mixup:0.4"]
    assert sorted(p.name for p in (out / "exp" / "runs").iterdir()) == list(RUNS)  # -0.0 is the baseline
    for run in RUNS:
        config = json.loads((out / "exp" / "runs" / run / "config.json").read_text())
        assert str(config["training"]["label_noise"]) == "0.0" and str(config["training"]["weight_decay"]) == "0.0"


def test_compare_reads_an_old_negative_zero_as_zero(experiment):
    """A record written before the normalisation holds -0.0: compare sees one value, not '0%' and '-0%'."""
    other = experiment.parent / "exp-old"
    shutil.copytree(experiment, other)
    record = json.loads((other / "experiment.json").read_text())
    record["config"]["training"]["label_noise"] = -0.0
    (other / "experiment.json").write_text(json.dumps(record))
    result = cli.invoke(app, ["compare", str(experiment), str(other)])
    one_line_error(result, "differ in no training setting")
