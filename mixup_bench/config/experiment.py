"""Typed configuration: one run (RunConfig) and one experiment (ExperimentConfig).

Every hyperparameter lives here with its unit, and `validate()` is the only place
that decides what is acceptable. Commands build these objects and call plain
functions with them; nothing reads global state.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mixup_bench.catalog import DEFAULT_DATASET, check_dataset
from mixup_bench.config.arms import _canonical_spec, arms_of, check_arm_specs
from mixup_bench.config.checks import (
    DEFAULT_MAX_SEEDS,
    MAX_BATCH,
    MAX_EPOCHS,
    MAX_IMAGES,
    MAX_JOBS,
    MAX_SEED,
    MAX_SEEDS,
    MIN_GPU_SHARE,
    _canonical_fields,
    check_choice,
    check_float,
    check_int,
    check_name,
)
from mixup_bench.errors import UserError
from mixup_bench.naming import BASELINE, MODEL_NAMES, method_for, run_id_for

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16")
BACKENDS = ("local", "ray")
CIFAR10_TRAIN_IMAGES, CIFAR10_TEST_IMAGES = 50_000, 10_000  # the full data set; `subset` None means all of it
LAM_MODES = ("batch", "elem")

# Hyperparameters that change the numbers of a run. An existing experiment folder
# refuses a command that changes any of them (see sweep.record.check_compatible).
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
    "val_size",
    "label_noise",
    "lam_mode",
)


# Settings that change what a run measures, not how it trains: the shift evaluation's. They belong to an
# experiment's identity (the same check as TRAINING_KEYS), but not to the training settings `compare` reads.
# A record from before they were recorded ran without the shift evaluation: a missing key is its default.
SHIFT_KEYS = ("shift", "shift_every", "shift_images", "cifar10c_dir")

# The data set an experiment trains on: part of its identity (the same check as TRAINING_KEYS), but not a
# setting `compare` lays experiments out along (it refuses to pair data sets). A record from before it was
# recorded trained on CIFAR-10: a missing key is its default.
DATA_KEYS = ("dataset",)


def training_changes(old: Mapping, new: TrainingConfig) -> list[str]:
    """'key=old (now new)' for each of TRAINING_KEYS and SHIFT_KEYS on which `old`, a training config read
    back from experiment.json or a checkpoint, differs from `new`. The one check behind both refusals: an
    experiment folder that a changed command would write into, and a checkpoint that a changed run would
    resume. A TRAINING_KEYS key that `old` lacks (written before the key existed) counts as changed: nothing
    says it ran with the value asked for now. A SHIFT_KEYS key it lacks is its default (no shift evaluation),
    and with the shift evaluation off on both sides, its other settings are not compared."""
    now = dataclasses.asdict(new)
    changes = [
        f"{key}={old[key]!r} (now {now[key]!r})" if key in old else f"{key} not recorded (now {now[key]!r})"
        for key in TRAINING_KEYS
        if key not in old or old[key] != now[key]
    ]
    was = {key: old.get(key, getattr(TrainingConfig, key)) for key in SHIFT_KEYS}
    compared = SHIFT_KEYS if was["shift"] or now["shift"] else ("shift",)
    data = [
        f"{k}={old.get(k, DEFAULT_DATASET)!r} (now {now[k]!r})"
        for k in DATA_KEYS
        if old.get(k, DEFAULT_DATASET) != now[k]
    ]
    return data + changes + [f"{key}={was[key]!r} (now {now[key]!r})" for key in compared if was[key] != now[key]]


# Largest values accepted for integer options: far above any sensible run, and below what
# torch (int64 sizes, 64-bit seeds) and the file system accept.
def default_data_dir() -> Path:
    """`$MIXUP_BENCH_DATA` if set (an empty value counts as unset), else ./data."""
    return Path(os.environ.get("MIXUP_BENCH_DATA") or "data")


@dataclass(frozen=True)
class TrainingConfig:
    """Hyperparameters shared by every run of an experiment."""

    epochs: int = 15  # full passes over the training set
    batch_size: int = 128  # images per SGD step
    lr: float = 0.1  # peak learning rate, reached at the end of warmup
    weight_decay: float = 5e-4  # L2 coefficient, applied to all weights
    momentum: float = 0.9  # Nesterov momentum
    warmup_fraction: float = 0.15  # share of all steps spent warming up linearly from 0
    model: str = "fast-cnn"  # one of naming.MODEL_NAMES
    dataset: str = DEFAULT_DATASET  # one of catalog.DATASETS: cifar10, cifar100, svhn, fashion-mnist, stl10, folder
    augment: bool = False  # random crop (pad 4) + horizontal flip on the device
    precision: str = "auto"  # auto | fp32 | bf16 (autocast)
    subset: int | None = 5_000  # train on the first N images of a fixed shuffle; None = the whole pool
    clean_train_size: int = 1_000  # unaugmented training images for clean_train_*
    val_size: int = 5_000  # fixed validation images, the last of the pool's fixed shuffle (val_*); 0 = none
    eval_batch_size: int = 1024  # images per evaluation forward pass
    compile: bool = False  # torch.compile the model
    label_noise: float = 0.0  # share of training labels replaced by a wrong one, per seed (symmetric noise)
    lam_mode: str = "batch"  # MixUp: one lam per batch, or per image ("elem", as timm)
    shift: bool = False  # corrupted and attacked test images at the last epoch (train/shift.py); opt-in: +23-31% time
    shift_every: int | None = None  # ... and every K epochs as well; None = the last epoch only
    shift_images: int = 1_000  # test images per corruption type and severity (the attacks use a fixed 2,000)
    cifar10c_dir: str | None = None  # CIFAR-10-C's .npy files, instead of the built-in corruptions

    def __post_init__(self) -> None:
        _canonical_fields(self)  # -0.0 -> 0.0 in every float field, whoever built the object

    def validate(self) -> None:
        """Raise UserError with one line for the first value out of range."""
        check_int("--epochs", self.epochs, 1, MAX_EPOCHS)
        check_int("--batch-size", self.batch_size, 2, MAX_BATCH, " (MixUp pairs images)")
        check_float("--lr", self.lr, 0.0, 10.0, lo_open=True)
        check_float("--weight-decay", self.weight_decay, 0.0, 1.0)
        check_float("momentum", self.momentum, 0.0, 0.999)
        check_float("warmup fraction", self.warmup_fraction, 0.0, 0.99)
        check_choice("--model", self.model, MODEL_NAMES)
        check_dataset(self.dataset)
        check_choice("--precision", self.precision, PRECISIONS)
        if self.subset is not None:
            check_int("--subset", self.subset, 0 if self.subset < 0 else self.batch_size, MAX_IMAGES,
                      " (0 = all)" if self.subset < 0 else f" (one batch of {self.batch_size})")  # fmt: skip
        check_int("--clean-train-size", self.clean_train_size, 1, MAX_IMAGES)
        check_int("--val-size", self.val_size, 0, MAX_IMAGES, " (0 = no validation split)")
        check_int("eval batch size", self.eval_batch_size, 1, MAX_BATCH)
        check_float("--label-noise", self.label_noise, 0.0, 0.95)
        check_choice("--lam-mode", self.lam_mode, LAM_MODES)
        if self.shift_every is not None:
            check_int("--shift-every", self.shift_every, 1, MAX_EPOCHS, " (leave it out for the last epoch only)")
        check_int("--shift-images", self.shift_images, 1, MAX_IMAGES)
        if self.cifar10c_dir is not None and not self.cifar10c_dir.strip():
            raise UserError("--cifar10c-dir must name a folder, got an empty one; leave it out for the built-in ones.")
        if self.cifar10c_dir is not None and self.dataset != DEFAULT_DATASET:
            raise UserError(f"--cifar10c-dir holds CIFAR-10's test images, not {self.dataset}'s; leave it out.")
        if not self.shift and (given := self._shift_options()):
            raise UserError(f"{given} sets up the shift evaluation, which is off: add --shift.")

    def _shift_options(self) -> str | None:
        """The first shift option set (shift_images: to other than its default) while --shift is off."""
        if self.shift_every is not None:
            return "--shift-every"
        if self.cifar10c_dir is not None:
            return "--cifar10c-dir"
        return "--shift-images" if self.shift_images != TrainingConfig.shift_images else None

    def check_data(self, n_train: int) -> None:
        """The checks that need the data set's size: the validation split must leave training images,
        and a --subset must fit beside it (refused, not clamped)."""
        pool = n_train - self.val_size  # the images a training subset is drawn from
        if pool < 1:
            raise UserError(
                f"--val-size {self.val_size:,} leaves no training images (the training set has {n_train:,}); "
                "use a smaller --val-size, or 0 for no validation split."
            )
        if self.subset is not None and self.subset > n_train:
            raise UserError(
                f"--subset {self.subset:,} is larger than the training set ({n_train:,} images); "
                f"use at most {pool}, or --subset 0 for all of it beside the validation split."
            )
        if self.subset is not None and self.subset > pool:
            raise UserError(
                f"--subset {self.subset:,} does not fit beside the {self.val_size:,} validation images "
                f"(the training set has {n_train:,}); use at most {pool}, or --subset 0 for all of them."
            )
        if (self.subset or pool) < self.batch_size:
            raise UserError(
                f"The training pool has {self.subset or pool:,} images, fewer than one batch of {self.batch_size}; "
                "lower --batch-size."
            )


@dataclass(frozen=True)
class RunConfig:
    """One training run: one arm (method and its parameter) with one seed."""

    experiment: str
    alpha: float  # the method's parameter (methods.METHODS[method].param): alpha, epsilon, scale; 0 = baseline
    seed: int
    training: TrainingConfig = field(default_factory=TrainingConfig)
    device: str = "auto"
    method: str = ""  # a name in methods.METHODS; "" = from alpha (0: baseline, else mixup)

    def __post_init__(self) -> None:
        _canonical_fields(self)
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
    """An experiment: the baseline arm plus one arm per spec in `arms`, each for every seed."""

    name: str = "default"
    out: Path = Path("results")
    arms: tuple[str, ...] = ("mixup:0.4",)  # "method:param" (`--arm`), in the order they run; see merge_arms
    seeds: tuple[int, ...] = (0, 1, 2)  # paired: every arm runs every seed
    baseline: bool = True  # add the baseline arm (no mixing)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    device: str = "auto"
    data_dir: Path = field(default_factory=default_data_dir)
    jobs: int = 2  # runs at once (local backend)
    backend: str = "local"
    ray_address: str | None = None
    gpus_per_run: float = 0.0  # Ray: GPU share per run
    until_decided: bool = False  # add paired seeds, `jobs` at a time, until the primary comparison is decided
    max_seeds: int | None = None  # the most seeds `until_decided` runs; None = DEFAULT_MAX_SEEDS

    def __post_init__(self) -> None:
        _canonical_fields(self)  # -0.0 -> 0.0 in every float field, whoever built the object
        object.__setattr__(self, "arms", tuple(_canonical_spec(s) for s in self.arms))

    @property
    def seed_cap(self) -> int:
        """The most seeds a sequential run (`until_decided`) goes to."""
        return self.max_seeds if self.max_seeds is not None else DEFAULT_MAX_SEEDS

    @property
    def path(self) -> Path:
        return self.out / self.name

    @property
    def planned_arms(self) -> tuple[tuple[str, float], ...]:
        """(method, parameter) of every arm, the baseline first: `arms_of` this config."""
        return arms_of(self)

    def runs(self) -> list[RunConfig]:
        """Every run, seed-major so that a partial sweep already holds complete pairs."""
        return [
            RunConfig(self.name, param, seed, self.training, self.device, method)
            for seed in self.seeds
            for method, param in self.planned_arms
        ]

    def validate(self) -> None:
        """Raise UserError with one line for the first value out of range."""
        self.training.validate()
        check_arm_specs(self.arms)
        if not self.planned_arms:
            raise UserError("Nothing to run: --no-baseline with no other arm.")
        if not self.seeds:
            raise UserError("Nothing to run: no seeds given.")
        check_int("the number of seeds", len(self.seeds), 1, MAX_SEEDS)
        for s in self.seeds:
            check_int("--seed", s, 0, MAX_SEED)
        check_name("--name", self.name)
        check_choice("--device", self.device, DEVICES)
        check_int("--jobs", self.jobs, 1, MAX_JOBS)
        check_choice("--backend", self.backend, BACKENDS)
        check_float("--gpus-per-run", self.gpus_per_run, 0.0, 1024.0)
        if 0 < self.gpus_per_run < MIN_GPU_SHARE:  # Ray refuses a finer share with a traceback at submission
            raise UserError(f"--gpus-per-run must be 0 or at least {MIN_GPU_SHARE:g}, got {self.gpus_per_run!r}.")
        self._validate_sequential()

    def _validate_sequential(self) -> None:
        """The sequential mode needs a comparison (the baseline and another arm), two seeds to start from, and a
        maximum at least as large as the seeds given."""
        if self.max_seeds is not None and not self.until_decided:
            raise UserError("--max-seeds bounds the sequential mode, which is off: add --until-decided.")
        if not self.until_decided:
            return
        check_int("--max-seeds", self.seed_cap, 1, MAX_SEEDS)
        if self.seed_cap < len(self.seeds):
            raise UserError(
                f"--max-seeds {self.seed_cap} is below the {len(self.seeds)} seeds given; "
                f"raise it, or give fewer seeds to start from."
            )
        if len(self.seeds) < 2:
            raise UserError("--until-decided starts from at least 2 seeds (an interval needs 2 pairs); e.g. --seeds 3.")
        others = [arm for arm in self.planned_arms if arm[0] != BASELINE]
        if all(arm[0] != BASELINE for arm in self.planned_arms) or not others:
            raise UserError(
                "--until-decided decides a comparison: it needs the baseline and at least one other arm "
                "(e.g. --alpha 0.4)."
            )
