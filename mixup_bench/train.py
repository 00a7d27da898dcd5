"""One run: the training loop, evaluation, checkpoint and exact resume.

Data flow per epoch: permutation -> batch of uint8 images already on the device ->
augment on the device -> normalise -> mix -> forward/backward -> running sums on the
device -> one host sync -> evaluation -> checkpoint -> metrics.csv.

Pairing: the same seed gives the same initial weights (torch global RNG, seeded
just before the model is built) and the same batch order and augmentations (the
`data` generator) in every arm. MixUp draws lam and its pairing from its own
`mixup` generator, so the arms differ by MixUp alone.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from mixup_bench import results
from mixup_bench.augment import random_crop_flip
from mixup_bench.config import TRAINING_KEYS, RunConfig
from mixup_bench.data import Cifar10
from mixup_bench.errors import UserError
from mixup_bench.mixup import MixUp, mixed_correct
from mixup_bench.models import build_model

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)  # per-channel, on the [0, 1] scale
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
ECE_BINS = 15
SUBSET_SEED = 0  # --subset and the clean-train subset are the same for every seed and arm
CHECKPOINT_VERSION = 1

Event = dict
OnEvent = Callable[[Event], None]


class StopRequested(Exception):
    """Raised inside the loop when the user asked to stop; the last checkpoint stands."""


# --- device and precision ----------------------------------------------------


def resolve_device(name: str) -> torch.device:
    """'auto' picks cuda, then mps, then cpu. Asking for a missing device is a UserError."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for, but torch sees no CUDA GPU; use --device cpu or auto.")
    if name == "mps" and not torch.backends.mps.is_available():
        raise UserError("--device mps was asked for, but this torch has no MPS support; use --device cpu or auto.")
    return torch.device(name)


def cpu_supports_bf16() -> bool:
    """True when the CPU has native bf16 matmul (AVX512-BF16 or AMX); else bf16 is slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return ("avx512_bf16" in flags or "amx_bf16" in flags) and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for fp32. 'auto' uses bf16 where the hardware has it."""
    if precision == "fp32":
        return None
    supported = (device.type == "cuda" and torch.cuda.is_bf16_supported()) or (
        device.type == "cpu" and cpu_supports_bf16()
    )
    if precision == "bf16":
        if device.type == "mps":
            raise UserError("--precision bf16 is not supported on mps; use --precision fp32 or auto.")
        return torch.bfloat16
    return torch.bfloat16 if supported else None


_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3  # glibc mallopt parameters
_allocator_tuned = False


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed blocks for reuse instead of handing them back to the OS.

    A CPU training step allocates and frees the same tens of MB of activations every step. By
    default glibc serves such blocks with fresh mmaps (or trims the heap after a free), so each
    step page-faults and zero-fills them again: 3,500-6,600 faults and 7-14 ms of system time per
    small-cnn step, 3-7% of it, on the 2-core reference CPU (docs/performance.md). Process-wide,
    once; returns whether it applied (False off glibc). The cost: the process keeps its peak heap
    until it exits.
    """
    global _allocator_tuned
    if _allocator_tuned:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        # Newer glibc caps the mmap threshold at 32 MB; take the largest value it accepts.
        mmap_ok = any(libc.mallopt(_M_MMAP_THRESHOLD, v) == 1 for v in (1 << 30, 32 << 20))
        _allocator_tuned = bool(
            mmap_ok and libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30) == 1 and libc.mallopt(_M_TOP_PAD, 64 << 20) == 1
        )
    except (OSError, AttributeError):  # musl, or no libc.so.6
        return False
    return _allocator_tuned


def derive_seed(seed: int, stream: str) -> int:
    """Independent 63-bit seeds for named random streams of one run seed."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{stream}".encode()).digest()[:8], "little") >> 1


# --- tensors on the device ---------------------------------------------------


class Normalize(nn.Module):
    """uint8 (B, 3, H, W) -> float (B, 3, H, W) channels_last, standardised per channel."""

    def __init__(self, device: torch.device):
        super().__init__()
        std = torch.tensor(CIFAR10_STD, device=device).view(1, 3, 1, 1)
        mean = torch.tensor(CIFAR10_MEAN, device=device).view(1, 3, 1, 1)
        self.scale = 1.0 / (255.0 * std)  # (x/255 - mean)/std = x*scale - shift: one fused pass
        self.shift = mean / std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float().mul_(self.scale).sub_(self.shift)
        return x.contiguous(memory_format=torch.channels_last)


def fixed_subset(n: int, k: int, stream: str) -> torch.Tensor:
    """The first k indices of a fixed shuffle of range(n): same for every seed and arm."""
    g = torch.Generator().manual_seed(derive_seed(SUBSET_SEED, stream))
    return torch.randperm(n, generator=g)[: min(k, n)]


