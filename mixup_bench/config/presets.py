"""The named configurations (`--preset`), each as how it differs from the dataclass defaults, and the seeds
that `--seed`, `--seeds` or a `seeds` setting ask for."""

from __future__ import annotations

from dataclasses import dataclass

from mixup_bench.config.checks import MAX_SEEDS, check_int
from mixup_bench.errors import UserError


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
            {"arms": ("mixup:1",), "label_noise": 0.4, "name": "label-noise"},
        ),
        Preset(
            "paper",
            "PreAct ResNet-18 on the whole training pool with crop+flip augmentation, the paper's long schedule "
            "and weight decay, and MixUp alpha=1 (Zhang et al., 2018); one seed",
            "the paper's CIFAR-10 setting; meant for a GPU (days on a laptop CPU)",
            {"model": "preact-resnet18", "augment": True, "subset": None, "epochs": 200, "weight_decay": 1e-4,
             "val_size": 0, "arms": ("mixup:1",), "seeds": (0,), "jobs": 1, "name": "paper"},
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
             "weight_decay": 1e-4, "val_size": 0, "arms": ("mixup:1",), "seeds": (0,), "jobs": 1,
             "name": "paper-cifar100"},
        ),
    )
}  # fmt: skip


def seeds_option(seed, n_seeds: int | None, seeds=None) -> tuple[int, ...] | None:
    """The seeds that `--seed` (repeatable), `--seeds N` (0..N-1) or a `seeds` setting ask for; None when
    none of them is given. Two of them at once is refused."""
    given = [name for name, v in (("--seed", seed), ("--seeds", n_seeds), ("seeds", seeds)) if v not in (None, [], ())]
    if len(given) > 1 or (n_seeds is not None and seed):
        raise UserError(f"Give {' or '.join(given)}, not both.")
    if n_seeds is not None:
        check_int("--seeds", n_seeds, 1, MAX_SEEDS)
        return tuple(range(n_seeds))
    return tuple(dict.fromkeys(seed)) if seed else None
