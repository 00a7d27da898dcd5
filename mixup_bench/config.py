"""Typed configuration: one run (RunConfig) and one experiment (ExperimentConfig).

Every hyperparameter lives here with its unit, and `validate()` is the only place
that decides what is acceptable. Commands build these objects and call plain
functions with them; nothing reads global state.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mixup_bench.catalog import CORRUPTED_SETS, DEFAULT_DATASET, check_dataset
from mixup_bench.errors import UserError
from mixup_bench.naming import BASELINE, CUTMIX, MANIFOLD, MIXUP, MODEL_NAMES, SMOOTH, method_for, run_id_for
from mixup_bench.streams import is_text, quoted

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
MAX_EPOCHS = 100_000
MAX_BATCH = 1 << 20
MAX_IMAGES = 1 << 31
MAX_SEED = (1 << 63) - 1
MAX_JOBS = 1024
MIN_GPU_SHARE = 1e-4  # the finest GPU share Ray accepts for a task
MAX_SEEDS = 10_000  # seeds of one experiment (--seeds N); each is a whole run per arm
DEFAULT_MAX_SEEDS = 10  # `run --until-decided` without --max-seeds


def check_int(option: str, value: int, lo: int, hi: int, why: str = "") -> None:
    """One line for an integer option outside [lo, hi]."""
    if not lo <= value <= hi:
        bound = f"at least {lo}" if value < lo else f"at most {hi:,}"
        raise UserError(f"{option} must be {bound}{why}, got {value}.")


def check_float(option: str, value: float, lo: float, hi: float = float("inf"), lo_open: bool = False) -> None:
    """One line for a float option that is not finite or lies outside its range."""
    if not math.isfinite(value):
        raise UserError(f"{option} must be a finite number, got {value!r}.")
    if value < lo or (lo_open and value == lo) or value > hi:
        low = f"{'above' if lo_open else 'at least'} {lo:g}"
        rng = low if hi == float("inf") else f"{low} and at most {hi:g}"
        raise UserError(f"{option} must be {rng}, got {value!r}.")  # repr: 0.9500001, never rounded to 0.95


NAME_MAX_BYTES = 255  # the longest folder name common file systems hold


def check_name(option: str, value: str) -> None:
    """One line for a name that cannot be a single folder name whose text every results file can hold:
    empty, hidden (a leading dot), with a path separator, a control character or a byte that is not UTF-8
    (a surrogate escape from the command line), or longer than a folder name may be."""
    if not value or value.startswith(".") or any(c in value for c in "/\\"):
        raise UserError(f"{option} must be a plain folder name (no /, no leading dot), got {quoted(value)}.")
    if any(ord(c) < 32 or 127 <= ord(c) <= 159 for c in value):  # C0, DEL and C1 (U+0085 is a line break)
        raise UserError(f"{option} must not hold control characters (tab, newline, ...), got {quoted(value)}.")
    if not is_text(value):
        raise UserError(f"{option} must be UTF-8 text, got {quoted(value)}, which holds other bytes; rename it.")
    if (size := len(value.encode("utf-8"))) > NAME_MAX_BYTES:
        raise UserError(f"{option} must be at most {NAME_MAX_BYTES} bytes long (a folder name), got {size}.")


def canonical(value):
    """A number as it is stored, named and compared: -0.0 becomes 0.0 (it equals 0.0, but would be written
    and shown as '-0'); a tuple element by element; anything else as it is."""
    if isinstance(value, float):
        return value + 0.0
    if isinstance(value, tuple):
        return tuple(canonical(v) for v in value)
    return value


def _canonical_fields(config) -> None:
    """Every field of a (frozen) config object made `canonical`, once, when the object is made: whatever
    built it (flags, a preset, a TOML file, the Python API), its run ids, files and checks see one value."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if isinstance(value, (float, tuple)):
            object.__setattr__(config, f.name, canonical(value))


