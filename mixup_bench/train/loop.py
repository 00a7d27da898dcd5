"""One run: the training loop, per-epoch evaluation, checkpoint and exact resume.

Data flow per epoch: permutation -> batch of uint8 images already on the device ->
augment on the device -> normalise -> mix -> forward/backward -> running sums on the
device -> one host sync -> evaluation -> checkpoint -> metrics.csv.

Pairing: the same seed gives the same initial weights (torch global RNG, seeded
just before the model is built), the same batch order and augmentations (the
`data` generator) and the same noisy labels (the `label-noise` stream) in every
arm. MixUp draws lam and its pairing from its own `mixup` generator, so the arms
differ by MixUp alone.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from mixup_bench.config import RunConfig
from mixup_bench.errors import UserError
from mixup_bench.metrics import M
from mixup_bench.naming import LAM_METHODS
from mixup_bench.results.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from mixup_bench.results.layout import CALIBRATION_FILE, CHECKPOINT_FILE, DONE_FILE, LAM_FILE, METRICS_FILE
from mixup_bench.results.schema import (
    LAM_COLUMNS,
    METRICS_COLUMNS,
    SHIFT_SECONDS,
    csv_text,
    write_corruptions,
    write_lam_log,
    write_metrics,
)
from mixup_bench.train.checkpoint import RunState, load_checkpoint
from mixup_bench.train.data import Cifar10
from mixup_bench.train.device import keep_freed_memory, resolve_device, resolve_precision
from mixup_bench.train.evaluate import (
    BN_RECALIBRATE_IMAGES,
    BN_RECALIBRATE_STEPS,
    EvalResult,
    evaluate,
    recalibrate_batchnorm,
)
from mixup_bench.train.setup import new_state, step_context
from mixup_bench.train.shift import ShiftStopped, shift_due, shift_for_epoch
from mixup_bench.train.splits import Split, fixed_subset, noisy_labels, train_val_indices
from mixup_bench.train.step import (
    StepContext,
    take_batch,
    train_step,
)

Event = dict
OnEvent = Callable[[Event], None]


class StopRequested(Exception):
    """Raised inside the loop when the user asked to stop; the last checkpoint stands."""


class Diverged(UserError):
    """The training loss became NaN or inf: the run stops, keeps its last good checkpoint, and is not DONE."""


@dataclass
class RunData:
    """The splits of one run, on the device.

    train: what SGD sees (the --subset, with noisy labels under --label-noise);
    clean: a fixed subset of those training images with their TRUE labels (clean_train_*);
    val: the fixed validation images (never trained on), with the labels a user would have:
        noisy at the same rate under --label-noise; None with --val-size 0;
    clean_noisy: for each clean image, the noisy label it was trained on where it was corrupted, else -1.
    """

    train: Split
    clean: Split
    test: Split
    val: Split | None
    clean_noisy: torch.Tensor | None  # (N_clean,) int64, or None without label noise
    noise: NoiseCount | None = None  # how many training labels are wrong (None without label noise)


@dataclass
class NoiseCount:
    """Wrong labels in the training subset: label noise is drawn over the whole pool, so a subset's count varies."""

    corrupted: int
    images: int


def prepare_data(cfg: RunConfig, data: Cifar10, device: torch.device) -> RunData:
    """Split (fixed by the data), corrupt (per seed, by image) and move the data to the device."""
    tc = cfg.training
    train_idx, val_idx = train_val_indices(data.train_x.shape[0], tc.subset, tc.val_size)
    y_noisy, corrupted = noisy_labels(data.train_y, tc.label_noise, data.num_classes, cfg.seed)
    x, y_true, y_train = data.train_x[train_idx], data.train_y[train_idx], y_noisy[train_idx]
    clean_idx = fixed_subset(x.shape[0], tc.clean_train_size, "clean-train")
    clean_noisy, noise = None, None
    if tc.label_noise > 0:
        clean_noisy = torch.where(corrupted[train_idx][clean_idx], y_train[clean_idx], -1).to(device)
        noise = NoiseCount(int(corrupted[train_idx].sum()), int(train_idx.shape[0]))
    val = Split.on(data.train_x[val_idx], y_noisy[val_idx], device) if val_idx.numel() else None
    return RunData(
        train=Split.on(x, y_train, device),
        clean=Split.on(x[clean_idx], y_true[clean_idx], device),
        test=Split.on(data.test_x, data.test_y, device),
        val=val,
        clean_noisy=clean_noisy,
        noise=noise,
    )


