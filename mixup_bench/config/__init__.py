"""Typed configuration, one module per job: the dataclasses of a run and an experiment and their validation
(`experiment`), the checks and bounds of option values (`checks`), arms and their specs (`arms`), the presets
(`presets`), and `bench`'s options (`bench`). Every name is importable from here, as it was from the one module.
"""

from __future__ import annotations

from mixup_bench.config.arms import (
    ARM_ALIASES,
    alias_specs,
    arm_specs_of,
    arms_of,
    check_arm_specs,
    merge_arms,
)
from mixup_bench.config.bench import BenchConfig
from mixup_bench.config.checks import (
    DEFAULT_MAX_SEEDS,
    MAX_BATCH,
    MAX_EPOCHS,
    MAX_IMAGES,
    MAX_JOBS,
    MAX_SEED,
    MAX_SEEDS,
    MIN_GPU_SHARE,
    canonical,
    check_choice,
    check_float,
    check_int,
    check_name,
)
from mixup_bench.config.experiment import (
    BACKENDS,
    CIFAR10_TEST_IMAGES,
    CIFAR10_TRAIN_IMAGES,
    DATA_KEYS,
    DEVICES,
    LAM_MODES,
    PRECISIONS,
    SHIFT_KEYS,
    TRAINING_KEYS,
    ExperimentConfig,
    RunConfig,
    TrainingConfig,
    default_data_dir,
    training_changes,
)
from mixup_bench.config.presets import PRESETS, Preset, seeds_option

__all__ = [
    "ARM_ALIASES", "BACKENDS", "CIFAR10_TEST_IMAGES", "CIFAR10_TRAIN_IMAGES", "DATA_KEYS", "DEFAULT_MAX_SEEDS",
    "DEVICES", "LAM_MODES", "MAX_BATCH", "MAX_EPOCHS", "MAX_IMAGES", "MAX_JOBS", "MAX_SEED", "MAX_SEEDS",
    "MIN_GPU_SHARE", "PRECISIONS", "PRESETS", "SHIFT_KEYS", "TRAINING_KEYS", "BenchConfig", "ExperimentConfig",
    "Preset", "RunConfig", "TrainingConfig", "alias_specs", "arm_specs_of", "arms_of", "canonical", "check_arm_specs",
    "check_choice", "check_float", "check_int", "check_name", "default_data_dir", "merge_arms", "seeds_option",
    "training_changes",
]  # fmt: skip
