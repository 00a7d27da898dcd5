"""The options of `mixup-bench bench`, and the one run its project pipeline steps through."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mixup_bench.config.checks import _canonical_fields, check_choice, check_float, check_int
from mixup_bench.config.experiment import DEVICES, ExperimentConfig, RunConfig, TrainingConfig
from mixup_bench.errors import UserError

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
        from mixup_bench.results.writable import check_output_file

        check_output_file(self.out)  # before the benchmark, not after it: a file in the path, read-only
        if self.data_dir is not None and not Path(self.data_dir).exists():
            raise UserError(f"--data-dir {self.data_dir} does not exist; leave it out to use synthetic data.")