def check_choice(option: str, value: str, choices) -> None:
    if value not in choices:
        raise UserError(f"Unknown {option.lstrip('-')} {value!r}; choose one of: {', '.join(choices)}.")


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
        if self.cifar10c_dir is not None and self.dataset not in CORRUPTED_SETS:  # CIFAR-10-C or CIFAR-100-C
            raise UserError(f"--cifar10c-dir holds CIFAR-10's or CIFAR-100's test images, not {self.dataset}'s; "
                            "leave it out.")  # fmt: skip
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
    alpha: float  # the method's parameter: alpha (mixup, cutmix, manifold; 0 = baseline) or epsilon (smooth)
    seed: int
    training: TrainingConfig = field(default_factory=TrainingConfig)
    device: str = "auto"
    method: str = ""  # baseline | mixup | cutmix | smooth | manifold; "" = from alpha (0: baseline, else mixup)

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
    """An experiment: the baseline arm plus one MixUp arm per alpha, each for every seed."""

    name: str = "default"
    out: Path = Path("results")
    alphas: tuple[float, ...] = (0.4,)  # one MixUp arm each (0 = the baseline)
    seeds: tuple[int, ...] = (0, 1, 2)  # paired: every arm runs every seed
    baseline: bool = True  # add the alpha = 0 arm
    cutmix: tuple[float, ...] = ()  # one CutMix arm per alpha
    smoothing: tuple[float, ...] = ()  # one label-smoothing arm per epsilon
    manifold: tuple[float, ...] = ()  # one Manifold MixUp arm per alpha
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

    @property
    def seed_cap(self) -> int:
        """The most seeds a sequential run (`until_decided`) goes to."""
        return self.max_seeds if self.max_seeds is not None else DEFAULT_MAX_SEEDS

    @property
    def path(self) -> Path:
        return self.out / self.name

    @property
    def arms(self) -> tuple[tuple[str, float], ...]:
        """(method, parameter) of every arm: `arms_of` this config."""
        return arms_of(self)

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
        others = [arm for arm in self.arms if arm[0] != BASELINE]
        if all(arm[0] != BASELINE for arm in self.arms) or not others:
            raise UserError(
                "--until-decided decides a comparison: it needs the baseline and at least one other arm "
                "(e.g. --alpha 0.4)."
            )


# The field of ExperimentConfig (and key of experiment.json's config) that lists each method's arms,
# in the order arms are run. `alphas` lists MixUp's arms; 0 there is the baseline.
ARM_FIELDS = (("alphas", MIXUP), ("cutmix", CUTMIX), ("smoothing", SMOOTH), ("manifold", MANIFOLD))


def arms_of(config: ExperimentConfig | Mapping) -> tuple[tuple[str, float], ...]:
    """(method, parameter) of every arm a config plans, without repeats: the baseline first (unless
    `baseline` is false), then MixUp by `alphas` (0 there is the baseline too), then CutMix, label
    smoothing and Manifold MixUp by their lists (`ARM_FIELDS`).

    The one arm expansion: `run` takes its runs from it, `status` the runs it expects, `plot` the arms
    it colours. `config` is an ExperimentConfig, or experiment.json's config object as read back; there
    a list that is missing or not a list counts as empty, and an entry that is not a finite number
    (0 and up for `alphas`, above 0 for the others) is left out, as a hand-edited file may hold anything.
    """

    def get(key: str, default=None):
        return config.get(key, default) if isinstance(config, Mapping) else getattr(config, key)

    arms = [(BASELINE, 0.0)] if get("baseline", True) is not False else []
    for key, method in ARM_FIELDS:
        values = get(key)
        for v in values if isinstance(values, (list, tuple)) else ():
            number = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            if number and (v > 0 or (v == 0 and method == MIXUP)):
                arms.append((method_for(v) if method == MIXUP else method, float(v)))
    return tuple(dict.fromkeys(arms))


