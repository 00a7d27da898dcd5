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

from mixup_bench.catalog import CORRUPTED_SETS, DEFAULT_DATASET, check_dataset
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
    check_int,
    check_name,
)
from mixup_bench.config.setting import DATA, SHIFT, TRAINING, absent_is_default, check_settings, identity_keys, setting
from mixup_bench.errors import UserError
from mixup_bench.naming import BASELINE, MODEL_NAMES, method_for, run_id_for

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16")
BACKENDS = ("local", "ray")
CIFAR10_TRAIN_IMAGES, CIFAR10_TEST_IMAGES = 50_000, 10_000  # the full data set; `subset` None means all of it
LAM_MODES = ("batch", "elem")
DEFAULT_OUT = Path("results")  # the results root of `run`, and where `plot` and `status` look by default
DEFAULT_DATA_DIR = "data"  # without $MIXUP_BENCH_DATA
MAX_GRAD_CLIP = 1e6


def default_data_dir() -> Path:
    """`$MIXUP_BENCH_DATA` if set (an empty value counts as unset), else ./data."""
    return Path(os.environ.get("MIXUP_BENCH_DATA") or DEFAULT_DATA_DIR)


def _check_subset(cfg: TrainingConfig, subset: int | None) -> None:
    if subset is not None:
        check_int("--subset", subset, 0 if subset < 0 else cfg.batch_size, MAX_IMAGES,
                  " (0 = all)" if subset < 0 else f" (one batch of {cfg.batch_size})")  # fmt: skip


def _check_shift_setup(cfg: TrainingConfig, cifar10c_dir: str | None) -> None:
    """The shift options together: a CIFAR-10-C folder that is named and fits the data set, and no shift
    option set (shift_images: to other than its default) while --shift is off."""
    if cifar10c_dir is not None and not cifar10c_dir.strip():
        raise UserError("--cifar10c-dir must name a folder, got an empty one; leave it out for the built-in ones.")
    if cifar10c_dir is not None and cfg.dataset not in CORRUPTED_SETS:  # CIFAR-10-C or CIFAR-100-C
        raise UserError(f"--cifar10c-dir holds CIFAR-10's or CIFAR-100's test images, not {cfg.dataset}'s; "
                        "leave it out.")  # fmt: skip
    given = ("--shift-every" if cfg.shift_every is not None else "--cifar10c-dir" if cifar10c_dir is not None
             else "--shift-images" if cfg.shift_images != TrainingConfig.shift_images else None)  # fmt: skip
    if not cfg.shift and given:
        raise UserError(f"{given} sets up the shift evaluation, which is off: add --shift.")


