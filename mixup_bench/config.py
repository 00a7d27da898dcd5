"""Typed configuration: one run (RunConfig) and one experiment (ExperimentConfig).

Every hyperparameter lives here with its unit, and `validate()` is the only place
that decides what is acceptable. Commands build these objects and call plain
functions with them; nothing reads global state.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from mixup_bench.errors import UserError
from mixup_bench.naming import format_alpha, method_for, run_id_for  # noqa: F401 (format_alpha: re-exported)

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16")
BACKENDS = ("local", "ray")
CIFAR10_TRAIN_IMAGES, CIFAR10_TEST_IMAGES = 50_000, 10_000  # the full data set; `subset` None means all of it
LAM_MODES = ("batch", "elem")

# Hyperparameters that change the numbers of a run. An existing experiment folder
# refuses a command that changes any of them (see results.check_compatible).
TRAINING_KEYS = (
    "epochs",
    "batch_size",
    "lr",
    "weight_decay",
    "momentum",
    "warmup_fraction",
    "model",
    "augment",
    "precision",
    "subset",
    "clean_train_size",
    "label_noise",
    "lam_mode",
)

# Largest values accepted for integer options: far above any sensible run, and below what
# torch (int64 sizes, 64-bit seeds) and the file system accept.
MAX_EPOCHS = 100_000
MAX_BATCH = 1 << 20
MAX_IMAGES = 1 << 31
MAX_SEED = (1 << 63) - 1
MAX_JOBS = 1024
MAX_SEEDS = 10_000  # seeds of one experiment (--seeds N); each is a whole run per arm


def check_int(option: str, value: int, lo: int, hi: int, why: str = "") -> None:
    """One line for an integer option outside [lo, hi]."""
    if not lo <= value <= hi:
        bound = f"at least {lo}" if value < lo else f"at most {hi:,}"
        raise UserError(f"{option} must be {bound}{why}, got {value}.")


def check_float(option: str, value: float, lo: float, hi: float = float("inf"), lo_open: bool = False) -> None:
    """One line for a float option that is not finite or lies outside its range."""
    import math

    if not math.isfinite(value):
        raise UserError(f"{option} must be a finite number, got {value}.")
    if value < lo or (lo_open and value == lo) or value > hi:
        low = f"{'above' if lo_open else 'at least'} {lo:g}"
        rng = low if hi == float("inf") else f"{low} and at most {hi:g}"
        raise UserError(f"{option} must be {rng}, got {value:g}.")


def check_choice(option: str, value: str, choices) -> None:
    if value not in choices:
        raise UserError(f"Unknown {option.lstrip('-')} {value!r}; choose one of: {', '.join(choices)}.")


def default_data_dir() -> Path:
    """`$MIXUP_BENCH_DATA` if set, else ./data."""
    return Path(os.environ.get("MIXUP_BENCH_DATA", "data"))


@dataclass(frozen=True)
class TrainingConfig:
    """Hyperparameters shared by every run of an experiment."""

    epochs: int = 15  # full passes over the training set
    batch_size: int = 256  # images per SGD step
    lr: float = 0.1  # peak learning rate, reached at the end of warmup
    weight_decay: float = 5e-4  # L2 coefficient, applied to all weights
    momentum: float = 0.9  # Nesterov momentum
    warmup_fraction: float = 0.15  # share of all steps spent warming up linearly from 0
    model: str = "small-cnn"  # key in models.MODELS
    augment: bool = False  # random crop (pad 4) + horizontal flip on the device
    precision: str = "auto"  # auto | fp32 | bf16 (autocast)
    subset: int | None = None  # train on the first N images of a fixed shuffle
    clean_train_size: int = 10_000  # unaugmented training images for clean_train_*
    eval_batch_size: int = 1024  # images per evaluation forward pass
    compile: bool = False  # torch.compile the model
    label_noise: float = 0.0  # share of training labels replaced by a wrong one, per seed (symmetric noise)
    lam_mode: str = "batch"  # MixUp: one lam per batch, or per image ("elem", as timm)

    def validate(self) -> None:
        """Raise UserError with one line for the first value out of range."""
        from mixup_bench.train.models import MODELS  # local: models imports torch

        check_int("--epochs", self.epochs, 1, MAX_EPOCHS)
        check_int("--batch-size", self.batch_size, 2, MAX_BATCH, " (MixUp pairs images)")
        check_float("--lr", self.lr, 0.0, 10.0, lo_open=True)
        check_float("--weight-decay", self.weight_decay, 0.0, 1.0)
        check_float("momentum", self.momentum, 0.0, 0.999)
        check_float("warmup fraction", self.warmup_fraction, 0.0, 0.99)
        check_choice("--model", self.model, MODELS)
        check_choice("--precision", self.precision, PRECISIONS)
        if self.subset is not None:
            check_int("--subset", self.subset, 0 if self.subset < 0 else self.batch_size, MAX_IMAGES,
                      " (0 = all)" if self.subset < 0 else f" (one batch of {self.batch_size})")  # fmt: skip
        check_int("--clean-train-size", self.clean_train_size, 1, MAX_IMAGES)
        check_int("eval batch size", self.eval_batch_size, 1, MAX_BATCH)
        check_float("--label-noise", self.label_noise, 0.0, 0.95)
        check_choice("--lam-mode", self.lam_mode, LAM_MODES)

    def check_data(self, n_train: int) -> None:
        """The checks that need the data set's size: a --subset larger than it is refused, not clamped."""
        if self.subset is not None and self.subset > n_train:
            raise UserError(
                f"--subset {self.subset:,} is larger than the training set ({n_train:,} images); "
                f"use at most {n_train}, or --subset 0 for all of it."
            )
        if (self.subset or n_train) < self.batch_size:
            raise UserError(
                f"The training set has {n_train:,} images, fewer than one batch of {self.batch_size}; "
                "lower --batch-size."
            )


