"""Batched random crop (zero padding) and horizontal flip, on the training device.

One gather does both: for each output pixel we compute its flat position in the
zero-padded batch, laid out pixel-major (N, H+2p, W+2p, C), with the columns
reversed for flipped images, and copy all of its channels with one `index_select`.
No per-sample Python, no PIL. The result comes out channels_last, the layout the
model wants, so the normalise step needs no further copy.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def crop_flip_params(
    batch: int, height: int, width: int, generator: torch.Generator, pad: int = 4
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw the crop offsets and flips of a batch and turn them into source rows and columns.

    The draws, in this order, are the whole random state used: offsets (2, B, 1) in
    [0, 2*pad] for rows then columns, then flip bits from `rand(B, 1) < 0.5`.

    Returns:
        rows (B, H) and cols (B, W): int64 indices into the padded image (CPU tensors).
    """
    oy, ox = torch.randint(0, 2 * pad + 1, (2, batch, 1), generator=generator)
    flip = torch.rand(batch, 1, generator=generator) < 0.5
    cols = torch.arange(width).expand(batch, width)
    cols = torch.where(flip, width - 1 - cols, cols) + ox  # (B, W)
    rows = torch.arange(height).expand(batch, height) + oy  # (B, H)
    return rows, cols


def random_crop_flip(x: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random `pad`-pixel translation crop and random horizontal flip of a batch.

    Args:
        x: images (B, C, H, W), any dtype (uint8 is cheapest), any memory format, on any device.
        generator: CPU generator for the offsets and flips (kept separate from the
            model's RNG so the same seed gives the same augmentations in every arm).
        pad: zero padding on each side, as in torchvision's RandomCrop(32, padding=4).

    Returns:
        Augmented images, same shape, dtype and device as x, in channels_last memory format.
    """
    b, c, h, w = x.shape
    rows, cols = crop_flip_params(b, h, w, generator, pad)
    hp, wp = h + 2 * pad, w + 2 * pad
    # Flat pixel index into the padded batch, (B, H, W) -> (B*H*W,); built on the CPU, moved once.
    pix = torch.arange(b)[:, None, None] * (hp * wp) + rows[:, :, None] * wp + cols[:, None, :]
    pix = pix.reshape(-1).to(x.device, non_blocking=True)
    padded = F.pad(x, (pad, pad, pad, pad)).permute(0, 2, 3, 1).reshape(b * hp * wp, c)  # pixel-major rows
    out = padded.index_select(0, pix).view(b, h, w, c)
    return out.permute(0, 3, 1, 2)  # (B, C, H, W) view of NHWC storage: channels_last