@dataclass
class EpochTrain:
    """What one pass over the training set gives, as plain numbers."""

    loss: float  # mean training objective over the epoch's images
    acc: float  # lam-weighted accuracy on the (mixed) batches
    lams: list[float]
    images: int
    seconds: float


def train_epoch(
    ctx: StepContext, state: RunState, data: Split, epoch: int, bs: int, emit: OnEvent, stop: Callable[[], bool]
) -> EpochTrain:
    """One epoch of SGD in batches of `bs` (the ragged last batch is dropped). Running sums stay on
    the device: one host sync at the end, or one per step on a CPU, where it costs nothing, so that a
    diverged run stops at once."""
    t0 = time.perf_counter()
    device, steps = data.x.device, data.x.shape[0] // bs
    state.model.train()
    order = torch.randperm(data.x.shape[0], generator=state.data_gen).to(device)
    losses = torch.zeros(steps, device=device)  # per-step objective: finds the step that diverged
    loss_sum = torch.zeros((), device=device)
    correct_sum = torch.zeros((), device=device)
    lams = []
    for step in range(steps):
        if stop():
            raise StopRequested(str(epoch))
        xb, yb = take_batch(data, order, step, bs)  # (B, 3, 32, 32) uint8, (B,)
        out = train_step(ctx, xb, yb)
        losses[step] = out.loss
        loss_sum += out.loss * bs
        correct_sum += out.correct
        lams.append(out.lam)
        if device.type == "cpu" and not math.isfinite(float(out.loss)):
            raise_diverged(epoch, step + 1, float(out.loss))
        emit({"type": "step", "epoch": epoch, "step": step + 1})
    n_seen = steps * bs
    train_loss = float(loss_sum) / n_seen  # the one sync on an accelerator
    if not math.isfinite(train_loss):
        bad = torch.nonzero(~torch.isfinite(losses)).flatten().tolist() or [steps - 1]  # or only the sum overflowed
        raise_diverged(epoch, bad[0] + 1, float(losses[bad[0]]))
    return EpochTrain(train_loss, float(correct_sum) / n_seen, lams, n_seen, time.perf_counter() - t0)


def noise_warning(cfg: RunConfig, noise: NoiseCount) -> str:
    """One line when --label-noise corrupts no training label, or every one: the setting is degenerate."""
    what = "no training label" if noise.corrupted == 0 else "every training label"
    return (
        f"warning: {cfg.run_id}: --label-noise {cfg.training.label_noise:g} corrupts {what} of its "
        f"{noise.images:,} images; noise_memorised is left empty where no image is corrupted."
    )


def raise_diverged(epoch: int, step: int, loss: float) -> None:
    raise Diverged(f"diverged at epoch {epoch}, step {step}; lower --lr (the training loss became {loss})")


def diverged_line(cfg: RunConfig, run_dir: Path, e: Diverged) -> Diverged:
    """The one line the user sees: which run, where, and what to do. Its last good epoch stays on disk."""
    return Diverged(
        f"{cfg.run_id} {e} and use a new --name (or delete {run_dir.parent.parent}). "
        "The run is not marked done; its last good epoch is kept."
    )


def metrics_row(
    cfg: RunConfig, epoch: int, lr: float, tr: EpochTrain, clean: EvalResult, val: EvalResult | None, test: EvalResult
) -> dict:
    """One metrics.csv row (METRICS_COLUMNS) from one epoch's plain numbers (val None: no split)."""
    return {
        "experiment": cfg.experiment,
        "run_id": cfg.run_id,
        "method": cfg.method,
        "alpha": cfg.alpha,
        "seed": cfg.seed,
        "epoch": epoch,
        "lr": lr,
        M.train_loss.name: tr.loss,
        M.train_acc.name: tr.acc,
        M.clean_train_loss.name: clean.loss,
        M.clean_train_acc.name: clean.acc,
        M.val_loss.name: val.loss if val is not None else None,
        M.val_acc.name: val.acc if val is not None else None,
        M.test_loss.name: test.loss,
        M.test_acc.name: test.acc,
        M.test_ece.name: test.ece,
        M.noise_memorised.name: clean.memorised,
        "epoch_seconds": 0.0,  # set by the caller once evaluation is done
        "images_per_second": tr.images / tr.seconds,
    }


