"""`mixup-bench run` end to end through CliRunner, as a user calls it, on tiny synthetic data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from mixup_bench.cli import app
from mixup_bench.results.schema import METRICS_COLUMNS
from mixup_bench.train.device import cpu_isa

runner = CliRunner()


def run_cli(*args: str):
    return runner.invoke(app, list(args))


def base_args(data_dir, out, *extra: str) -> list[str]:
    """A tiny run: the whole tiny data set, one run at a time, seed 0 unless `extra` names seeds."""
    seeds = [] if {"--seed", "--seeds"} & set(extra) else ["--seed", "0"]
    return [
        "run",
        "--subset",
        "0",
        "--jobs",
        "1",
        *seeds,
        "--data-dir",
        str(data_dir),
        "--out",
        str(out),
        "--epochs",
        "2",
        "--batch-size",
        "16",
        "--device",
        "cpu",
        "--precision",
        "fp32",
        *([] if "--val-size" in extra else ["--val-size", "8"]),  # 72 tiny images: 8 held out, 64 = 4 batches
        *extra,
    ]


def test_run_writes_two_runs_with_exact_columns_then_skips(tiny_cifar, tmp_path):
    out = tmp_path / "results"
    res = run_cli(*base_args(tiny_cifar, out))
    assert res.exit_code == 0, res.output
    exp = out / "default"
    runs = sorted(p.name for p in (exp / "runs").iterdir())
    assert runs == ["baseline-a0-s0", "mixup-a0.4-s0"]
    for name in runs:
        df = pd.read_csv(exp / "runs" / name / "metrics.csv")
        assert tuple(df.columns) == METRICS_COLUMNS
        assert df["epoch"].tolist() == [1, 2]
        assert (df["run_id"] == name).all()
        assert df[["train_loss", "clean_train_loss", "test_loss"]].notna().all().all()
        assert df["test_acc"].between(0, 1).all() and df["test_ece"].between(0, 1).all()
        assert (exp / "runs" / name / "DONE").exists()
    mix = pd.read_csv(exp / "runs" / "mixup-a0.4-s0" / "metrics.csv")
    assert (mix["method"] == "mixup").all() and (mix["alpha"] == 0.4).all()
    lam = pd.read_csv(exp / "runs" / "mixup-a0.4-s0" / "lam.csv")
    assert len(lam) == 2 * (72 // 16) and lam["lam"].between(0, 1).all()
    calib = json.loads((exp / "runs" / "baseline-a0-s0" / "calibration.json").read_text())
    assert sum(calib["count"]) == 3 * 8 and calib["epoch"] == 2
    record = json.loads((exp / "experiment.json").read_text())
    assert record["data"]["source"] == "image-folder" and record["data"]["train_images"] == 72
    assert record["versions"]["torch"] and record["device"]["resolved"] == "cpu"
    # the CPU's model and ISA class: bf16 numbers differ between models of one class
    assert record["device"]["name"] not in ("", "x86_64") or not Path("/proc/cpuinfo").exists()
    assert record["device"]["cpu_isa"] == cpu_isa()
    run_cfg = json.loads((exp / "runs" / "mixup-a0.4-s0" / "config.json").read_text())
    assert run_cfg["alpha"] == 0.4 and run_cfg["training"]["epochs"] == 2
    assert "Final epoch" in res.output

    before = {p: p.stat().st_mtime_ns for p in exp.rglob("metrics.csv")}
    again = run_cli(*base_args(tiny_cifar, out))
    assert again.exit_code == 0, again.output
    assert "already done" in again.output
    assert {p: p.stat().st_mtime_ns for p in exp.rglob("metrics.csv")} == before


def test_changed_config_under_same_name_is_refused(tiny_cifar, tmp_path):
    out = tmp_path / "results"
    assert run_cli(*base_args(tiny_cifar, out, "--no-baseline", "--alpha", "1")).exit_code == 0
    args = base_args(tiny_cifar, out)
    args[args.index("--epochs") + 1] = "3"
    res = run_cli(*args)
    assert res.exit_code == 2
    assert "epochs=2" in res.output and "--name" in res.output
    assert len(res.output.strip().splitlines()) == 1
    # adding an arm under the same config is fine and keeps the earlier run
    res = run_cli(*base_args(tiny_cifar, out, "--alpha", "1", "--alpha", "0.2"))
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (out / "default" / "runs").iterdir()) == [
        "baseline-a0-s0",
        "mixup-a0.2-s0",
        "mixup-a1-s0",
    ]


@pytest.mark.slow  # end to end: trains or renders every figure
def test_same_seed_same_init_and_order_across_arms(tiny_cifar, tmp_path):
    """Pairing: with alpha tiny, MixUp is nearly the baseline; with a different seed it is not."""
    out = tmp_path / "r"
    res = run_cli(*base_args(tiny_cifar, out, "--alpha", "0.0001", "--seed", "0", "--seed", "1"))
    assert res.exit_code == 0, res.output
    runs = out / "default" / "runs"

    def metrics(name):
        return pd.read_csv(runs / name / "metrics.csv")

    def final(name):
        return metrics(name).iloc[-1]

    # Beta(1e-4, 1e-4) puts lam within 1e-3 of 0 or 1; lam near 0 swaps the pair, so compare test loss loosely.
    b0, m0, b1 = final("baseline-a0-s0"), final("mixup-a0.0001-s0"), final("baseline-a0-s1")
    assert abs(b0.test_loss - b1.test_loss) > 1e-4  # different seeds really differ
    assert m0.seed == 0
    # Two independent runs of one seed: the MixUp arm starts from the baseline's weights and sees its batches
    # in the same order, so with lam at 0 or 1 (a batch, or a permutation of it) it follows the baseline
    # epoch by epoch, far closer than another seed does.
    base0, mix0 = metrics("baseline-a0-s0"), metrics("mixup-a0.0001-s0")
    assert mix0["epoch"].tolist() == base0["epoch"].tolist() == [1, 2]
    for col in ("train_loss", "clean_train_loss", "test_loss"):
        assert mix0[col].tolist() == pytest.approx(base0[col].tolist(), rel=1e-3), col
        assert abs(b0[col] - b1[col]) > 100 * abs(b0[col] - m0[col]), col
    for col in ("clean_train_acc", "test_acc"):
        assert mix0[col].tolist() == pytest.approx(base0[col].tolist(), abs=0.05), col  # within one test image


@pytest.mark.slow  # end to end: trains or renders every figure
def test_seed_is_really_used(tiny_cifar, tmp_path):
    """Same seed twice gives identical numbers; seed 0 is a real seed (differs from seed 1)."""
    a = run_cli(*base_args(tiny_cifar, tmp_path / "a", "--no-baseline", "--seed", "0"))
    b = run_cli(*base_args(tiny_cifar, tmp_path / "b", "--no-baseline", "--seed", "0"))
    c = run_cli(*base_args(tiny_cifar, tmp_path / "c", "--no-baseline", "--seed", "1"))
    assert a.exit_code == b.exit_code == c.exit_code == 0
    cols = ["train_loss", "clean_train_loss", "test_loss", "test_acc"]

    def read(root, seed):
        return pd.read_csv(root / "default" / "runs" / f"mixup-a0.4-s{seed}" / "metrics.csv")[cols]

    pd.testing.assert_frame_equal(read(tmp_path / "a", 0), read(tmp_path / "b", 0))
    assert not read(tmp_path / "a", 0).equals(read(tmp_path / "c", 1))


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--alpha", "-1"], "--alpha must be at least 0 and at most 1000, got -1."),
        (["--epochs", "0"], "--epochs must be at least 1"),
        (["--model", "resnet9000"], "Unknown model 'resnet9000'"),
        (["--batch-size", "1"], "--batch-size must be at least 2"),
        (["--lr", "0"], "--lr must be above 0 and at most 10, got 0."),
        (["--lr", "inf"], "--lr must be a finite number, got inf."),
        (["--label-noise", "1.5"], "--label-noise must be at least 0 and at most 0.95, got 1.5."),
        (["--label-noise", "-0.1"], "--label-noise must be at least 0 and at most 0.95, got -0.1."),
        (["--preset", "nope"], "Unknown preset 'nope'; choose one of: default, classic, label-noise, paper, cifar100"),
        (["--device", "tpu"], "Unknown device 'tpu'"),
        (["--precision", "fp8"], "Unknown precision 'fp8'"),
        (["--seeds", "0"], "--seeds must be at least 1"),
        (["--seed", "1", "--seeds", "2"], "not both"),
        (["--alpha", "nan"], "--alpha must be a finite number, got nan."),
        (["--alpha", "inf"], "--alpha must be a finite number, got inf."),
        (["--subset", "5"], "--subset must be at least 16 (one batch of 16), got 5."),
        (["--jobs", "0"], "--jobs must be at least 1"),
        (["--backend", "slurm"], "Unknown backend 'slurm'"),
        (["--name", "../x"], "--name must be a plain folder name"),
        (["--val-size", "-1"], "--val-size must be at least 0 (0 = no validation split), got -1."),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tiny_cifar, tmp_path, extra, expected):
    res = run_cli(*base_args(tiny_cifar, tmp_path / "r", *extra))
    assert res.exit_code == 2, res.output
    assert expected in res.output
    assert len(res.output.strip().splitlines()) == 1
    assert "Traceback" not in res.output
    assert not (tmp_path / "r" / "default" / "runs").exists()


def test_subset_larger_than_the_data_is_refused_not_clamped(tiny_cifar, tmp_path):
    res = run_cli(*base_args(tiny_cifar, tmp_path / "r", "--subset", "999999"))
    assert res.exit_code == 2, res.output
    last = res.output.strip().splitlines()[-1]  # after the data-loading progress line
    assert last.startswith("error: --subset 999,999 is larger than the training set (72 images)")
    assert "Traceback" not in res.output
    assert not (tmp_path / "r" / "default").exists()


def test_missing_data_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "nodata" / "train").mkdir(parents=True)
    res = run_cli(*base_args(tmp_path / "nodata", tmp_path / "r"))
    assert res.exit_code == 2
    assert "test/" in res.output and len(res.output.strip().splitlines()) == 1


def test_data_command_describes_the_folder(tiny_cifar):
    res = run_cli("data", "--data-dir", str(tiny_cifar))
    assert res.exit_code == 0, res.output
    assert "image-folder" in res.output and "72 images" in res.output and "cat, dog, frog" in res.output


def test_data_command_without_data_and_without_download(tmp_path):
    res = run_cli("data", "--data-dir", str(tmp_path / "none"))
    assert res.exit_code == 2 and "No CIFAR-10" in res.output


def help_commands(output: str) -> list[str]:
    """The command names in the Commands panel of rich's --help (not words of the descriptions)."""
    panel = output.split("Commands")[1]
    return [m.group(1) for m in re.finditer(r"^│ ([a-z][a-z-]*) ", panel, re.M)]