# --- presets --------------------------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    """A named, documented configuration: how it differs from the dataclass defaults above.

    Its words say what it is for and hold no numbers: `mixup-bench presets` prints its settings
    beside them, from `settings` and the defaults, so the two cannot disagree. Flags and a
    `--config` file override its values (see settings.build_experiment).
    """

    name: str
    regime: str  # what it trains, in words
    shows: str  # what its verdict can and cannot show
    settings: dict  # ExperimentConfig and TrainingConfig field -> value, only where it differs from the default


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "default",
            "the defaults: fast-cnn on a fixed subset without augmentation, so MixUp is the only regulariser; "
            "the baseline and one MixUp arm over paired seeds; chosen on validation numbers of exploration "
            "seeds to end within 10 minutes on a 2-core AVX2 CPU in fp32",
            "MixUp's higher training loss, lower test loss, smaller gap and ECE, with intervals; its "
            "test-accuracy gain here is small and fragile (supported in fp32, inconclusive in bf16 on the "
            "same seeds); the label-noise preset shows a larger one",
            {},
        ),
        Preset(
            "classic",
            "the default regime of the first releases: small-cnn (two convs at full resolution, 0.29M "
            "parameters) on twice the images; several times slower than the default (about 10x on AVX2 in fp32)",
            "the same claim parts as the default, on a larger net; its training subset is the one the archived "
            "results trained on",
            {"model": "small-cnn", "subset": 10_000, "clean_train_size": 2_000, "name": "classic"},
        ),
        Preset(
            "label-noise",
            "the default regime with a share of the training labels wrong (symmetric noise, fixed per seed) "
            "and a stronger MixUp",
            "MixUp resisting memorisation of corrupted labels: higher test accuracy and lower test loss",
            {"alphas": (1.0,), "label_noise": 0.4, "name": "label-noise"},
        ),
        Preset(
            "paper",
            "PreAct ResNet-18 on the whole training pool with crop+flip augmentation, the paper's long schedule "
            "and weight decay, and MixUp alpha=1 (Zhang et al., 2018); one seed",
            "the paper's CIFAR-10 setting; meant for a GPU (days on a laptop CPU)",
            {"model": "preact-resnet18", "augment": True, "subset": None, "epochs": 200, "weight_decay": 1e-4,
             "val_size": 0, "alphas": (1.0,), "seeds": (0,), "jobs": 1, "name": "paper"},
        ),
        Preset(
            "cifar100",
            "the default regime on CIFAR-100 (a tenth of the images per class that CIFAR-10 gives it): NOT tuned "
            "here, as no copy of CIFAR-100 could be had where this preset was written; the default's settings "
            "carried over as they are, to be checked on validation numbers of exploration seeds before trusting it",
            "the same claim parts as the default, on a harder 100-class problem where the paper and OpenMixup "
            "report a larger MixUp gain than on CIFAR-10; untested here, so read its verdict with that in mind",
            {"dataset": "cifar100", "name": "cifar100"},
        ),
        Preset(
            "paper-cifar100",
            "the paper preset on CIFAR-100: PreAct ResNet-18 on the whole training pool with crop+flip augmentation, "
            "the paper's long schedule and weight decay, and MixUp alpha=1 (Zhang et al., 2018); one seed",
            "the paper's CIFAR-100 setting (it reports 25.6% -> 21.1% error); meant for a GPU (days on a laptop "
            "CPU); not run here",
            {"dataset": "cifar100", "model": "preact-resnet18", "augment": True, "subset": None, "epochs": 200,
             "weight_decay": 1e-4, "val_size": 0, "alphas": (1.0,), "seeds": (0,), "jobs": 1,
             "name": "paper-cifar100"},
        ),
    )
}  # fmt: skip


def seeds_option(seed, n_seeds: int | None, seeds=None) -> tuple[int, ...] | None:
    """The seeds that `--seed` (repeatable), `--seeds N` (0..N-1) or a `seeds` setting ask for; None when
    none of them is given. Two of them at once is refused."""
    given = [name for name, v in (("--seed", seed), ("--seeds", n_seeds), ("seeds", seeds)) if v]
    if len(given) > 1 or (n_seeds is not None and seed):
        raise UserError(f"Give {' or '.join(given)}, not both.")
    if n_seeds is not None:
        check_int("--seeds", n_seeds, 1, MAX_SEEDS)
        return tuple(range(n_seeds))
    return tuple(dict.fromkeys(seed)) if seed else None


# --- mixup-bench bench ---------------------------------------------------------------

BENCH_SEED = 0  # run seed of the project's pipeline: its initial weights and random streams
BENCH_LR = 0.05  # a small peak lr: throughput does not depend on it, and the weights stay sane
BENCH_CLEAN_TRAIN_SIZE = 10_000  # `--epoch` evaluates as many clean-train images as test images
MAX_BENCH_STEPS = 1_000_000  # per pipeline and round
MAX_ROUNDS = 1_000
MAX_WORKERS = 256  # DataLoader worker processes


@dataclass(frozen=True)
class BenchConfig:
    """Options of `mixup-bench bench`."""

    model: str = "small-cnn"  # bench's own: the model its published numbers are for
    batch_size: int = 256
    device: str = ExperimentConfig.device  # the run's defaults where bench has no reason to differ
    precision: str = TrainingConfig.precision  # of the project's pipeline; the naive one is always fp32
    steps: int = 20  # timed steps per pipeline and round
    warmup: int = 5  # untimed steps before them
    rounds: int = 3
    compile: bool = TrainingConfig.compile  # torch.compile the project's model (opt-in; see docs/performance.md)
    data_dir: Path | None = None  # None: synthetic uint8 images
    out: Path = Path("bench.json")
    workers: int | None = None  # DataLoader workers of the naive pipeline; None: default_workers()
    epoch: bool = False  # also time one real epoch + evaluation with train_run
    alpha: float = 0.4  # MixUp alpha of both pipelines

    def __post_init__(self) -> None:
        _canonical_fields(self)  # -0.0 -> 0.0 in every float field, whoever built the object

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
            subset=None,  # `--epoch`: one epoch over the whole training pool
            val_size=0,  # ... all of it: a throughput figure needs no validation split
            clean_train_size=BENCH_CLEAN_TRAIN_SIZE,
            precision=self.precision,
            compile=self.compile,
            shift=False,  # `--epoch` times an epoch of training and its per-epoch evaluation
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
