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

import time
from collections.abc import Callable
from pathlib import Path

import torch

from mixup_bench import results
from mixup_bench.config import RunConfig
from mixup_bench.errors import UserError
from mixup_bench.train.checkpoint import RunState, load_checkpoint
from mixup_bench.train.data import Cifar10
from mixup_bench.train.device import keep_freed_memory, resolve_device, resolve_precision
from mixup_bench.train.evaluate import evaluate
from mixup_bench.train.mixup import MixUp
from mixup_bench.train.models import build_model
from mixup_bench.train.splits import Split, derive_seed, fixed_subset
from mixup_bench.train.step import Normalize, StepContext, take_batch, train_step, warmup_linear_decay

Event = dict
OnEvent = Callable[[Event], None]


class StopRequested(Exception):
    """Raised inside the loop when the user asked to stop; the last checkpoint stands."""


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