@dataclass(frozen=True)
class RunConfig:
    """One training run: one arm (method and its parameter) with one seed."""

    experiment: str
    alpha: float  # the method's parameter: alpha (mixup, cutmix, manifold; 0 = baseline) or epsilon (smooth)
    seed: int
    training: TrainingConfig = field(default_factory=TrainingConfig)
    device: str = "auto"
    method: str = ""  # baseline | mixup | cutmix | smooth | manifold; "" = from alpha (0: baseline, else mixup)

    def __post_init__(self) -> None:
        if not self.method:
            object.__setattr__(self, "method", method_for(self.alpha))

    @property
    def run_id(self) -> str:
        return run_id_for(self.alpha, self.seed, self.method)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.update(run_id=self.run_id)
        return d


@dataclass(frozen=True)
class ExperimentConfig:
    """An experiment: the baseline arm plus one MixUp arm per alpha, each for every seed."""

    name: str = "default"
    out: Path = Path("results")
    alphas: tuple[float, ...] = (0.4,)  # one MixUp arm each (0 = the baseline)
    seeds: tuple[int, ...] = (0,)
    baseline: bool = True  # add the alpha = 0 arm
    cutmix: tuple[float, ...] = ()  # one CutMix arm per alpha
    smoothing: tuple[float, ...] = ()  # one label-smoothing arm per epsilon
    manifold: tuple[float, ...] = ()  # one Manifold MixUp arm per alpha
    training: TrainingConfig = field(default_factory=TrainingConfig)
    device: str = "auto"
    data_dir: Path = field(default_factory=default_data_dir)
    jobs: int = 1  # runs at once (local backend)
    backend: str = "local"
    ray_address: str | None = None
    gpus_per_run: float = 0.0  # Ray: GPU share per run

    @property
    def path(self) -> Path:
        return self.out / self.name

    @property
    def arm_alphas(self) -> tuple[float, ...]:
        """Alphas of all arms, baseline first, without repeats."""
        arms = ([0.0] if self.baseline else []) + [float(a) for a in self.alphas]
        return tuple(dict.fromkeys(arms))

    @property
    def arms(self) -> tuple[tuple[str, float], ...]:
        """(method, parameter) of every arm: baseline and MixUp arms first, then the neighbours."""
        arms = [(method_for(a), a) for a in self.arm_alphas]
        for method, params in (("cutmix", self.cutmix), ("smooth", self.smoothing), ("manifold", self.manifold)):
            arms += [(method, float(p)) for p in params]
        return tuple(dict.fromkeys(arms))

    def runs(self) -> list[RunConfig]:
        """Every run, seed-major so that a partial sweep already holds complete pairs."""
        return [
            RunConfig(self.name, param, seed, self.training, self.device, method)
            for seed in self.seeds
            for method, param in self.arms
        ]

    def validate(self) -> None:
        """Raise UserError with one line for the first value out of range."""
        self.training.validate()
        for option, values, lo, hi in (
            ("--alpha", self.alphas, 0.0, 1000.0),
            ("--cutmix", self.cutmix, 0.0, 1000.0),
            ("--label-smoothing", self.smoothing, 0.0, 0.99),
            ("--manifold-mixup", self.manifold, 0.0, 1000.0),
        ):
            for v in values:
                check_float(option, v, lo, hi, lo_open=option != "--alpha")
        if not self.arms:
            raise UserError("Nothing to run: --no-baseline with no other arm.")
        if not self.seeds:
            raise UserError("Nothing to run: no seeds given.")
        check_int("the number of seeds", len(self.seeds), 1, MAX_SEEDS)
        for s in self.seeds:
            check_int("--seed", s, 0, MAX_SEED)
        if not self.name or "/" in self.name or "\\" in self.name or self.name.startswith(".") or "\0" in self.name:
            raise UserError(f"--name must be a plain folder name, got {self.name!r}.")
        check_choice("--device", self.device, DEVICES)
        check_int("--jobs", self.jobs, 1, MAX_JOBS)
        check_choice("--backend", self.backend, BACKENDS)
        check_float("--gpus-per-run", self.gpus_per_run, 0.0, 1024.0)


