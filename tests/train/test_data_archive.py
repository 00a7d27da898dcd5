"""torchvision's copy of CIFAR-10 in --data-dir: a whole archive is extracted without the network; a damaged
archive or extracted folder is named with what to do, and never sends `data` or `run` to the network (issue 18,
class 6); a failed download says why. The copies here are tiny fakes in torchvision's format, with torchvision's
MD5 sums replaced by theirs."""

from __future__ import annotations

import errno
import hashlib
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
from torchvision.datasets import CIFAR10
from typer.testing import CliRunner

from mixup_bench.cli import app
from mixup_bench.config import default_data_dir
from mixup_bench.sweep import runner as runner_mod
from mixup_bench.train.datasets.cifar10 import TORCHVISION_ARCHIVE, TORCHVISION_FOLDER

cli = CliRunner()
FOLDER, ARCHIVE = TORCHVISION_FOLDER, TORCHVISION_ARCHIVE
BATCHES = [f"data_batch_{i}" for i in range(1, 6)]


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def copy(tmp_path, monkeypatch) -> Path:
    """<tmp>/cifar: a whole archive and no extracted folder; torchvision's sums are those of these files."""
    work = tmp_path / "work" / FOLDER
    work.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [*BATCHES, "test_batch"]:
        batch = {"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), "labels": [0, 1, 0, 1]}
        (work / name).write_bytes(pickle.dumps(batch))
    (work / "batches.meta").write_bytes(pickle.dumps({"label_names": ["cat", "dog"]}))
    monkeypatch.setattr(CIFAR10, "train_list", [[n, md5(work / n)] for n in BATCHES])
    monkeypatch.setattr(CIFAR10, "test_list", [["test_batch", md5(work / "test_batch")]])
    monkeypatch.setattr(CIFAR10, "meta", {**CIFAR10.meta, "md5": md5(work / "batches.meta")})
    data_dir = tmp_path / "cifar"
    data_dir.mkdir()
    with tarfile.open(data_dir / ARCHIVE, "w:gz") as tar:
        tar.add(work, arcname=FOLDER)
    monkeypatch.setattr(CIFAR10, "tgz_md5", md5(data_dir / ARCHIVE))
    monkeypatch.setattr(CIFAR10, "download", lambda self: pytest.fail("reached for the network"))
    return data_dir


def one_line(result, *needles: str) -> str:
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    assert "Downloading" not in result.output and "Offline" not in result.output
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def test_a_whole_archive_is_extracted_without_the_network(copy):
    result = cli.invoke(app, ["data", "--data-dir", str(copy)])
    assert result.exit_code == 0, result.output
    assert f"Extracting {copy / ARCHIVE}" in result.output and "train: 20 images" in result.output
    assert (copy / FOLDER / "data_batch_1").is_file()
    assert [p.name for p in copy.iterdir() if p.name.startswith(".")] == []  # no temporary folder left


@pytest.mark.parametrize("command", ["data", "data --download", "run"])
def test_a_damaged_archive_is_named_and_never_downloaded_again(copy, tmp_path, command):
    (copy / ARCHIVE).write_bytes((copy / ARCHIVE).read_bytes()[:200])  # a download cut short
    args = command.split() + ["--data-dir", str(copy)]
    if command == "run":
        args += ["--out", str(tmp_path / "results"), "--device", "cpu"]
    one_line(cli.invoke(app, args), f"{copy / ARCHIVE} is damaged", "delete it and run `mixup-bench data --download`")
    assert not (copy / FOLDER).exists()


def test_a_damaged_folder_names_its_file_and_the_fix(copy):
    assert cli.invoke(app, ["data", "--data-dir", str(copy)]).exit_code == 0
    batch = copy / FOLDER / "data_batch_3"
    batch.write_bytes(batch.read_bytes()[:-10])
    line = one_line(cli.invoke(app, ["data", "--data-dir", str(copy)]), f"{batch} is missing or damaged")
    assert f"Delete that folder; the archive {copy / ARCHIVE} is extracted again" in line
    (copy / ARCHIVE).unlink()
    line = one_line(cli.invoke(app, ["data", "--data-dir", str(copy)]), "is damaged")
    assert "extracted again" not in line and "`mixup-bench data --download`" in line


def test_run_with_a_damaged_folder_stops_before_training(copy, tmp_path, monkeypatch):
    (copy / FOLDER).mkdir()
    (copy / FOLDER / "data_batch_1").write_bytes(b"not a pickle")
    monkeypatch.setattr(runner_mod, "write_experiment_record", lambda *a: pytest.fail("went on"))
    result = cli.invoke(app, ["run", "--data-dir", str(copy), "--out", str(tmp_path / "r"), "--device", "cpu"])
    one_line(result, f"The CIFAR-10 folder {copy / FOLDER} is damaged")


def test_a_failed_write_during_the_download_names_the_file(tmp_path, monkeypatch):
    target = tmp_path / "dl" / ARCHIVE

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    monkeypatch.setattr("torchvision.datasets.CIFAR10", disk_full)
    result = cli.invoke(app, ["data", "--download", "--data-dir", str(tmp_path / "dl")])
    assert result.exit_code == 2 and f"cannot write {target}: No space left on device" in result.output
    assert "Offline" not in result.output


def test_an_empty_mixup_bench_data_counts_as_unset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MIXUP_BENCH_DATA", "")
    assert default_data_dir() == Path("data")
    result = cli.invoke(app, ["data"], env={"MIXUP_BENCH_DATA": ""})
    assert result.exit_code == 2 and "No CIFAR-10 in data:" in result.output, result.output
