"""What an experiment will cost, measured on this machine just before it starts.

No rate is fixed in the code: machines differ by 5x and more (a 2-core AVX2 CPU in fp32 against
an AVX512-BF16 one in bf16, let alone a GPU). `measure_rates` times a few real training steps and
evaluation passes (about 2 s) of the experiment's model, batch size, device, precision and
per-job thread count, on a throwaway copy of the model with its own random generator, inside
`torch.random.fork_rng`: the runs that follow see exactly the random state they would have seen
without it, so no number of the run changes. `expected_seconds` turns the rates into the time the
runs train and evaluate.

That is not all a user waits for. `plan_estimate` adds the fixed costs (issue 26), as parts of an
`Estimate`: per command (the start-up, imports and data load already behind us, measured from the
process's start time; this measurement itself, timed; the end: stopping the workers, the table, exit),
per worker (spawning one, its imports and its own data load: modelled from what this process took for
the same), per run (set-up, BatchNorm re-estimation, shift evaluation) and per epoch (training,
evaluation, checkpoint and CSVs). The constants below were measured on a 2-core Intel Xeon
(AVX512-BF16, bf16, idle); `machine_scale` carries them to other machines by how long this process's
own imports took there.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from mixup_bench.config import ExperimentConfig, RunConfig

TRAIN_SECONDS = 1.5  # timed training steps, after one untimed warm-up step
EVAL_SECONDS = 0.5
ESTIMATE_SEED = 12_345  # the throwaway model's weights, batches and MixUp draws

# When this module was imported: `run` imports it (with torch, before it) once the command line is read, so
# process start to here is the start-up and imports, and here to the estimate is mostly the data load.
IMPORTED_AT = time.time()

# Measured on a 2-core Intel Xeon (AVX512-BF16), idle, bf16, fast-cnn, image-folder CIFAR-10 (Dec 2025):
REF_STARTUP_S = 3.6  # process start to this module imported (`python -c 'import torch, mixup_bench...'`: 3.4-3.7 s)
REF_WARM_LOAD_PER_IMAGE_S = 2.85 / 60_000  # load_cifar10 from a warm cache: 2.8-2.9 s (fingerprint + torch.load)
SPAWN_S = 0.3  # a spawned worker's own overhead beyond the imports and the load (pickling, the pool's pipes)
RUN_SETUP_S = 0.2  # prepare_data, new_state, step_context, the first writes; 0.01-0.2 s between two runs
EPOCH_WRITE_S = 0.05  # checkpoint (0.6 MB for fast-cnn), metrics/lam/calibration files, each fsync'ed
WRITE_BYTES_PER_S = 200e6  # for checkpoints larger than fast-cnn's
WORKER_STOP_S = 1.6  # the last run's end to the closing table with --jobs 2: the pool shuts down its workers
EXIT_S = 1.5  # the closing table to the shell prompt: the interpreter's exit with torch loaded
MAX_STARTUP_S = 60.0  # beyond this the module was imported long before the run (a notebook): use the reference


@dataclass(frozen=True)
class Rates:
    """Images per second of one job on this machine, as it will run (threads, precision)."""

    train: float  # SGD steps (augment, mix, forward, backward, update)
    evaluate: float  # eval-mode forward passes
    threads: int  # intra-op threads per job when measured
    parameters: int = 0  # the model's parameter count (for the checkpoint's size)


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
            parameters = sum(p.numel() for p in state.model.parameters())
    finally:
        torch.set_num_threads(old_threads)
    return Rates(train, evaluate, threads, parameters)


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


def process_seconds(now: float | None = None) -> float | None:
    """Seconds since this process started (Linux: /proc/self/stat's starttime), None where unknown."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    return max(0.0, uptime - start_ticks / ticks - (time.time() - now if now is not None else 0.0))


def cache_built_since(data_dir: Path, seconds: float) -> bool:
    """Whether the image-folder cache of `data_dir` was written in the last `seconds` (by this process's
    data load: a cold cache); False for torchvision's arrays, which have none."""
    from mixup_bench.train.datasets.image_folder import CACHE_DIR_NAME

    data_dir = Path(data_dir)
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mixup-bench"
    since = time.time() - seconds
    for cache in [*(data_dir / CACHE_DIR_NAME).glob("train-*.pt"), *base.glob("*-train-*.pt")]:
        try:
            if cache.stat().st_mtime >= since:
                return True
        except OSError:
            continue
    return False


@dataclass(frozen=True)
class Machine:
    """The fixed costs of this command on this machine, measured in this process where they can be."""

    so_far: float  # process start to the estimate: start-up, imports, data load (and cache build)
    measuring: float  # the rate measurement's own seconds
    startup: float  # process start to this module's import: what a spawned worker pays again
    load: float  # one data load from a warm cache: what a worker pays again (measured, or modelled if cold)
    cores: int  # CPU cores: workers beyond them start one after another
    scale: float = 1.0  # this machine's start-up against the reference machine's (REF_STARTUP_S)


def measure_machine(data_dir: Path, measuring: float, n_images: int, now: float | None = None) -> Machine:
    """The fixed costs measured now: call it right after `measure_rates` (which took `measuring` s)."""
    now = time.time() if now is None else now
    elapsed = process_seconds(now)
    startup = IMPORTED_AT - (now - elapsed) if elapsed is not None else None
    if startup is None or not 0 < startup < MAX_STARTUP_S:  # no /proc, or imported long before (a notebook)
        startup, elapsed = REF_STARTUP_S, None
    scale = min(5.0, max(0.2, startup / REF_STARTUP_S))
    so_far = elapsed if elapsed is not None else measuring  # unknown: count the measurement alone
    loaded = max(0.0, so_far - measuring - startup)  # the data load, the record, the checks
    if elapsed is None or cache_built_since(data_dir, so_far):  # cold: a worker reads the cache it built
        loaded = REF_WARM_LOAD_PER_IMAGE_S * n_images * scale
    return Machine(so_far, measuring, startup, loaded, os.cpu_count() or 1, scale)


@dataclass(frozen=True)
class Estimate:
    """The expected wall time of a command, in parts (seconds). `total` is what the user waits for, from the
    process's start to the prompt; `remaining` is from the estimate on."""

    so_far: float  # per command, measured: start-up, imports, data load, cache build
    measuring: float  # per command, measured: the rate measurement
    finish: float  # per command: stopping the workers, the closing table, the interpreter's exit
    per_worker: float  # one worker's start: spawn, imports, its own data load
    workers: int  # worker processes (0: the runs train in this process)
    worker_waves: float  # worker starts one after another: workers / min(workers, cores)
    per_run: float  # one run's set-up, BatchNorm re-estimation and shift evaluations
    per_epoch: float  # one epoch: training, evaluation, checkpoint and CSVs
    epochs: int  # per run
    runs: int
    rounds: int  # runs one after another: ceil(runs / runs at once)
    extra: dict = field(default_factory=dict, compare=False)  # for the reader: how a part was found

    @property
    def workers_start(self) -> float:
        return self.per_worker * self.worker_waves

    @property
    def training(self) -> float:
        return self.rounds * (self.per_run + self.epochs * self.per_epoch)

    @property
    def remaining(self) -> float:
        return self.workers_start + self.training + self.finish

    @property
    def total(self) -> float:
        return self.so_far + self.measuring + self.remaining


def plan_estimate(
    exp: ExperimentConfig, runs: int, rates: Rates, n_train: int, n_test: int, machine: Machine
) -> Estimate:
    """The parts of the command's wall time: `runs` pending runs at `rates` plus `machine`'s fixed costs."""
    from mixup_bench.train.evaluate import BN_RECALIBRATE_IMAGES, BN_RECALIBRATE_STEPS

    tc = exp.training
    local = exp.backend == "local"
    at_once = max(1, min(exp.jobs if local else 1, runs))
    workers = at_once if local and exp.jobs > 1 and runs > 1 else 0
    train_images = tc.subset or (n_train - tc.val_size)
    steps = max(1, train_images // tc.batch_size)
    recalibrated = sum(1 for e in range(1, tc.epochs + 1) if e * steps < BN_RECALIBRATE_STEPS)
    # a train-mode forward pass over the calibration images: about an evaluation pass, on a copy of the model
    recalibrate = min(BN_RECALIBRATE_IMAGES, train_images) / rates.evaluate * 1.5
    shift = shift_evaluations(tc.epochs, tc.shift, tc.shift_every) * shift_seconds(tc.shift_images, n_test, rates)
    per_run = RUN_SETUP_S * machine.scale + recalibrated * recalibrate + shift
    compute = expected_seconds(exp, 1, rates, n_train, n_test) - shift  # one run's epochs, without the shift
    write = EPOCH_WRITE_S * machine.scale + 3 * 4 * rates.parameters / WRITE_BYTES_PER_S  # weights, momentum, copy
    per_epoch = compute / tc.epochs + write
    per_worker = machine.startup + machine.load + SPAWN_S * machine.scale
    waves = workers / min(workers, machine.cores) if workers else 0.0
    finish = (EXIT_S + (WORKER_STOP_S if workers else 0.0)) * machine.scale
    return Estimate(
        so_far=machine.so_far,
        measuring=machine.measuring,
        finish=finish,
        per_worker=per_worker if workers else 0.0,
        workers=workers,
        worker_waves=waves,
        per_run=per_run,
        per_epoch=per_epoch,
        epochs=tc.epochs,
        runs=runs,
        rounds=-(-runs // at_once),
    )


def sequential_looks(exp: ExperimentConfig) -> tuple[int, ...]:
    """The seed counts a sequential run (`until_decided`) looks at from here: the seeds given, then every
    `jobs` more, up to `max_seeds`; () for a fixed number of seeds."""
    if not getattr(exp, "until_decided", False):
        return ()
    n = len(exp.seeds)
    cap = getattr(exp, "seed_cap", None) or getattr(exp, "max_seeds", None) or n
    if cap <= n:
        return (n,)
    looks = list(range(n, cap + 1, max(1, exp.jobs)))
    if looks[-1] != cap:
        looks.append(cap)
    return tuple(looks)


def estimate_range(
    exp: ExperimentConfig, first: Estimate, rates: Rates, n_train: int, n_test: int, machine: Machine
) -> tuple[float, float]:
    """(fewest, most) seconds: the sequential mode stops at the first look that decides, or at the last.
    Each later look is a call of its own inside the command: a data load from the warm cache, a new rate
    measurement, its workers started and stopped, and its runs. Fixed seeds: (total, total)."""
    looks = sequential_looks(exp)
    low = high = first.total
    arms = max(1, first.runs // max(1, len(exp.seeds)))
    for before, n in zip(looks, looks[1:], strict=False):
        later = Machine(0.0, machine.measuring, machine.startup, machine.load, machine.cores, machine.scale)
        look = plan_estimate(exp, arms * (n - before), rates, n_train, n_test, later)
        workers_stop = look.finish - EXIT_S * machine.scale  # the command exits once, at the end
        high += machine.load + look.measuring + look.workers_start + look.training + workers_stop
    return low, high


def human_duration(seconds: float) -> str:
    """'40 s', '11 min', '3.2 h', '2.1 days'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def human_range(low: float, high: float) -> str:
    """'3-9 min', '40 s-2 min', or one duration when both read the same."""
    a, b = human_duration(low), human_duration(high)
    if a == b:
        return a
    ua, ub = a.split(" ", 1)[1], b.split(" ", 1)[1]
    return f"{a.split(' ', 1)[0]}-{b}" if ua == ub else f"{a}-{b}"


def parts_text(est: Estimate) -> str:
    """Where the time goes, in words: the fixed costs beside the training."""
    parts = [f"{human_duration(est.so_far + est.measuring)} start-up, data and this measurement"]
    if est.workers:
        parts.append(f"{human_duration(est.workers_start)} starting {est.workers} workers")
    parts.append(f"{human_duration(est.training)} training")
    parts.append(f"{human_duration(est.finish)} finishing")
    return ", ".join(parts)


def cost_line(
    exp: ExperimentConfig,
    runs: int,
    rates: Rates,
    n_train: int,
    n_test: int,
    est: Estimate | None = None,
    span: tuple[float, float] | None = None,
) -> str:
    """One line for the user before the runs start: how many, and the wall time expected on this machine
    (with `est`: the whole command's, fixed costs included; with `span`: from the fewest to the most seeds)."""
    seconds = est.total if est is not None else expected_seconds(exp, runs, rates, n_train, n_test)
    looks = sequential_looks(exp)
    if span is not None and looks and span[1] > span[0]:
        when = f"about {human_range(*span)} ({looks[0]} to {looks[-1]} seeds)"
        seconds = span[1]
    else:
        when = f"about {human_duration(seconds)}"
    where = f"; {parts_text(est)}" if est is not None else ""
    line = (
        f"{runs} run(s) of {exp.training.epochs} epochs: {when} on this machine{where} "
        f"(measured now: {rates.train:,.0f} training and {rates.evaluate:,.0f} evaluation images/s per run, "
        f"{rates.threads} thread(s) each)."
    )
    if seconds > 6 * 3600:
        line += " That is long: a GPU would be much faster; Ctrl-C stops it, and the same command resumes."
    return line
