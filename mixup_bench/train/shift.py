"""Generalisation under shift: accuracy on corrupted test images and under adversarial attack.

"Generalises better" is otherwise measured on one thing, the clean test set. MixUp's paper also
claims robustness to adversarial examples, and later work found it more robust to common
corruptions (AugMix's CIFAR-10-C table). `evaluate_shift` measures both on the run's test split:

- corruptions: every built-in corruption (`corruptions.CORRUPTIONS`, 12 types x 5 severities) of a
  fixed subset of `corrupt_images` test images, or the official CIFAR-10-C files with
  `cifar10c_dir` (`cifar10c`, 15-19 types, the same subset positions). Loss, accuracy and ECE per
  (type, severity), evaluated like the clean test set (eval mode, the run's autocast).
- attacks: FGSM at eps 1/255, 2/255, 4/255 and PGD-10 at 2/255 (`adversarial`) on a fixed subset
  of ATTACK_IMAGES test images, in fp32.

It changes nothing the run computes: the model is evaluated in eval mode through a folded copy, no
parameter gradient is made, the global RNG is never drawn from, and its random draws (noise,
PGD's random starts) come from a generator seeded anew at every evaluation from the run's seed
(`shift_generator`): every arm of a seed sees the same corrupted images, at every epoch, after a
resume too. The subsets are the same for every seed and arm (`splits.fixed_subset`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from mixup_bench.catalog import CORRUPTED_SETS, DEFAULT_DATASET
from mixup_bench.config import RunConfig, TrainingConfig
from mixup_bench.metrics import M
from mixup_bench.results.schema import SHIFT_SECONDS
from mixup_bench.train import adversarial, cifar10c
from mixup_bench.train.corruptions import CORRUPTIONS, SEVERITIES, corrupt
from mixup_bench.train.evaluate import ECE_BINS, calibration_bins, fold_batchnorm
from mixup_bench.train.splits import Split, derive_seed, fixed_subset
from mixup_bench.train.step import Normalize

ATTACK_IMAGES = 2_000  # test images every attack is run on
FGSM_EPSILONS = {1: 1 / 255, 2: 2 / 255, 4: 4 / 255}  # metrics.csv column fgsm_acc_<k> -> epsilon (pixel scale)
PGD_EPSILONS = {2: 2 / 255}  # pgd_acc_<k> -> epsilon
BUILT_IN, CIFAR10C = "built-in", "CIFAR-10-C"


def shift_due(epoch: int, epochs: int, every: int | None) -> bool:
    """Whether the shift evaluation runs after `epoch`: at the last epoch, and every `every` epochs when given."""
    return epoch == epochs or (every is not None and every > 0 and epoch % every == 0)


def shift_generator(seed: int, device: torch.device) -> torch.Generator:
    """The shift evaluation's own random stream for run seed `seed`, on `device`, at its start."""
    return torch.Generator(device=device).manual_seed(derive_seed(seed, "shift"))


@dataclass(frozen=True)
class Cell:
    """One corruption at one severity: mean cross-entropy, accuracy and 15-bin ECE on its images."""

    type: str
    severity: int
    loss: float
    acc: float
    ece: float