def save_epoch(run_dir: Path, cfg: RunConfig, state: RunState, calibration: dict | None) -> None:
    """Checkpoint first: a kill between the writes leaves the CSV one row behind, and the
    next start rewrites it from the checkpoint's history. The texts are made before the
    checkpoint is written, so an error in making them cannot leave the checkpoint ahead.
    calibration None: calibration.json is left as the epoch's first save wrote it."""
    metrics = csv_text(METRICS_COLUMNS, state.history)
    lams = csv_text(LAM_COLUMNS, state.lam_log)
    calibration_text = (
        None
        if calibration is None
        else json.dumps({"epoch": state.epoch, **calibration}, indent=2, sort_keys=True, default=str)
    )
    atomic_write_bytes(run_dir / CHECKPOINT_FILE, state.to_bytes(cfg))
    atomic_write_text(run_dir / METRICS_FILE, metrics)
    atomic_write_text(run_dir / LAM_FILE, lams)
    write_corruptions(run_dir, state.shift_log)
    if calibration_text is not None:
        atomic_write_text(run_dir / CALIBRATION_FILE, calibration_text + "\n")


def eval_model(forward, state: RunState, rd: RunData, normalize, amp, steps_done: int, batch_size: int):
    """The model that evaluates an epoch: the training one, or, while BN's running statistics are not yet
    usable (fewer than BN_RECALIBRATE_STEPS steps), a copy with them re-estimated (deterministic)."""
    if steps_done >= BN_RECALIBRATE_STEPS:
        return forward
    return recalibrate_batchnorm(state.model, rd.train.x[:BN_RECALIBRATE_IMAGES], normalize, batch_size, amp)


def shift_pending(cfg: RunConfig, state: RunState) -> bool:
    """Whether the last saved epoch is due a shift evaluation that its row lacks: the run was killed, or the
    evaluation failed, after the epoch was saved (see `shift_evaluation`)."""
    tc = cfg.training
    return (
        bool(state.history)
        and tc.shift
        and shift_due(state.epoch, tc.epochs, tc.shift_every)
        and state.history[-1].get(SHIFT_SECONDS) is None
    )


def shift_evaluation(cfg: RunConfig, state: RunState, model, test, normalize, amp, run_dir: Path, stop) -> None:
    """The shift evaluation of the last saved epoch, when it is due: its columns join the epoch's row, which
    is saved again. The epoch was saved before it runs, so a kill or a failure here loses no training:
    the next start finds the row without the columns (`shift_pending`) and runs the evaluation again, on
    the same weights and with the same random draws (its own generator), to the same numbers. A stop
    asked for during it (Ctrl-C) stops the run there, as one asked for during training does."""
    epoch = state.epoch
    try:
        shift = shift_for_epoch(cfg, epoch, model, test, normalize, amp, stop)
    except ShiftStopped:
        raise StopRequested(cfg.run_id) from None
    except (UserError, MemoryError):
        raise
    except Exception as e:  # noqa: BLE001 - an input the checks before training missed: one line, not a traceback
        if type(e).__name__ == "OutOfMemoryError" or "allocate memory" in str(e):  # the CLI's own line for these
            raise
        reason = " ".join(str(e).split()) or "no message"
        raise UserError(
            f"{cfg.run_id}: the shift evaluation of epoch {epoch} failed ({type(e).__name__}: {reason}); "
            "the epoch's training is saved, and running the command again retries the evaluation."
        ) from e
    if shift is None:
        return
    state.history[-1].update(shift.columns())
    state.shift_log.extend(shift.rows(epoch))
    save_epoch(run_dir, cfg, state, None)


