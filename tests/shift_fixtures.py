"""Hand-made experiments whose runs ran the shift evaluation (`run --shift`), with known answers: the last
epoch of each run holds the shift columns, and corruptions.csv the per-cell accuracies (a plain module of the
tests package: `from tests.shift_fixtures import ...`)."""

from __future__ import annotations

from pathlib import Path

from mixup_bench.results.schema import write_corruptions
from tests.plot_fixtures import metrics_row, write_run

SEEDS = (0, 1, 2)
TYPES = ("gaussian_noise", "fog")
# MixUp's accuracy gain per corruption type and seed: on gaussian noise +3 pp on average (std 1 pp), none on fog.
GAIN = {"gaussian_noise": (0.02, 0.03, 0.04), "fog": (0.0, 0.0, 0.0)}


def cell_acc(alpha: float, seed: int, kind: str, severity: int) -> float:
    """The accuracy corruptions.csv holds for a run at one corruption type and severity."""
    return 0.6 - 0.05 * severity + 0.01 * seed + (GAIN[kind][seed] if alpha > 0 else 0.0)


def write_experiment(exp: Path, shift: bool = True, cells: bool = True, corrupt_gain=(0.05, 0.06, 0.055),
                     fgsm_gain=(-0.02, -0.03, -0.025), epochs: int = 3) -> Path:  # fmt: skip
    """Baseline and MixUp 0.4 over 3 seeds; with `shift`, each run's last epoch holds the shift numbers
    (MixUp: corrupt_acc + corrupt_gain[seed], fgsm_acc_2 + fgsm_gain[seed]) and, with `cells`, its
    corruptions.csv the cells of `cell_acc`. Validation accuracy peaks at epoch 2."""
    for seed in SEEDS:
        for alpha in (0.0, 0.4):
            rows = []
            for epoch in range(1, epochs + 1):
                row = metrics_row(alpha, seed, epoch, test_acc=0.5 + 0.01 * epoch + 0.002 * seed + 0.01 * alpha,
                                  clean_train_loss=0.5 + 0.5 * alpha + 0.01 * seed, val_acc=0.4 + 0.05 * (epoch == 2),
                                  val_loss=1.0)  # fmt: skip
                if shift and epoch == epochs:
                    mixed = alpha > 0
                    row.update(
                        corrupt_acc=0.40 + 0.01 * seed + (corrupt_gain[seed] if mixed else 0.0),
                        corrupt_loss=1.8, corrupt_ece=0.1, fgsm_acc_1=0.3 + 0.01 * seed,
                        fgsm_acc_2=0.20 + 0.01 * seed + (fgsm_gain[seed] if mixed else 0.0),
                        fgsm_acc_4=0.1, pgd_acc_2=0.15 + 0.001 * seed, shift_seconds=12.0,
                    )  # fmt: skip
                rows.append(row)
            run_dir = write_run(exp, alpha, seed, rows)
            if shift and cells:
                write_cells(run_dir, alpha, seed, epochs)
    return exp


def write_cells(run_dir: Path, alpha: float, seed: int, epoch: int) -> None:
    rows = [{"epoch": e, "source": "built-in", "type": kind, "severity": s, "images": 100,
             "acc": cell_acc(alpha, seed, kind, s) - (0.1 if e != epoch else 0.0), "loss": 1.5, "ece": 0.1}
            for e in (epoch - 1, epoch) for kind in TYPES for s in range(1, 6)]  # fmt: skip
    write_corruptions(run_dir, rows)