@dataclass
class ShiftResult:
    """What one shift evaluation measured, as plain numbers."""

    cells: list[Cell]  # every (type, severity), in CORRUPTIONS (or CIFAR-10-C) order
    fgsm_acc: dict[int, float]  # FGSM_EPSILONS key -> accuracy
    pgd_acc: dict[int, float]  # PGD_EPSILONS key -> accuracy
    source: str = BUILT_IN  # BUILT_IN, CIFAR10C, or CIFAR-100-C (catalog.CORRUPTED_SETS)
    seconds: float = 0.0  # wall time of the whole evaluation
    corrupt_images: int = 0  # images per cell
    attack_images: int = 0

    def _mean(self, key: str) -> float:
        values = [getattr(c, key) for c in self.cells]
        return sum(values) / len(values) if values else math.nan

    def columns(self) -> dict:
        """The values of the metrics.csv row's shift columns (results.schema.SHIFT_COLUMNS, in that order):
        corrupt_* are means over types and severities."""
        return {
            M.corrupt_acc.name: self._mean("acc"),
            M.corrupt_loss.name: self._mean("loss"),
            M.corrupt_ece.name: self._mean("ece"),
            **{f"fgsm_acc_{k}": v for k, v in self.fgsm_acc.items()},
            **{f"pgd_acc_{k}": v for k, v in self.pgd_acc.items()},
            SHIFT_SECONDS: self.seconds,
        }

    def rows(self, epoch: int) -> list[dict]:
        """The corruptions.csv rows of this evaluation (results.schema.CORRUPTION_COLUMNS)."""
        return [
            {"epoch": epoch, "source": self.source, "type": c.type, "severity": c.severity,
             "images": self.corrupt_images, "acc": c.acc, "loss": c.loss, "ece": c.ece}
            for c in self.cells
        ]  # fmt: skip


def shift_for_epoch(
    cfg: RunConfig,
    epoch: int,
    model: nn.Module,
    test: Split,
    normalize: Normalize,
    amp: torch.dtype | None,
    stop: Callable[[], bool] | None = None,
) -> ShiftResult | None:
    """The run's shift evaluation after `epoch`, or None when it is off or not due (see `shift_due`).
    stop: asked between cells; when it turns true, `ShiftStopped` ends the evaluation there."""
    tc = cfg.training
    if not (tc.shift and shift_due(epoch, tc.epochs, tc.shift_every)):
        return None
    generator = shift_generator(cfg.seed, test.x.device)
    return evaluate_shift(
        model,
        test,
        normalize,
        tc.eval_batch_size,
        amp,
        generator,
        tc.shift_images,
        tc.cifar10c_dir,
        stop,
        tc.dataset,
    )


class ShiftStopped(Exception):
    """The user asked to stop during a shift evaluation; what it measured so far is dropped."""


def _check_stop(stop: Callable[[], bool] | None) -> None:
    if stop is not None and stop():
        raise ShiftStopped()


def evaluate_shift(
    model: nn.Module,
    test: Split,
    normalize: Normalize,
    batch_size: int,
    autocast_dtype: torch.dtype | None,
    generator: torch.Generator,
    corrupt_images: int = TrainingConfig.shift_images,
    cifar10c_dir: str | Path | None = None,
    stop: Callable[[], bool] | None = None,
    dataset: str = DEFAULT_DATASET,
) -> ShiftResult:
    """Corruption and attack accuracies of `model` on fixed subsets of the test split (see the module doc).

    corrupt_images: test images per corruption and severity (at most the test set or CIFAR-10-C's 10,000).
    cifar10c_dir: a folder of CIFAR-10-C .npy files to use instead of the built-in corruptions (CIFAR-100-C's
    when `dataset` is cifar100: catalog.CORRUPTED_SETS).
    generator: the random stream (`shift_generator`), on the split's device; drawn from in a fixed order.
    stop: asked before every cell and the attacks; true raises `ShiftStopped`.
    """
    t0 = time.perf_counter()
    model.eval()
    folded = fold_batchnorm(model)
    if cifar10c_dir is not None:
        cells, n_corrupt = _cifar10c_cells(folded, Path(cifar10c_dir), normalize, batch_size, autocast_dtype,
                                           corrupt_images, test.x.device, stop, dataset)  # fmt: skip
    else:
        cells, n_corrupt = _built_in_cells(folded, test, normalize, batch_size, autocast_dtype, corrupt_images,
                                           generator, stop)  # fmt: skip
    _check_stop(stop)
    fgsm, pgd, n_attack = _attack_accuracies(folded, test, normalize, batch_size, generator)
    return ShiftResult(
        cells, fgsm, pgd, CORRUPTED_SETS[dataset][0] if cifar10c_dir is not None else BUILT_IN,
        time.perf_counter() - t0, n_corrupt, n_attack,
    )  # fmt: skip