@dataclass
class Split:
    """One split on the device: uint8 images (N, 3, 32, 32) and int64 labels (N,)."""

    x: torch.Tensor
    y: torch.Tensor

    @classmethod
    def on(cls, x: torch.Tensor, y: torch.Tensor, device: torch.device) -> Split:
        return cls(x.to(device), y.to(device))


# --- evaluation --------------------------------------------------------------


@dataclass
class EvalResult:
    loss: float  # mean cross-entropy
    acc: float  # in [0, 1]
    ece: float  # expected calibration error, ECE_BINS equal-width confidence bins
    calibration: dict  # per-bin counts and sums, the input of the reliability diagram


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """An eval-mode copy of `model` with every conv -> BatchNorm pair folded into one conv (with bias).

    In eval mode BN is a fixed per-channel affine map, so folding changes nothing but rounding,
    and saves a pass over every activation (~7% of small-cnn's evaluation time on the reference
    CPU). Models that torch.fx cannot trace, and torch.compile'd ones, are returned as they are.
    """
    if not isinstance(model, nn.Module) or hasattr(model, "_orig_mod"):  # compiled: leave it to inductor
        return model
    from torch.fx.experimental.optimization import fuse

    try:
        return fuse(model)  # traces, deep-copies and folds; the training model is untouched
    except Exception:  # untraceable control flow and the like: evaluate the model as it is
        return model


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    split: Split,
    normalize: Normalize,
    batch_size: int,
    autocast_dtype: torch.dtype | None,
    n_bins: int = ECE_BINS,
) -> EvalResult:
    """Loss, accuracy and calibration of `model` in eval mode. One host sync at the end.

    Per-image confidences and hits are kept on the device and binned once at the end
    (one bincount per sum instead of three index_add_ per batch). Batch norms that follow a
    convolution are folded into it first (`fold_batchnorm`): the same function, fewer passes.
    """
    model.eval()
    model = fold_batchnorm(model)
    dev = split.x.device
    n = split.x.shape[0]
    loss_sum = torch.zeros((), device=dev)
    conf = torch.empty(n, device=dev)  # max softmax probability of each image
    hit = torch.empty(n, device=dev)  # 1.0 where the prediction is right
    for i in range(0, n, batch_size):
        xb, yb = split.x[i : i + batch_size], split.y[i : i + batch_size]
        with torch.autocast(dev.type, dtype=autocast_dtype or torch.float32, enabled=autocast_dtype is not None):
            logits = model(normalize(xb)).float()  # (B, C)
        loss_sum += F.cross_entropy(logits, yb, reduction="sum")
        c, pred = logits.softmax(dim=1).max(dim=1)  # (B,), (B,)
        conf[i : i + yb.shape[0]] = c
        hit[i : i + yb.shape[0]] = pred == yb
    b = (conf * n_bins).ceil().long().clamp_(1, n_bins) - 1  # bin k holds (k/n, (k+1)/n]
    count = torch.bincount(b, minlength=n_bins)
    conf_sum = torch.bincount(b, weights=conf, minlength=n_bins)
    hit_sum = torch.bincount(b, weights=hit, minlength=n_bins)
    count, conf_sum, hit_sum, loss_sum = (t.cpu() for t in (count, conf_sum, hit_sum, loss_sum))
    ece = float((conf_sum - hit_sum).abs().sum() / n)
    calibration = {
        "n_bins": n_bins,
        "bin_lower": [k / n_bins for k in range(n_bins)],
        "bin_upper": [(k + 1) / n_bins for k in range(n_bins)],
        "count": [int(c) for c in count.tolist()],
        "confidence_sum": conf_sum.tolist(),
        "correct_sum": hit_sum.tolist(),
        "ece": ece,
    }
    return EvalResult(float(loss_sum) / n, float(hit_sum.sum()) / n, ece, calibration)


# --- schedule ----------------------------------------------------------------


def warmup_linear_decay(total_steps: int, warmup_fraction: float) -> Callable[[int], float]:
    """LR multiplier: linear 0 -> 1 over the warmup steps, then linear 1 -> 0 at the last step."""
    warmup = max(1, round(total_steps * warmup_fraction))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return factor


# --- one run -----------------------------------------------------------------


