"""Training throughput: the project's pipeline against a naive reference pipeline, in one process.

- project: the uint8 training set resident on the device, batched crop+flip on the device,
  normalise, MixUp, channels_last, bf16 autocast where the hardware has it. Model, optimizer,
  schedule, random streams and step context come from `train.setup`, as in `train_run`, and
  every step is `train.train_step`, the very function `train_run` calls.
- naive: `naive.NaivePipeline`, a textbook torchvision Dataset + PIL transforms +
  DataLoader + fp32 NCHW model + numpy/randperm MixUp.

Both use the same model, batch size, device, MixUp alpha, optimizer settings and augmentation
(crop + flip on), the same warm-up and timed steps, one after the other, for `rounds` rounds; the
medians and their ratio are reported. Also reported (`roof`): model FLOPs per image (counted), the
device's matmul roof (2048x2048, bf16 and fp32) and the fraction of it reached, and the time of one
epoch (50,000 training images) plus its evaluation (10,000 clean-train + 10,000 test images):
estimated from the measured rates, or measured with a real one-epoch `train_run` (`epoch=True`).
Options and their checks: `config.BenchConfig`. Output: `report`.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from rich.console import Console
from torch.utils.data import Dataset

from mixup_bench.bench.naive import NaivePipeline, default_workers, naive_dataset, physical_cores
from mixup_bench.bench.report import data_words, result_table, summary_lines
from mixup_bench.bench.roof import describe_device, device_roof, model_flops
from mixup_bench.config import CIFAR10_TEST_IMAGES, CIFAR10_TRAIN_IMAGES, BenchConfig, RunConfig
from mixup_bench.results.atomic import atomic_write_text
from mixup_bench.train.data import Cifar10
from mixup_bench.train.datasets.cifar10 import load_cifar10
from mixup_bench.train.device import keep_freed_memory, resolve_device, resolve_precision, sync
from mixup_bench.train.evaluate import EvalResult, evaluate
from mixup_bench.train.loop import train_run
from mixup_bench.train.models import count_parameters
from mixup_bench.train.setup import new_state, step_context
from mixup_bench.train.splits import Split
from mixup_bench.train.step import take_batch, train_step

__all__ = ["BenchConfig", "epoch_estimate", "model_flops", "run_bench"]  # BenchConfig, model_flops: re-exported

EPOCH_TRAIN_IMAGES = CIFAR10_TRAIN_IMAGES  # one real epoch: CIFAR-10's whole training set
# train_run evaluates its clean-train subset (10,000 images) and the test set (10,000) every epoch
EPOCH_EVAL_IMAGES = BenchConfig().training.clean_train_size + CIFAR10_TEST_IMAGES


@dataclass
class Timing:
    """The images/s of one pipeline, round by round."""

    images_per_s: list[float] = field(default_factory=list)  # one per round

    @property
    def median(self) -> float:
        return statistics.median(self.images_per_s)


# --- the project's pipeline ------------------------------------------------------------


class ProjectPipeline:
    """The project's training step on device-resident uint8 data, built and stepped as in `train_run`.

    total_steps: the steps the benchmark will take, the length of the learning-rate schedule.
    """

    def __init__(
        self,
        run: RunConfig,
        train: Split,
        device: torch.device,
        amp: torch.dtype | None,
        classes: int,
        total_steps: int,
    ):
        self.state = new_state(run, classes, device, total_steps)
        self.model = self.state.model
        self.model.train()
        self.ctx = step_context(run, self.state, device, amp)
        self.train = train
        self.bs = run.training.batch_size
        self.eval_batch = run.training.eval_batch_size
        self.steps_per_epoch = train.x.shape[0] // self.bs
        self.device = device
        self.order = torch.empty(0)
        self.pos = self.steps_per_epoch  # start with a fresh permutation

    def step(self) -> None:
        if self.pos >= self.steps_per_epoch:
            self.order = torch.randperm(self.train.x.shape[0], generator=self.ctx.data_gen).to(self.device)
            self.pos = 0
        xb, yb = take_batch(self.train, self.order, self.pos, self.bs)
        train_step(self.ctx, xb, yb)
        self.pos += 1

    def evaluate(self, split: Split) -> EvalResult:
        """`train.evaluate` as `train_run` calls it after each epoch; the model is left in training mode."""
        result = evaluate(self.ctx.forward, split, self.ctx.normalize, self.eval_batch, self.ctx.amp)
        self.model.train()
        return result


def time_steps(step: Callable[[], object], n_warmup: int, n_steps: int, batch_size: int, device: torch.device) -> float:
    """Images per second over `n_steps` calls of `step` after `n_warmup` untimed ones."""
    for _ in range(n_warmup):
        step()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(n_steps):
        step()
    sync(device)
    return n_steps * batch_size / (time.perf_counter() - t0)


# --- data ------------------------------------------------------------------------


def synthetic_cifar(n_train: int, n_test: int, seed: int) -> Cifar10:
    """Random uint8 images with random labels: throughput does not depend on the pixels."""
    g = torch.Generator().manual_seed(seed)
    return Cifar10(
        torch.randint(0, 256, (n_train, 3, 32, 32), dtype=torch.uint8, generator=g),
        torch.randint(0, 10, (n_train,), generator=g),
        torch.randint(0, 256, (n_test, 3, 32, 32), dtype=torch.uint8, generator=g),
        torch.randint(0, 10, (n_test,), generator=g),
        [f"class{k}" for k in range(10)],
        "synthetic",
        Path("."),
    )


def get_data(cfg: BenchConfig) -> tuple[Cifar10, dict]:
    """The data of `cfg.data_dir`, or just enough synthetic images (a full epoch's with `cfg.epoch`)."""
    if cfg.data_dir is not None:
        data = load_cifar10(Path(cfg.data_dir), download=False)
        cfg.training.check_data(data.train_x.shape[0])
        info = {"source": data.source, "root": str(Path(cfg.data_dir).resolve())}
    else:
        need, eval_batch = cfg.batch_size * (cfg.warmup + cfg.steps), cfg.training.eval_batch_size
        n_train = EPOCH_TRAIN_IMAGES if cfg.epoch else max(2 * cfg.batch_size, min(EPOCH_TRAIN_IMAGES, need))
        n_test = CIFAR10_TEST_IMAGES if cfg.epoch else min(4 * eval_batch, max(eval_batch, need))
        data = synthetic_cifar(n_train, n_test, cfg.run.seed)
        info = {"source": "synthetic", "root": None}
    info.update(train_images=int(data.train_x.shape[0]), test_images=int(data.test_x.shape[0]))
    return data, info


# --- the benchmark ------------------------------------------------------------------


def run_bench(cfg: BenchConfig, console: Console | None = None) -> dict:
    """Run the benchmark, print its table, write `cfg.out` (JSON) and return what was written."""
    cfg.validate()
    say = console or Console(highlight=False)
    device = resolve_device(cfg.device)
    amp = resolve_precision(cfg.precision, device)
    old_threads = torch.get_num_threads()
    if device.type == "cpu" and "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(physical_cores())  # one intra-op thread per core; SMT siblings only add contention
    threads = torch.get_num_threads()
    # As train_run does on the CPU. Process-wide, so the naive pipeline gets it too: the ratio is conservative.
    allocator = keep_freed_memory() if device.type == "cpu" else False
    try:
        return _run(cfg, say, device, amp, threads, allocator)
    finally:
        torch.set_num_threads(old_threads)


def _run(
    cfg: BenchConfig, say: Console, device: torch.device, amp: torch.dtype | None, threads: int, allocator: bool
) -> dict:
    data, data_info = get_data(cfg)
    workers = default_workers() if cfg.workers is None else cfg.workers
    naive_ds = naive_dataset(data.train_x, data.train_y, cfg.data_dir, data.source if cfg.data_dir else None)
    data_info["naive_dataset"] = type(naive_ds).__name__
    say.print(
        f"bench: {cfg.model}, batch {cfg.batch_size}, {device.type} ({threads} threads), "
        f"project {'bf16 autocast' if amp else 'fp32'} vs naive fp32 with {workers} DataLoader worker(s); "
        f"data: {data_words(data_info)}"
    )
    project, naive = build_pipelines(cfg, data, naive_ds, workers, device, amp)
    try:
        fast, slow = time_rounds(cfg, project.step, naive.step, device, say)
    finally:
        naive.close()

    flops = model_flops(cfg.model, data.num_classes)
    roof = device_roof(device)
    epoch = epoch_estimate(cfg.batch_size, fast.median, eval_images_per_s(project, data, device))
    if cfg.epoch:
        epoch.update(measure_epoch(cfg.run, data))
    result = {
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()},
        "device": {**describe_device(device, threads), "malloc_keeps_freed_memory": allocator},
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "data": data_info,
        "model_parameters": count_parameters(project.model),
        **pipelines_info(cfg, amp, workers),
        **throughput(fast, slow, flops, roof, amp),
        "epoch": epoch,
    }
    say.print(result_table(result))
    say.print(summary_lines(result))
    atomic_write_text(Path(cfg.out), json.dumps(result, indent=2) + "\n")
    say.print(f"Wrote {cfg.out}", markup=False, soft_wrap=True)
    return result


