"""`run`'s shift options through CliRunner: bad values are one line and exit code 2, before any training;
a run with --shift-every and a CIFAR-10-C folder fills the shift columns and corruptions.csv."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mixup_bench.cli import app
from mixup_bench.results.layout import CORRUPTIONS_FILE
from mixup_bench.results.schema import SHIFT_COLUMNS
from tests.images import write_image_folder
from tests.train.test_shift import write_cifar10c

runner = CliRunner()


def run_args(data_dir, out, *extra: str) -> list[str]:
    return ["run", "--subset", "0", "--val-size", "8", "--jobs", "1", "--seed", "0", "--data-dir", str(data_dir),
            "--out", str(out), "--epochs", "2", "--batch-size", "16", "--device", "cpu", "--precision", "fp32",
            "--model", "fast-cnn", "--shift", "--shift-images", "8", *extra]  # fmt: skip


def one_error_line(res) -> str:
    assert res.exit_code == 2, res.output
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    assert "Traceback" not in res.output
    return lines[0]


def test_shift_every_zero_is_one_line(tiny_cifar, tmp_path):
    line = one_error_line(runner.invoke(app, run_args(tiny_cifar, tmp_path / "r", "--shift-every", "0")))
    assert "--shift-every must be at least 1" in line
    assert not (tmp_path / "r").exists()


def test_a_missing_cifar10c_folder_is_one_line(tiny_cifar, tmp_path):
    res = runner.invoke(app, run_args(tiny_cifar, tmp_path / "r", "--cifar10c-dir", str(tmp_path / "none")))
    assert "does not exist" in one_error_line(res)
    assert not list((tmp_path / "r").rglob("metrics.csv"))


def test_a_truncated_cifar10c_file_is_one_line(tiny_cifar, tmp_path):
    folder = write_cifar10c(tmp_path / "c10c", held_out=())
    path = folder / "zoom_blur.npy"
    path.write_bytes(path.read_bytes()[:2000])
    res = runner.invoke(app, run_args(tiny_cifar, tmp_path / "r", "--cifar10c-dir", str(folder)))
    assert "zoom_blur.npy is truncated" in one_error_line(res)


def test_cifar10c_with_a_data_set_of_other_classes_is_one_line(tiny_cifar, tmp_path):
    folder = write_cifar10c(tmp_path / "c10c", held_out=())
    res = runner.invoke(app, run_args(tiny_cifar, tmp_path / "r", "--cifar10c-dir", str(folder)))
    assert "needs CIFAR-10's 10 classes, but the data set has 3" in one_error_line(res)


@pytest.mark.slow
def test_shift_every_and_cifar10c_fill_the_columns(tmp_path):
    ten = write_image_folder(tmp_path / "ten", classes=tuple(f"class{k}" for k in range(10)), n_train=8, n_test=2)
    folder = write_cifar10c(tmp_path / "c10c", held_out=())
    res = runner.invoke(app, run_args(ten, tmp_path / "r", "--shift-every", "1", "--cifar10c-dir", str(folder),
                                      "--no-baseline"))  # fmt: skip
    assert res.exit_code == 0, res.output
    run_dir = tmp_path / "r" / "default" / "runs" / "mixup-a0.4-s0"
    df = pd.read_csv(run_dir / "metrics.csv")
    assert df[list(SHIFT_COLUMNS)].notna().all().all()
    cells = pd.read_csv(run_dir / CORRUPTIONS_FILE)
    assert set(cells["source"]) == {"CIFAR-10-C"} and len(cells) == 2 * 15 * 5
    assert np.allclose(cells.groupby("epoch")["acc"].mean().to_numpy(), df["corrupt_acc"].to_numpy())


def test_no_shift_leaves_the_columns_empty(tiny_cifar, tmp_path):
    args = run_args(tiny_cifar, tmp_path / "r", "--no-shift", "--no-baseline")
    del args[args.index("--shift-images") : args.index("--shift-images") + 2]  # refused without --shift
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    run_dir = tmp_path / "r" / "default" / "runs" / "mixup-a0.4-s0"
    assert pd.read_csv(run_dir / "metrics.csv")[list(SHIFT_COLUMNS)].isna().all().all()
    assert not (run_dir / CORRUPTIONS_FILE).exists()


def test_shift_options_without_shift_are_one_line(tiny_cifar, tmp_path):
    """The shift evaluation is opt-in (it costs 23-31% of the default preset's time): its settings alone
    would silently do nothing, so they are refused."""
    args = [a for a in run_args(tiny_cifar, tmp_path / "r", "--shift-every", "2") if a != "--shift"]
    line = one_error_line(runner.invoke(app, args))
    assert "--shift-every sets up the shift evaluation, which is off: add --shift." in line