def test_help_lists_every_command_and_each_has_its_own_help():
    res = runner.invoke(app, ["--help"], env={"COLUMNS": "100"})
    assert res.exit_code == 0, res.output
    listed = help_commands(res.output)
    registered = sorted(typer.main.get_command(app).commands)
    assert sorted(listed) == registered  # every command is listed once, and nothing else
    assert {"run", "plot", "status", "data", "bench"} <= set(listed)
    for cmd in listed:
        sub = runner.invoke(app, [cmd, "--help"], env={"COLUMNS": "100"})
        assert sub.exit_code == 0, sub.output
        assert f"Usage: mixup-bench {cmd} [OPTIONS]" in " ".join(sub.output.split())


def test_validation_columns_hold_the_held_out_images_and_change_no_training_number(tiny_cifar, tmp_path):
    """val_* are measured on images never trained on; with --val-size 0 they are empty. The split only
    takes images out of the pool, so the same subset trains to the same numbers with or without it."""
    with_val = run_cli(*base_args(tiny_cifar, tmp_path / "a", "--val-size", "8", "--subset", "48"))
    without = run_cli(*base_args(tiny_cifar, tmp_path / "b", "--val-size", "0", "--subset", "48"))
    assert with_val.exit_code == 0 and without.exit_code == 0, with_val.output + without.output
    a = pd.read_csv(tmp_path / "a" / "default" / "runs" / "mixup-a0.4-s0" / "metrics.csv")
    b = pd.read_csv(tmp_path / "b" / "default" / "runs" / "mixup-a0.4-s0" / "metrics.csv")
    assert a["val_acc"].between(0, 1).all() and (a["val_loss"] > 0).all()
    assert b["val_loss"].isna().all() and b["val_acc"].isna().all()
    same = ["train_loss", "clean_train_loss", "test_loss", "test_acc", "test_ece"]
    pd.testing.assert_frame_equal(a[same], b[same])
    record = json.loads((tmp_path / "a" / "default" / "experiment.json").read_text())
    assert record["config"]["training"]["val_size"] == 8


