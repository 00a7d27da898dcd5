"""Batched random crop (zero padding) and horizontal flip, on the training device.

One gather does both: for each image we build the row and column indices of its
crop window in the padded image (columns reversed when flipped) and index once.
No per-sample Python, no PIL.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_crop_flip(x: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random `pad`-pixel translation crop and random horizontal flip of a batch.

    Args:
        x: images (B, C, H, W), any dtype (uint8 is cheapest), on any device.
        generator: CPU generator for the offsets and flips (kept separate from the
            model's RNG so the same seed gives the same augmentations in every arm).
        pad: zero padding on each side, as in torchvision's RandomCrop(32, padding=4).

    Returns:
        Augmented images, same shape, dtype and device as x.
    """
    b, c, h, w = x.shape
    # Offsets in [0, 2*pad] and flip bits, drawn on the CPU for determinism, then moved.
    oy, ox = torch.randint(0, 2 * pad + 1, (2, b, 1), generator=generator)
    flip = torch.rand(b, 1, generator=generator) < 0.5
    cols = torch.arange(w).expand(b, w)
    cols = torch.where(flip, w - 1 - cols, cols) + ox  # (B, W)
    rows = torch.arange(h).expand(b, h) + oy  # (B, H)
    dev = x.device
    rows, cols = rows.to(dev, non_blocking=True), cols.to(dev, non_blocking=True)
    padded = F.pad(x, (pad, pad, pad, pad))  # (B, C, H+2p, W+2p)
    bidx = torch.arange(b, device=dev)[:, None, None]
    # Index (B,1,1), (B,H,1), (B,1,W) over dims 0, 2, 3 -> (B, H, W, C); back to (B, C, H, W).
    out = padded.permute(0, 2, 3, 1)[bidx, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2).contiguous()
