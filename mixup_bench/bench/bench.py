"""Training throughput: the project's pipeline against a naive reference pipeline, in one process.

- project: the uint8 training set resident on the device, batched crop+flip on the device,
  normalise, MixUp, channels_last, bf16 autocast where the hardware has it. Every step is
  `train.train_step`, the very function `train_run` calls.
- naive: `reference.NaivePipeline`, a textbook torchvision Dataset + PIL transforms +
  DataLoader + fp32 NCHW model + numpy/randperm MixUp.

Both use the same model, batch size, device, MixUp alpha and augmentation (crop + flip on),
the same warm-up and timed steps, one after the other, for `rounds` rounds; the medians and
their ratio are reported. Also reported: model FLOPs per image (counted), the device's
matmul roof (2048x2048, bf16 and fp32) and the fraction of it reached, and the time of one
epoch (50,000 training images) plus its evaluation (10,000 clean-train + 10,000 test images):
estimated from the measured rates, or measured with a real one-epoch `train_run` (`epoch=True`).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from mixup_bench.bench.naive import NaivePipeline, default_workers, naive_dataset, physical_cores
from mixup_bench.config import DEVICES, PRECISIONS, RunConfig, TrainingConfig
from mixup_bench.errors import UserError
from mixup_bench.train.data import Cifar10, load_cifar10
from mixup_bench.train.device import keep_freed_memory, resolve_device, resolve_precision
from mixup_bench.train.evaluate import evaluate
from mixup_bench.train.loop import train_run
from mixup_bench.train.mixup import MixUp
from mixup_bench.train.models import MODELS, build_model, count_parameters
from mixup_bench.train.splits import Split
from mixup_bench.train.step import Normalize, StepContext, take_batch, train_step

EPOCH_TRAIN_IMAGES = 50_000  # CIFAR-10's training set
EPOCH_EVAL_IMAGES = 20_000  # train_run evaluates 10,000 clean-train + 10,000 test images per epoch
EVAL_BATCH = TrainingConfig().eval_batch_size
ROOF_N = 2048  # matmul size of the roof measurement
SEED = 0
LR = 0.05  # a small constant lr: throughput does not depend on it, and the weights stay sane


@dataclass(frozen=True)
class BenchConfig:
    """Options of `mixup-bench bench`."""

    model: str = "small-cnn"
    batch_size: int = 256
    device: str = "auto"
    precision: str = "auto"  # of the project's pipeline; the naive one is always fp32
    steps: int = 20  # timed steps per pipeline and round
    warmup: int = 5  # untimed steps before them
    rounds: int = 3
    compile: bool = False  # torch.compile the project's model (opt-in; see docs/performance.md)
    data_dir: Path | None = None  # None: synthetic uint8 images
    out: Path = Path("bench.json")
    workers: int | None = None  # DataLoader workers of the naive pipeline; None: default_workers()
    epoch: bool = False  # also time one real epoch + evaluation with train_run
    alpha: float = 0.4  # MixUp alpha of both pipelines

    def validate(self) -> None:
        if self.model not in MODELS:
            raise UserError(f"Unknown model {self.model!r}; choose one of: {', '.join(MODELS)}.")
        if self.precision not in PRECISIONS:
            raise UserError(f"Unknown precision {self.precision!r}; choose one of: {', '.join(PRECISIONS)}.")
        if self.device not in DEVICES:
            raise UserError(f"Unknown device {self.device!r}; choose one of: {', '.join(DEVICES)}.")
        if self.batch_size < 2:
            raise UserError(f"--batch-size must be at least 2 (MixUp pairs images), got {self.batch_size}.")
        if self.steps < 1:
            raise UserError(f"--steps must be at least 1, got {self.steps}.")
        if self.warmup < 0:
            raise UserError(f"--warmup must be 0 or more, got {self.warmup}.")
        if self.rounds < 1:
            raise UserError(f"--rounds must be at least 1, got {self.rounds}.")
        if self.workers is not None and self.workers < 0:
            raise UserError(f"--workers must be 0 or more, got {self.workers}.")
        if self.out.is_dir():
            raise UserError(f"--out {self.out} is a folder; give a file name such as bench.json.")
        if self.data_dir is not None and not Path(self.data_dir).exists():
            raise UserError(f"--data-dir {self.data_dir} does not exist; leave it out to use synthetic data.")


@dataclass
class Timing:
    images_per_s: list[float] = field(default_factory=list)  # one per round

    @property
    def median(self) -> float:
        return statistics.median(self.images_per_s)


# --- the two pipelines ---------------------------------------------------------


class ProjectPipeline:
    """The project's training step on device-resident uint8 data, as in `train_run`."""

    def __init__(self, train: Split, cfg: BenchConfig, device: torch.device, amp: torch.dtype | None, classes: int):
        torch.manual_seed(SEED)
        self.model = build_model(cfg.model, classes).to(device, memory_format=torch.channels_last)
        self.model.train()
        optimizer = torch.optim.SGD(self.model.parameters(), lr=LR, momentum=0.9, nesterov=True, weight_decay=5e-4)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)  # train_run steps one too
        self.forward = torch.compile(self.model) if cfg.compile else self.model
        data_gen = torch.Generator().manual_seed(SEED)
        self.ctx = StepContext(
            self.forward,
            optimizer,
            scheduler,
            Normalize(device),
            MixUp(cfg.alpha, torch.Generator().manual_seed(SEED + 1)),
            data_gen,
            augment=True,
            amp=amp,
        )
        self.train = train
        self.bs = cfg.batch_size
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


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def time_steps(step, n_warmup: int, n_steps: int, batch_size: int, device: torch.device) -> float:
    """Images per second over `n_steps` calls of `step` after `n_warmup` untimed ones."""
    for _ in range(n_warmup):
        step()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(n_steps):
        step()
    sync(device)
    return n_steps * batch_size / (time.perf_counter() - t0)