def build_pipelines(
    cfg: BenchConfig, data: Cifar10, naive_ds: Dataset, workers: int, device: torch.device, amp: torch.dtype | None
) -> tuple[ProjectPipeline, NaivePipeline]:
    """Both pipelines, with the model, batch size, MixUp alpha, seed and optimizer settings of `cfg.run`."""
    run, tc = cfg.run, cfg.training
    train = Split.on(data.train_x, data.train_y, device)
    project = ProjectPipeline(run, train, device, amp, data.num_classes, cfg.rounds * (cfg.warmup + cfg.steps))
    naive = NaivePipeline(
        naive_ds,
        tc.model,
        data.num_classes,
        tc.batch_size,
        workers,
        run.alpha,
        device,
        seed=run.seed,
        lr=tc.lr,
        momentum=tc.momentum,
        weight_decay=tc.weight_decay,
    )
    return project, naive


def time_rounds(
    cfg: BenchConfig, project: Callable[[], object], naive: Callable[[], object], device: torch.device, say: Console
) -> tuple[Timing, Timing]:
    """`cfg.rounds` rounds of warm-up + timed steps, project then naive: the images/s of each."""
    fast, slow = Timing(), Timing()
    for r in range(cfg.rounds):
        fast.images_per_s.append(time_steps(project, cfg.warmup, cfg.steps, cfg.batch_size, device))
        slow.images_per_s.append(time_steps(naive, cfg.warmup, cfg.steps, cfg.batch_size, device))
        say.print(
            f"  round {r + 1}/{cfg.rounds}: project {fast.images_per_s[-1]:,.0f} img/s, "
            f"naive {slow.images_per_s[-1]:,.0f} img/s"
        )
    return fast, slow


