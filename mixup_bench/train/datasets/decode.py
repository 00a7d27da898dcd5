"""Image files to one (N, 3, 32, 32) uint8 tensor: PNG and JPEG through torchvision.io, gray made RGB,
16-bit samples scaled, transparency refused, other sizes resized (when asked) deterministically."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

from mixup_bench.catalog import IMAGE_SIZE
from mixup_bench.errors import UserError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}


def decode_images(files: list[Path], resize: bool = False) -> torch.Tensor:
    """Decode image files to one (N, 3, 32, 32) uint8 tensor, naming the first bad file. Gray images become
    RGB (the gray value in each channel); with `resize`, other sizes are resized (`resize_images`)."""
    import warnings

    from torchvision.io import ImageReadMode, decode_image

    # torchvision >= 0.29 marks its decoders deprecated in favour of torchcodec; they still work.
    warnings.filterwarnings("ignore", message="The image decoding and encoding", category=DeprecationWarning)

    def decode(path: Path) -> torch.Tensor:
        try:
            raw = path.read_bytes()
        except OSError as e:
            raise UserError(f"cannot read {path}: {e.strerror or e}.") from None
        try:
            data = torch.frombuffer(bytearray(raw), dtype=torch.uint8)
            # RGB: grayscale is replicated, palettes are expanded, CMYK JPEGs converted; alpha is checked below
            img = decode_image(data, mode=ImageReadMode.RGB)
            alpha = decode_image(data, mode=ImageReadMode.UNCHANGED)[-1] if _png_has_alpha(raw) else None
        except (RuntimeError, ValueError) as e:
            raise UserError(
                f"{path} is not a readable image ({(str(e).splitlines() or [type(e).__name__])[0]}); "
                "replace or delete it."
            ) from None
        if tuple(img.shape[1:]) != (IMAGE_SIZE, IMAGE_SIZE) and not resize:
            raise UserError(f"{path} is {img.shape[2]}x{img.shape[1]} pixels; CIFAR-10 images must be 32x32.")
        if alpha is not None and bool((alpha.to(torch.int32) < _max_value(alpha.dtype)).any()):
            raise UserError(f"{path} has transparent pixels, which have no colour to train on; save it as opaque RGB.")
        if _png_has_transparent_colour(raw):
            raise UserError(f"{path} marks a colour as transparent (tRNS); save it as opaque RGB.")
        return resize_images(to_uint8(img, path)[None])[0]

    out = torch.empty((len(files), 3, IMAGE_SIZE, IMAGE_SIZE), dtype=torch.uint8)
    # Decoding releases the GIL, so a few threads use every core.
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        for i, img in enumerate(pool.map(decode, files, chunksize=256)):
            out[i] = img
    return out


def resize_images(x: torch.Tensor, size: int = IMAGE_SIZE) -> torch.Tensor:
    """uint8 (N, C, H, W) -> uint8 (N, C, size, size): bilinear with antialiasing (as PIL's, for a smaller
    image), in float32 on the CPU, rounded half to even; the aspect ratio is not kept (the whole image is
    seen). Deterministic: the same images give the same pixels, whatever the seed or the arm. Images
    already of that size are returned as they are."""
    if tuple(x.shape[-2:]) == (size, size):
        return x
    out = torch.empty((*x.shape[:-2], size, size), dtype=torch.uint8)
    for i in range(0, x.shape[0], 1024):  # in chunks: float32 copies of the whole set would not fit
        y = torch.nn.functional.interpolate(
            x[i : i + 1024].float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
        out[i : i + 1024] = y.round_().clamp_(0, 255).to(torch.uint8)
    return out


def to_uint8(img: torch.Tensor, path: Path) -> torch.Tensor:
    """An image decoded as uint8 or uint16 (16-bit PNG), as uint8: 16-bit values are scaled to 0..255
    (rounded), never cut to their low byte."""
    if img.dtype == torch.uint8:
        return img
    if img.dtype == torch.uint16:
        return torch.div(img.to(torch.int32) * 255 + 32767, 65535, rounding_mode="floor").to(torch.uint8)
    raise UserError(f"{path} decodes to {img.dtype} samples; save it as an 8-bit (or 16-bit) image.")


def _max_value(dtype: torch.dtype) -> int:
    return 65535 if dtype == torch.uint16 else 255


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_has_alpha(raw: bytes) -> bool:
    """A PNG with an alpha channel (colour type 4, grey + alpha, or 6, RGBA: IHDR's byte 25)."""
    return raw[:8] == _PNG_SIGNATURE and len(raw) > 25 and raw[25] in (4, 6)


def _png_has_transparent_colour(raw: bytes) -> bool:
    """A PNG with a tRNS chunk (a palette entry or a colour marked transparent) before its image data."""
    if raw[:8] != _PNG_SIGNATURE:
        return False
    idat = raw.find(b"IDAT")
    return b"tRNS" in raw[: idat if idat >= 0 else len(raw)]
