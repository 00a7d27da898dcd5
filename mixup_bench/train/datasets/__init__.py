"""`run --dataset NAME`: every data set as an `ImageDataset` of 3x32x32 uint8 images, one reader per format.

cifar10 is `cifar10.load_cifar10`, unchanged (its published normalisation statistics, so committed
results keep their numbers). The others read torchvision's own on-disk formats (downloaded through
torchvision when absent and `download`), convert gray to RGB and other sizes to 32x32
(`common.to_model_images`) and compute their normalisation statistics from their training split.
Every failure is a UserError with one line naming the file and what was expected; nothing is cached
before the whole data set has been read.
"""

from __future__ import annotations

from pathlib import Path

from mixup_bench.catalog import DATASETS, DEFAULT_DATASET, FOLDER, check_dataset
from mixup_bench.errors import UserError
from mixup_bench.train.data import ImageDataset, Progress
from mixup_bench.train.datasets.cifar10 import load_cifar10


def load_dataset(
    name: str = DEFAULT_DATASET, data_dir: Path = Path("data"), download: bool = True, progress: Progress | None = None
) -> ImageDataset:
    """Load data set `name` (catalog.DATASETS) from `data_dir`."""
    check_dataset(name)
    data_dir = Path(data_dir)
    if name == DEFAULT_DATASET:
        return load_cifar10(data_dir, download, progress)
    if data_dir.exists() and not data_dir.is_dir():
        raise UserError(f"--data-dir {data_dir} is a file; give a folder.")
    say = progress or (lambda msg: None)
    return _reader(name).load(data_dir, download, say)


def _reader(name: str):
    from mixup_bench.train.datasets import cifar100, fashion_mnist, folder, stl10, svhn

    return {"cifar100": cifar100, "svhn": svhn, "fashion-mnist": fashion_mnist, "stl10": stl10, FOLDER: folder}[name]


def split_sizes(name: str, data_dir: Path) -> tuple[int, int] | None:
    """(train, test) images of a data set without reading it (`run --dry-run`): the published sizes, or an
    image folder's file counts; None when they cannot be known without reading it."""
    info = DATASETS[name]
    if info.train_images is not None and info.test_images is not None:
        return info.train_images, info.test_images
    from mixup_bench.train.datasets.folder import count_images

    return count_images(Path(data_dir))