# --- presets --------------------------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    """A named, documented configuration. Flags given on the command line override its values."""

    name: str
    regime: str  # what it trains, in words
    shows: str  # what its verdict can and cannot show
    settings: dict  # ExperimentConfig and TrainingConfig field -> value


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "default",
            "small-cnn on a fixed 10,000-image subset, 15 epochs, batch 128, no augmentation; baseline and "
            "MixUp alpha=0.4; 3 paired seeds, 2 runs at a time",
            "MixUp's higher training loss, lower test loss, smaller gap and ECE, with intervals; not a "
            "test-accuracy gain, which needs noisy labels or long schedules (see the label-noise preset)",
            {"subset": 10_000, "epochs": 15, "batch_size": 128, "clean_train_size": 2_000, "alphas": (0.4,),
             "seeds": (0, 1, 2), "jobs": 2},
        ),
        Preset(
            "label-noise",
            "the default regime with 40% of the training labels wrong (symmetric noise, fixed per seed); "
            "baseline and MixUp alpha=1; 3 paired seeds",
            "MixUp resisting memorisation of corrupted labels: higher test accuracy and lower test loss",
            {"subset": 10_000, "epochs": 15, "batch_size": 128, "clean_train_size": 2_000, "alphas": (1.0,),
             "seeds": (0, 1, 2), "jobs": 2, "label_noise": 0.4, "name": "label-noise"},
        ),
        Preset(
            "paper",
            "PreAct ResNet-18 on all 50,000 images with crop+flip augmentation, 200 epochs, batch 128, "
            "weight decay 1e-4; baseline and MixUp alpha=1 (Zhang et al., 2018); 1 seed",
            "the paper's CIFAR-10 setting; meant for a GPU (days on a laptop CPU)",
            {"model": "preact-resnet18", "augment": True, "subset": None, "epochs": 200, "batch_size": 128,
             "weight_decay": 1e-4, "alphas": (1.0,), "seeds": (0,), "jobs": 1, "name": "paper"},
        ),
    )
}  # fmt: skip


def experiment_from_preset(preset: str = "default", **overrides) -> ExperimentConfig:
    """The preset's ExperimentConfig with `overrides` (any ExperimentConfig or TrainingConfig field;
    None means "not given") on top. `subset=0` means the whole training set."""
    check_choice("--preset", preset, PRESETS)
    settings = {**PRESETS[preset].settings, **{k: v for k, v in overrides.items() if v is not None}}
    if settings.get("subset") == 0:
        settings["subset"] = None
    training_fields = {f.name for f in dataclasses.fields(TrainingConfig)}
    training = TrainingConfig(**{k: v for k, v in settings.items() if k in training_fields})
    return ExperimentConfig(training=training, **{k: v for k, v in settings.items() if k not in training_fields})


# --- mixup-bench bench ---------------------------------------------------------------

BENCH_SEED = 0  # run seed of the project's pipeline: its initial weights and random streams
BENCH_LR = 0.05  # a small peak lr: throughput does not depend on it, and the weights stay sane
MAX_BENCH_STEPS = 1_000_000  # per pipeline and round
MAX_ROUNDS = 1_000
MAX_WORKERS = 256  # DataLoader worker processes


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

    @property
    def training(self) -> TrainingConfig:
        """The hyperparameters of the project's pipeline and of `--epoch`'s one-epoch `train_run`
        (the naive pipeline uses its lr, momentum and weight decay too)."""
        return TrainingConfig(
            epochs=1,
            batch_size=self.batch_size,
            lr=BENCH_LR,
            model=self.model,
            augment=True,
            precision=self.precision,
            compile=self.compile,
        )

    @property
    def run(self) -> RunConfig:
        """The one run the project's pipeline steps through (and `--epoch` trains for an epoch)."""
        return RunConfig("bench", self.alpha, BENCH_SEED, self.training, self.device)

    def validate(self) -> None:
        """Raise UserError with one line for the first value out of range."""
        self.training.validate()  # --model, --batch-size, --precision: the same checks as `run`
        check_choice("--device", self.device, DEVICES)
        check_float("alpha", self.alpha, 0.0, 1000.0)
        check_int("--steps", self.steps, 1, MAX_BENCH_STEPS)
        check_int("--warmup", self.warmup, 0, MAX_BENCH_STEPS)
        check_int("--rounds", self.rounds, 1, MAX_ROUNDS)
        if self.workers is not None:
            check_int("--workers", self.workers, 0, MAX_WORKERS)
        if Path(self.out).is_dir():
            raise UserError(f"--out {self.out} is a folder; give a file name such as bench.json.")
        from mixup_bench.results import check_output_file

        check_output_file(self.out)  # before the benchmark, not after it: a file in the path, read-only
        if self.data_dir is not None and not Path(self.data_dir).exists():
            raise UserError(f"--data-dir {self.data_dir} does not exist; leave it out to use synthetic data.")