# --- model FLOPs and the device's roof ------------------------------------------


def model_flops(model_name: str, num_classes: int = 10) -> dict:
    """FLOPs per 32x32 image, counted on the meta device (no compute): forward, and forward+backward.

    Counts convolutions and matmuls (2 FLOPs a multiply-add), as torch.utils.flop_counter does.
    Training is about 3x the forward (the first conv needs no input gradient, hence a bit less).
    """
    from torch.utils.flop_counter import FlopCounterMode

    model = build_model(model_name, num_classes).to("meta")
    x = torch.empty(1, 3, 32, 32, device="meta")
    with FlopCounterMode(display=False) as fwd:
        model(x)
    with FlopCounterMode(display=False) as both:
        model(x).sum().backward()
    return {"forward_per_image": fwd.get_total_flops(), "train_per_image": both.get_total_flops()}


def matmul_gflops(device: torch.device, dtype: torch.dtype, n: int = ROOF_N, reps: int = 5) -> float:
    """Best of `reps` timings of an n x n matmul, in GFLOP/s: the practical compute roof of the device."""
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    for _ in range(2):
        a @ b
    sync(device)
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def device_roof(device: torch.device) -> dict:
    from mixup_bench.train.device import cpu_supports_bf16

    bf16_native = (device.type == "cuda" and torch.cuda.is_bf16_supported()) or (
        device.type == "cpu" and cpu_supports_bf16()
    )
    return {
        "matmul_n": ROOF_N,
        "fp32_gflops": matmul_gflops(device, torch.float32),
        "bf16_gflops": matmul_gflops(device, torch.bfloat16) if bf16_native else None,
    }


# --- data ------------------------------------------------------------------------


def synthetic_cifar(n_train: int, n_test: int) -> Cifar10:
    """Random uint8 images with random labels: throughput does not depend on the pixels."""
    g = torch.Generator().manual_seed(SEED)
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
    if cfg.data_dir is not None:
        data = load_cifar10(Path(cfg.data_dir), download=False)
        if data.train_x.shape[0] < cfg.batch_size:
            raise UserError(
                f"{cfg.data_dir} has {data.train_x.shape[0]} training images, fewer than one batch of "
                f"{cfg.batch_size}; lower --batch-size."
            )
        info = {"source": data.source, "root": str(Path(cfg.data_dir).resolve())}
    else:
        need = cfg.batch_size * (cfg.warmup + cfg.steps)
        n_train = EPOCH_TRAIN_IMAGES if cfg.epoch else max(2 * cfg.batch_size, min(EPOCH_TRAIN_IMAGES, need))
        n_test = 10_000 if cfg.epoch else min(4 * EVAL_BATCH, max(EVAL_BATCH, need))
        data = synthetic_cifar(n_train, n_test)
        info = {"source": "synthetic", "root": None}
    info.update(train_images=int(data.train_x.shape[0]), test_images=int(data.test_x.shape[0]))
    return data, info


