"""The robustness parts of the claim (runs with --shift): judged like the others, in the same Holm family,
only where measured; experiments without shift numbers keep their verdict as it was."""

from __future__ import annotations

import pytest

from mixup_bench.analysis import claim, stats
from mixup_bench.analysis.facts import analyze
from mixup_bench.analysis.folder import load_experiment
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
    fgsm = paired.get(("mixup", 0.4), "fgsm_acc_2")
    assert corrupt.mean == pytest.approx(0.055) and corrupt.n == 3
    # one Holm family of 7: the smallest p (corruptions) is multiplied by 7, the next (FGSM, 0.013) by 6; the
    # claim's 5 parts, whose differences do not vary over the 3 seeds, have the exact sign-flip p of 0.25
    assert corrupt.p < fgsm.p < 0.05 and corrupt.p_holm == pytest.approx(7 * corrupt.p)
    assert fgsm.p_holm == pytest.approx(6 * fgsm.p) and fgsm.p_holm > 0.05
    judged = claim.judgements(paired)[("mixup", 0.4)]
    assert judged["corrupt_acc"] == claim.SUPPORTED and judged["fgsm_acc_2"] == claim.INCONCLUSIVE
    assert claim.judgements(paired, correction=False)[("mixup", 0.4)]["fgsm_acc_2"] == claim.CONTRADICTED
    assert "pgd_acc_2" not in judged  # measured and paired, but not a part of the claim
    assert paired.get(("mixup", 0.4), "pgd_acc_2").mean == pytest.approx(0.0)
    text = claim.verdict(a)
    assert "accuracy on corrupted test images by +5.50 pp" in text
    assert "accuracy under FGSM at ε=2/255 by -2.50 pp" in text
    # the best-validation point (epoch 2) has no shift numbers: 5 parts there, 7 at the last epoch
    assert "Holm's correction over each comparison's 5/7 parts (one family per arm against its reference)" in text
    # a clear loss of robustness to FGSM is contradicted in the same family
    strong = write_experiment(tmp_path / "strong", shift=True, fgsm_gain=(-0.030, -0.031, -0.029))
    paired = analyze(load_experiment(strong)[0]).paired
    fgsm = paired.get(("mixup", 0.4), "fgsm_acc_2")
    assert fgsm.p_holm == pytest.approx(7 * fgsm.p) and fgsm.p_holm < 0.05  # now the smallest p of the 7
    assert claim.judgements(paired)[("mixup", 0.4)]["fgsm_acc_2"] == claim.CONTRADICTED


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
