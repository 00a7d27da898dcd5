"""What an experiment will cost, measured on this machine just before it starts.

No rate is fixed in the code: machines differ by 5x and more (a 2-core AVX2 CPU in fp32 against
an AVX512-BF16 one in bf16, let alone a GPU). `measure_rates` times a few real training steps and
evaluation passes (about 2 s) of the experiment's model, batch size, device, precision and
per-job thread count, on a throwaway copy of the model with its own random generator, inside
`torch.random.fork_rng`: the runs that follow see exactly the random state they would have seen
without it, so no number of the run changes. `expected_seconds` turns the rates into wall time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from mixup_bench.config import ExperimentConfig, RunConfig

TRAIN_SECONDS = 1.5  # timed training steps, after one untimed warm-up step
EVAL_SECONDS = 0.5
ESTIMATE_SEED = 12_345  # the throwaway model's weights, batches and MixUp draws


@dataclass(frozen=True)
class Rates:
    """Images per second of one job on this machine, as it will run (threads, precision)."""

    train: float  # SGD steps (augment, mix, forward, backward, update)
    evaluate: float  # eval-mode forward passes
    threads: int  # intra-op threads per job when measured


def _timed(fn, seconds: float, device: torch.device) -> float:
    """Calls of `fn` per second over about `seconds` (at least two calls), after one untimed call."""
    from mixup_bench.train.device import sync

    fn()
    sync(device)
    calls, t0 = 0, time.perf_counter()
    while calls < 2 or time.perf_counter() - t0 < seconds:
        fn()
        calls += 1
    sync(device)
    return calls / (time.perf_counter() - t0)


def measure_rates(cfg: RunConfig, device: torch.device, amp: torch.dtype | None, threads: int) -> Rates:
    """Time real training steps and evaluation of `cfg`'s model on random uint8 batches (about 2 s)."""
    from mixup_bench.train.device import keep_freed_memory
    from mixup_bench.train.evaluate import fold_batchnorm
    from mixup_bench.train.setup import new_state, step_context
    from mixup_bench.train.step import train_step

    tc = cfg.training
    if device.type == "cpu":
        keep_freed_memory()  # as train_run does: without it, page faults halve the evaluation rate
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            throwaway = RunConfig("estimate", cfg.alpha, ESTIMATE_SEED, tc, cfg.device, cfg.method)
            state = new_state(throwaway, 10, device, total_steps=1_000)
            ctx = step_context(throwaway, state, device, amp)
            g = torch.Generator().manual_seed(ESTIMATE_SEED)
            xb = torch.randint(0, 256, (tc.batch_size, 3, 32, 32), dtype=torch.uint8, generator=g).to(device)
            yb = torch.randint(0, 10, (tc.batch_size,), generator=g).to(device)
            train = _timed(lambda: train_step(ctx, xb, yb), TRAIN_SECONDS, device) * tc.batch_size
            xe = torch.randint(0, 256, (tc.eval_batch_size, 3, 32, 32), dtype=torch.uint8, generator=g).to(device)
            model = fold_batchnorm(state.model.eval())  # as `evaluate` runs it

            def forward() -> None:
                with torch.inference_mode(), ctx.autocast(device.type):
                    model(ctx.normalize(xe))

            evaluate = _timed(forward, EVAL_SECONDS, device) * tc.eval_batch_size
    finally:
        torch.set_num_threads(old_threads)
    return Rates(train, evaluate, threads)


def expected_seconds(exp: ExperimentConfig, runs: int, rates: Rates, n_train: int, n_test: int) -> float:
    """Wall time of `runs` whole runs at `rates`, with min(jobs, runs) of them at once.

    Per epoch a run trains on its subset (or the pool beside the validation split) and evaluates
    the clean-train, validation and test images.
    """
    tc = exp.training
    train_images = tc.subset or (n_train - tc.val_size)
    train_images -= train_images % tc.batch_size  # the ragged last batch is dropped
    eval_images = min(tc.clean_train_size, train_images) + tc.val_size + n_test
    per_run = tc.epochs * (train_images / rates.train + eval_images / rates.evaluate)
    per_run += shift_evaluations(tc.epochs, tc.shift, tc.shift_every) * shift_seconds(tc.shift_images, n_test, rates)
    at_once = max(1, min(exp.jobs if exp.backend == "local" else 1, runs))
    rounds = -(-runs // at_once)  # whole rounds: the last may run alone
    return rounds * per_run


def shift_evaluations(epochs: int, shift: bool, every: int | None) -> int:
    """How often a run evaluates under shift: at the last epoch, and every `every` epochs before it."""
    if not shift:
        return 0
    return 1 + (0 if every is None else (epochs - 1) // every)


def shift_seconds(images_per_cell: int, n_test: int, rates: Rates) -> float:
    """One shift evaluation: every corruption cell is an evaluation pass; every attack step is a forward and
    backward pass over the attacked images, about what a training step costs per image."""
    from mixup_bench.train.adversarial import PGD_STEPS
    from mixup_bench.train.corruptions import CORRUPTIONS, SEVERITIES
    from mixup_bench.train.shift import ATTACK_IMAGES, FGSM_EPSILONS, PGD_EPSILONS

    corrupted = len(CORRUPTIONS) * len(SEVERITIES) * min(images_per_cell, n_test)
    attacked = min(ATTACK_IMAGES, n_test) * (len(FGSM_EPSILONS) + PGD_STEPS * len(PGD_EPSILONS))
    return corrupted / rates.evaluate + attacked / rates.train


def human_duration(seconds: float) -> str:
    """'40 s', '11 min', '3.2 h', '2.1 days'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def cost_line(exp: ExperimentConfig, runs: int, rates: Rates, n_train: int, n_test: int) -> str:
    """One line for the user before the runs start: how many, and the wall time expected on this machine."""
    seconds = expected_seconds(exp, runs, rates, n_train, n_test)
    line = (
        f"{runs} run(s) of {exp.training.epochs} epochs: about {human_duration(seconds)} on this machine "
        f"(measured now: {rates.train:,.0f} training and {rates.evaluate:,.0f} evaluation images/s per run, "
        f"{rates.threads} thread(s) each)."
    )
    if seconds > 6 * 3600:
        line += " That is long: a GPU would be much faster; Ctrl-C stops it, and the same command resumes."
    return line