@dataclass
class RunState:
    """Everything that changes during a run, with the checkpoint round trip."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    data_gen: torch.Generator  # batch order and augmentation
    mixup_gen: torch.Generator  # lam and pairing
    epoch: int = 0  # epochs finished
    history: list[dict] | None = None  # metrics rows so far
    lam_log: list[dict] | None = None  # every lam drawn so far

    def to_bytes(self, cfg: RunConfig) -> bytes:
        state = {
            "version": CHECKPOINT_VERSION,
            "config": cfg.to_dict(),
            "epoch": self.epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
                "data": self.data_gen.get_state(),
                "mixup": self.mixup_gen.get_state(),
            },
            "history": self.history,
            "lam_log": self.lam_log,
        }
        buf = io.BytesIO()
        torch.save(state, buf)
        return buf.getvalue()

    def restore(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"]["torch"])
        if state["rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        self.data_gen.set_state(state["rng"]["data"])
        self.mixup_gen.set_state(state["rng"]["mixup"])
        self.epoch = state["epoch"]
        self.history = list(state["history"])
        self.lam_log = list(state["lam_log"])


def load_checkpoint(run_dir: Path, cfg: RunConfig) -> dict | None:
    """The run's checkpoint if there is a usable one for this config, else None."""
    path = run_dir / results.CHECKPOINT_FILE
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        return None  # unreadable: the run starts over, which loses nothing that was counted
    if state.get("version") != CHECKPOINT_VERSION:
        return None
    old = state["config"]["training"]
    new = cfg.to_dict()["training"]
    changed = [k for k in TRAINING_KEYS if old.get(k) != new.get(k)]
    if changed:
        raise UserError(
            f"{run_dir} was started with other settings ({', '.join(changed)}); use a new --name or delete that folder."
        )
    return state


# --- one training step ----------------------------------------------------------


@dataclass
class StepContext:
    """What one SGD step needs; `train_run` and `bench` build one and call `train_step` with it."""

    forward: Callable[[torch.Tensor], torch.Tensor]  # the model, or its torch.compile'd wrapper
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler | None
    normalize: Normalize
    mixup: MixUp
    data_gen: torch.Generator  # augmentation draws (batch order is drawn by the caller from it too)
    augment: bool
    amp: torch.dtype | None  # autocast dtype, None = fp32

    def autocast(self, device_type: str) -> torch.autocast:
        return torch.autocast(device_type, dtype=self.amp or torch.float32, enabled=self.amp is not None)


@dataclass
class StepOutput:
    loss: torch.Tensor  # 0-dim, detached, on the device: the mixed objective of the batch
    correct: torch.Tensor  # 0-dim, on the device: lam-weighted count of correct predictions
    lam: float


