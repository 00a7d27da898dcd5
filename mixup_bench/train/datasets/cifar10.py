"""CIFAR-10 from `--data-dir`: an image folder (train/<class>/, test/<class>/), else torchvision's files (the
extracted folder, else the archive), else a download through torchvision. A damaged copy is named with
what to do, never replaced unasked; every failure is a UserError with one line.

Image-folder layout (detected when `<data_dir>/train` or `<data_dir>/test` exists):

    <data_dir>/train/<class>/*.png|jpg
    <data_dir>/test/<class>/*.png|jpg

Class indices follow the sorted folder names (for CIFAR-10: airplane=0 ... truck=9).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import torch

from mixup_bench.errors import UserError, write_error
from mixup_bench.train.data import DOWNLOAD_TIMEOUT_S, Cifar10, Progress
from mixup_bench.train.datasets.image_folder import load_image_folder

TORCHVISION_FOLDER = "cifar-10-batches-py"
TORCHVISION_ARCHIVE = "cifar-10-python.tar.gz"


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
