"""Image folders (`<root>/train/<class>/*`, `<root>/test/<class>/*`): listed, checked entry by entry, decoded
once (`decode.decode_images`) and cached as tensors beside them, or under ~/.cache when the folder is
read-only. CIFAR-10's image folders (`cifar10.load_cifar10`) and `--dataset folder` both read through here.
"""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import torch

from mixup_bench.catalog import IMAGE_SIZE
from mixup_bench.errors import UserError
from mixup_bench.train.data import Cifar10, Progress
from mixup_bench.train.datasets.decode import IMAGE_SUFFIXES, decode_images

CACHE_DIR_NAME = ".mixup-bench-cache"
CACHE_VERSION = 2  # 2: holds its split, fingerprint and count; 16-bit images scaled, not truncated


def load_image_folder(root: Path, say: Progress, resize: bool = False) -> Cifar10:
    """Decode `root/train/<class>/*` and `root/test/<class>/*`, using a tensor cache when valid. `resize`:
    images of another size are resized to 32x32 (`resize_images`), not refused (`--dataset folder`)."""
    for split in ("train", "test"):
        if not (root / split).is_dir():
            raise UserError(
                f"{root} has no {split}/ folder; an image folder needs both train/<class>/ and test/<class>/."
            )
    classes = sorted(p.name for p in (root / "train").iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise UserError(f"{root / 'train'} has {len(classes)} class folder(s); it needs one folder per class.")
    test_classes = sorted(p.name for p in (root / "test").iterdir() if p.is_dir() and not p.name.startswith("."))
    if test_classes != classes:
        missing = sorted(set(classes) ^ set(test_classes))
        raise UserError(
            f"train/ and test/ in {root} have different class folders (differ in: {', '.join(missing)}); "
            "the folder looks partial."
        )
    splits = {}
    for split in ("train", "test"):
        files, labels = list_images(root / split, classes)
        splits[split] = load_split(root, split, files, labels, say, resize)
    (tx, ty), (vx, vy) = splits["train"], splits["test"]
    return Cifar10(tx, ty, vx, vy, classes, "image-folder", root)


def list_images(split_dir: Path, classes: list[str]) -> tuple[list[Path], list[int]]:
    """The image files of `split_dir` (class folders in `classes` order, files sorted) and their labels;
    one line for an entry that is not a readable image file, or a class folder with none."""
    files: list[Path] = []
    labels: list[int] = []
    for idx, cls in enumerate(classes):
        try:
            found = sorted(p for p in (split_dir / cls).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        except OSError as e:
            raise UserError(f"cannot list {split_dir / cls}: {e.strerror or e}.") from None
        for p in found:
            _check_entry(p)
        if not found:
            raise UserError(f"{split_dir / cls} holds no .png or .jpg images; the folder looks partial.")
        files += found
        labels += [idx] * len(found)
    return files, labels


def _check_entry(path: Path) -> None:
    """One line for an entry named like an image that is not a readable regular file."""
    if path.is_symlink():
        try:
            path.stat()
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise UserError(f"{path} is a symlink loop, not an image; delete it.") from None
            raise UserError(
                f"{path} is a broken symlink (to {os.readlink(path)}: {e.strerror}); fix or delete it."
            ) from None
    if path.is_dir():
        raise UserError(f"{path} is a folder, not an image; move it out of the class folder.")
    if not path.is_file():
        raise UserError(f"{path} is not a regular file (a device, socket or pipe); delete it.")


def load_split(
    root: Path, split: str, files: list[Path], labels: list[int], say: Progress, resize: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """The decoded images and labels of one split: from the cache when it holds these very files, else
    decoded and cached (atomically; a place that cannot be written only costs the decode next time)."""
    key = _fingerprint(root, files)
    cache = _cache_path(root, split, key)
    y = torch.tensor(labels, dtype=torch.int64)
    if cache.exists():
        x, problem = _read_cache(cache, split, key, y)
        if x is not None:
            return x, y
        say(f"The cache {cache} {problem}; rebuilding it.")
        cache.unlink(missing_ok=True)
    say(f"Decoding {len(files):,} {split} images from {root / split} (cached for next time) ...")
    x = decode_images(files, resize=True) if resize else decode_images(files)
    try:
        import io

        from mixup_bench.results.atomic import atomic_write_bytes

        buf = io.BytesIO()
        torch.save({"version": CACHE_VERSION, "split": split, "key": key, "count": len(files), "x": x, "y": y}, buf)
        atomic_write_bytes(cache, buf.getvalue())
        for stale in cache.parent.glob(cache.name.replace(key, "*")):  # the same split's older caches
            if stale != cache:
                stale.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only place only costs the decode next time
    return x, y


def _read_cache(cache: Path, split: str, key: str, labels: torch.Tensor) -> tuple[torch.Tensor | None, str]:
    """The cached images when the cache holds the decoded `split` images with fingerprint `key` and
    these labels, else (None, why not in words). The file name alone is not trusted: a cache copied
    over another (the test split's over the train split's), damaged or left by an older version is
    rebuilt."""
    try:
        blob = torch.load(cache, weights_only=True)
    except Exception as e:
        return None, f"cannot be read ({type(e).__name__})"
    if not isinstance(blob, dict) or blob.get("version") != CACHE_VERSION:
        return None, "was written by another version"
    if blob.get("split") != split:
        return None, f"holds the {blob.get('split')!r} split, not {split!r}"
    if blob.get("key") != key:
        return None, "holds other images than the folder has now (its fingerprint differs)"
    x, y, n = blob.get("x"), blob.get("y"), labels.shape[0]
    if blob.get("count") != n or not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        return None, f"does not hold {n:,} images"
    if x.dtype != torch.uint8 or tuple(x.shape) != (n, 3, IMAGE_SIZE, IMAGE_SIZE):
        return None, f"holds {tuple(x.shape)} {x.dtype} images, not ({n}, 3, {IMAGE_SIZE}, {IMAGE_SIZE}) uint8"
    if not torch.equal(y, labels):
        return None, "holds other labels than the class folders give"
    return x, ""


def _fingerprint(root: Path, files: list[Path]) -> str:
    """Hash of every file's relative path (its bytes as they are on disk, UTF-8 or not), size and mtime:
    any change invalidates the cache."""
    h = hashlib.sha256(f"v{CACHE_VERSION}".encode())
    for p in files:
        st = p.stat()
        h.update(os.fsencode(p.relative_to(root)) + f"\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def _cache_path(root: Path, split: str, key: str) -> Path:
    """Under the data folder when writable, else under ~/.cache (e.g. a read-only copy)."""
    local = root / CACHE_DIR_NAME
    if os.access(root, os.W_OK):
        return local / f"{split}-{key}.pt"
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mixup-bench"
    tag = hashlib.sha256(os.fsencode(root.resolve())).hexdigest()[:12]
    return base / f"{tag}-{split}-{key}.pt"