@dataclass(frozen=True)
class TrainingConfig:
    """Hyperparameters shared by every run of an experiment: each field a `setting` (help, range, identity)."""

    epochs: int = setting(15, "Epochs per run.", lo=1, hi=MAX_EPOCHS, identity=TRAINING)
    batch_size: int = setting(128, "Images per SGD step.", lo=2, hi=MAX_BATCH, why=" (MixUp pairs images)",
                              identity=TRAINING)  # fmt: skip
    lr: float = setting(0.1, "Peak learning rate (linear warmup, linear decay to 0).", lo=0.0, hi=10.0, lo_open=True,
                        identity=TRAINING)  # fmt: skip
    weight_decay: float = setting(5e-4, "Weight decay (L2), on all weights.", lo=0.0, hi=1.0, identity=TRAINING)
    momentum: float = setting(0.9, "Nesterov momentum.", flag=False, lo=0.0, hi=0.999, identity=TRAINING)
    warmup_fraction: float = setting(0.15, "Share of all steps spent warming up linearly from 0.", flag=False,
                                     label="warmup fraction", lo=0.0, hi=0.99, identity=TRAINING)  # fmt: skip
    model: str = setting("fast-cnn", "fast-cnn (0.07M params), small-cnn (0.29M) or preact-resnet18 (11M).",
                         choices=MODEL_NAMES, identity=TRAINING)  # fmt: skip
    dataset: str = setting(DEFAULT_DATASET, "cifar10, cifar100, svhn, fashion-mnist, stl10 (torchvision's files in "
                           "--data-dir, downloaded if absent), or folder (train/<class>/ [+ test/<class>/] images of "
                           "any size in --data-dir).", check=lambda cfg, name: check_dataset(name), identity=DATA,
                           absent=True)  # fmt: skip
    augment: bool = setting(False, "Random crop (pad 4) + flip; off, MixUp is the only regulariser.", identity=TRAINING)
    precision: str = setting("auto", "auto (bf16 where the hardware has it) | fp32 | bf16.", choices=PRECISIONS,
                             identity=TRAINING)  # fmt: skip
    subset: int | None = setting(5_000, "Train on the first N images of a fixed shuffle; 0 = all beside the "
                                 "validation split.", check=_check_subset, identity=TRAINING)  # fmt: skip
    clean_train_size: int = setting(1_000, "Unaugmented training images evaluated per epoch for clean_train_*.", lo=1,
                                    hi=MAX_IMAGES, identity=TRAINING)  # fmt: skip
    val_size: int = setting(5_000, "Validation images held out of the training pool, the same for every seed and "
                            "arm; 0 = none.", lo=0, hi=MAX_IMAGES, why=" (0 = no validation split)",
                            identity=TRAINING)  # fmt: skip
    eval_batch_size: int = setting(1024, "Images per evaluation forward pass.", flag=False, label="eval batch size",
                                   lo=1, hi=MAX_BATCH)  # fmt: skip
    compile: bool = setting(False, "torch.compile the model.")
    label_noise: float = setting(0.0, "Share of training labels made wrong, the same for every arm of a seed.",
                                 lo=0.0, hi=0.95, identity=TRAINING)  # fmt: skip
    lam_mode: str = setting("batch", "MixUp lam: one per batch (batch, the paper's) or one per image (elem, timm's).",
                            choices=LAM_MODES, identity=TRAINING)  # fmt: skip
    grad_clip: float | None = setting(None, "Clip the gradient's global L2 norm to this before every SGD step "
                                      "(as torch.nn.utils.clip_grad_norm_).", lo=0.0, hi=MAX_GRAD_CLIP, lo_open=True,
                                      identity=TRAINING, absent=True, default_text="off")  # fmt: skip
    shift: bool = setting(False, "Evaluate on corrupted test images (12 types x 5 severities) and under FGSM/PGD "
                          "attacks at the last epoch: corrupt_*, fgsm_acc_*, pgd_acc_2 and corruptions.csv.",
                          identity=SHIFT, absent=True)  # fmt: skip
    shift_every: int | None = setting(None, "Also run the shift evaluation every K epochs (K >= 1).", lo=1,
                                      hi=MAX_EPOCHS, why=" (leave it out for the last epoch only)", identity=SHIFT,
                                      absent=True, default_text="the last epoch only")  # fmt: skip
    shift_images: int = setting(1_000, "Test images per corruption type and severity (a fixed subset).", lo=1,
                                hi=MAX_IMAGES, identity=SHIFT, absent=True)  # fmt: skip
    cifar10c_dir: str | None = setting(None, "A folder of the official CIFAR-10-C .npy files (CIFAR-100-C's with "
                                       "--dataset cifar100), used instead of the built-in corruptions.",
                                       check=_check_shift_setup, identity=SHIFT, absent=True)  # fmt: skip

    def __post_init__(self) -> None:
        _canonical_fields(self)  # -0.0 -> 0.0 in every float field, whoever built the object

    def validate(self) -> None:
        """Raise UserError with one line for the first value out of range, in field order (`check_settings`)."""
        check_settings(self)

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


# The parts of an experiment's identity, from the fields' metadata: an existing experiment folder refuses a
# command that changes any of them (sweep.record.check_compatible), and a checkpoint a changed run.
# TRAINING_KEYS change the numbers of a run; `compare` lays experiments out along them. SHIFT_KEYS change what a
# run measures, not how it trains. DATA_KEYS: the data set (`compare` refuses to pair data sets).
TRAINING_KEYS = identity_keys(TrainingConfig, TRAINING)
SHIFT_KEYS = identity_keys(TrainingConfig, SHIFT)
DATA_KEYS = identity_keys(TrainingConfig, DATA)
_ABSENT_IS_DEFAULT = absent_is_default(TrainingConfig)


def training_changes(old: Mapping, new: TrainingConfig) -> list[str]:
    """'key=old (now new)' for each identity key (DATA_KEYS, TRAINING_KEYS, SHIFT_KEYS) on which `old`, a
    training config read back from experiment.json or a checkpoint, differs from `new`. The one check behind
    both refusals: an experiment folder that a changed command would write into, and a checkpoint that a
    changed run would resume. A key that `old` lacks (written before the key existed) counts as changed:
    nothing says it ran with the value asked for now; unless the setting says a record without it ran at its
    default (`absent`: the data set, the shift evaluation, --grad-clip). With the shift evaluation off on
    both sides, its other settings are not compared."""
    now = dataclasses.asdict(new)
    was = {key: old.get(key, getattr(TrainingConfig, key)) if key in _ABSENT_IS_DEFAULT else old.get(key, _MISSING)
           for key in DATA_KEYS + TRAINING_KEYS + SHIFT_KEYS}  # fmt: skip
    shift_on = was["shift"] or now["shift"]
    keys = DATA_KEYS + TRAINING_KEYS + (SHIFT_KEYS if shift_on else SHIFT_KEYS[:1])
    return [
        f"{key} not recorded (now {now[key]!r})" if was[key] is _MISSING else f"{key}={was[key]!r} (now {now[key]!r})"
        for key in keys
        if was[key] is _MISSING or was[key] != now[key]
    ]


