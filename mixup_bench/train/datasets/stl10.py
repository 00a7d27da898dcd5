"""STL-10 in torchvision's format: `stl10_binary/` with `train_X.bin`, `train_y.bin`, `test_X.bin`,
`test_y.bin` and `class_names.txt`. An X file is N 96x96 colour images, each 3 planes stored column-major
(torchvision transposes them); a y file one byte per image, labels 1..10. The unlabeled split is not
used. The images are resized to 32x32 (`common.to_model_images`)."""

from __future__ import annotations

from pathlib import Path

import torch

from mixup_bench.errors import UserError
from mixup_bench.train.data import ImageDataset, Progress
from mixup_bench.train.datasets.common import dataset, fetch, need, read, truncated

NAME = "stl10"
FOLDER = "stl10_binary"
SIDE = 96
IMAGE_BYTES = 3 * SIDE * SIDE


def load(data_dir: Path, download: bool, say: Progress) -> ImageDataset:
    folder = data_dir / FOLDER
    if download and not (folder / "test_y.bin").is_file():
        from torchvision.datasets import STL10

        fetch(NAME, data_dir, lambda: STL10(str(data_dir), split="train", download=True), say)
    names = [
        n for n in read(need(folder / "class_names.txt", NAME, data_dir)).decode("utf-8", "replace").splitlines() if n
    ]
    if len(names) < 2:
        raise UserError(f"{folder / 'class_names.txt'} names {len(names)} class(es); expected one per line.")
    splits = [split(folder, s, len(names)) for s in ("train", "test")]
    return dataset(NAME, "torchvision", data_dir, splits[0], splits[1], names)


def split(folder: Path, name: str, classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    x_path, y_path = folder / f"{name}_X.bin", folder / f"{name}_y.bin"
    x_raw = read(need(x_path, NAME, folder.parent))
    y_raw = read(need(y_path, NAME, folder.parent))
    if not x_raw or len(x_raw) % IMAGE_BYTES:
        raise truncated(x_path, f"a whole number of {SIDE}x{SIDE} colour images ({IMAGE_BYTES:,} bytes each)",
                        len(x_raw))  # fmt: skip
    n = len(x_raw) // IMAGE_BYTES
    if len(y_raw) != n:
        raise truncated(y_path, f"one label byte for each of the {n:,} images of {x_path.name}", len(y_raw))
    x = torch.frombuffer(bytearray(x_raw), dtype=torch.uint8).reshape(n, 3, SIDE, SIDE).transpose(2, 3)
    y = torch.frombuffer(bytearray(y_raw), dtype=torch.uint8).to(torch.int64) - 1  # 1..10 -> 0..9
    if int(y.min()) < 0 or int(y.max()) >= classes:
        raise UserError(f"{y_path} holds labels outside 1..{classes}.")
    return x.contiguous(), y