def start_or_resume(cfg: RunConfig, data: Cifar10, run_dir: Path, device: torch.device, steps: int) -> RunState:
    """A fresh state, or the checkpoint's; the CSVs are rewritten from it (the checkpoint is the truth)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in run_dir.glob(".*.tmp"):  # left by a kill during an atomic write
        stale.unlink(missing_ok=True)
    state = new_state(cfg, data.num_classes, device, cfg.training.epochs * steps)
    saved = load_checkpoint(run_dir, cfg)
    if saved is not None:
        state.restore(saved)
    write_metrics(run_dir, state.history)
    write_lam_log(run_dir, state.lam_log)
    write_corruptions(run_dir, state.shift_log)
    return state


def train_run(
    cfg: RunConfig,
    data: Cifar10,
    run_dir: Path,
    on_event: OnEvent | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict:
    """Train one run to the end, resuming from its checkpoint if there is one.

    Writes metrics.csv, lam.csv, calibration.json and checkpoint.pt after every
    epoch (and corruptions.csv after every shift evaluation) and DONE at the end. Returns the last metrics row.
    Raises StopRequested between steps when `should_stop()` turns true, and Diverged
    (a UserError) when the loss becomes NaN or inf.
    """
    emit_raw, stop = on_event or (lambda event: None), should_stop or (lambda: False)

    def emit(event: Event) -> None:
        emit_raw({"run_id": cfg.run_id, **event})

    tc = cfg.training
    device = resolve_device(cfg.device)
    amp = resolve_precision(tc.precision, device)
    if device.type == "cpu":
        keep_freed_memory()  # reuse freed activation memory: no page faults in every step
    tc.check_data(data.train_x.shape[0])  # the one check of sizes: validation, subset, one batch at least
    rd = prepare_data(cfg, data, device)
    steps = rd.train.x.shape[0] // tc.batch_size  # drop the ragged last batch: every step sees bs images
    if rd.noise is not None and rd.noise.corrupted in (0, rd.noise.images):
        emit({"type": "message", "text": noise_warning(cfg, rd.noise)})
    state = start_or_resume(cfg, data, run_dir, device, steps)
    ctx = step_context(cfg, state, device, amp, (data.mean, data.std))  # the data set's normalisation
    forward, normalize = ctx.forward, ctx.normalize
    emit({"type": "start", "epochs": tc.epochs, "start_epoch": state.epoch, "steps_per_epoch": steps,
          "device": str(device), "precision": "bf16" if amp else "fp32"})  # fmt: skip
    if shift_pending(cfg, state):  # killed or failed in the last epoch's shift evaluation: it runs again
        model = eval_model(forward, state, rd, normalize, amp, state.epoch * steps, tc.batch_size)
        shift_evaluation(cfg, state, model, rd.test, normalize, amp, run_dir, stop)
        emit({"type": "epoch", **state.history[-1]})
    for epoch in range(state.epoch + 1, tc.epochs + 1):
        t0 = time.perf_counter()
        try:
            tr = train_epoch(ctx, state, rd.train, epoch, tc.batch_size, emit, stop)
        except StopRequested:
            raise StopRequested(cfg.run_id) from None
        except Diverged as e:
            raise diverged_line(cfg, run_dir, e) from None
        model = eval_model(forward, state, rd, normalize, amp, epoch * steps, tc.batch_size)
        clean_eval = evaluate(model, rd.clean, normalize, tc.eval_batch_size, amp, memorised_labels=rd.clean_noisy)
        val_eval = evaluate(model, rd.val, normalize, tc.eval_batch_size, amp) if rd.val is not None else None
        test_eval = evaluate(model, rd.test, normalize, tc.eval_batch_size, amp)
        row = metrics_row(cfg, epoch, state.optimizer.param_groups[0]["lr"], tr, clean_eval, val_eval, test_eval)
        row["epoch_seconds"] = time.perf_counter() - t0
        state.epoch = epoch
        state.history.append(row)
        if cfg.method in LAM_METHODS:  # the arms that draw a lam
            state.lam_log.extend({"epoch": epoch, "step": i + 1, "lam": lam} for i, lam in enumerate(tr.lams))
        save_epoch(run_dir, cfg, state, test_eval.calibration)  # the trained epoch is kept, whatever comes next
        shift_evaluation(cfg, state, model, rd.test, normalize, amp, run_dir, stop)  # corrupted, attacked
        emit({"type": "epoch", **row})
    final = state.history[-1]
    atomic_write_json(run_dir / DONE_FILE, final)
    emit({"type": "done", "row": final})
    return final