# --- settings: --config, presets, --dry-run, --version -----------------------------------------------------


def test_config_file_with_a_wrong_type_is_one_line_naming_the_key_and_the_file(tiny_cifar, tmp_path):
    bad = tmp_path / "mine.toml"
    bad.write_text('epochs = "ten"\n')
    res = run_cli(*base_args(tiny_cifar, tmp_path / "r", "--config", str(bad)))
    assert res.exit_code == 2
    assert res.output.strip().splitlines() == [f'error: {bad}: epochs must be an integer, got "ten".']
    assert not (tmp_path / "r").exists()


def test_flags_override_the_config_file_and_dry_run_writes_nothing(tiny_cifar, tmp_path):
    mine = tmp_path / "mine.toml"
    mine.write_text("epochs = 7\nalphas = [0.2, 1.0]\nlr = 0.05\n")
    res = run_cli(*base_args(tiny_cifar, tmp_path / "r", "--config", str(mine), "--lr", "0.02", "--dry-run"))
    assert res.exit_code == 0, res.output
    assert "epochs = 2\n" in res.output and "lr = 0.02\n" in res.output
    assert 'arms = ["mixup:0.2", "mixup:1"]\n' in res.output
    assert 'name = "mine"' in res.output  # the file's name, as neither the file nor a flag names the experiment
    runs = ["baseline-a0-s0", "mixup-a0.2-s0", "mixup-a1-s0"]
    assert [line.split()[0] for line in res.output.splitlines() if line.startswith("  ")] == runs
    assert all(f"  {r}" in res.output and "new" in res.output for r in runs)
    assert "of 2 epochs: about" in res.output and "Dry run: nothing was trained or written." in res.output
    assert not (tmp_path / "r").exists()


