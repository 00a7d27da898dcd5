"""Loading CIFAR-10 from image folders and torchvision files, and every way that can fail."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from torchvision.io import encode_png

from mixup_bench.errors import UserError
from mixup_bench.train.datasets import image_folder
from mixup_bench.train.datasets.cifar10 import TORCHVISION_FOLDER, load_cifar10
from mixup_bench.train.datasets.image_folder import CACHE_DIR_NAME
from tests.images import CLASSES, write_image_folder


def test_image_folder_loads_as_uint8_tensors(tiny_cifar):
    ds = load_cifar10(tiny_cifar, download=False)
    assert ds.source == "image-folder"
    assert ds.train_x.shape == (3 * 24, 3, 32, 32) and ds.train_x.dtype == torch.uint8
    assert ds.test_x.shape == (3 * 8, 3, 32, 32)
    assert ds.train_y.dtype == torch.int64
    assert ds.classes == sorted(CLASSES)  # indices follow sorted folder names
    assert ds.describe()["train_per_class"] == [24, 24, 24]


def test_class_index_follows_sorted_folder_names(tmp_path):
    root = write_image_folder(tmp_path / "d", classes=("zebra", "ant"), n_train=2, n_test=1)
    ds = load_cifar10(root, download=False)
    assert ds.classes == ["ant", "zebra"]
    # the fixture colours class k by its position in the tuple it was given: zebra was k=0 (red 60), ant k=1 (red 120)
    ant_red = ds.train_x[ds.train_y == 0][:, 0].float().mean()
    zebra_red = ds.train_x[ds.train_y == 1][:, 0].float().mean()
    assert ant_red > zebra_red


def test_decoded_pixels_match_the_files(tmp_path):
    root = write_image_folder(tmp_path / "d", n_train=1, n_test=1)
    img = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
    target = root / "train" / "cat" / "0000.png"
    target.write_bytes(bytes(encode_png(img).numpy()))
    ds = load_cifar10(root, download=False)
    assert torch.equal(ds.train_x[0], img)


def test_cache_is_used_and_invalidated(tiny_cifar, monkeypatch):
    first = load_cifar10(tiny_cifar, download=False)
    assert list((tiny_cifar / CACHE_DIR_NAME).glob("*.pt"))
    calls = []
    monkeypatch.setattr(image_folder, "decode_images", lambda files: calls.append(len(files)))
    again = load_cifar10(tiny_cifar, download=False)  # served from the cache: no decode
    assert calls == [] and torch.equal(again.train_x, first.train_x)
    # touching a file changes the fingerprint: that split is decoded again
    monkeypatch.undo()
    f = tiny_cifar / "test" / "cat" / "0000.png"
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))
    seen = []
    real = image_folder.decode_images
    monkeypatch.setattr(image_folder, "decode_images", lambda files: seen.append(len(files)) or real(files))
    load_cifar10(tiny_cifar, download=False)
    assert seen == [3 * 8]


def test_damaged_cache_is_rebuilt(tiny_cifar):
    load_cifar10(tiny_cifar, download=False)
    for p in (tiny_cifar / CACHE_DIR_NAME).glob("*.pt"):
        p.write_bytes(b"garbage")
    ds = load_cifar10(tiny_cifar, download=False)
    assert ds.train_x.shape[0] == 72


def error_of(path: Path, **kw) -> str:
    with pytest.raises(UserError) as e:
        load_cifar10(path, **kw)
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def test_corrupt_file_is_named(tiny_cifar):
    bad = tiny_cifar / "train" / "dog" / "0003.png"
    bad.write_bytes(b"\x89PNG not really")
    assert str(bad) in error_of(tiny_cifar, download=False)


def test_wrong_size_is_named(tiny_cifar):
    bad = tiny_cifar / "test" / "frog" / "0001.png"
    bad.write_bytes(bytes(encode_png(torch.zeros(3, 40, 30, dtype=torch.uint8)).numpy()))
    msg = error_of(tiny_cifar, download=False)
    assert str(bad) in msg and "30x40" in msg and "32x32" in msg


def test_partial_folder_missing_class_in_test(tiny_cifar):
    for f in (tiny_cifar / "test" / "dog").iterdir():
        f.unlink()
    (tiny_cifar / "test" / "dog").rmdir()
    assert "partial" in error_of(tiny_cifar, download=False)


def test_partial_folder_missing_split(tiny_cifar):
    import shutil

    shutil.rmtree(tiny_cifar / "test")
    assert "test/" in error_of(tiny_cifar, download=False)


def test_empty_class_folder(tiny_cifar):
    for f in (tiny_cifar / "train" / "cat").iterdir():
        f.unlink()
    assert "holds no" in error_of(tiny_cifar, download=False)


def test_empty_folder_without_download(tmp_path):
    (tmp_path / "empty").mkdir()
    msg = error_of(tmp_path / "empty", download=False)
    assert "No CIFAR-10" in msg


def test_no_network_says_where_to_put_the_archive(tmp_path, monkeypatch):
    import torchvision.datasets

    def offline(*args, **kwargs):
        import urllib.error

        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    msg = error_of(tmp_path / "dl", download=True)
    assert "Offline?" in msg and "cifar-10-python.tar.gz" in msg and "train/<class>/" in msg


def test_a_file_as_data_dir(tmp_path):
    f = tmp_path / "f"
    f.write_text("x")
    assert "is a file" in error_of(f, download=False)


def test_torchvision_arrays_taken_whole(tmp_path, monkeypatch):
    import numpy as np
    import torchvision.datasets

    class FakeCIFAR10:
        classes = ["a", "b"]

        def __init__(self, root, train, download):
            n = 6 if train else 2
            self.data = np.arange(n * 32 * 32 * 3, dtype=np.uint8).reshape(n, 32, 32, 3)
            self.targets = [i % 2 for i in range(n)]

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", FakeCIFAR10)
    (tmp_path / TORCHVISION_FOLDER).mkdir()
    ds = load_cifar10(tmp_path, download=False)
    assert ds.source == "torchvision"
    assert ds.train_x.shape == (6, 3, 32, 32)
    # HWC -> CHW: channel c of pixel (0, 1) of image 0 is element 3*1 + c of the raw array
    assert ds.train_x[0, :, 0, 1].tolist() == [3, 4, 5]
    assert ds.test_y.tolist() == [0, 1]
