"""CIFAR-10 as uint8 tensors: from torchvision's download, or from an image folder.

Both sources end as an `ImageDataset` (`Cifar10` is its old name): images (N, 3, 32, 32) uint8 and labels
(N,) int64. The other data sets (`--dataset`, train/datasets/) end as one too.
There is no per-sample PIL path: torchvision's arrays are taken whole, and image
folders are decoded once with torchvision.io and cached as tensors.

Image-folder layout (detected when `<data_dir>/train` and `<data_dir>/test` exist):

    <data_dir>/train/<class>/*.png|jpg
    <data_dir>/test/<class>/*.png|jpg

Class indices follow the sorted folder names (for CIFAR-10: airplane=0 ... truck=9).
"""

from __future__ import annotations

import errno
import hashlib
import os
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import torch

from mixup_bench.errors import UserError, write_error
from mixup_bench.streams import shown

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)  # per-channel, on the [0, 1] scale
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
IMAGE_SIZE = 32
CACHE_DIR_NAME = ".mixup-bench-cache"
CACHE_VERSION = 2  # 2: holds its split, fingerprint and count; 16-bit images scaled, not truncated
DOWNLOAD_TIMEOUT_S = 30
TORCHVISION_FOLDER = "cifar-10-batches-py"
TORCHVISION_ARCHIVE = "cifar-10-python.tar.gz"

Progress = Callable[[str], None]


@dataclass
class ImageDataset:
    """A whole data set in memory (about 180 MB for CIFAR-10), named, with the statistics it is normalised by."""

    train_x: torch.Tensor  # (N_train, 3, 32, 32) uint8
    train_y: torch.Tensor  # (N_train,) int64
    test_x: torch.Tensor  # (N_test, 3, 32, 32) uint8
    test_y: torch.Tensor  # (N_test,) int64
    classes: list[str]
    source: str  # "torchvision" or "image-folder" (or another data set's format: "svhn-mat", "idx", ...)
    root: Path
    name: str = "cifar10"  # catalog.DATASETS
    mean: tuple[float, float, float] = CIFAR10_MEAN  # per channel, [0, 1] scale: what Normalize subtracts
    std: tuple[float, float, float] = CIFAR10_STD
    facts: dict = field(default_factory=dict)  # how the images were made 3x32x32, the declared test split, ...

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def describe(self) -> dict:
        """A JSON-ready summary, stored in experiment.json and printed by `data`. Names whose bytes are
        not UTF-8 (a class folder, the data folder) are written `streams.shown` (\\xNN)."""
        return {
            "dataset": self.name,
            "source": self.source,
            "root": shown(str(self.root.resolve())),
            "classes": [shown(c) for c in self.classes],
            "train_images": int(self.train_x.shape[0]),
            "test_images": int(self.test_x.shape[0]),
            "train_per_class": torch.bincount(self.train_y, minlength=self.num_classes).tolist(),
            "test_per_class": torch.bincount(self.test_y, minlength=self.num_classes).tolist(),
            "image_size": [3, IMAGE_SIZE, IMAGE_SIZE],
            "mean": list(self.mean),
            "std": list(self.std),
            **self.facts,
        }


Cifar10 = ImageDataset  # the old name, kept for the callers that still use it


def load_cifar10(data_dir: Path, download: bool = True, progress: Progress | None = None) -> Cifar10:
    """Load CIFAR-10 from `data_dir`, downloading it through torchvision if needed.

    Order: an image folder (train/ and test/), then torchvision's files (the extracted folder, else the
    archive), then a download (only if `download`, and only when no copy is there: a damaged copy is
    named, never replaced unasked). Every failure is a UserError with one line.
    """
    data_dir = Path(data_dir)
    say = progress or (lambda msg: None)
    if data_dir.exists() and not data_dir.is_dir():
        raise UserError(f"--data-dir {data_dir} is a file; give a folder.")
    if (data_dir / "train").is_dir() or (data_dir / "test").is_dir():
        return load_image_folder(data_dir, say)
    return load_torchvision(data_dir, say, download)


# --- torchvision -------------------------------------------------------------


def load_torchvision(data_dir: Path, say: Progress, download: bool = True) -> Cifar10:
    """torchvision's CIFAR10 arrays, taken whole, from `<data_dir>/cifar-10-batches-py/`; extracted
    from `cifar-10-python.tar.gz` there when only the archive is, and downloaded when neither is (and
    `download`). A copy that is there but damaged (the MD5 sums torchvision knows do not match) is
    named with what to do, and never sends anyone to the network: a download would not be the fix."""
    folder, archive = data_dir / TORCHVISION_FOLDER, data_dir / TORCHVISION_ARCHIVE
    if not folder.is_dir() and archive.is_file():
        _extract(archive, data_dir, say)
    elif not folder.is_dir():
        if not download:
            raise UserError(
                f"No CIFAR-10 in {data_dir}: expected {TORCHVISION_FOLDER}/ or train/ and test/ image folders; "
                "run `mixup-bench data --download` or point --data-dir at a copy."
            )
        _download(data_dir, say)
    splits = _read_batches(data_dir)
    (tx, ty), (vx, vy) = [
        (torch.from_numpy(s.data).permute(0, 3, 1, 2).contiguous(), torch.tensor(s.targets, dtype=torch.int64))
        for s in splits
    ]
    return Cifar10(tx, ty, vx, vy, list(splits[0].classes), "torchvision", data_dir)


