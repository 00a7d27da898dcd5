"""Any image folder (`--dataset folder --data-dir DIR`): `train/<class>/*` and `test/<class>/*` with any
number of classes and images of any size (resized to 32x32, gray made RGB: `decode.decode_images`).

A folder with `train/` only gets a declared test split, fixed by the data and not by the seed: in each
class, every TEST_EVERY-th image by sorted file name (the 5th, 10th, ...) is a test image, the others
train. Decoded images are cached as CIFAR-10's image folders are (`image_folder.load_split`)."""

from __future__ import annotations

from pathlib import Path

from mixup_bench.catalog import FOLDER
from mixup_bench.errors import UserError
from mixup_bench.train.data import ImageDataset, Progress
from mixup_bench.train.datasets.common import dataset
from mixup_bench.train.datasets.image_folder import list_images, load_image_folder, load_split

TEST_EVERY = 5
DECLARED_SPLIT = f"train/ only: every {TEST_EVERY}th image of each class by sorted file name is a test image"


def load(data_dir: Path, download: bool, say: Progress) -> ImageDataset:
    if data_dir.exists() and not data_dir.is_dir():
        raise UserError(f"--data-dir {data_dir} is a file; give a folder with train/<class>/ (and test/<class>/).")
    if not (data_dir / "train").is_dir():
        raise UserError(f"{data_dir} has no train/ folder; --dataset folder needs train/<class>/ (and test/<class>/).")
    if (data_dir / "test").is_dir():
        ds = load_image_folder(data_dir, say, resize=True)
        return dataset(FOLDER, "image-folder", data_dir, (ds.train_x, ds.train_y), (ds.test_x, ds.test_y), ds.classes)
    classes = class_folders(data_dir / "train")
    files, labels = list_images(data_dir / "train", classes)
    test = declared_test(files, labels)
    if not any(test):
        raise UserError(
            f"{data_dir / 'train'} has fewer than {TEST_EVERY} images in every class, so its declared test split "
            f"is empty; add images, or a test/<class>/ folder."
        )
    parts = {}
    for name, pick in (("train", False), ("test", True)):
        chosen = [(f, y) for f, y, t in zip(files, labels, test, strict=True) if t == pick]
        parts[name] = load_split(data_dir, name, [f for f, _ in chosen], [y for _, y in chosen], say, resize=True)
    return dataset(FOLDER, "image-folder", data_dir, parts["train"], parts["test"], classes,
                   {"test_split": DECLARED_SPLIT})  # fmt: skip


def class_folders(train: Path) -> list[str]:
    classes = sorted(p.name for p in train.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise UserError(f"{train} has {len(classes)} class folder(s); it needs one folder per class.")
    return classes


def declared_test(files: list[Path], labels: list[int]) -> list[bool]:
    """Whether each image (sorted by class, then file name, as `list_images` lists them) is a test image."""
    seen: dict[int, int] = {}
    out = []
    for y in labels:
        seen[y] = seen.get(y, 0) + 1
        out.append(seen[y] % TEST_EVERY == 0)
    return out


def count_images(data_dir: Path) -> tuple[int, int] | None:
    """(train, test) image counts of a folder without decoding it, for `run --dry-run`; None when it has no
    train/ folder (the run would say why)."""
    from mixup_bench.train.datasets.decode import IMAGE_SUFFIXES

    def count(split: Path) -> int:
        return sum(1 for p in split.glob("*/*") if p.suffix.lower() in IMAGE_SUFFIXES)

    if not (data_dir / "train").is_dir():
        return None
    n_train = count(data_dir / "train")
    if (data_dir / "test").is_dir():
        return n_train, count(data_dir / "test")
    n_test = n_train // TEST_EVERY  # about: every TEST_EVERY-th image of each class
    return n_train - n_test, n_test