_MISSING = object()


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


def _check_arms(exp: ExperimentConfig, arms: tuple[str, ...]) -> None:
    check_arm_specs(arms)
    if not exp.planned_arms:
        raise UserError("Nothing to run: --no-baseline with no other arm.")


def _check_seeds(exp: ExperimentConfig, seeds: tuple[int, ...]) -> None:
    if not seeds:
        raise UserError("Nothing to run: no seeds given.")
    check_int("the number of seeds", len(seeds), 1, MAX_SEEDS)
    for s in seeds:
        check_int("--seed", s, 0, MAX_SEED)


def _check_gpu_share(exp: ExperimentConfig, share: float) -> None:
    if 0 < share < MIN_GPU_SHARE:  # Ray refuses a finer share with a traceback at submission
        raise UserError(f"--gpus-per-run must be 0 or at least {MIN_GPU_SHARE:g}, got {share!r}.")


def _check_sequential(exp: ExperimentConfig, max_seeds: int | None) -> None:
    """The sequential mode needs a comparison (the baseline and another arm), two seeds to start from, and a
    maximum at least as large as the seeds given."""
    if max_seeds is not None and not exp.until_decided:
        raise UserError("--max-seeds bounds the sequential mode, which is off: add --until-decided.")
    if not exp.until_decided:
        return
    check_int("--max-seeds", exp.seed_cap, 1, MAX_SEEDS)
    if exp.seed_cap < len(exp.seeds):
        raise UserError(
            f"--max-seeds {exp.seed_cap} is below the {len(exp.seeds)} seeds given; "
            f"raise it, or give fewer seeds to start from."
        )
    if len(exp.seeds) < 2:
        raise UserError("--until-decided starts from at least 2 seeds (an interval needs 2 pairs); e.g. --seeds 3.")
    others = [arm for arm in exp.planned_arms if arm[0] != BASELINE]
    if all(arm[0] != BASELINE for arm in exp.planned_arms) or not others:
        raise UserError(
            "--until-decided decides a comparison: it needs the baseline and at least one other arm (e.g. --alpha 0.4)."
        )


@dataclass(frozen=True)
class ExperimentConfig:
    """An experiment: the baseline arm plus one arm per spec in `arms`, each for every seed; each field but
    `training` a `setting`."""

    name: str = setting("default", "Experiment name: results go to <out>/<name>/.", default_text="the preset's",
                        check=lambda exp, name: check_name("--name", name))  # fmt: skip
    out: Path = setting(DEFAULT_OUT, "Results root.")
    arms: tuple[str, ...] = setting(("mixup:0.4",), "method:param specs, run in this order (`--arm`; merge_arms).",
                                    flag=False, check=_check_arms)  # fmt: skip
    seeds: tuple[int, ...] = setting((0, 1, 2), "Paired: every arm runs every seed.", flag=False, check=_check_seeds)
    baseline: bool = setting(True, "Add the baseline arm (plain ERM, no mixing).")
    training: TrainingConfig = field(default_factory=TrainingConfig)
    device: str = setting("auto", "auto | cpu | cuda | mps.", choices=DEVICES)
    data_dir: Path = setting(help="Data folder (of --dataset, CIFAR-10 by default): torchvision's files (downloaded "
                             "here if absent) or train/<class>/ + test/<class>/ image folders.",
                             default_factory=default_data_dir,
                             default_text=f"$MIXUP_BENCH_DATA, else ./{DEFAULT_DATA_DIR}")  # fmt: skip
    jobs: int = setting(2, "Runs at once, in separate processes (local backend).", lo=1, hi=MAX_JOBS)
    backend: str = setting("local", "local | ray.", choices=BACKENDS)
    ray_address: str | None = setting(None, "Ray cluster: auto or HOST:PORT.", default_text="start a local Ray")
    gpus_per_run: float = setting(0.0, "Ray: GPUs (or a fraction) per run.", lo=0.0, hi=1024.0,
                                  check=_check_gpu_share)  # fmt: skip
    until_decided: bool = setting(
        False,
        "Add paired seeds, --jobs at a time, until every claimed part of the first "
        "arm against the baseline is decided (supported, contradicted or no effect), with "
        "error rates that hold under this stopping.",
        flag="--until-decided/--fixed-seeds",
    )
    max_seeds: int | None = setting(None, "The most seeds --until-decided runs.", default_text=str(DEFAULT_MAX_SEEDS),
                                    check=_check_sequential)  # fmt: skip

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
        """Raise UserError with one line for the first value out of range: the training settings', then these
        in field order (`check_settings`)."""
        self.training.validate()
        check_settings(self)