def pipelines_info(cfg: BenchConfig, amp: torch.dtype | None, workers: int) -> dict:
    """bench.json's `project` and `naive`: how each pipeline trains."""
    return {
        "project": {
            "precision": "bf16" if amp else "fp32",
            "memory_format": "channels_last",
            "compile": cfg.compile,
            "pipeline": "uint8 on device, batched crop+flip, normalise, MixUp, train.train_step",
        },
        "naive": {
            "precision": "fp32",
            "memory_format": "contiguous (NCHW)",
            "workers": workers,
            "pipeline": "torchvision Dataset of PIL images, PIL transforms, DataLoader, textbook MixUp",
        },
    }


def throughput(fast: Timing, slow: Timing, flops: dict, roof: dict, amp: torch.dtype | None) -> dict:
    """bench.json's `rounds`, `median`, `ratio`, `flops`, `roof` and `achieved` (GFLOP/s and share of the roof)."""
    roof_key = "bf16_gflops" if amp is not None and roof["bf16_gflops"] else "fp32_gflops"
    achieved = {
        "project_gflops": fast.median * flops["train_per_image"] / 1e9,
        "naive_gflops": slow.median * flops["train_per_image"] / 1e9,
        "project_roof": roof_key,
    }
    achieved["project_roof_fraction"] = achieved["project_gflops"] / roof[roof_key]
    achieved["naive_roof_fraction"] = achieved["naive_gflops"] / roof["fp32_gflops"]
    return {
        "rounds": [
            {"round": i + 1, "project_images_per_s": f, "naive_images_per_s": s, "ratio": f / s}
            for i, (f, s) in enumerate(zip(fast.images_per_s, slow.images_per_s, strict=True))
        ],
        "median": {"project_images_per_s": fast.median, "naive_images_per_s": slow.median},
        "ratio": fast.median / slow.median,
        "flops": flops,
        "roof": roof,
        "achieved": achieved,
    }


# --- epoch time ----------------------------------------------------------------------


def eval_images_per_s(project: ProjectPipeline, data: Cifar10, device: torch.device) -> float:
    """Evaluation throughput of `train.evaluate` on (up to) the test images, after one warm-up pass."""
    n = min(data.test_x.shape[0], 4 * project.eval_batch)
    split = Split.on(data.test_x[:n], data.test_y[:n], device)
    project.evaluate(split)
    sync(device)
    rates: list[float] = []
    for _ in range(2):
        t0 = time.perf_counter()
        project.evaluate(split)
        sync(device)
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates)


def epoch_estimate(batch_size: int, train_rate: float, eval_rate: float) -> dict:
    """One epoch's time from measured rates: the training set in full batches, then its evaluation."""
    train_images = EPOCH_TRAIN_IMAGES // batch_size * batch_size  # train_run drops the ragged batch
    train_s = train_images / train_rate
    eval_s = EPOCH_EVAL_IMAGES / eval_rate
    return {
        "train_images": train_images,
        "eval_images": EPOCH_EVAL_IMAGES,
        "eval_images_per_s": eval_rate,
        "estimate_train_s": train_s,
        "estimate_eval_s": eval_s,
        "estimate_s": train_s + eval_s,
        "measured_s": None,
    }


def measure_epoch(run: RunConfig, data: Cifar10) -> dict:
    """One real epoch of `train_run` for `run` (augment on, MixUp alpha) in a throwaway folder: its epoch_seconds."""
    with tempfile.TemporaryDirectory(prefix="mixup-bench-epoch-") as tmp:
        row = train_run(run, data, Path(tmp) / run.run_id)
    bs = run.training.batch_size
    return {
        "measured_s": row["epoch_seconds"],
        "measured_train_images_per_s": row["images_per_second"],
        "measured_train_images": (data.train_x.shape[0] // bs) * bs,
    }
