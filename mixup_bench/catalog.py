"""The data sets `run --dataset NAME` knows: their names, titles and sizes (no torch, no files read).

`train.datasets` loads them; this module only names them, so that the config, the analysis and the
reports can say which data set an experiment holds without importing the training code. A record
written before the data set was recorded (no `dataset` key) is CIFAR-10, the only one there was.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import PurePath

from mixup_bench.errors import UserError

DEFAULT_DATASET = "cifar10"
FOLDER = "folder"  # any image folder: --dataset folder --data-dir DIR
IMAGE_SIZE = 32  # every image is resized to IMAGE_SIZE x IMAGE_SIZE: the built-in models are made for it


@dataclass(frozen=True)
class DatasetInfo:
    """A data set by name: its title, its split sizes (None: known only once read) and how to get it offline."""

    name: str
    title: str
    train_images: int | None
    test_images: int | None
    offline: str  # what to put in --data-dir to use it without the network


DATASETS: dict[str, DatasetInfo] = {
    d.name: d
    for d in (
        DatasetInfo("cifar10", "CIFAR-10", 50_000, 10_000,
                    "cifar-10-python.tar.gz or cifar-10-batches-py/, or train/<class>/ + test/<class>/ 32x32 images"),
        DatasetInfo("cifar100", "CIFAR-100", 50_000, 10_000, "cifar-100-python.tar.gz or cifar-100-python/"),
        DatasetInfo("svhn", "SVHN", 73_257, 26_032, "train_32x32.mat and test_32x32.mat"),
        DatasetInfo("fashion-mnist", "Fashion-MNIST", 60_000, 10_000,
                    "FashionMNIST/raw/ with the four idx files (.gz or extracted)"),
        DatasetInfo("stl10", "STL-10", 5_000, 8_000, "stl10_binary.tar.gz or stl10_binary/"),
        DatasetInfo(FOLDER, "image folder", None, None,
                    "train/<class>/* (and test/<class>/*; without it every 5th image of a class is the test split)"),
    )
}  # fmt: skip


# The published corrupted test sets `--cifar10c-dir` takes (Hendrycks & Dietterich, 2019), by the data set
# whose test images they corrupt: their title and the class count their labels.npy must keep to. The one
# option serves both (CIFAR-100-C has CIFAR-10-C's layout); no other data set has one.
CORRUPTED_SETS: dict[str, tuple[str, int]] = {"cifar10": ("CIFAR-10-C", 10), "cifar100": ("CIFAR-100-C", 100)}


def check_dataset(name: str) -> None:
    """One line for a name that is no data set, with the closest known name."""
    if name in DATASETS:
        return
    close = difflib.get_close_matches(name.lower(), DATASETS, n=1, cutoff=0.5)
    choose = f"one of: {', '.join(DATASETS)}."
    hint = f"did you mean {close[0]!r}? Choose {choose}" if close else f"choose {choose}"
    raise UserError(f"Unknown dataset {name!r}; {hint}")


def dataset_title(name: object, root: object = None) -> str:
    """The data set in words for titles and reports: 'CIFAR-100'; an image folder by its folder's name;
    a name this version does not know, as it is."""
    name = name if isinstance(name, str) and name else DEFAULT_DATASET
    info = DATASETS.get(name)
    if info is None:
        return name
    if name == FOLDER and isinstance(root, str) and root:
        return f"image folder {PurePath(root).name}"
    return info.title


def recorded_dataset(record: object) -> str:
    """The data set of an experiment.json record (or of its config.training object): CIFAR-10 when not recorded."""
    if not isinstance(record, dict):
        return DEFAULT_DATASET
    config = record.get("config")
    training = config.get("training") if isinstance(config, dict) else record
    name = training.get("dataset") if isinstance(training, dict) else None
    return name if isinstance(name, str) and name else DEFAULT_DATASET


def record_title(record: object) -> str:
    """The data set of an experiment.json record in words (an image folder named by its folder)."""
    data = record.get("data") if isinstance(record, dict) else None
    return dataset_title(recorded_dataset(record), data.get("root") if isinstance(data, dict) else None)
