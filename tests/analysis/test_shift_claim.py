"""The robustness parts of the claim (runs with --shift): judged like the others, in the same Holm family,
only where measured; experiments without shift numbers keep their verdict as it was."""

from __future__ import annotations

import pytest

from mixup_bench.analysis import claim, stats
from mixup_bench.analysis.facts import analyze
from mixup_bench.analysis.load import load_experiment
from mixup_bench.metrics import CLAIM, SHIFT, SHIFT_CLAIM
from tests.plot_fixtures import metrics_row, write_run

SEEDS = (0, 1, 2)


def write_experiment(exp, shift: bool, corrupt_gain=(0.05, 0.06, 0.055), fgsm_gain=(-0.02, -0.03, -0.025)):
    """Baseline and MixUp 0.4 over 3 seeds, 3 epochs; with `shift`, the last epoch holds the shift numbers."""
    for seed in SEEDS:
        for alpha in (0.0, 0.4):
            rows = []
            for epoch in (1, 2, 3):
                row = metrics_row(alpha, seed, epoch, test_acc=0.5 + 0.01 * epoch + 0.002 * seed + 0.01 * alpha,
                                  clean_train_loss=0.5 + 0.5 * alpha + 0.01 * seed, val_acc=0.4 + 0.05 * (epoch == 2),
                                  val_loss=1.0)  # fmt: skip
                if shift and epoch == 3:
                    mixed = alpha > 0
                    row.update(
                        corrupt_acc=0.40 + 0.01 * seed + (corrupt_gain[seed] if mixed else 0.0),
                        corrupt_loss=1.8, corrupt_ece=0.1,
                        fgsm_acc_1=0.3, fgsm_acc_2=0.20 + 0.01 * seed + (fgsm_gain[seed] if mixed else 0.0),
                        fgsm_acc_4=0.1, pgd_acc_2=0.15 + 0.001 * seed, shift_seconds=12.0,
                    )  # fmt: skip
                rows.append(row)
            write_run(exp, alpha, seed, rows)
    return exp


def test_shift_measures_are_paired_and_judged_in_the_same_family(tmp_path):
    df, _ = load_experiment(write_experiment(tmp_path / "e", shift=True))
    a = analyze(df)
    assert stats.paired_measures(df) == CLAIM + SHIFT
    paired = a.paired
    assert paired.claim_parts() == CLAIM + SHIFT_CLAIM
    assert paired.family_size == len(CLAIM) + len(SHIFT_CLAIM)  # one arm x seven parts
    corrupt = paired.get(("mixup", 0.4), "corrupt_acc")
    assert corrupt.mean == pytest.approx(0.055) and corrupt.n == 3 and corrupt.p_holm >= corrupt.p
    judged = claim.judgements(paired)[("mixup", 0.4)]
    assert judged["corrupt_acc"] == claim.SUPPORTED and judged["fgsm_acc_2"] == claim.CONTRADICTED
    assert "pgd_acc_2" not in judged  # measured and paired, but not a part of the claim
    assert paired.get(("mixup", 0.4), "pgd_acc_2").mean == pytest.approx(0.0)
    text = claim.verdict(a)
    assert "accuracy on corrupted test images by +5.50 pp" in text
    assert "accuracy under FGSM at ε=2/255 by -2.50 pp" in text
    assert "(5 and 7) comparisons" in text  # the best-validation point (epoch 2) has no shift numbers


def test_the_best_validation_point_judges_only_what_was_measured_there(tmp_path):
    df, _ = load_experiment(write_experiment(tmp_path / "e", shift=True))
    best = analyze(df).best_val  # val_acc peaks at epoch 2, where no shift numbers were logged
    assert best is not None and set(best.paired.summary["epoch_max"]) == {2}
    assert best.paired.claim_parts() == CLAIM
    assert not best.paired.summary["metric"].isin(SHIFT).any()


def test_without_shift_numbers_the_verdict_has_the_claim_alone(tmp_path):
    df, _ = load_experiment(write_experiment(tmp_path / "e", shift=False))
    a = analyze(df)
    assert stats.paired_measures(df) == CLAIM
    assert set(a.paired.summary["metric"]) == set(CLAIM) and a.paired.family_size == len(CLAIM)
    text = claim.verdict(a)
    assert "corrupted" not in text and "FGSM" not in text


def test_an_arm_without_shift_numbers_is_judged_on_the_claim_alone(tmp_path):
    exp = write_experiment(tmp_path / "e", shift=True)
    for seed in SEEDS:  # a CutMix arm trained without --shift
        write_run(exp, 1.0, seed, [metrics_row(1.0, seed, e, method="cutmix", val_acc=0.4, val_loss=1.0)
                                   for e in (1, 2, 3)], method="cutmix")  # fmt: skip
    df, _ = load_experiment(exp)
    paired = analyze(df).paired
    assert paired.claim_parts(("cutmix", 1.0)) == CLAIM
    assert paired.claim_parts(("mixup", 0.4)) == CLAIM + SHIFT_CLAIM
    judged = claim.judgements(paired)
    assert "corrupt_acc" not in judged[("cutmix", 1.0)]
    text = claim.verdict(analyze(df))
    assert "for CutMix alpha=1" in text or "by CutMix alpha=1" in text
    assert "accuracy on corrupted test images" in text
