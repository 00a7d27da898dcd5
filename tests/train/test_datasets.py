"""`--dataset`: CIFAR-100, SVHN, Fashion-MNIST, STL-10 and any image folder, read from files written in
torchvision's own on-disk formats (tests/train/dataset_files.py), checked against torchvision's own
classes, trained on for real (tiny), and refused with one line when a file is bad."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torchvision.io import encode_jpeg, encode_png
from typer.testing import CliRunner

from mixup_bench.catalog import check_dataset, dataset_title, recorded_dataset
from mixup_bench.cli import app
from mixup_bench.config import PRESETS, TrainingConfig, training_changes
from mixup_bench.errors import UserError
from mixup_bench.settings import build_experiment
from mixup_bench.train.data import CIFAR10_MEAN, CIFAR10_STD
from mixup_bench.train.datasets import load_dataset
from mixup_bench.train.datasets.common import channel_stats
from mixup_bench.train.datasets.decode import resize_images
from mixup_bench.train.datasets.folder import TEST_EVERY
from tests.train.dataset_files import CLASS_COUNTS, WRITERS, md5

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]


def one_error(result, *needles: str) -> str:
    """The run ended with exit 2 and one error line (after any progress lines) holding every needle."""
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.strip().splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and result.output.strip().splitlines()[-1] == errors[0], result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def files_under(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in sorted(root.rglob("*")) if p.is_file()}


# --- each format, as torchvision reads it ------------------------------------------------------


def test_cifar100_reads_as_torchvision_does(tmp_path, monkeypatch):
    from torchvision.datasets import CIFAR100

    written = WRITERS["cifar100"](tmp_path)
    folder = tmp_path / "cifar-100-python"
    monkeypatch.setattr(CIFAR100, "train_list", [["train", md5(folder / "train")]])
    monkeypatch.setattr(CIFAR100, "test_list", [["test", md5(folder / "test")]])
    monkeypatch.setattr(CIFAR100, "meta", {**CIFAR100.meta, "md5": md5(folder / "meta")})
    ds = load_dataset("cifar100", tmp_path, download=False)
    for train, x, y in ((True, ds.train_x, ds.train_y), (False, ds.test_x, ds.test_y)):
        ref = CIFAR100(str(tmp_path), train=train, download=False)
        assert torch.equal(x, torch.from_numpy(ref.data).permute(0, 3, 1, 2))
        assert y.tolist() == ref.targets
        assert ds.classes == ref.classes and ds.num_classes == 100
    assert torch.equal(ds.train_x, written["train"][0]) and torch.equal(ds.test_y, written["test"][1])
    assert ds.train_x.shape == (40, 3, 32, 32) and ds.train_x.dtype == torch.uint8


def test_svhn_reads_as_torchvision_does_with_ten_as_zero(tmp_path, monkeypatch):
    from torchvision.datasets import SVHN

    written = WRITERS["svhn"](tmp_path)
    split_list = {s: [url, f, md5(tmp_path / f) if (tmp_path / f).exists() else m]
                  for s, (url, f, m) in SVHN.split_list.items()}  # fmt: skip
    monkeypatch.setattr(SVHN, "split_list", split_list)
    ds = load_dataset("svhn", tmp_path, download=False)
    for split, x, y in (("train", ds.train_x, ds.train_y), ("test", ds.test_x, ds.test_y)):
        ref = SVHN(str(tmp_path), split=split, download=False)
        assert torch.equal(x, torch.from_numpy(ref.data)) and y.tolist() == ref.labels.tolist()
        assert torch.equal(x, written[split][0]) and torch.equal(y, written[split][1])
    assert 0 in ds.train_y.tolist() and ds.classes == [str(d) for d in range(10)]


@pytest.mark.parametrize("gz", [False, True])
def test_fashion_mnist_reads_as_torchvision_does_then_becomes_rgb_32(tmp_path, gz):
    from torchvision.datasets import FashionMNIST

    written = WRITERS["fashion-mnist"](tmp_path, gz=gz)
    ds = load_dataset("fashion-mnist", tmp_path, download=False)
    assert ds.train_x.shape == (30, 3, 32, 32) and ds.test_x.shape == (20, 3, 32, 32)
    gray = resize_images(written["train"][0])
    assert torch.equal(ds.train_x, gray.expand(-1, 3, -1, -1))  # the gray value in each channel
    assert torch.equal(ds.train_y, written["train"][1]) and ds.classes == FashionMNIST.classes
    if not gz:  # torchvision reads the extracted files only
        ref = FashionMNIST(str(tmp_path), train=True, download=False)
        assert torch.equal(resize_images(ref.data[:, None]), gray) and ref.targets.tolist() == ds.train_y.tolist()
    facts = ds.describe()
    assert facts["channels"].startswith("gray") and facts["resized"].startswith("28x28 -> 32x32")


def test_stl10_reads_as_torchvision_does_then_is_resized(tmp_path, monkeypatch):
    from torchvision.datasets import STL10

    written = WRITERS["stl10"](tmp_path)
    folder = tmp_path / "stl10_binary"
    monkeypatch.setattr(STL10, "train_list", [[n, md5(folder / n)] for n, _ in STL10.train_list])
    monkeypatch.setattr(STL10, "test_list", [[n, md5(folder / n)] for n, _ in STL10.test_list])
    ds = load_dataset("stl10", tmp_path, download=False)
    ref = STL10(str(tmp_path), split="train", download=False)
    assert torch.equal(torch.from_numpy(ref.data), written["train"][0])
    assert torch.equal(ds.train_x, resize_images(torch.from_numpy(ref.data)))
    assert ds.train_y.tolist() == ref.labels.tolist() and ds.classes == ref.classes
    assert ds.train_x.shape == (20, 3, 32, 32) and ds.describe()["resized"].startswith("96x96 -> 32x32")


def test_statistics_come_from_the_training_split_and_are_recorded(tmp_path):
    WRITERS["svhn"](tmp_path)
    ds = load_dataset("svhn", tmp_path, download=False)
    x = ds.train_x.double() / 255
    assert ds.mean == pytest.approx(tuple(x.mean(dim=(0, 2, 3)).tolist()), abs=1e-4)
    assert ds.std == pytest.approx(tuple(x.std(dim=(0, 2, 3), unbiased=False).tolist()), abs=1e-4)
    info = ds.describe()
    assert info["dataset"] == "svhn" and info["mean"] == list(ds.mean) and info["std"] == list(ds.std)
    assert channel_stats(ds.train_x) == (ds.mean, ds.std)  # the same images, the same numbers


def test_cifar10_keeps_its_published_statistics(tiny_cifar):
    ds = load_dataset("cifar10", tiny_cifar, download=False)
    assert ds.name == "cifar10" and (ds.mean, ds.std) == (CIFAR10_MEAN, CIFAR10_STD)
    assert ds.describe()["dataset"] == "cifar10"


# --- image folders ---------------------------------------------------------------------------------


def write_odd_folder(root: Path, classes: int = 5, train: int = 8, test: int | None = 3) -> Path:
    """`classes` classes of images that are not 32x32: PNG and JPEG, colour and gray, of several sizes."""
    g = torch.Generator().manual_seed(0)
    for split, n in (("train", train), ("test", test)):
        if n is None:
            continue
        for k in range(classes):
            folder = root / split / f"class{k}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                h, w = (40, 24) if i % 2 else (17, 61)
                img = (torch.rand(3, h, w, generator=g) * 60 + 40 * k).to(torch.uint8)
                if i % 3 == 0:
                    (folder / f"{i:03d}.png").write_bytes(bytes(encode_png(img[:1]).numpy()))  # gray
                elif i % 3 == 1:
                    (folder / f"{i:03d}.jpg").write_bytes(bytes(encode_jpeg(img).numpy()))
                else:
                    (folder / f"{i:03d}.png").write_bytes(bytes(encode_png(img).numpy()))
    return root


def test_a_folder_of_any_size_and_five_classes_is_resized_and_cached(tmp_path):
    root = write_odd_folder(tmp_path / "odd")
    ds = load_dataset("folder", root, download=False)
    assert ds.train_x.shape == (40, 3, 32, 32) and ds.test_x.shape == (15, 3, 32, 32)
    assert ds.classes == [f"class{k}" for k in range(5)] and ds.name == "folder"
    assert list((root / ".mixup-bench-cache").glob("*.pt"))
    again = load_dataset("folder", root, download=False)  # from the cache: the same pixels
    assert torch.equal(again.train_x, ds.train_x) and again.mean == ds.mean
    assert dataset_title("folder", str(root)) == "image folder odd"


def test_a_folder_with_train_only_gets_a_test_split_fixed_by_the_data(tmp_path):
    root = write_odd_folder(tmp_path / "only", classes=3, train=11, test=None)
    ds = load_dataset("folder", root, download=False)
    per_class_test = 11 // TEST_EVERY
    assert ds.test_x.shape[0] == 3 * per_class_test and ds.train_x.shape[0] == 3 * (11 - per_class_test)
    assert ds.test_y.tolist() == [k for k in range(3) for _ in range(per_class_test)]
    assert "every 5th image" in ds.describe()["test_split"]
    again = load_dataset("folder", root, download=False)
    assert torch.equal(again.test_x, ds.test_x)  # fixed by the file names, whatever the seed


# --- the CLI: dry runs and tiny real runs --------------------------------------------------------------


def dry_run(dataset: str, data_dir: Path, out: Path, *extra: str):
    args = ["run", "--dataset", dataset, "--data-dir", str(data_dir), "--out", str(out), "--dry-run",
            "--device", "cpu", "--precision", "fp32", "--epochs", "1", *extra]  # fmt: skip
    return runner.invoke(app, args)


@pytest.mark.parametrize("dataset", ["cifar100", "svhn", "fashion-mnist", "stl10", "folder"])
def test_dry_run_works_for_each_data_set(tmp_path, dataset):
    data = tmp_path / "data"
    if dataset == "folder":
        write_odd_folder(data)
        extra = ["--subset", "0", "--val-size", "8", "--batch-size", "8"]
    else:
        extra = ["--val-size", "1000", "--subset", "0"] if dataset == "stl10" else []  # STL-10: 5,000 in all
    res = dry_run(dataset, data, tmp_path / "r", *extra)
    assert res.exit_code == 0, res.output
    assert "Dry run: nothing was trained or written." in res.output
    assert not (tmp_path / "r").exists()


def tiny_run(dataset: str, data_dir: Path, out: Path, *extra: str):
    args = ["run", "--dataset", dataset, "--data-dir", str(data_dir), "--out", str(out), "--name", "tiny",
            "--epochs", "1", "--batch-size", "8", "--subset", "0", "--val-size", "0", "--clean-train-size", "8",
            "--seed", "0", "--jobs", "1", "--device", "cpu", "--precision", "fp32", "--quiet", *extra]  # fmt: skip
    return runner.invoke(app, args)


def check_tiny_run(out: Path, dataset: str, classes: int) -> dict:
    exp = out / "tiny"
    record = json.loads((exp / "experiment.json").read_text())
    assert record["config"]["training"]["dataset"] == dataset and record["data"]["dataset"] == dataset
    assert len(record["data"]["classes"]) == classes and len(record["data"]["mean"]) == 3
    for run in ("baseline-a0-s0", "mixup-a0.4-s0"):
        assert (exp / "runs" / run / "DONE").exists()
        state = torch.load(exp / "runs" / run / "checkpoint.pt", weights_only=False)
        heads = [v for k, v in state["model"].items() if k.endswith("head.weight")]
        assert heads and heads[0].shape[0] == classes  # the class count comes from the data
    return record


@pytest.mark.parametrize("dataset", ["cifar100", "svhn", "fashion-mnist", "stl10"])
def test_a_tiny_real_run_works_on_each_format(tmp_path, dataset):
    WRITERS[dataset](tmp_path / "data")
    before = files_under(tmp_path / "data")
    extra = ["--shift", "--shift-images", "8"] if dataset == "cifar100" else []  # built-in corruptions, 100 classes
    res = tiny_run(dataset, tmp_path / "data", tmp_path / "r", *extra)
    assert res.exit_code == 0, res.output
    check_tiny_run(tmp_path / "r", dataset, CLASS_COUNTS[dataset])
    assert files_under(tmp_path / "data") == before  # read, never written


def test_a_tiny_real_run_works_on_an_odd_image_folder_and_names_it(tmp_path, no_drawing):
    root = write_odd_folder(tmp_path / "pets")
    res = tiny_run("folder", root, tmp_path / "r")
    assert res.exit_code == 0, res.output
    record = check_tiny_run(tmp_path / "r", "folder", 5)
    assert record["data"]["root"].endswith("pets")
    plotted = runner.invoke(app, ["plot", str(tmp_path / "r" / "tiny")])
    assert plotted.exit_code == 0, plotted.output
    assert "Regime: image folder pets, fast-cnn" in (tmp_path / "r" / "tiny" / "summary.md").read_text()


# --- bad input: one line, exit 2, nothing cached ---------------------------------------------------------


def test_an_unknown_data_set_suggests_the_closest_name(tmp_path):
    one_error(dry_run("cifar-100", tmp_path, tmp_path / "r"), "Unknown dataset 'cifar-100'", "did you mean 'cifar100'")
    one_error(runner.invoke(app, ["data", "--dataset", "fashionmnist", "--data-dir", str(tmp_path)]), "'fashion-mnist'")
    with pytest.raises(UserError, match="choose one of: cifar10, cifar100"):
        check_dataset("imagenet")


def data_cmd(dataset: str, data_dir: Path):
    return runner.invoke(app, ["data", "--dataset", dataset, "--data-dir", str(data_dir)])


def test_a_folder_whose_train_and_test_classes_differ_is_named(tmp_path):
    root = write_odd_folder(tmp_path / "odd", classes=3)
    (root / "test" / "class2").rename(root / "test" / "other")
    one_error(data_cmd("folder", root), str(root), "different class folders", "class2", "other")
    assert not (root / ".mixup-bench-cache").exists()


def test_an_image_that_cannot_be_decoded_is_named_and_nothing_is_cached(tmp_path):
    root = write_odd_folder(tmp_path / "odd", classes=3)
    bad = root / "train" / "class1" / "005.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    one_error(data_cmd("folder", root), str(bad), "not a readable image")
    assert not list(root.rglob("*.pt"))


def test_a_class_with_no_training_image_is_named(tmp_path):
    root = write_odd_folder(tmp_path / "odd", classes=3)
    for p in (root / "train" / "class1").iterdir():
        p.unlink()
    one_error(data_cmd("folder", root), str(root / "train" / "class1"), "no .png or .jpg images")
    assert not list(root.rglob("*.pt"))


def cut(path: Path, keep: int) -> None:
    path.write_bytes(path.read_bytes()[:keep])


@pytest.mark.parametrize(
    "dataset, file, keep, needle",
    [
        ("svhn", "train_32x32.mat", 400, "truncated or damaged"),
        ("fashion-mnist", "FashionMNIST/raw/train-images-idx3-ubyte", 2000, "truncated or damaged: expected 23,536"),
        ("fashion-mnist", "FashionMNIST/raw/t10k-labels-idx1-ubyte", 6, "expected an idx header of 8 bytes"),
        ("cifar100", "cifar-100-python/train", 5000, "truncated or damaged: expected a CIFAR-100 python pickle"),
        ("stl10", "stl10_binary/test_X.bin", 30_000, "a whole number of 96x96 colour images"),
    ],
)
def test_a_truncated_file_is_named_with_what_was_expected(tmp_path, dataset, file, keep, needle):
    WRITERS[dataset](tmp_path)
    cut(tmp_path / file, keep)
    before = files_under(tmp_path)
    one_error(data_cmd(dataset, tmp_path), str(tmp_path / file), needle)
    res = tiny_run(dataset, tmp_path, tmp_path / "r")
    one_error(res, str(tmp_path / file))
    assert files_under(tmp_path) == before  # nothing cached, nothing replaced


def test_a_missing_copy_says_what_to_put_there_without_the_network(tmp_path):
    one_error(data_cmd("svhn", tmp_path), "No SVHN in", "train_32x32.mat", "--download")


# --- identity, compare, presets ---------------------------------------------------------------------------


def test_an_old_record_without_the_data_set_reads_as_cifar10():
    old = {k: getattr(TrainingConfig(), k) for k in ("epochs", "batch_size")}
    assert recorded_dataset({"config": {"training": old}}) == "cifar10"
    full = {k: v for k, v in vars(TrainingConfig()).items() if k != "dataset"}
    assert training_changes(full, TrainingConfig()) == []
    assert training_changes(full, TrainingConfig(dataset="svhn")) == ["dataset='cifar10' (now 'svhn')"]


def test_committed_experiments_stay_compatible():
    from mixup_bench.settings import experiment_of

    records = sorted((REPO / "results").glob("*/experiment.json"))
    for path in records:
        record = json.loads(path.read_text())
        training = record["config"]["training"]
        fields = {k: v for k, v in training.items() if k in vars(TrainingConfig())}
        new = experiment_of({**fields, "subset": fields.get("subset") or 0}).training
        assert not [c for c in training_changes(training, new) if c.startswith("dataset")], path


def write_record(folder: Path, dataset: str | None) -> Path:
    folder.mkdir(parents=True)
    training = {"epochs": 2} if dataset is None else {"epochs": 2, "dataset": dataset}
    (folder / "experiment.json").write_text(json.dumps({"name": folder.name, "config": {"training": training}}))
    return folder


def test_compare_refuses_experiments_on_different_data_sets(tmp_path):
    a, b = write_record(tmp_path / "a", None), write_record(tmp_path / "b", "cifar100")
    one_error(runner.invoke(app, ["compare", str(a), str(b)]), "differ", "(cifar10)", "(cifar100)")


def test_corrupted_files_are_refused_for_a_data_set_that_has_none():
    """--cifar10c-dir takes CIFAR-10-C, or CIFAR-100-C (the same layout) with --dataset cifar100; no other."""
    for dataset in ("svhn", "folder"):
        with pytest.raises(UserError, match=f"holds CIFAR-10's or CIFAR-100's test images, not {dataset}'s"):
            build_experiment(dataset=dataset, shift=True, cifar10c_dir="somewhere")
    assert build_experiment(dataset="cifar100", shift=True, cifar10c_dir="somewhere").training.cifar10c_dir


def write_cifar100c(folder: Path, top_label: int = 99) -> Path:
    """A small CIFAR-100-C folder in the official layout (CIFAR-10-C's), its labels running up to `top_label`."""
    import numpy as np

    from tests.train.test_shift import write_cifar10c

    write_cifar10c(folder, per_severity=12, held_out=())
    labels = np.load(folder / "labels.npy").astype(np.int64) * 11  # 0..99: most beyond CIFAR-10's classes
    labels[-1] = top_label
    np.save(folder / "labels.npy", labels)
    return folder


def test_a_tiny_cifar100_run_is_evaluated_on_cifar100c(tmp_path):
    import pandas as pd

    WRITERS["cifar100"](tmp_path / "data")
    folder = write_cifar100c(tmp_path / "c100c")
    res = tiny_run("cifar100", tmp_path / "data", tmp_path / "r", "--shift", "--shift-images", "8",
                   "--cifar10c-dir", str(folder))  # fmt: skip
    assert res.exit_code == 0, res.output
    cells = pd.read_csv(tmp_path / "r" / "tiny" / "runs" / "mixup-a0.4-s0" / "corruptions.csv")
    assert set(cells["source"]) == {"CIFAR-100-C"} and len(cells) == 15 * 5  # the 15 benchmark corruptions
    assert cells["acc"].between(0, 1).all()


def test_cifar100c_labels_outside_its_classes_are_refused_before_training(tmp_path):
    WRITERS["cifar100"](tmp_path / "data")
    folder = write_cifar100c(tmp_path / "c100c", top_label=100)
    args = ["--shift", "--shift-images", "8", "--cifar10c-dir", str(folder)]
    for res in (dry_run("cifar100", tmp_path / "data", tmp_path / "r", *args),
                tiny_run("cifar100", tmp_path / "data", tmp_path / "r", *args)):  # fmt: skip
        one_error(res, "labels.npy holds the label 100, outside CIFAR-100's classes 0..99")
    assert not list((tmp_path / "r").rglob("metrics.csv"))


def test_the_cifar100_presets_say_they_were_not_tuned_here():
    for name in ("cifar100", "paper-cifar100"):
        assert build_experiment(preset=name).training.dataset == "cifar100"
    assert "NOT tuned here" in PRESETS["cifar100"].regime
    paper = build_experiment(preset="paper-cifar100")
    assert paper.training.model == "preact-resnet18" and paper.arms == ("mixup:1",)


def test_another_image_folder_into_the_same_experiment_is_refused_in_one_line(tmp_path):
    """The folder is the data set: its path is part of the experiment's identity, for `run` and the dry run."""
    first, other = write_odd_folder(tmp_path / "pets"), write_odd_folder(tmp_path / "cars", classes=3)
    assert tiny_run("folder", first, tmp_path / "r").exit_code == 0
    record = (tmp_path / "r" / "tiny" / "experiment.json").read_text()
    for res in (tiny_run("folder", other, tmp_path / "r"), tiny_run("folder", other, tmp_path / "r", "--dry-run")):
        one_error(res, "was run on the image folder", str(first.resolve()), f"not {other.resolve()}", "another --name")
    assert (tmp_path / "r" / "tiny" / "experiment.json").read_text() == record  # nothing written
    assert not (other / ".mixup-bench-cache").exists()  # refused before the folder was read
    (tmp_path / "x").mkdir()
    again = tiny_run("folder", tmp_path / "x" / ".." / "pets", tmp_path / "r")  # the same folder, spelled otherwise
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize(
    ("dataset", "extra", "size"),
    [("stl10", [], "5,000"), ("svhn", ["--val-size", "80000"], "73,257"),
     ("cifar10", ["--val-size", "80000"], "50,000"), ("fashion-mnist", ["--val-size", "80000"], "60,000")],
)  # fmt: skip
def test_a_dry_run_checks_the_sizes_of_the_chosen_data_set(tmp_path, dataset, extra, size):
    """The default regime (5,000 validation images) fits CIFAR-10 but not STL-10's 5,000 training images;
    each refusal names the data set's own training set, as `run` does once it has read it."""
    one_error(dry_run(dataset, tmp_path / "absent", tmp_path / "r", *extra), f"the training set has {size}")
    assert not (tmp_path / "r").exists()
