"""What every data set ends as: an `ImageDataset` (`Cifar10` is its old name) of uint8 images (N, 3, 32, 32)
and int64 labels (N,), named, with the statistics it is normalised by.

There is no per-sample PIL path: each reader takes its arrays whole or decodes image files once and caches
them as tensors. The readers: CIFAR-10 from torchvision's files or an image folder (`datasets.cifar10`),
image folders and their cache (`datasets.image_folder`), decoding image files (`datasets.decode`), and the
other data sets of `--dataset` (train/datasets/).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from mixup_bench.catalog import IMAGE_SIZE
from mixup_bench.streams import shown

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)  # per-channel, on the [0, 1] scale
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
DOWNLOAD_TIMEOUT_S = 30  # every reader's download: urllib would otherwise wait forever offline

Progress = Callable[[str], None]


@dataclass
class ImageDataset:
    """A whole data set in memory (about 180 MB for CIFAR-10), named, with the statistics it is normalised by."""

    train_x: torch.Tensor  # (N_train, 3, 32, 32) uint8
    train_y: torch.Tensor  # (N_train,) int64
    test_x: torch.Tensor  # (N_test, 3, 32, 32) uint8
    test_y: torch.Tensor  # (N_test,) int64
    classes: list[str]
    source: str  # "torchvision" or "image-folder" (or another data set's format: "svhn-mat", "idx", ...)
    root: Path
    name: str = "cifar10"  # catalog.DATASETS
    mean: tuple[float, float, float] = CIFAR10_MEAN  # per channel, [0, 1] scale: what Normalize subtracts
    std: tuple[float, float, float] = CIFAR10_STD
    facts: dict = field(default_factory=dict)  # how the images were made 3x32x32, the declared test split, ...

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def describe(self) -> dict:
        """A JSON-ready summary, stored in experiment.json and printed by `data`. Names whose bytes are
        not UTF-8 (a class folder, the data folder) are written `streams.shown` (\\xNN)."""
        return {
            "dataset": self.name,
            "source": self.source,
            "root": shown(str(self.root.resolve())),
            "classes": [shown(c) for c in self.classes],
            "train_images": int(self.train_x.shape[0]),
            "test_images": int(self.test_x.shape[0]),
            "train_per_class": torch.bincount(self.train_y, minlength=self.num_classes).tolist(),
            "test_per_class": torch.bincount(self.test_y, minlength=self.num_classes).tolist(),
            "image_size": [3, IMAGE_SIZE, IMAGE_SIZE],
            "mean": list(self.mean),
            "std": list(self.std),
            **self.facts,
        }


Cifar10 = ImageDataset  # the old name, kept for the callers that still use it
