"""What every data-set reader shares: the files it needs, the download, and the conversion to what the
models and the augmentations take (3 x 32 x 32 uint8), with per-data-set normalisation statistics.

Gray images (Fashion-MNIST, a gray image folder) become 3 channels, the gray value in each: the models,
the crop/flip, the built-in corruptions and the attacks stay as they are, and every arm sees the same
pixels. Other sizes (STL-10's 96x96, Fashion-MNIST's 28x28, any folder) are resized to 32x32
(`decode.resize_images`: bilinear with antialiasing, deterministic), the size the built-in models are made for.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import torch

from mixup_bench.catalog import DATASETS, IMAGE_SIZE
from mixup_bench.errors import UserError, write_error
from mixup_bench.train.data import DOWNLOAD_TIMEOUT_S, ImageDataset, Progress
from mixup_bench.train.datasets.decode import resize_images

STATS_DIGITS = 4  # the normalisation statistics are rounded as CIFAR-10's published ones are


def channel_stats(x: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation of uint8 images (N, 3, H, W) on the [0, 1] scale, over every
    pixel of the training split (exact integer sums, so the same images always give the same numbers)."""
    n = x.shape[0] * x.shape[2] * x.shape[3]
    total = torch.zeros(3, dtype=torch.float64)
    squares = torch.zeros(3, dtype=torch.float64)
    for i in range(0, x.shape[0], 4096):
        chunk = x[i : i + 4096].to(torch.int64)
        total += chunk.sum(dim=(0, 2, 3)).double()
        squares += (chunk * chunk).sum(dim=(0, 2, 3)).double()
    mean = total / n / 255.0
    std = (squares / n / 255.0**2 - mean**2).clamp_min(0).sqrt().clamp_min(1e-3)  # a flat channel: no division by 0
    return tuple(round(float(v), STATS_DIGITS) for v in mean), tuple(round(float(v), STATS_DIGITS) for v in std)


def to_model_images(x: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """uint8 (N, 1 or 3, H, W) -> uint8 (N, 3, 32, 32), and what was done, in words, for the record."""
    facts = {}
    if x.shape[-2:] != (IMAGE_SIZE, IMAGE_SIZE):
        facts["resized"] = f"{x.shape[-1]}x{x.shape[-2]} -> {IMAGE_SIZE}x{IMAGE_SIZE} (bilinear, antialiased)"
        x = resize_images(x)
    if x.shape[1] == 1:
        facts["channels"] = "gray, copied into 3 channels"
        x = x.expand(-1, 3, -1, -1)
    return x.contiguous(), facts


def dataset(
    name: str, source: str, root: Path, train: tuple, test: tuple, classes: list[str], facts: dict | None = None
) -> ImageDataset:
    """An ImageDataset from raw (images, labels) splits: 3x32x32, with statistics from the training split."""
    (tx, ty), (vx, vy) = train, test
    tx, done = to_model_images(tx)
    vx, _ = to_model_images(vx)
    bad = [int(v) for v in torch.cat([ty, vy]).unique() if not 0 <= int(v) < len(classes)]
    if bad:
        raise UserError(f"{root}: labels {bad[:5]} lie outside 0..{len(classes) - 1} ({len(classes)} classes).")
    mean, std = channel_stats(tx)
    return ImageDataset(tx, ty, vx, vy, classes, source, root, name, mean, std,
                        {**done, "stats": "computed from the training split", **(facts or {})})  # fmt: skip


def need(path: Path, name: str, data_dir: Path) -> Path:
    """`path` when it is a file, else one line: what was expected there and how to get it."""
    if path.is_file():
        return path
    info = DATASETS[name]
    raise UserError(
        f"No {info.title} in {data_dir}: expected {path} ({info.offline}); run `mixup-bench data --dataset {name} "
        "--download`, or point --data-dir at a copy."
    )


def read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror or e}.") from None


def truncated(path: Path, expected: str, got: int) -> UserError:
    return UserError(
        f"{path} is truncated or damaged: expected {expected}, found {got:,} bytes; delete it and download again "
        "(`mixup-bench data --dataset ... --download`), or put a whole copy there."
    )


def fetch(name: str, data_dir: Path, make: Callable[[], object], say: Progress) -> None:
    """Download a data set into `data_dir` through torchvision (`make` builds its class with download=True).
    A network failure says "Offline?"; a failed write names the file; a damaged download says so."""
    import http.client
    import urllib.error

    title = DATASETS[name].title
    say(f"Downloading {title} into {data_dir} (torchvision) ...")
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        make()
    except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as e:
        reason = str(getattr(e, "reason", e)).splitlines()[0] if str(e) else type(e).__name__
        raise UserError(
            f"Could not download {title} into {data_dir} ({reason}). Offline? Put {DATASETS[name].offline} there."
        ) from None
    except OSError as e:
        raise write_error(Path(e.filename) if e.filename else data_dir, e) from None
    except RuntimeError as e:  # torchvision: a file's MD5 differs
        raise UserError(f"The download of {title} into {data_dir} arrived damaged ({e}); delete it, retry.") from None
    finally:
        socket.setdefaulttimeout(old_timeout)
