"""`mixup-bench bench` through CliRunner, with tiny steps on synthetic data. No timed assertions."""

from __future__ import annotations

import copy
import json
import os

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import RandomSampler
from typer.testing import CliRunner

from mixup_bench.bench import naive
from mixup_bench.bench.bench import BenchConfig, epoch_estimate, model_flops
from mixup_bench.bench.naive import NaivePipeline, default_workers, mixup_data, naive_dataset, physical_cores
from mixup_bench.cli import app
from mixup_bench.train.data import CIFAR10_MEAN, CIFAR10_STD

runner = CliRunner()
TINY = ["--steps", "2", "--warmup", "1", "--batch-size", "16", "--device", "cpu"]


@pytest.mark.slow  # end to end: trains or renders every figure
def test_bench_writes_bench_json_with_a_positive_ratio(tmp_path):
    out = tmp_path / "b" / "bench.json"
    res = runner.invoke(app, ["bench", *TINY, "--rounds", "2", "--workers", "0", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "synthetic" in res.output and "ratio project/naive" in res.output
    r = json.loads(out.read_text())
    for key in (
        "config",
        "device",
        "torch_version",
        "data",
        "project",
        "naive",
        "rounds",
        "median",
        "ratio",
        "flops",
        "roof",
        "achieved",
        "epoch",
    ):
        assert key in r, key
    assert r["config"]["steps"] == 2 and r["config"]["batch_size"] == 16 and r["config"]["model"] == "small-cnn"
    assert r["data"]["source"] == "synthetic" and r["data"]["train_images"] >= 32
    assert r["torch_version"] == torch.__version__
    assert len(r["rounds"]) == 2
    for rnd in r["rounds"]:
        assert rnd["project_images_per_s"] > 0 and rnd["naive_images_per_s"] > 0
    assert r["ratio"] > 0
    assert r["ratio"] == pytest.approx(r["median"]["project_images_per_s"] / r["median"]["naive_images_per_s"])
    assert r["naive"]["workers"] == 0 and r["naive"]["precision"] == "fp32"
    assert r["flops"]["train_per_image"] > 2.5 * r["flops"]["forward_per_image"] > 0
    assert r["roof"]["fp32_gflops"] > 0
    assert 0 < r["achieved"]["project_roof_fraction"]
    assert r["epoch"]["train_images"] == 50_000 // 16 * 16 and r["epoch"]["estimate_s"] > 0
    assert r["epoch"]["measured_s"] is None


def test_bench_with_a_loader_worker_and_an_image_folder(tiny_cifar, tmp_path):
    """--data-dir: the project uses the cached tensors, the naive pipeline torchvision's ImageFolder."""
    out = tmp_path / "bench.json"
    args = ["bench", *TINY, "--rounds", "1", "--workers", "1", "--precision", "fp32", "--data-dir", str(tiny_cifar)]
    res = runner.invoke(app, [*args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    r = json.loads(out.read_text())
    assert r["data"]["source"] == "image-folder" and r["data"]["naive_dataset"] == "ImageFolder"
    assert r["data"]["train_images"] == 72
    assert r["project"]["precision"] == "fp32" and r["naive"]["workers"] == 1
    assert r["achieved"]["project_roof"] == "fp32_gflops"
    assert r["ratio"] > 0


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--steps", "0"], "--steps"),
        (["--rounds", "0"], "--rounds"),
        (["--warmup", "-1"], "--warmup"),
        (["--batch-size", "1"], "--batch-size"),
        (["--model", "resnet9000"], "Unknown model"),
        (["--precision", "fp16"], "Unknown precision"),
        (["--device", "tpu"], "Unknown device"),
        (["--workers", "-2"], "--workers"),
        (["--data-dir", "/nonexistent/cifar"], "does not exist"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(tmp_path, extra, expected):
    res = runner.invoke(app, ["bench", *extra, "--out", str(tmp_path / "bench.json")])
    assert res.exit_code == 2, res.output
    assert expected in res.output
    assert len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "bench.json").exists()


def test_out_that_is_a_folder_is_refused(tmp_path):
    res = runner.invoke(app, ["bench", *TINY, "--out", str(tmp_path)])
    assert res.exit_code == 2 and "folder" in res.output


def test_empty_data_folder_is_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    res = runner.invoke(app, ["bench", *TINY, "--data-dir", str(tmp_path / "empty"), "--out", str(tmp_path / "b.json")])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1


def test_flops_are_counted_per_image():
    small = model_flops("small-cnn")
    # 3x3 convs 3-32, 32-32 at 32x32; 32-64, 64-64 at 16x16; 64-128, 128-128 at 8x8; head 128-10; 2 FLOPs a MAC
    macs = 9 * (32 * 32 * (3 * 32 + 32 * 32) + 16 * 16 * (32 * 64 + 64 * 64) + 8 * 8 * (64 * 128 + 128 * 128)) + 1280
    assert small["forward_per_image"] == 2 * macs
    assert 2.9 < small["train_per_image"] / small["forward_per_image"] < 3.0  # no input gradient for the first conv


def test_epoch_estimate_adds_training_and_evaluation():
    e = epoch_estimate(256, train_rate=1000.0, eval_rate=4000.0)
    assert e["train_images"] == 49_920
    assert e["estimate_s"] == pytest.approx(49.92 + 5.0)


@pytest.fixture
def fake_topology(tmp_path, monkeypatch):
    """A made-up /sys CPU topology: `physical_cores` reads tmp_path/sys/... instead of /sys/...

    Four logical CPUs on two cores (0 and 2 are SMT siblings, 1 and 3 too), and CPU 5 whose topology file
    is missing. Returns a setter for the CPUs this process may run on.
    """
    for cpu, siblings in {0: "0,2", 1: "1,3", 2: "0,2", 3: "1,3"}.items():
        folder = tmp_path / f"sys/devices/system/cpu/cpu{cpu}/topology"
        folder.mkdir(parents=True)
        (folder / "thread_siblings_list").write_text(siblings + "\n")
    monkeypatch.setattr(naive, "Path", lambda p: tmp_path / str(p).lstrip("/"))

    def allow(cpus: set[int]) -> None:
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(cpus), raising=False)

    return allow


@pytest.mark.parametrize(
    "cpus, cores",
    [
        ({0, 1, 2, 3}, 2),  # SMT siblings count once
        ({0, 2}, 1),  # both threads of one core
        ({0, 1}, 2),  # one thread of each core
        ({0, 1, 2, 3, 5}, 3),  # a CPU without a topology file counts as its own core
        ({3}, 1),
    ],
)
def test_physical_cores_counts_smt_siblings_once(fake_topology, cpus, cores):
    fake_topology(cpus)
    assert physical_cores() == cores
    assert default_workers() == cores  # one loader worker per physical core


@pytest.mark.parametrize("cpu_count, cores", [(8, 4), (1, 1), (None, 1)])
def test_physical_cores_without_affinity_is_half_the_logical_cpus(monkeypatch, cpu_count, cores):
    """macOS and Windows have no sched_getaffinity: assume two threads per core."""
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: cpu_count)
    assert physical_cores() == cores


def test_default_workers_and_cores():
    assert default_workers(2) == 2 and default_workers(1) == 1 and default_workers(64) == 8
    assert BenchConfig().workers is None


def test_naive_dataset_is_per_sample_pil_crop_with_zero_padding_flip_and_normalise():
    ds = naive_dataset(torch.full((8, 3, 32, 32), 200, dtype=torch.uint8), torch.arange(8) % 10, None, None)
    mean, std = torch.tensor(CIFAR10_MEAN).view(3, 1, 1), torch.tensor(CIFAR10_STD).view(3, 1, 1)
    for i in range(8):  # a constant image: every pixel is the image's value or the crop's zero padding, normalised
        img, label = ds[i]
        assert img.shape == (3, 32, 32) and img.dtype == torch.float32 and label == i
        kept, padded = img.isclose((200 / 255 - mean) / std, atol=1e-5), img.isclose(-mean / std, atol=1e-5)
        assert (kept | padded).all() and kept.any()


def test_naive_pipeline_is_the_textbook_recipe(monkeypatch):
    """A shuffling DataLoader that drops the last partial batch, an fp32 NCHW model, and one SGD step on
    lam * CE(y_a) + (1 - lam) * CE(y_b) with lam ~ Beta(alpha, alpha) from numpy, as mixup-cifar10 does."""
    x = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    pipe = NaivePipeline(naive_dataset(x, torch.arange(8), None, None), "small-cnn", 10, 4, 0, 0.4, torch.device("cpu"))
    assert pipe.loader.drop_last and isinstance(pipe.loader.sampler, RandomSampler)
    assert all(p.dtype == torch.float32 and p.is_contiguous() for p in pipe.model.parameters())
    mixed = []
    monkeypatch.setattr(naive, "mixup_data", lambda *args: mixed.append(mixup_data(*args)) or mixed[-1])
    before = copy.deepcopy(pipe.model)
    loss = pipe.step()
    xm, ya, yb, lam = mixed[0]
    with torch.no_grad():
        out = before(xm)
    expected = lam * F.cross_entropy(out, ya) + (1 - lam) * F.cross_entropy(out, yb)
    assert 0 < lam < 1 and loss == pytest.approx(float(expected), rel=1e-5)
    assert any(not torch.equal(p, q) for p, q in zip(before.parameters(), pipe.model.parameters(), strict=True))
    second = pipe.step()
    assert sorted(ya.tolist() + mixed[1][1].tolist()) == list(range(8))  # an epoch: every image once
    third = pipe.step()  # then a new epoch
    assert len(mixed) == 3 and pipe.train_loss == pytest.approx(loss + second + third)


def test_textbook_mixup_mixes_each_image_with_its_partner():
    x, y = torch.randn(6, 3, 2, 2), torch.arange(6)
    xm, ya, yb, lam = mixup_data(x, y, 0.4)
    assert 0 <= lam <= 1 and torch.equal(ya, y) and sorted(yb.tolist()) == list(range(6))
    assert torch.allclose(xm, lam * x + (1 - lam) * x[yb])
