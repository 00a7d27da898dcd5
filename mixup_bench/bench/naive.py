"""The naive reference pipeline: what a textbook CIFAR-10 + MixUp training script does.

Kept on purpose as an honest baseline for `mixup-bench bench`; nothing here is used for
training. It is the facebookresearch/mixup-cifar10 recipe written the usual way:

- a torchvision-style Dataset that hands out one PIL image at a time (torchvision's
  CIFAR10 or ImageFolder when a data folder is given, else the same over in-memory arrays),
- PIL transforms per sample: RandomCrop(32, padding=4), RandomHorizontalFlip, ToTensor,
  Normalize,
- a DataLoader with worker processes, shuffling, collating and pinning nothing,
- an fp32 model in the default NCHW layout,
- MixUp with `np.random.beta` and `torch.randperm`, and the mixed criterion
  `lam * CE(pred, y_a) + (1 - lam) * CE(pred, y_b)`,
- `loss.item()` every step, as the reference script does for its progress bar.

Its one concession is that every worker is started before timing (persistent workers):
what is measured is steady-state throughput, not start-up.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from mixup_bench.config import TrainingConfig
from mixup_bench.train.data import CIFAR10_MEAN, CIFAR10_STD
from mixup_bench.train.models import build_model


def physical_cores() -> int:
    """CPU cores this process may run on, counting SMT siblings once."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return max(1, (os.cpu_count() or 2) // 2)
    cores = set()
    for cpu in cpus:
        path = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list")
        try:
            cores.add(path.read_text().strip())
        except OSError:
            cores.add(str(cpu))
    return max(1, len(cores))


def default_workers(cores: int | None = None) -> int:
    """DataLoader workers for the naive pipeline on this machine: one per physical core, at most 8.

    Chosen by measurement so that the naive side gets its best showing (a conservative ratio).
    On the 2-core reference CPU, batch 256, synthetic data, medians of 3 rounds: 0 workers
    562 img/s, 1 worker 568, 2 workers 588 (docs/performance.md). The workers sleep while
    their prefetch queue is full, so they cost the training process little; past 8 they only
    add start-up time and memory.
    """
    cores = cores or physical_cores()
    return max(1, min(8, cores))


def naive_transform():
    """torchvision's per-sample PIL pipeline: crop with zero padding, flip, to tensor, normalise."""
    from torchvision import transforms as T

    return T.Compose(
        [
            T.RandomCrop(32, padding=4),
            T.RandomHorizontalFlip(),
            T.ToTensor(),
            T.Normalize(CIFAR10_MEAN, CIFAR10_STD),
        ]
    )


class PILArrayDataset(Dataset):
    """Images kept as a uint8 (N, 32, 32, 3) array, handed out one PIL image at a time.

    This is exactly what torchvision.datasets.CIFAR10 does with its in-memory arrays.
    """

    def __init__(self, images_hwc: np.ndarray, labels: np.ndarray, transform=None):
        self.images = images_hwc
        self.labels = labels
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        from PIL import Image

        img = Image.fromarray(self.images[i])
        if self.transform is not None:
            img = self.transform(img)
        return img, int(self.labels[i])


def naive_dataset(x_uint8_nchw: torch.Tensor, y: torch.Tensor, data_dir: Path | None, source: str | None) -> Dataset:
    """The naive Dataset: torchvision's own classes when the data came from disk, else PIL over arrays.

    Args:
        x_uint8_nchw: the training images (N, 3, 32, 32) uint8, used when no folder is given.
        y: their labels (N,).
        data_dir: the folder the data came from, or None (synthetic data).
        source: "image-folder", "torchvision" or None.
    """
    tf = naive_transform()
    if data_dir is not None and source == "image-folder":
        from torchvision.datasets import ImageFolder

        return ImageFolder(str(Path(data_dir) / "train"), transform=tf)  # decodes the files every epoch
    if data_dir is not None and source == "torchvision":
        from torchvision.datasets import CIFAR10

        return CIFAR10(str(data_dir), train=True, download=False, transform=tf)
    images = x_uint8_nchw.permute(0, 2, 3, 1).contiguous().numpy()  # HWC, as PIL wants
    return PILArrayDataset(images, y.numpy(), tf)


def mixup_data(
    x: torch.Tensor, y: torch.Tensor, alpha: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    """MixUp as in facebookresearch/mixup-cifar10: one lam per batch from numpy's global RNG."""
    lam = float(np.random.beta(alpha, alpha)) if alpha > 0 else 1.0
    index = torch.randperm(x.size(0))
    mixed_x = lam * x + (1 - lam) * x[index, :]
    return mixed_x, y, y[index], lam


def mixup_criterion(criterion, pred: torch.Tensor, y_a: torch.Tensor, y_b: torch.Tensor, lam: float) -> torch.Tensor:
    return lam * criterion(pred, y_a) + (1 - lam) * criterion(pred, y_b)


class NaivePipeline:
    """DataLoader + fp32 NCHW model + textbook MixUp; `step()` runs one SGD step on the next batch.

    SGD with Nesterov momentum at a constant lr; lr, momentum and weight decay default to TrainingConfig's.
    """

    def __init__(
        self,
        dataset: Dataset,
        model_name: str,
        num_classes: int,
        batch_size: int,
        workers: int,
        alpha: float,
        device: torch.device,
        seed: int = 0,
        lr: float = TrainingConfig.lr,
        momentum: float = TrainingConfig.momentum,
        weight_decay: float = TrainingConfig.weight_decay,
    ):
        torch.manual_seed(seed)
        np.random.seed(seed)
        self.device = device
        self.alpha = alpha
        self.model: nn.Module = build_model(model_name, num_classes).to(device)
        self.model.train()
        self.optimizer = torch.optim.SGD(
            self.model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=True
        )
        self.criterion = nn.CrossEntropyLoss()
        self.loader = DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=True,
            num_workers=workers,
            drop_last=True,
            persistent_workers=workers > 0,
        )
        self._it: Iterator | None = None
        self.train_loss = 0.0

    def _next_batch(self):
        if self._it is not None:
            try:
                return next(self._it)
            except StopIteration:
                pass
        self._it = iter(self.loader)  # a new epoch
        return next(self._it)

    def step(self) -> float:
        inputs, targets = self._next_batch()
        inputs, targets = inputs.to(self.device), targets.to(self.device)
        inputs, targets_a, targets_b, lam = mixup_data(inputs, targets, self.alpha)
        outputs = self.model(inputs)
        loss = mixup_criterion(self.criterion, outputs, targets_a, targets_b, lam)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        value = loss.item()  # the reference script's running loss: a host sync per step
        self.train_loss += value
        return value

    def close(self) -> None:
        """Stop the worker processes."""
        self._it = None
        self.loader = None  # type: ignore[assignment]
