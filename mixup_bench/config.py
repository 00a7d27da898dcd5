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

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16")
BACKENDS = ("local", "ray")

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
)


def default_data_dir() -> Path:
    """`$MIXUP_BENCH_DATA` if set, else ./data."""
    return Path(os.environ.get("MIXUP_BENCH_DATA", "data"))


def format_alpha(alpha: float) -> str:
    """Shortest exact text for alpha, as used in run ids: 0.4 -> '0.4', 1.0 -> '1', 0 -> '0'."""
    return f"{alpha:g}"


def run_id_for(alpha: float, seed: int) -> str:
    """The folder name of one run: 'baseline-a0-s0' or 'mixup-a0.4-s0'."""
    method = "baseline" if alpha == 0 else "mixup"
    return f"{method}-a{format_alpha(alpha)}-s{seed}"


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

    def validate(self) -> None:
        """Raise UserError with one line for the first value out of range."""
        from mixup_bench.train.models import MODELS  # local: models imports torch

        if self.epochs < 1:
            raise UserError(f"--epochs must be at least 1, got {self.epochs}.")
        if self.batch_size < 2:
            raise UserError(f"--batch-size must be at least 2 (MixUp pairs images), got {self.batch_size}.")
        if not self.lr > 0:
            raise UserError(f"--lr must be positive, got {self.lr}.")
        if self.weight_decay < 0:
            raise UserError(f"--weight-decay must be 0 or more, got {self.weight_decay}.")
        if not 0 <= self.momentum < 1:
            raise UserError(f"momentum must be in [0, 1), got {self.momentum}.")
        if not 0 <= self.warmup_fraction < 1:
            raise UserError(f"warmup fraction must be in [0, 1), got {self.warmup_fraction}.")
        if self.model not in MODELS:
            raise UserError(f"Unknown model {self.model!r}; choose one of: {', '.join(MODELS)}.")
        if self.precision not in PRECISIONS:
            raise UserError(f"Unknown precision {self.precision!r}; choose one of: {', '.join(PRECISIONS)}.")
        if self.subset is not None and self.subset < self.batch_size:
            raise UserError(
                f"--subset {self.subset} is smaller than one batch ({self.batch_size}); "
                "raise --subset or lower --batch-size."
            )
        if self.clean_train_size < 1:
            raise UserError(f"clean train size must be at least 1, got {self.clean_train_size}.")


@dataclass(frozen=True)
class RunConfig:
    """One training run: one arm (alpha) with one seed."""

    experiment: str
    alpha: float  # 0 = baseline (plain ERM); > 0 = MixUp with lam ~ Beta(alpha, alpha)
    seed: int
    training: TrainingConfig = field(default_factory=TrainingConfig)
    device: str = "auto"

    @property
    def method(self) -> str:
        return "baseline" if self.alpha == 0 else "mixup"

    @property
    def run_id(self) -> str:
        return run_id_for(self.alpha, self.seed)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.update(method=self.method, run_id=self.run_id)
        return d


@dataclass(frozen=True)
class ExperimentConfig:
    """An experiment: the baseline arm plus one MixUp arm per alpha, each for every seed."""

    name: str = "default"
    out: Path = Path("results")
    alphas: tuple[float, ...] = (0.4,)
    seeds: tuple[int, ...] = (0,)
    baseline: bool = True  # add the alpha = 0 arm
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

    def runs(self) -> list[RunConfig]:
        """Every run, seed-major so that a partial sweep already holds complete pairs."""
        return [
            RunConfig(self.name, alpha, seed, self.training, self.device)
            for seed in self.seeds
            for alpha in self.arm_alphas
        ]

    def validate(self) -> None:
        """Raise UserError with one line for the first value out of range."""
        self.training.validate()
        for a in self.alphas:
            if not a >= 0:  # also catches nan
                raise UserError(f"--alpha must be 0 or more (0 is the baseline), got {a:g}.")
        if not self.arm_alphas:
            raise UserError("Nothing to run: --no-baseline with no --alpha above 0.")
        if not self.seeds:
            raise UserError("Nothing to run: no seeds given.")
        for s in self.seeds:
            if s < 0:
                raise UserError(f"--seed must be 0 or more, got {s}.")
        if not self.name or "/" in self.name or self.name.startswith("."):
            raise UserError(f"--name must be a plain folder name, got {self.name!r}.")
        if self.device not in DEVICES:
            raise UserError(f"Unknown device {self.device!r}; choose one of: {', '.join(DEVICES)}.")
        if self.jobs < 1:
            raise UserError(f"--jobs must be at least 1, got {self.jobs}.")
        if self.backend not in BACKENDS:
            raise UserError(f"Unknown backend {self.backend!r}; choose one of: {', '.join(BACKENDS)}.")
        if self.gpus_per_run < 0:
            raise UserError(f"--gpus-per-run must be 0 or more, got {self.gpus_per_run}.")