def take_batch(split: Split, order: torch.Tensor, step: int, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (B, 3, H, W) uint8 and labels (B,) of batch `step` of the permutation `order` (on the device)."""
    idx = order[step * batch_size : (step + 1) * batch_size]
    return split.x.index_select(0, idx), split.y.index_select(0, idx)  # index_select: ~10x cheaper than x[idx]


def train_step(ctx: StepContext, xb: torch.Tensor, yb: torch.Tensor) -> StepOutput:
    """One SGD step on a uint8 batch: augment -> normalise -> mix -> forward/backward -> update.

    No host sync: the loss and the correct count stay on the device.
    The forward runs under autocast (bf16 where enabled); the loss is computed in fp32.
    """
    if ctx.augment:
        xb = random_crop_flip(xb, ctx.data_gen)
    batch = ctx.mixup(ctx.normalize(xb), yb)
    with ctx.autocast(xb.device.type):
        logits = ctx.forward(batch.x)  # (B, C)
    loss = ctx.mixup.loss(logits, batch)
    ctx.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    ctx.optimizer.step()
    if ctx.scheduler is not None:
        ctx.scheduler.step()
    correct = mixed_correct(logits.detach(), batch.y_a, batch.y_b, batch.lam)
    return StepOutput(loss.detach(), correct, batch.lam)


def train_run(
    cfg: RunConfig,
    data: Cifar10,
    run_dir: Path,
    on_event: OnEvent | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict:
    """Train one run to the end, resuming from its checkpoint if there is one.

    Writes metrics.csv, lam.csv, calibration.json and checkpoint.pt after every
    epoch and DONE at the end. Returns the last metrics row.
    Raises StopRequested between steps when `should_stop()` turns true.
    """
    emit = on_event or (lambda event: None)
    stop = should_stop or (lambda: False)
    tc = cfg.training
    device = resolve_device(cfg.device)
    amp = resolve_precision(tc.precision, device)
    if device.type == "cpu":
        keep_freed_memory()  # reuse freed activation memory: no page faults in every step
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in run_dir.glob(".*.tmp"):  # left by a kill during an atomic write
        stale.unlink(missing_ok=True)

    # Data: the whole training set on the device as uint8.
    train_idx = fixed_subset(data.train_x.shape[0], tc.subset or data.train_x.shape[0], "train-subset")
    train = Split.on(data.train_x[train_idx], data.train_y[train_idx], device)
    clean_idx = fixed_subset(train.x.shape[0], tc.clean_train_size, "clean-train")
    clean = Split(train.x[clean_idx.to(device)], train.y[clean_idx.to(device)])
    test = Split.on(data.test_x, data.test_y, device)
    n_train, bs = train.x.shape[0], tc.batch_size
    steps_per_epoch = n_train // bs  # drop the ragged last batch: every step sees bs images
    if steps_per_epoch < 1:
        raise UserError(f"The training set has {n_train} images, fewer than one batch of {bs}; lower --batch-size.")

    # Model: same seed -> same initial weights in every arm.
    torch.manual_seed(cfg.seed)
    model = build_model(tc.model, data.num_classes).to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=tc.lr, momentum=tc.momentum, nesterov=True, weight_decay=tc.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, warmup_linear_decay(tc.epochs * steps_per_epoch, tc.warmup_fraction)
    )
    state = RunState(
        model,
        optimizer,
        scheduler,
        data_gen=torch.Generator().manual_seed(derive_seed(cfg.seed, "data")),
        mixup_gen=torch.Generator().manual_seed(derive_seed(cfg.seed, "mixup")),
        history=[],
        lam_log=[],
    )
    saved = load_checkpoint(run_dir, cfg)
    if saved is not None:
        state.restore(saved)
    # Reconcile: the checkpoint is the truth; rows past it (or missing from it) are rewritten.
    results.write_metrics(run_dir, state.history)
    results.write_lam_log(run_dir, state.lam_log)

    forward = torch.compile(model) if tc.compile else model
    normalize = Normalize(device)
    mixup = MixUp(cfg.alpha, state.mixup_gen)
    step_ctx = StepContext(forward, optimizer, scheduler, normalize, mixup, state.data_gen, tc.augment, amp)
    emit(
        {
            "type": "start",
            "run_id": cfg.run_id,
            "epochs": tc.epochs,
            "start_epoch": state.epoch,
            "steps_per_epoch": steps_per_epoch,
            "device": str(device),
            "precision": "bf16" if amp else "fp32",
        }
    )

    for epoch in range(state.epoch + 1, tc.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        order = torch.randperm(n_train, generator=state.data_gen).to(device)
        loss_sum = torch.zeros((), device=device)  # running sums stay on the device: no sync per step
        correct_sum = torch.zeros((), device=device)
        lams = []
        for step in range(steps_per_epoch):
            if stop():
                raise StopRequested(cfg.run_id)
            xb, yb = take_batch(train, order, step, bs)  # (B, 3, 32, 32) uint8, (B,)
            out = train_step(step_ctx, xb, yb)
            loss_sum += out.loss * bs
            correct_sum += out.correct
            lams.append(out.lam)
            emit({"type": "step", "run_id": cfg.run_id, "epoch": epoch, "step": step + 1})
        n_seen = steps_per_epoch * bs
        train_loss, train_acc = float(loss_sum) / n_seen, float(correct_sum) / n_seen  # the one sync
        train_seconds = time.perf_counter() - t0

        clean_eval = evaluate(forward, clean, normalize, tc.eval_batch_size, amp)
        test_eval = evaluate(forward, test, normalize, tc.eval_batch_size, amp)
        row = {
            "experiment": cfg.experiment,
            "run_id": cfg.run_id,
            "method": cfg.method,
            "alpha": cfg.alpha,
            "seed": cfg.seed,
            "epoch": epoch,
            "lr": optimizer.param_groups[0]["lr"],
            "train_loss": train_loss,
            "train_acc": train_acc,
            "clean_train_loss": clean_eval.loss,
            "clean_train_acc": clean_eval.acc,
            "test_loss": test_eval.loss,
            "test_acc": test_eval.acc,
            "test_ece": test_eval.ece,
            "epoch_seconds": time.perf_counter() - t0,
            "images_per_second": n_seen / train_seconds,
        }
        state.epoch = epoch
        state.history.append(row)
        if cfg.alpha > 0:
            state.lam_log.extend({"epoch": epoch, "step": i + 1, "lam": lam} for i, lam in enumerate(lams))
        # Checkpoint first: a kill between the two writes leaves the CSV one row behind,
        # and the next start rewrites it from the checkpoint's history.
        results.atomic_write_bytes(run_dir / results.CHECKPOINT_FILE, state.to_bytes(cfg))
        results.write_metrics(run_dir, state.history)
        results.write_lam_log(run_dir, state.lam_log)
        results.atomic_write_json(run_dir / results.CALIBRATION_FILE, {"epoch": epoch, **test_eval.calibration})
        emit({"type": "epoch", **row})

    final = state.history[-1]
    results.atomic_write_json(run_dir / results.DONE_FILE, final)
    emit({"type": "done", "run_id": cfg.run_id, "row": final})
    return final
