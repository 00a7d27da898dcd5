"""The robustness parts of the claim (runs with --shift): judged like the others, in the same Holm family,
only where measured; experiments without shift numbers keep their verdict as it was."""

from __future__ import annotations

import pytest

from mixup_bench.analysis import claim, stats
from mixup_bench.analysis.facts import analyze
from mixup_bench.analysis.load import load_experiment
from mixup_bench.metrics import CLAIM, SHIFT, SHIFT_CLAIM
from tests.plot_fixtures import metrics_row, write_run
from tests.shift_fixtures import SEEDS, write_experiment


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
