"""What an experiment will cost before it starts, from throughput measured on the reference CPU.

The reference machine is a 2-core AMD EPYC with AVX512-BF16 (no AMX), bf16 autocast,
channels_last (`mixup-bench bench`, README "Performance"). A laptop with more cores is
faster; a GPU much faster. The estimate is printed, never enforced.
"""

from __future__ import annotations

from mixup_bench.config import CIFAR10_TEST_IMAGES, CIFAR10_TRAIN_IMAGES, ExperimentConfig

# images per second on the whole reference CPU (both cores): training steps, evaluation
REFERENCE_CPU_RATES = {"small-cnn": (1_300.0, 4_800.0), "preact-resnet18": (110.0, 400.0)}
PARALLEL_GAIN = 1.25  # --jobs 2 on 2 cores: two 1-thread runs keep the cores busier than one 2-thread run


def cpu_seconds(
    exp: ExperimentConfig, n_train: int = CIFAR10_TRAIN_IMAGES, n_test: int = CIFAR10_TEST_IMAGES
) -> float | None:
    """Expected wall time of the whole experiment on the reference CPU; None for an unknown model."""
    rates = REFERENCE_CPU_RATES.get(exp.training.model)
    if rates is None:
        return None
    tc = exp.training
    train_images = tc.subset or n_train
    eval_images = min(tc.clean_train_size, train_images) + n_test
    per_run = tc.epochs * (train_images / rates[0] + eval_images / rates[1])
    gain = PARALLEL_GAIN if exp.jobs > 1 else 1.0
    return len(exp.runs()) * per_run / gain


def human_duration(seconds: float) -> str:
    """'40 s', '11 min', '3.2 h', '2.1 days'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def cost_line(exp: ExperimentConfig, device_type: str, n_train: int, n_test: int) -> str | None:
    """One line for the user before a CPU run starts: runs, and the expected time on the reference CPU."""
    if device_type != "cpu":
        return None
    seconds = cpu_seconds(exp, n_train, n_test)
    if seconds is None:
        return None
    line = (
        f"{len(exp.runs())} runs of {exp.training.epochs} epochs: about {human_duration(seconds)} on a 2-core CPU "
        "like the reference machine (more cores: less)."
    )
    if seconds > 6 * 3600:
        line += " This is meant for a GPU; Ctrl-C stops it, and the same command resumes."
    return line