def describe_device(device: torch.device, threads: int) -> dict:
    d = {"type": device.type, "threads": threads, "physical_cores": physical_cores()}
    if device.type == "cuda":
        d["name"] = torch.cuda.get_device_name(device)
    else:
        name = platform.processor() or platform.machine()
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        d["name"] = name
    return d


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
        f"data: {_data_words(data_info)}"
    )

    train = Split.on(data.train_x, data.train_y, device)
    project = ProjectPipeline(train, cfg, device, amp, data.num_classes)
    naive = NaivePipeline(naive_ds, cfg.model, data.num_classes, cfg.batch_size, workers, cfg.alpha, device, SEED, LR)
    fast, slow = Timing(), Timing()
    try:
        for r in range(cfg.rounds):
            fast.images_per_s.append(time_steps(project.step, cfg.warmup, cfg.steps, cfg.batch_size, device))
            slow.images_per_s.append(time_steps(naive.step, cfg.warmup, cfg.steps, cfg.batch_size, device))
            say.print(
                f"  round {r + 1}/{cfg.rounds}: project {fast.images_per_s[-1]:,.0f} img/s, "
                f"naive {slow.images_per_s[-1]:,.0f} img/s"
            )
    finally:
        naive.close()

    flops = model_flops(cfg.model, data.num_classes)
    roof = device_roof(device)
    eval_rate = eval_images_per_s(project, data, device, amp)
    epoch = epoch_estimate(cfg.batch_size, fast.median, eval_rate)
    if cfg.epoch:
        epoch.update(measure_epoch(cfg, data, device))

    ratio = fast.median / slow.median
    roof_key = "bf16_gflops" if amp is not None and roof["bf16_gflops"] else "fp32_gflops"
    achieved = {
        "project_gflops": fast.median * flops["train_per_image"] / 1e9,
        "naive_gflops": slow.median * flops["train_per_image"] / 1e9,
        "project_roof": roof_key,
    }
    achieved["project_roof_fraction"] = achieved["project_gflops"] / roof[roof_key]
    achieved["naive_roof_fraction"] = achieved["naive_gflops"] / roof["fp32_gflops"]
    result = {
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()},
        "device": {**describe_device(device, threads), "malloc_keeps_freed_memory": allocator},
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "data": data_info,
        "model_parameters": count_parameters(project.model),
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
        "rounds": [
            {"round": i + 1, "project_images_per_s": f, "naive_images_per_s": s, "ratio": f / s}
            for i, (f, s) in enumerate(zip(fast.images_per_s, slow.images_per_s, strict=True))
        ],
        "median": {"project_images_per_s": fast.median, "naive_images_per_s": slow.median},
        "ratio": ratio,
        "flops": flops,
        "roof": roof,
        "achieved": achieved,
        "epoch": epoch,
    }
    say.print(result_table(result))
    say.print(summary_lines(result))
    out = Path(cfg.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(out)
    say.print(f"Wrote {out}")
    return result


def _data_words(info: dict) -> str:
    if info["source"] == "synthetic":
        return f"synthetic random uint8 images ({info['train_images']:,}; no --data-dir given)"
    return f"CIFAR-10 {info['source']} at {info['root']} ({info['train_images']:,} training images)"


# --- epoch time ----------------------------------------------------------------------


def eval_images_per_s(project: ProjectPipeline, data: Cifar10, device: torch.device, amp) -> float:
    """Evaluation throughput of `train.evaluate` on (up to) the test images, after one warm-up pass."""
    n = min(data.test_x.shape[0], 4 * EVAL_BATCH)
    split = Split.on(data.test_x[:n], data.test_y[:n], device)
    evaluate(project.forward, split, project.ctx.normalize, EVAL_BATCH, amp)
    sync(device)
    rates: list[float] = []
    for _ in range(2):
        t0 = time.perf_counter()
        evaluate(project.forward, split, project.ctx.normalize, EVAL_BATCH, amp)
        sync(device)
        rates.append(n / (time.perf_counter() - t0))
    project.model.train()
    return statistics.median(rates)


def epoch_estimate(batch_size: int, train_rate: float, eval_rate: float) -> dict:
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


def measure_epoch(cfg: BenchConfig, data: Cifar10, device: torch.device) -> dict:
    """One real epoch of `train_run` (augment on, MixUp cfg.alpha) in a throwaway folder: its epoch_seconds."""
    training = TrainingConfig(
        epochs=1, batch_size=cfg.batch_size, model=cfg.model, augment=True, precision=cfg.precision, compile=cfg.compile
    )
    run = RunConfig("bench", cfg.alpha, SEED, training, cfg.device)
    with tempfile.TemporaryDirectory(prefix="mixup-bench-epoch-") as tmp:
        row = train_run(run, data, Path(tmp) / run.run_id)
    return {
        "measured_s": row["epoch_seconds"],
        "measured_train_images_per_s": row["images_per_second"],
        "measured_train_images": (data.train_x.shape[0] // cfg.batch_size) * cfg.batch_size,
    }


# --- output ----------------------------------------------------------------------------


def result_table(r: dict) -> Table:
    """One row per pipeline: images/s per round, median, ms/step, GFLOP/s and the share of the roof."""
    c, p, n, a = r["config"], r["project"], r["naive"], r["achieved"]
    t = Table(title=f"{c['model']}, batch {c['batch_size']}, {r['device']['type']} ({r['device']['threads']} threads)")
    t.add_column("pipeline", no_wrap=True)
    for i in range(len(r["rounds"])):
        t.add_column(f"r{i + 1}", justify="right")
    t.add_column("median img/s", justify="right", style="bold")
    t.add_column("ms/step", justify="right")
    t.add_column("GFLOP/s", justify="right")
    t.add_column("of roof", justify="right")
    project_roof = a["project_roof"].split("_")[0]
    t.caption = (
        f"project: {p['precision']} {'autocast, ' if p['precision'] == 'bf16' else ''}channels_last"
        f"{', compiled' if p['compile'] else ''} (roof: {project_roof} matmul); "
        f"naive: fp32, NCHW, DataLoader with {n['workers']} worker(s) (roof: fp32 matmul)"
    )
    rows = [
        (
            "project",
            [x["project_images_per_s"] for x in r["rounds"]],
            r["median"]["project_images_per_s"],
            a["project_gflops"],
            f"{a['project_roof_fraction']:.0%}",
        ),
        (
            "naive",
            [x["naive_images_per_s"] for x in r["rounds"]],
            r["median"]["naive_images_per_s"],
            a["naive_gflops"],
            f"{a['naive_roof_fraction']:.0%}",
        ),
    ]
    for name, per_round, med, gflops, roof in rows:
        cells = [f"{v:,.0f}" for v in per_round]
        t.add_row(name, *cells, f"{med:,.0f}", f"{1000 * c['batch_size'] / med:.0f}", f"{gflops:.0f}", roof)
    return t


def summary_lines(r: dict) -> str:
    f, roof, e = r["flops"], r["roof"], r["epoch"]
    bf16 = f"bf16 {roof['bf16_gflops']:.0f}" if roof["bf16_gflops"] else "bf16 not native"
    lines = [
        f"[bold]ratio project/naive: {r['ratio']:.2f}x[/bold] (median of {len(r['rounds'])} rounds)",
        f"model: {f['forward_per_image'] / 1e6:.1f} MFLOP forward, {f['train_per_image'] / 1e6:.1f} MFLOP "
        f"forward+backward per image; roof ({roof['matmul_n']}x{roof['matmul_n']} matmul): {bf16}, "
        f"fp32 {roof['fp32_gflops']:.0f} GFLOP/s",
        f"epoch estimate: {e['estimate_s']:.1f} s = {e['train_images']:,} training images "
        f"({e['estimate_train_s']:.1f} s) + {e['eval_images']:,} evaluation images at "
        f"{e['eval_images_per_s']:,.0f} img/s ({e['estimate_eval_s']:.1f} s)",
    ]
    if e.get("measured_s") is not None:
        lines.append(
            f"epoch measured (train_run, 1 epoch incl. evaluation): {e['measured_s']:.1f} s, "
            f"training at {e['measured_train_images_per_s']:,.0f} img/s"
        )
    lines.append(f"data: {_data_words(r['data'])}")
    return "\n".join(lines)
