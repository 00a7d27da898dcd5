"""The official CIFAR-10-C files (Hendrycks & Dietterich, 2019), for `run --cifar10c-dir DIR`, and
CIFAR-100-C's, in the same layout, for `run --dataset cifar100 --cifar10c-dir DIR` (catalog.CORRUPTED_SETS:
`dataset` below names the data set whose test images the folder corrupts; its labels keep to its classes).

The data set is a folder of NumPy files: `labels.npy` (50,000 labels: the 10,000 test labels once
per severity) and one `<corruption>.npy` per corruption, uint8 (50,000, 32, 32, 3): severity 1's
10,000 images, then severity 2's, and so on. Its numbers are the ones the literature reports, so
when a user has the files they replace the built-in corruptions. The 15 benchmark corruptions must
all be there; the 4 held-out ones (speckle noise, gaussian blur, spatter, saturate) are used when
present. Only the header and the size of each file are read to check it; the images of the fixed
test subset are read through a memory map when the shift evaluation runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mixup_bench.catalog import CORRUPTED_SETS, DEFAULT_DATASET
from mixup_bench.errors import UserError

BENCHMARK = (
    "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur", "motion_blur", "zoom_blur",
    "snow", "frost", "fog", "brightness", "contrast", "elastic_transform", "pixelate", "jpeg_compression",
)  # fmt: skip
HELD_OUT = ("speckle_noise", "gaussian_blur", "spatter", "saturate")
LABELS_FILE = "labels.npy"
SEVERITIES = 5
CLASSES = CORRUPTED_SETS[DEFAULT_DATASET][1]  # CIFAR-10-C's
IMAGE_SHAPE = (32, 32, 3)
_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def _npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, data offset) of a .npy file. UserError (one line) when it is unreadable, not a
    .npy file, or shorter than its header says (a cut download)."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version not in _HEADER_READERS:
                raise ValueError(f"unsupported .npy version {version}")
            shape, fortran, dtype = _HEADER_READERS[version](f)
            offset = f.tell()
        size = path.stat().st_size
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror or e}.") from None
    except (ValueError, EOFError, SyntaxError) as e:
        raise UserError(f"{path} is not a NumPy .npy file ({e}); download it again.") from None
    if fortran:
        raise UserError(f"{path} is stored in Fortran order; CIFAR-10-C's files are C order. Download it again.")
    expected = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if size < expected:
        raise UserError(f"{path} is truncated ({size:,} of {expected:,} bytes); download it again.")
    return tuple(shape), dtype, offset


def check_cifar10c_dir(folder: Path, num_classes: int | None = None, dataset: str = DEFAULT_DATASET) -> tuple[str, ...]:
    """The corruptions a CIFAR-10-C (or, for `dataset` cifar100, CIFAR-100-C) folder holds, benchmark ones
    first; UserError (one line) when the folder is missing, lacks labels.npy or a benchmark corruption,
    holds a truncated or malformed file or a label outside the data set's classes (0..9, 0..99), or when
    the run's data set has `num_classes` other than those (its labels would not match)."""
    folder = Path(folder)
    title, classes = CORRUPTED_SETS.get(dataset, CORRUPTED_SETS[DEFAULT_DATASET])
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise UserError(f"--cifar10c-dir {folder} {what}; give the folder that holds {title}'s .npy files.")
    missing = [f"{name}.npy" for name in ("labels", *BENCHMARK) if not (folder / f"{name}.npy").exists()]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise UserError(
            f"--cifar10c-dir {folder} lacks {', '.join(missing[:3])}{more}; it must hold {title}'s .npy files."
        )
    shape, dtype, _ = _npy_header(folder / LABELS_FILE)
    if len(shape) != 1 or dtype.kind not in "iu" or shape[0] == 0 or shape[0] % SEVERITIES:
        raise UserError(f"{folder / LABELS_FILE} holds {dtype} {shape}, not one integer label per image.")
    _check_labels(folder / LABELS_FILE, classes, title)
    names = BENCHMARK + tuple(name for name in HELD_OUT if (folder / f"{name}.npy").exists())
    for name in names:
        path = folder / f"{name}.npy"
        img_shape, img_dtype, _ = _npy_header(path)
        if img_shape != (shape[0], *IMAGE_SHAPE) or img_dtype != np.uint8:
            raise UserError(
                f"{path} holds {img_dtype} {img_shape}; expected uint8 {(shape[0], *IMAGE_SHAPE)} as in {title}."
            )
    if num_classes is not None and num_classes != classes:
        raise UserError(
            f"--cifar10c-dir needs {title[:-2]}'s {classes} classes, but the data set has {num_classes}; "
            "leave it out to use the built-in corruptions."
        )
    return names


def _check_labels(path: Path, classes: int = CLASSES, title: str = "CIFAR-10-C") -> None:
    """Every label in 0..classes-1, read in full (50,000 integers) before training: a label out of range
    would otherwise fail the shift evaluation at the end of a run, after its training."""
    try:
        labels = np.load(path, mmap_mode="r")
        low, high = (int(labels.min()), int(labels.max())) if labels.size else (0, 0)
    except (OSError, ValueError) as e:
        raise UserError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}.") from None
    if low < 0 or high >= classes:
        bad = low if low < 0 else high
        raise UserError(
            f"{path} holds the label {bad}, outside {title[:-2]}'s classes 0..{classes - 1}; download it again."
        )


def images_per_severity(folder: Path) -> int:
    """How many test images each severity holds (10,000 in CIFAR-10-C)."""
    shape, _, _ = _npy_header(Path(folder) / LABELS_FILE)
    return shape[0] // SEVERITIES


def load_cells(folder: Path, indices: torch.Tensor, dataset: str = DEFAULT_DATASET):
    """For every corruption the folder holds and every severity: (name, severity, images (n, 3, 32, 32)
    uint8, labels (n,) int64) of the test images at `indices` (positions within a severity's block).
    A generator: one cell at a time is in memory."""
    folder = Path(folder)
    names = check_cifar10c_dir(folder, dataset=dataset)
    per_severity = images_per_severity(folder)
    idx = indices.numpy()
    labels = np.load(folder / LABELS_FILE, mmap_mode="r")
    for name in names:
        data = np.load(folder / f"{name}.npy", mmap_mode="r")
        for severity in range(1, SEVERITIES + 1):
            rows = (severity - 1) * per_severity + idx
            x = torch.from_numpy(np.ascontiguousarray(data[rows])).permute(0, 3, 1, 2).contiguous()
            y = torch.from_numpy(np.asarray(labels[rows]).astype(np.int64))
            yield name, severity, x, y
