"""Small data sets written in torchvision's exact on-disk formats, for tests/train/test_datasets.py.

Each writer puts a few dozen images where torchvision's class for that data set looks for them (under
`root`, the --data-dir), with class-dependent colours so a tiny net can learn something, and returns the
(train, test) images as (N, C, H, W) uint8 and labels as the reader should find them."""

from __future__ import annotations

import gzip
import hashlib
import pickle
import struct
from pathlib import Path

import numpy as np
import torch


def images(n: int, channels: int, side: int, classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, channels, side, side) uint8 images whose colour depends on the label, and the labels 0..classes-1."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    base = (40 + 170 * (y / max(1, classes - 1)))[:, None, None, None]
    x = base + rng.normal(0, 30, (n, channels, side, side))
    x[:, :1] = 255 - x[:, :1]  # the first channel goes the other way: colour, not brightness alone
    return np.clip(x, 0, 255).astype(np.uint8), y.astype(np.int64)


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def write_cifar100(root: Path, n_train: int = 40, n_test: int = 20) -> dict:
    """cifar-100-python/{train,test,meta}: dicts with data (N, 3072), fine_labels, coarse_labels, as pickled."""
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for i, (name, n) in enumerate((("train", n_train), ("test", n_test))):
        x, y = images(n, 3, 32, 100, seed=i)
        blob = {
            "filenames": [f"img_{k}.png" for k in range(n)],
            "batch_label": f"{name}ing batch 1 of 1",
            "fine_labels": y.tolist(),
            "coarse_labels": (y // 5).tolist(),
            "data": x.reshape(n, -1),
        }
        (folder / name).write_bytes(pickle.dumps(blob, protocol=2))
        out[name] = (torch.from_numpy(x), torch.from_numpy(y))
    meta = {"fine_label_names": [f"fine{k:02d}" for k in range(100)],
            "coarse_label_names": [f"coarse{k:02d}" for k in range(20)]}  # fmt: skip
    (folder / "meta").write_bytes(pickle.dumps(meta, protocol=2))
    return out


def write_svhn(root: Path, n_train: int = 30, n_test: int = 20) -> dict:
    """train_32x32.mat and test_32x32.mat: X (32, 32, 3, N) uint8 and y (N, 1), the digit 0 stored as 10."""
    from scipy.io import savemat

    root.mkdir(parents=True, exist_ok=True)
    out = {}
    for i, (name, n) in enumerate((("train", n_train), ("test", n_test))):
        x, y = images(n, 3, 32, 10, seed=10 + i)
        stored = np.where(y == 0, 10, y).astype(np.uint8).reshape(n, 1)
        savemat(str(root / f"{name}_32x32.mat"), {"X": np.transpose(x, (2, 3, 1, 0)), "y": stored})
        out[name] = (torch.from_numpy(x), torch.from_numpy(y))
    return out


def idx_bytes(array: np.ndarray) -> bytes:
    """An idx file of unsigned bytes: 0, 0, 0x08, the number of dimensions, the sizes (big-endian int32), the data."""
    return struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}i", *array.shape) + array.tobytes()


def write_fashion_mnist(root: Path, n_train: int = 30, n_test: int = 20, gz: bool = False) -> dict:
    """FashionMNIST/raw/ with the four idx files (or their .gz, as downloaded): 28x28 gray images."""
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    out = {}
    for i, (prefix, name, n) in enumerate((("train", "train", n_train), ("t10k", "test", n_test))):
        x, y = images(n, 1, 28, 10, seed=20 + i)
        for path, data in ((raw / f"{prefix}-images-idx3-ubyte", idx_bytes(x[:, 0])),
                           (raw / f"{prefix}-labels-idx1-ubyte", idx_bytes(y.astype(np.uint8)))):  # fmt: skip
            if gz:
                path.with_name(path.name + ".gz").write_bytes(gzip.compress(data))
            else:
                path.write_bytes(data)
        out[name] = (torch.from_numpy(x), torch.from_numpy(y))
    return out


def write_stl10(root: Path, n_train: int = 20, n_test: int = 20) -> dict:
    """stl10_binary/: {train,test}_X.bin (N 96x96 images, planes stored column-major), {train,test}_y.bin
    (labels 1..10), class_names.txt, and an empty unlabeled_X.bin."""
    folder = root / "stl10_binary"
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for i, (name, n) in enumerate((("train", n_train), ("test", n_test))):
        x, y = images(n, 3, 96, 10, seed=30 + i)
        (folder / f"{name}_X.bin").write_bytes(np.ascontiguousarray(np.transpose(x, (0, 1, 3, 2))).tobytes())
        (folder / f"{name}_y.bin").write_bytes((y + 1).astype(np.uint8).tobytes())
        out[name] = (torch.from_numpy(x), torch.from_numpy(y))
    (folder / "unlabeled_X.bin").write_bytes(b"")
    names = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"]
    (folder / "class_names.txt").write_text("\n".join(names) + "\n")
    return out


WRITERS = {"cifar100": write_cifar100, "svhn": write_svhn, "fashion-mnist": write_fashion_mnist, "stl10": write_stl10}
CLASS_COUNTS = {"cifar100": 100, "svhn": 10, "fashion-mnist": 10, "stl10": 10}
