"""Tiny CIFAR-like image folders written on the fly (the `tiny_cifar` fixture of conftest.py uses this)."""

from __future__ import annotations

from pathlib import Path

import torch
from torchvision.io import encode_png

CLASSES = ("cat", "dog", "frog")


def write_image_folder(
    root: Path, classes=CLASSES, n_train: int = 24, n_test: int = 8, size: int = 32, seed: int = 0
) -> Path:
    """Write root/train/<class>/*.png and root/test/<class>/*.png with class-dependent colours.

    Each class has its own mean colour plus noise, so a tiny CNN can learn something.
    """
    g = torch.Generator().manual_seed(seed)
    for split, n in (("train", n_train), ("test", n_test)):
        for k, cls in enumerate(classes):
            folder = root / split / cls
            folder.mkdir(parents=True, exist_ok=True)
            base = torch.tensor([60 + 60 * k, 200 - 50 * k, 90 + 30 * (k % 2)], dtype=torch.float32)
            for i in range(n):
                noise = torch.randn(3, size, size, generator=g) * 40
                img = (base.view(3, 1, 1) + noise).clamp(0, 255).to(torch.uint8)
                (folder / f"{i:04d}.png").write_bytes(bytes(encode_png(img).numpy()))
    return root
