"""SVHN in torchvision's format: `train_32x32.mat` and `test_32x32.mat` (MATLAB v5) in the data folder,
each with `X` (32, 32, 3, N) uint8 and `y` (N, 1), where the digit 0 is labelled 10 (torchvision makes it 0).
The extra split is not used."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mixup_bench.errors import UserError
from mixup_bench.train.data import ImageDataset, Progress
from mixup_bench.train.datasets.common import dataset, fetch, need

NAME = "svhn"
FILES = {"train": "train_32x32.mat", "test": "test_32x32.mat"}


def load(data_dir: Path, download: bool, say: Progress) -> ImageDataset:
    if download:
        from torchvision.datasets import SVHN

        for split_name, file in FILES.items():
            if not (data_dir / file).is_file():
                fetch(NAME, data_dir, lambda s=split_name: SVHN(str(data_dir), split=s, download=True), say)
    train, test = (split(need(data_dir / FILES[s], NAME, data_dir)) for s in ("train", "test"))
    return dataset(NAME, "torchvision", data_dir, train, test, [str(d) for d in range(10)])


def split(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    import scipy.io as sio

    try:
        mat = sio.loadmat(str(path))
    except OSError as e:
        if e.errno is not None:  # the file system's error; scipy's own OSError ("could not read bytes") has none
            raise UserError(f"cannot read {path}: {e.strerror or e}.") from None
        raise _damaged(path, e) from None
    except Exception as e:  # noqa: BLE001 - scipy: ValueError, MatReadError, ... for a cut or foreign file
        raise _damaged(path, e) from None
    x, y = mat.get("X"), mat.get("y")
    if not isinstance(x, np.ndarray) or x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.dtype != np.uint8:
        raise UserError(f"{path}: expected X of shape (32, 32, 3, N) uint8, found {getattr(x, 'shape', None)}.")
    if not isinstance(y, np.ndarray) or y.size != x.shape[3]:
        raise UserError(f"{path}: expected y with one label per image ({x.shape[3]:,}), found {getattr(y, 'size', 0)}.")
    labels = y.reshape(-1).astype(np.int64)
    labels[labels == 10] = 0  # as torchvision: the digit 0 is stored as 10
    return torch.from_numpy(np.transpose(x, (3, 2, 0, 1)).copy()), torch.from_numpy(labels)


def _damaged(path: Path, e: Exception) -> UserError:
    reason = (str(e).splitlines() or [type(e).__name__])[0]
    return UserError(
        f"{path} is truncated or damaged ({reason}): expected a MATLAB .mat file with X (32, 32, 3, N) uint8 "
        "and y (N, 1); delete it and download again, or put a whole copy there."
    )