def _built_in_cells(folded, test: Split, normalize, batch_size, amp, n_images: int, g, stop=None):
    idx = fixed_subset(test.x.shape[0], n_images, "shift-corrupt").to(test.x.device)
    x, y = test.x.index_select(0, idx), test.y.index_select(0, idx)
    cells = []
    for name in CORRUPTIONS:
        for severity in SEVERITIES:
            _check_stop(stop)
            loss, acc, ece = score(folded, corrupt(x, name, severity, g), y, normalize, batch_size, amp)
            cells.append(Cell(name, severity, loss, acc, ece))
    return cells, int(idx.shape[0])


def _cifar10c_cells(folded, folder: Path, normalize, batch_size, amp, n_images: int, device, stop=None,
                    dataset: str = DEFAULT_DATASET):  # fmt: skip
    idx = fixed_subset(cifar10c.images_per_severity(folder), n_images, "shift-corrupt")
    cells = []
    for name, severity, x, y in cifar10c.load_cells(folder, idx, dataset):
        _check_stop(stop)
        loss, acc, ece = score(folded, x.to(device), y.to(device), normalize, batch_size, amp)
        cells.append(Cell(name, severity, loss, acc, ece))
    return cells, int(idx.shape[0])


def _attack_accuracies(folded, test: Split, normalize: Normalize, batch_size: int, g):
    """(FGSM accuracies, PGD accuracies, images attacked) on the fixed attack subset, in fp32."""
    idx = fixed_subset(test.x.shape[0], ATTACK_IMAGES, "shift-attack").to(test.x.device)
    x = test.x.index_select(0, idx).float() / 255.0  # the [0, 1] pixel scale the budgets are set in
    y = test.y.index_select(0, idx)
    inv_std, shift = normalize.scale * 255.0, normalize.shift

    def classify(pixels: torch.Tensor) -> torch.Tensor:  # [0, 1] images -> logits, as Normalize standardises
        return folded((pixels * inv_std - shift).contiguous(memory_format=torch.channels_last)).float()

    fgsm = adversarial.fgsm_accuracies(classify, x, y, list(FGSM_EPSILONS.values()), batch_size)
    pgd = {k: adversarial.pgd_accuracy(classify, x, y, eps, batch_size, g) for k, eps in PGD_EPSILONS.items()}
    return {k: fgsm[eps] for k, eps in FGSM_EPSILONS.items()}, pgd, int(idx.shape[0])


@torch.inference_mode()
def score(
    model, x: torch.Tensor, y: torch.Tensor, normalize: Normalize, batch_size: int, amp: torch.dtype | None
) -> tuple[float, float, float]:
    """(mean cross-entropy, accuracy, 15-bin ECE) of an eval-mode `model` on uint8 images x (N, 3, H, W),
    as `evaluate.evaluate` computes them, without folding the model again for every call."""
    n = x.shape[0]
    loss_sum = torch.zeros((), device=x.device)
    conf, hit = torch.empty(n, device=x.device), torch.empty(n, device=x.device)
    for i in range(0, n, batch_size):
        xb, yb = x[i : i + batch_size], y[i : i + batch_size]
        with torch.autocast(x.device.type, dtype=amp or torch.float32, enabled=amp is not None):
            logits = model(normalize(xb)).float()
        loss_sum += F.cross_entropy(logits, yb, reduction="sum")
        c, pred = logits.softmax(dim=1).max(dim=1)
        conf[i : i + yb.shape[0]], hit[i : i + yb.shape[0]] = c, (pred == yb).float()
    bins, hits = calibration_bins(conf, hit, ECE_BINS)
    return float(loss_sum) / n, hits / n, bins["ece"]