def test_presets_lists_them_and_prints_one_as_a_file_that_run_reads_back(tmp_path):
    listing = run_cli("presets")
    assert listing.exit_code == 0 and all(f"{name}: " in listing.output for name in ("default", "label-noise"))
    printed = run_cli("presets", "label-noise", "--toml")
    assert printed.exit_code == 0, printed.output
    assert "label_noise = 0.4" in printed.output
    (tmp_path / "noise.toml").write_text(printed.output)
    dry = run_cli("run", "--config", str(tmp_path / "noise.toml"), "--dry-run", "--out", str(tmp_path / "r"))
    assert dry.exit_code == 0, dry.output
    assert "label_noise = 0.4" in dry.output and 'name = "label-noise"' in dry.output
    assert f"into {tmp_path / 'r' / 'label-noise'}" in dry.output  # the preset's name, not the file's (integrations.md)
    own = run_cli(
        "run", "--config", str(tmp_path / "noise.toml"), "--name", "noisy", "--dry-run", "--out", str(tmp_path / "r")
    )
    assert own.exit_code == 0 and f"into {tmp_path / 'r' / 'noisy'}" in own.output, own.output
    bad = run_cli("presets", "nope")
    assert bad.exit_code == 2 and "Unknown preset 'nope'" in bad.output


def test_version_names_the_package_and_torch():
    from importlib.metadata import version

    import mixup_bench

    res = run_cli("--version")
    assert res.exit_code == 0
    assert res.output.startswith(f"mixup-bench {mixup_bench.__version__} (torch {version('torch')}")


def test_mlflow_without_a_uri_is_the_local_store():
    """`--mlflow` may end the command or come before another option: then it means ./mlruns."""
    from mixup_bench.cli import _RunCommand

    command = typer.main.get_command(app).commands["run"]
    assert isinstance(command, _RunCommand)
    for args, uri in (
        (["--mlflow"], "mlruns"),
        (["--mlflow", "--epochs", "3"], "mlruns"),
        (["--mlflow", "http://host:5000"], "http://host:5000"),
        (["--mlflow=sqlite:///x.db"], "sqlite:///x.db"),
    ):
        ctx = command.make_context("run", list(args))
        assert ctx.params["mlflow"] == uri, args


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--val-size", "72"], "error: --val-size 72 leaves no training images (the training set has 72)"),
        (["--val-size", "60"], "error: The training pool has 12 images, fewer than one batch of 16"),
        (["--val-size", "8", "--subset", "70"], "error: --subset 70 does not fit beside the 8 validation images"),
    ],
)
def test_a_validation_split_that_leaves_too_few_training_images_is_refused(tiny_cifar, tmp_path, extra, expected):
    """Checked once the data set's size is known: after its loading line, one error line, exit 2, no run."""
    res = run_cli(*base_args(tiny_cifar, tmp_path / "r", *extra))
    assert res.exit_code == 2, res.output
    assert res.output.strip().splitlines()[-1].startswith(expected), res.output
    assert "Traceback" not in res.output
    assert not list((tmp_path / "r").glob("*/runs/*"))


def test_label_noise_that_corrupts_no_label_warns_and_leaves_memorisation_empty(tiny_cifar, tmp_path):
    """round(0.005 x 72 images) = 0 wrong labels: the run says so in one line, and the share of
    memorised noisy labels, a share of no images, is left empty rather than written as 0."""
    res = run_cli(*base_args(tiny_cifar, tmp_path / "r", "--label-noise", "0.005", "--alpha", "0.4"))
    assert res.exit_code == 0, res.output
    warnings = [line for line in res.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2  # one per run (baseline and MixUp)
    assert "--label-noise 0.005 corrupts no training label of its 64 images" in warnings[0]
    df = pd.read_csv(tmp_path / "r" / "default" / "runs" / "baseline-a0-s0" / "metrics.csv")
    assert df["noise_memorised"].isna().all()
