"""CIFAR-100 in torchvision's format: `cifar-100-python/{train,test,meta}`, python pickles of dicts with
`data` (N, 3072) uint8 (the red, green then blue planes of 32x32 images, row-major), `fine_labels` and
`coarse_labels`; `meta` holds `fine_label_names` and `coarse_label_names`. The fine labels (100 classes)
are trained on, as in the MixUp paper and OpenMixup."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch

from mixup_bench.errors import UserError
from mixup_bench.train.data import ImageDataset, Progress
from mixup_bench.train.datasets.common import dataset, fetch, need

NAME = "cifar100"
FOLDER = "cifar-100-python"
ARCHIVE = "cifar-100-python.tar.gz"


def load(data_dir: Path, download: bool, say: Progress) -> ImageDataset:
    folder = data_dir / FOLDER
    if not folder.is_dir() and (data_dir / ARCHIVE).is_file():
        _extract(data_dir / ARCHIVE, data_dir, say)
    elif not folder.is_dir() and download:
        from torchvision.datasets import CIFAR100

        fetch(NAME, data_dir, lambda: CIFAR100(str(data_dir), train=True, download=True), say)
    meta = unpickle(need(folder / "meta", NAME, data_dir), ("fine_label_names",))
    classes = [str(c) for c in meta["fine_label_names"]]
    train, test = (split(need(folder / s, NAME, data_dir)) for s in ("train", "test"))
    return dataset(NAME, "torchvision", data_dir, train, test, classes, {"labels": "fine labels"})


def unpickle(path: Path, keys: tuple[str, ...]) -> dict:
    """A CIFAR pickle as torchvision reads it (latin1), with `keys`; one line for anything else."""
    try:
        with open(path, "rb") as f:
            blob = pickle.load(f, encoding="latin1")
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror or e}.") from None
    except Exception as e:  # noqa: BLE001 - EOFError for a truncated file, UnpicklingError, ...
        raise UserError(
            f"{path} is truncated or damaged: expected a CIFAR-100 python pickle ({type(e).__name__}); "
            "delete it and download again, or put a whole copy there."
        ) from None
    if not isinstance(blob, dict) or any(k not in blob for k in keys):
        raise UserError(f"{path} is not a CIFAR-100 pickle: expected a dict with {', '.join(keys)}.")
    return blob


def split(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    blob = unpickle(path, ("data", "fine_labels"))
    data, labels = np.asarray(blob["data"]), np.asarray(blob["fine_labels"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != data.shape[0]:
        raise UserError(
            f"{path} holds data {data.shape} {data.dtype} and {len(labels)} labels; expected (N, 3072) uint8 "
            "and N fine labels."
        )
    x = torch.from_numpy(data.reshape(-1, 3, 32, 32).copy())
    return x, torch.from_numpy(labels.astype(np.int64))


def _extract(archive: Path, data_dir: Path, say: Progress) -> None:
    from torchvision.datasets.utils import extract_archive

    say(f"Extracting {archive} ...")
    try:
        extract_archive(str(archive), str(data_dir))
    except Exception as e:  # noqa: BLE001 - tarfile.ReadError, EOFError for a cut archive, ...
        raise UserError(f"{archive} cannot be extracted ({type(e).__name__}); delete it and download again.") from None