def _read_batches(data_dir: Path) -> list:
    """The train and test splits from the extracted folder; one line naming the first damaged file."""
    from torchvision.datasets import CIFAR10

    folder = data_dir / TORCHVISION_FOLDER
    try:
        return [CIFAR10(str(data_dir), train=t, download=False) for t in (True, False)]
    except Exception as e:  # RuntimeError for a file whose MD5 differs; pickle errors and the like
        bad = _first_damaged_batch(folder)
        what = f"{bad} is missing or damaged" if bad else f"its files do not load ({type(e).__name__}: {e})"
        fix = f"; the archive {data_dir / TORCHVISION_ARCHIVE} is extracted again" if _archive_intact(data_dir) else ""
        raise UserError(
            f"The CIFAR-10 folder {folder} is damaged: {what}. Delete that folder{fix}, or run "
            "`mixup-bench data --download` to fetch a fresh copy."
        ) from None


def _first_damaged_batch(folder: Path) -> Path | None:
    """The first file of the extracted folder that is missing or whose MD5 is not CIFAR-10's."""
    from torchvision.datasets import CIFAR10
    from torchvision.datasets.utils import check_integrity

    files = [*CIFAR10.train_list, *CIFAR10.test_list, [CIFAR10.meta["filename"], CIFAR10.meta["md5"]]]
    return next((folder / name for name, md5 in files if not check_integrity(str(folder / name), md5)), None)


def _archive_intact(data_dir: Path) -> bool:
    from torchvision.datasets import CIFAR10
    from torchvision.datasets.utils import check_integrity

    return check_integrity(str(data_dir / TORCHVISION_ARCHIVE), CIFAR10.tgz_md5)


def _extract(archive: Path, data_dir: Path, say: Progress) -> None:
    """Extract the archive into `data_dir`, whole or not at all (a temporary folder renamed into place),
    after checking its MD5: a damaged (say, partly downloaded) archive is named, not downloaded again."""
    import shutil
    import tempfile

    from torchvision.datasets.utils import extract_archive

    if not _archive_intact(data_dir):
        raise UserError(
            f"{archive} is damaged (its MD5 sum is not CIFAR-10's: a partial download?); delete it and run "
            "`mixup-bench data --download`, or put a whole copy there."
        )
    say(f"Extracting {archive} ...")
    try:
        tmp = Path(tempfile.mkdtemp(dir=data_dir, prefix=".extract-"))
        try:
            extract_archive(str(archive), str(tmp))
            os.replace(tmp / TORCHVISION_FOLDER, data_dir / TORCHVISION_FOLDER)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError as e:
        raise write_error(data_dir / TORCHVISION_FOLDER, e) from None


def _download(data_dir: Path, say: Progress) -> None:
    """Download and extract CIFAR-10 into `data_dir` (no copy is there). A network failure says
    "Offline?"; a failed write says which file; a download that arrives damaged says so."""
    import http.client
    import urllib.error

    from torchvision.datasets import CIFAR10

    say(f"Downloading CIFAR-10 (163 MB) into {data_dir} ...")
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)  # urllib would otherwise wait forever offline
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        CIFAR10(str(data_dir), train=True, download=True)
    except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as e:
        reason = str(getattr(e, "reason", e)).splitlines()[0] if str(e) else type(e).__name__
        raise UserError(
            f"Could not download CIFAR-10 into {data_dir} ({reason}). Offline? Put {TORCHVISION_ARCHIVE} there, "
            "or point --data-dir at an image folder with train/<class>/ and test/<class>/."
        ) from None
    except OSError as e:
        raise write_error(Path(e.filename) if e.filename else data_dir, e) from None
    except RuntimeError as e:  # torchvision: the downloaded file's MD5 differs
        raise UserError(
            f"The download of CIFAR-10 into {data_dir} arrived damaged ({e}); delete {data_dir / TORCHVISION_ARCHIVE} "
            "and try again."
        ) from None
    finally:
        socket.setdefaulttimeout(old_timeout)


# --- image folders -----------------------------------------------------------


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
        files, labels = _list_images(root / split, classes)
        splits[split] = _load_split(root, split, files, labels, say, resize)
    (tx, ty), (vx, vy) = splits["train"], splits["test"]
    return Cifar10(tx, ty, vx, vy, classes, "image-folder", root)


def _list_images(split_dir: Path, classes: list[str]) -> tuple[list[Path], list[int]]:
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


def _load_split(
    root: Path, split: str, files: list[Path], labels: list[int], say: Progress, resize: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
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
