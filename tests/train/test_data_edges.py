"""Image folders with odd entries and odd images, and a decoded-tensor cache that lies.

Odd entries (a dangling symlink, a folder or a symlink loop named like an image) give one line naming
the entry, for `data` and `run` alike. 16-bit PNGs are scaled to 8 bits (never cut to their low byte);
grayscale, palette and opaque RGBA images are converted; transparency is refused with one line. A cache
file is trusted only when what it holds (split, fingerprint, count, labels) matches the folder.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from mixup_bench.cli import app
from mixup_bench.errors import UserError
from mixup_bench.train.datasets.cifar10 import load_cifar10
from mixup_bench.train.datasets.decode import to_uint8
from mixup_bench.train.datasets.image_folder import CACHE_DIR_NAME

runner = CliRunner()


def one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    for needle in needles:
        assert needle in errors[0], errors[0]


def data_and_run(root: Path, tmp_path: Path) -> list:
    """`mixup-bench data` and `mixup-bench run` on `root`."""
    return [
        runner.invoke(app, ["data", "--data-dir", str(root)]),
        runner.invoke(
            app,
            [
                "run",
                "--data-dir",
                str(root),
                "--out",
                str(tmp_path / "out"),
                "--epochs",
                "1",
                "--batch-size",
                "16",
                "--subset",
                "0",
                "--device",
                "cpu",
                "-q",
            ],
        ),  # fmt: skip
    ]


# --- odd entries ------------------------------------------------------------------------------------------


def test_dangling_symlink_named_like_an_image_is_named(tiny_cifar, tmp_path):
    bad = tiny_cifar / "train" / "cat" / "x.jpg"
    os.symlink(tmp_path / "nowhere.jpg", bad)
    for result in data_and_run(tiny_cifar, tmp_path):
        one_line_error(result, str(bad), "broken symlink")


def test_folder_named_like_an_image_is_named(tiny_cifar, tmp_path):
    bad = tiny_cifar / "train" / "cat" / "x.jpg"
    bad.mkdir()
    for result in data_and_run(tiny_cifar, tmp_path):
        one_line_error(result, str(bad), "is a folder, not an image")


def test_symlink_loop_named_like_an_image_is_named(tiny_cifar, tmp_path):
    bad = tiny_cifar / "test" / "dog" / "x.png"
    os.symlink(bad, bad)
    for result in data_and_run(tiny_cifar, tmp_path):
        one_line_error(result, str(bad), "symlink loop")


def test_fifo_named_like_an_image_is_named(tiny_cifar, tmp_path):
    bad = tiny_cifar / "train" / "frog" / "x.png"
    os.mkfifo(bad)  # reading it would block forever
    one_line_error(data_and_run(tiny_cifar, tmp_path)[0], str(bad), "not a regular file")


def test_symlink_to_a_real_image_is_fine(tiny_cifar):
    target = tiny_cifar / "train" / "cat" / "0000.png"
    os.symlink(target, tiny_cifar / "train" / "cat" / "link.png")
    ds = load_cifar10(tiny_cifar, download=False)
    assert ds.train_x.shape[0] == 3 * 24 + 1


def test_unreadable_image_is_named(tiny_cifar, monkeypatch):
    bad = tiny_cifar / "train" / "cat" / "0003.png"
    real = Path.read_bytes

    def read_bytes(self):
        if self == bad:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    with pytest.raises(UserError, match=r"cannot read .*0003\.png: Permission denied"):
        load_cifar10(tiny_cifar, download=False)


# --- odd images ---------------------------------------------------------------------------------------------


def png16(rgb16: np.ndarray) -> bytes:
    """A 16-bit-per-channel RGB PNG (colour type 2, bit depth 16) from an (H, W, 3) uint16 array."""
    h, w, _ = rgb16.shape
    raw = b"".join(b"\x00" + rgb16[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def pil_bytes(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def rgb8(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (32, 32, 3), dtype=np.uint8)


def first_train_image(root: Path, payload: bytes, name: str = "0000.png") -> torch.Tensor:
    """Put `payload` as the first cat image of `root`, load the folder, return that image (3, 32, 32)."""
    (root / "train" / "cat" / "0000.png").unlink(missing_ok=True)
    (root / "train" / "cat" / name).write_bytes(payload)
    return load_cifar10(root, download=False).train_x[0]


def test_16_bit_png_is_scaled_not_cut_to_its_low_byte(tiny_cifar):
    rgb = rgb8()
    img = first_train_image(tiny_cifar, png16(rgb.astype(np.uint16) * 257))  # v * 257: exactly v on 8 bits
    assert torch.equal(img, torch.from_numpy(rgb).permute(2, 0, 1))


def test_16_bit_png_rounds_to_nearest(tiny_cifar):
    values = np.array([0, 128, 129, 255 * 257 - 129, 255 * 257 - 128, 65535], dtype=np.uint16)
    rgb16 = np.zeros((32, 32, 3), dtype=np.uint16)
    rgb16[0, : len(values), 0] = values
    img = first_train_image(tiny_cifar, png16(rgb16))
    assert img[0, 0, : len(values)].tolist() == [0, 0, 1, 254, 255, 255]


def test_16_bit_grayscale_png_is_scaled(tiny_cifar):
    gray16 = rgb8()[..., 0].astype(np.uint16) << 8  # low byte 0: cutting to it would give a black image
    img = first_train_image(tiny_cifar, pil_bytes(Image.fromarray(gray16)))
    expected = ((gray16.astype(np.int64) * 255 + 32767) // 65535).astype(np.uint8)
    assert torch.equal(img, torch.from_numpy(expected).expand(3, 32, 32)) and img.float().mean() > 50


def test_grayscale_png_becomes_three_equal_channels(tiny_cifar):
    gray = rgb8()[..., 0]
    img = first_train_image(tiny_cifar, pil_bytes(Image.fromarray(gray)))
    assert torch.equal(img, torch.from_numpy(gray).expand(3, 32, 32))


def test_palette_png_is_expanded_to_its_colours(tiny_cifar):
    colours = np.array([[255, 0, 0], [0, 128, 255], [10, 20, 30]], dtype=np.uint8)
    rgb = colours[np.random.default_rng(1).integers(0, 3, (32, 32))]
    pal = Image.fromarray(rgb).quantize(colors=3, method=Image.Quantize.FASTOCTREE)
    assert pal.mode == "P"
    img = first_train_image(tiny_cifar, pil_bytes(pal))
    assert torch.equal(img, torch.from_numpy(np.array(pal.convert("RGB"))).permute(2, 0, 1))
    assert torch.equal(img, torch.from_numpy(rgb).permute(2, 0, 1))


def test_opaque_rgba_png_keeps_its_colours(tiny_cifar):
    rgb = rgb8()
    rgba = np.dstack([rgb, np.full((32, 32), 255, np.uint8)])
    img = first_train_image(tiny_cifar, pil_bytes(Image.fromarray(rgba)))
    assert torch.equal(img, torch.from_numpy(rgb).permute(2, 0, 1))


@pytest.mark.parametrize(
    "payload",
    [
        pil_bytes(Image.fromarray(np.dstack([rgb8(), np.full((32, 32), 100, np.uint8)]))),  # RGBA, half transparent
        pil_bytes(Image.fromarray(np.dstack([rgb8()[..., 0], np.zeros((32, 32), np.uint8)]))),  # grey + alpha
        pil_bytes(Image.fromarray(rgb8()).quantize(colors=8), transparency=0),  # palette with tRNS
    ],
    ids=["rgba", "la", "palette-trns"],
)
def test_transparent_png_is_refused_with_one_line(tiny_cifar, tmp_path, payload):
    bad = tiny_cifar / "train" / "cat" / "0000.png"
    bad.write_bytes(payload)
    for result in data_and_run(tiny_cifar, tmp_path):
        one_line_error(result, str(bad), "transparent")


def test_grayscale_and_cmyk_jpegs_are_converted(tiny_cifar):
    gray = first_train_image(tiny_cifar, pil_bytes(Image.fromarray(rgb8()[..., 0]), "JPEG"), "0000.jpg")
    assert gray.shape == (3, 32, 32) and torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])
    flat = np.full((32, 32, 3), (200, 40, 90), np.uint8)
    (tiny_cifar / "train" / "cat" / "0000.jpg").unlink()
    cmyk = first_train_image(tiny_cifar, pil_bytes(Image.fromarray(flat).convert("CMYK"), "JPEG"), "0000.jpg")
    assert (cmyk.to(torch.int32) - torch.tensor([200, 40, 90]).view(3, 1, 1)).abs().max() <= 3


def test_to_uint8_refuses_other_sample_types():
    with pytest.raises(UserError, match="decodes to torch.float32"):
        to_uint8(torch.zeros(3, 32, 32), Path("x.png"))


# --- the cache -------------------------------------------------------------------------------------------------


def cache_files(root: Path) -> dict[str, Path]:
    files = sorted((root / CACHE_DIR_NAME).glob("*.pt"))
    return {p.name.split("-")[0]: p for p in files}


def test_test_cache_copied_over_the_train_cache_is_rebuilt_with_a_message(tiny_cifar):
    first = load_cifar10(tiny_cifar, download=False)
    caches = cache_files(tiny_cifar)
    assert set(caches) == {"train", "test"}
    shutil.copyfile(caches["test"], caches["train"])  # the file name says train; the content is the test split
    said: list[str] = []
    again = load_cifar10(tiny_cifar, download=False, progress=said.append)
    assert torch.equal(again.train_x, first.train_x) and torch.equal(again.train_y, first.train_y)
    assert again.train_x.shape[0] == 72 and again.test_x.shape[0] == 24
    assert any("holds the 'test' split, not 'train'; rebuilding it" in s for s in said), said
    # rebuilt: the next load uses it without a word
    said.clear()
    load_cifar10(tiny_cifar, download=False, progress=said.append)
    assert said == []


def test_cache_with_other_labels_or_shape_is_rebuilt(tiny_cifar):
    first = load_cifar10(tiny_cifar, download=False)
    train_cache = cache_files(tiny_cifar)["train"]
    blob = torch.load(train_cache, weights_only=True)
    blob["y"] = torch.zeros_like(blob["y"])  # labels that the class folders do not give
    torch.save(blob, train_cache)
    said: list[str] = []
    again = load_cifar10(tiny_cifar, download=False, progress=said.append)
    assert torch.equal(again.train_y, first.train_y)
    assert any("other labels" in s for s in said), said
    blob["y"], blob["x"] = first.train_y, first.train_x[:10]  # too few images
    torch.save(blob, train_cache)
    said.clear()
    again = load_cifar10(tiny_cifar, download=False, progress=said.append)
    assert torch.equal(again.train_x, first.train_x) and any("rebuilding" in s for s in said)


def test_cache_of_an_older_version_is_rebuilt(tiny_cifar):
    first = load_cifar10(tiny_cifar, download=False)
    train_cache = cache_files(tiny_cifar)["train"]
    torch.save({"x": first.test_x, "y": first.test_y}, train_cache)  # version 1 held nothing else
    said: list[str] = []
    again = load_cifar10(tiny_cifar, download=False, progress=said.append)
    assert torch.equal(again.train_x, first.train_x)
    assert any("another version" in s for s in said), said


def test_a_new_cache_replaces_the_splits_older_ones(tiny_cifar):
    load_cifar10(tiny_cifar, download=False)
    f = tiny_cifar / "train" / "cat" / "0000.png"
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))  # a new fingerprint for train
    load_cifar10(tiny_cifar, download=False)
    names = [p.name.split("-")[0] for p in (tiny_cifar / CACHE_DIR_NAME).glob("*.pt")]
    assert sorted(names) == ["test", "train"]
