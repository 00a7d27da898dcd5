"""Fashion-MNIST in torchvision's format: `FashionMNIST/raw/` holding the four idx files (extracted, or
still .gz): `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`,
`t10k-labels-idx1-ubyte`. An idx file is a big-endian header (0, 0, type 0x08 = ubyte, number of
dimensions) and one int32 per dimension, then the data. The 28x28 gray images are resized to 32x32 and
copied into 3 channels (`common.to_model_images`)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import torch

from mixup_bench.errors import UserError
from mixup_bench.train.data import ImageDataset, Progress
from mixup_bench.train.datasets.common import dataset, fetch, need, read, truncated

NAME = "fashion-mnist"
RAW = Path("FashionMNIST") / "raw"
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def load(data_dir: Path, download: bool, say: Progress) -> ImageDataset:
    if download and not all(_present(data_dir / RAW / f) for pair in FILES.values() for f in pair):
        from torchvision.datasets import FashionMNIST

        fetch(NAME, data_dir, lambda: FashionMNIST(str(data_dir), train=True, download=True), say)
    splits = []
    for images, labels in FILES.values():
        x = read_idx(_file(data_dir, images), 3)
        y = read_idx(_file(data_dir, labels), 1)
        if y.shape[0] != x.shape[0]:
            raise UserError(f"{_file(data_dir, labels)} holds {y.shape[0]:,} labels for {x.shape[0]:,} images.")
        splits.append((x[:, None], y.to(torch.int64)))
    return dataset(NAME, "torchvision", data_dir, splits[0], splits[1], list(CLASSES))


def _present(path: Path) -> bool:
    return path.is_file() or path.with_name(path.name + ".gz").is_file()


def _file(data_dir: Path, name: str) -> Path:
    path = data_dir / RAW / name
    gz = path.with_name(name + ".gz")
    return path if path.is_file() or not gz.is_file() else gz


def read_idx(path: Path, dims: int) -> torch.Tensor:
    """An idx file of unsigned bytes with `dims` dimensions, as a uint8 tensor; one line naming the file for a
    missing, truncated or foreign one."""
    raw = read(need(path, NAME, path.parents[2]))
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise UserError(f"{path} is truncated or damaged ({e}); delete it and download again.") from None
    head = 4 + 4 * dims
    if len(raw) < head:
        raise truncated(path, f"an idx header of {head} bytes", len(raw))
    zero, kind, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or kind != 0x08 or ndim != dims:
        raise UserError(f"{path} is not an idx file of bytes with {dims} dimension(s) (magic {raw[:4].hex()}).")
    shape = struct.unpack(f">{dims}i", raw[4:head])
    size = head + int(torch.tensor(shape).prod())
    if len(raw) != size:
        raise truncated(path, f"{size:,} bytes for {' x '.join(map(str, shape))} values", len(raw))
    return torch.frombuffer(bytearray(raw[head:]), dtype=torch.uint8).reshape(shape)
