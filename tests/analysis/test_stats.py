"""stats: loading, aggregation over seeds, t intervals, paired differences, summary table, verdict."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from mixup_bench import metrics
from mixup_bench.analysis import (
    claim,
    report,
    run_logs,
    stats,
)
from mixup_bench.analysis import folder as loading
from mixup_bench.analysis.facts import analyze
from mixup_bench.errors import UserError
from mixup_bench.results.atomic import atomic_write_json
from mixup_bench.results.schema import METRICS_COLUMNS
from tests.plot_fixtures import (
    calibration_dict,
    metrics_row,
    write_final_values,
    write_run,
)

MIXUP_04 = ("mixup", 0.4)  # the arm (method, parameter) of the hand-made MixUp runs
T_975_2 = 4.302652729911275  # t_{0.975} with 2 degrees of freedom (3 seeds)
T_975_1 = 12.706204736174698  # t_{0.975} with 1 degree of freedom (2 seeds)

# Final-epoch values per seed 0, 1, 2 (hand-made, see the expected numbers in the tests).
BASE = {
    "test_acc": [0.80, 0.82, 0.84],
    "clean_train_loss": [0.10, 0.12, 0.14],
    "test_loss": [0.70, 0.72, 0.68],
    "test_ece": [0.08, 0.09, 0.07],
}
MIX = {
    "test_acc": [0.83, 0.84, 0.88],  # diffs 0.03, 0.02, 0.04: mean 0.03, std 0.01
    "clean_train_loss": [0.40, 0.45, 0.47],  # diffs 0.30, 0.33, 0.33: mean 0.32, std sqrt(3e-4)
    "test_loss": [0.65, 0.75, 0.66],  # diffs -0.05, 0.03, -0.02: the interval holds 0
    "test_ece": [0.03, 0.04, 0.02],  # diffs -0.05 each: std 0
}


def write_pairs(exp: Path, base=BASE, mix=MIX, alpha: float = 0.4, seeds=(0, 1, 2), epochs: int = 3) -> Path:
    for i, s in enumerate(seeds):
        write_final_values(exp, 0, s, epochs=epochs, **{k: v[i] for k, v in base.items()})
        write_final_values(exp, alpha, s, epochs=epochs, **{k: v[i] for k, v in mix.items()})
    return exp


def half(std: float, n: int, t: float) -> float:
    return t * std / math.sqrt(n)


# --- loading ---------------------------------------------------------------------------


def test_load_experiment_reads_every_run_into_one_tidy_frame(tmp_path):
    exp = write_pairs(tmp_path / "exp")
    df, warnings = loading.load_experiment(exp)
    assert warnings == []
    assert len(df) == 6 * 3
    assert set(METRICS_COLUMNS) <= set(df.columns)
    assert df["done"].all()
    assert df["gap"].to_numpy() == pytest.approx((df["test_loss"] - df["clean_train_loss"]).to_numpy())
    assert list(df["method"].iloc[:3]) == ["baseline"] * 3  # baseline first
    assert df["epoch"].dtype.kind == "i" and df["seed"].dtype.kind == "i"


def test_load_experiment_marks_a_run_without_done_as_partial(tmp_path):
    exp = tmp_path / "exp"
    write_final_values(exp, 0, 0, epochs=3)
    write_final_values(exp, 0.4, 0, epochs=2, done=False)
    df, _ = loading.load_experiment(exp)
    assert df.groupby("run_id")["done"].first().to_dict() == {"baseline-a0-s0": True, "mixup-a0.4-s0": False}


def test_a_broken_run_is_skipped_with_a_warning(tmp_path):
    exp = write_pairs(tmp_path / "exp")
    bad = exp / "runs" / "mixup-a1-s0"
    bad.mkdir()
    (bad / "metrics.csv").write_text("epoch,test_acc\n1,0.5\n")
    empty = exp / "runs" / "mixup-a1-s1"
    empty.mkdir()
    (empty / "metrics.csv").write_text("")
    (exp / "runs" / "mixup-a1-s2").mkdir()  # started, no epoch finished yet
    df, warnings = loading.load_experiment(exp)
    assert df["run_id"].nunique() == 6
    assert len(warnings) == 3
    assert "mixup-a1-s0" in warnings[0] and "lacks the column" in warnings[0]
    assert "mixup-a1-s1" in warnings[1] and "empty" in warnings[1]
    assert "mixup-a1-s2" in warnings[2] and "no metrics.csv" in warnings[2]


def test_non_numeric_values_and_wrong_methods_skip_the_run(tmp_path):
    exp = tmp_path / "exp"
    write_final_values(exp, 0, 0)
    run = write_final_values(exp, 0.4, 0)
    text = (run / "metrics.csv").read_text().splitlines()
    text[2] = text[2].replace("0.4,0,2,", "0.4,0,two,")
    (run / "metrics.csv").write_text("\n".join(text) + "\n")
    write_run(exp, 0.2, 0, [metrics_row(0.2, 0, 1, method="baseline")])
    df, warnings = loading.load_experiment(exp)
    assert list(df["run_id"].unique()) == ["baseline-a0-s0"]
    assert any("non-numeric" in w and "epoch" in w for w in warnings)
    assert any("method baseline with alpha 0.2" in w for w in warnings)


def test_duplicate_epochs_keep_the_last_row(tmp_path):
    exp = tmp_path / "exp"
    rows = [metrics_row(0, 0, 1, test_acc=0.1), metrics_row(0, 0, 2, test_acc=0.2), metrics_row(0, 0, 2, test_acc=0.3)]
    write_run(exp, 0, 0, rows)
    df, warnings = loading.load_experiment(exp)
    assert list(df["test_acc"]) == [0.1, 0.3]
    assert len(warnings) == 1 and "appear twice" in warnings[0]


def test_no_usable_run_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        loading.load_experiment(tmp_path / "nope")
    exp = tmp_path / "exp"
    (exp / "runs").mkdir(parents=True)
    with pytest.raises(UserError, match="holds no runs"):
        loading.load_experiment(exp)
    (exp / "runs" / "baseline-a0-s0").mkdir()
    (exp / "runs" / "baseline-a0-s0" / "metrics.csv").write_text("a,b\n1,2\n")
    with pytest.raises(UserError, match="holds no runs") as err:
        loading.load_experiment(exp)
    assert "\n" not in str(err.value)


def test_experiment_arms_include_unreadable_runs_and_experiment_json(tmp_path):
    exp = write_pairs(tmp_path / "exp")
    (exp / "runs" / "mixup-a1-s0").mkdir()
    (exp / "runs" / "smooth-e0.2-s0").mkdir()
    atomic_write_json(exp / "experiment.json", {"alphas": [0.4, 2.0], "cutmix": [1.0], "smoothing": [0.1]})
    df, _ = loading.load_experiment(exp)
    assert loading.experiment_arms(exp, df) == [
        ("baseline", 0.0),
        ("mixup", 0.4),
        ("mixup", 1.0),
        ("mixup", 2.0),
        ("cutmix", 1.0),
        ("smooth", 0.1),
        ("smooth", 0.2),
    ]


# --- intervals and aggregation ---------------------------------------------------------


def test_t_interval_matches_hand_computed_values():
    iv = stats.mean_interval([0.80, 0.82, 0.84])
    assert iv.mean == pytest.approx(0.82)
    assert iv.std == pytest.approx(0.02)
    assert iv.n == 3
    assert iv.low == pytest.approx(0.82 - T_975_2 * 0.02 / math.sqrt(3))
    assert iv.high == pytest.approx(0.82 + T_975_2 * 0.02 / math.sqrt(3))
    two = stats.mean_interval([1.0, 2.0])
    assert two.high - two.mean == pytest.approx(T_975_1 * math.sqrt(0.5) / math.sqrt(2))
    one = stats.mean_interval([0.5])
    assert one.mean == 0.5 and one.n == 1 and math.isnan(one.std) and math.isnan(one.low) and math.isnan(one.high)
    assert stats.mean_interval([1.0, math.nan, 3.0]).n == 2


def test_aggregate_over_seeds(tmp_path):
    exp = write_pairs(tmp_path / "exp")
    df, _ = loading.load_experiment(exp)
    agg = stats.aggregate(df)
    row = agg[(agg["method"] == "baseline") & (agg["metric"] == "test_acc") & (agg["epoch"] == 3)].iloc[0]
    assert row["mean"] == pytest.approx(0.82)
    assert row["std"] == pytest.approx(0.02)
    assert row["n"] == 3
    assert row["ci_low"] == pytest.approx(0.82 - half(0.02, 3, T_975_2))
    assert row["ci_high"] == pytest.approx(0.82 + half(0.02, 3, T_975_2))
    first = agg[(agg["alpha"] == 0.4) & (agg["metric"] == "test_acc") & (agg["epoch"] == 1)].iloc[0]
    assert first["mean"] == pytest.approx(0.31) and first["std"] == pytest.approx(0.0)
    gap = agg[(agg["method"] == "mixup") & (agg["metric"] == "gap") & (agg["epoch"] == 3)].iloc[0]
    assert gap["mean"] == pytest.approx(np.mean(np.array(MIX["test_loss"]) - np.array(MIX["clean_train_loss"])))
    assert set(agg["metric"]) == set(metrics.CURVES)
    never = agg[agg["metric"] == "val_acc"]  # these hand-made runs logged no validation accuracy
    assert len(never) and (never["n"] == 0).all() and never["mean"].isna().all()


def test_aggregate_with_one_seed_has_no_interval(tmp_path):
    exp = tmp_path / "exp"
    write_final_values(exp, 0, 0, test_acc=0.7)
    agg = stats.aggregate(loading.load_experiment(exp)[0])
    row = agg[(agg["metric"] == "test_acc") & (agg["epoch"] == 3)].iloc[0]
    assert row["mean"] == 0.7 and row["n"] == 1
    assert math.isnan(row["std"]) and math.isnan(row["ci_low"]) and math.isnan(row["ci_high"])


# --- paired differences ----------------------------------------------------------------


def test_paired_differences_match_hand_computed_values(tmp_path):
    exp = write_pairs(tmp_path / "exp")
    df, _ = loading.load_experiment(exp)
    paired = stats.paired_differences(df)
    assert paired.notes == []
    acc = paired.get(MIXUP_04, "test_acc")
    assert acc.mean == pytest.approx(0.03)
    assert acc.std == pytest.approx(0.01)
    assert acc.n == 3
    assert acc.low == pytest.approx(0.03 - half(0.01, 3, T_975_2))
    assert acc.high == pytest.approx(0.03 + half(0.01, 3, T_975_2))
    ctl = paired.get(MIXUP_04, "clean_train_loss")
    assert ctl.mean == pytest.approx(0.32)
    assert ctl.std == pytest.approx(math.sqrt(3e-4))
    assert ctl.low == pytest.approx(0.32 - half(math.sqrt(3e-4), 3, T_975_2))
    loss = paired.get(MIXUP_04, "test_loss")
    assert loss.mean == pytest.approx(-0.04 / 3)
    assert loss.low < 0 < loss.high
    gap_diffs = (np.array(MIX["test_loss"]) - np.array(MIX["clean_train_loss"])) - (
        np.array(BASE["test_loss"]) - np.array(BASE["clean_train_loss"])
    )
    gap = paired.get(MIXUP_04, "gap")
    assert gap.mean == pytest.approx(gap_diffs.mean())
    assert gap.std == pytest.approx(gap_diffs.std(ddof=1))
    ece = paired.get(MIXUP_04, "test_ece")
    assert ece.mean == pytest.approx(-0.05) and ece.high == pytest.approx(-0.05)
    pairs = paired.pairs[paired.pairs["metric"] == "test_acc"].sort_values("seed")
    assert list(pairs["epoch"]) == [3, 3, 3]
    assert pairs["diff"].to_numpy() == pytest.approx([0.03, 0.02, 0.04])


def test_a_partial_run_is_paired_at_the_last_common_epoch(tmp_path):
    exp = write_pairs(tmp_path / "exp", seeds=(0, 1))
    rows = [metrics_row(0.4, 2, e, test_acc=0.5 + 0.1 * e) for e in (1, 2)]
    write_run(exp, 0.4, 2, rows, done=False)
    rows = [metrics_row(0, 2, e, test_acc=0.45 + 0.1 * e) for e in (1, 2, 3)]
    write_run(exp, 0, 2, rows)
    df, _ = loading.load_experiment(exp)
    paired = stats.paired_differences(df)
    p = paired.pairs[(paired.pairs["metric"] == "test_acc") & (paired.pairs["seed"] == 2)].iloc[0]
    assert p["epoch"] == 2
    assert p["diff"] == pytest.approx(0.05)  # 0.7 - 0.65 at epoch 2, not the baseline's epoch 3
    assert len(paired.notes) == 1 and "epoch 2" in paired.notes[0] and "seed 2" in paired.notes[0]
    s = paired.arm_summary(MIXUP_04).set_index("metric").loc["test_acc"]
    assert s["short"] and s["epoch_min"] == 2 and s["epoch_max"] == 3 and s["n"] == 3
    text = claim.verdict(analyze(df))
    assert "epoch 2" in text and "partial" in text and "epochs 2–3" in text


def test_unpaired_seeds_are_left_out_with_a_note(tmp_path):
    exp = write_pairs(tmp_path / "exp", seeds=(0, 1))
    write_final_values(exp, 0.4, 7)
    paired = stats.paired_differences(loading.load_experiment(exp)[0])
    assert paired.get(MIXUP_04, "test_acc").n == 2
    assert any("seed 7" in n for n in paired.notes)


@pytest.mark.parametrize(
    ("mean", "p", "p_holm", "direction", "correction", "expected"),
    [
        (0.1, 0.001, 0.004, +1, True, "supported"),
        (0.1, 0.001, 0.004, -1, True, "contradicted"),
        (-0.1, 0.001, 0.004, -1, True, "supported"),
        (-0.1, 0.001, 0.004, +1, True, "contradicted"),
        (0.1, 0.02, 0.06, +1, True, "inconclusive"),  # significant alone, not after the correction
        (0.1, 0.02, 0.06, +1, False, "supported"),  # --no-correction: the raw p decides
        (0.1, 0.05, 0.05, +1, False, "inconclusive"),  # the level itself is not below it
        (0.1, math.nan, math.nan, +1, True, "no interval"),
    ],
)
def test_judge(mean, p, p_holm, direction, correction, expected):
    iv = stats.Interval(mean, 0.1, 3, mean - 0.05, mean + 0.05, p, p_holm)
    assert claim.judge(iv, direction, correction) == expected


def test_raw_p_judges_exactly_as_the_interval_does():
    """Without the correction, supported/contradicted means the 95% t interval excludes 0 (the old rule)."""
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(2, 6))
        iv = stats.mean_interval(rng.normal(rng.normal(0, 1), rng.uniform(0.1, 2), n))
        excludes = iv.low > 0 or iv.high < 0
        assert (claim.judge(iv, +1, correction=False) in ("supported", "contradicted")) == excludes


def test_p_values_equal_scipys_paired_t_test(tmp_path):
    df, _ = loading.load_experiment(write_pairs(tmp_path / "exp"))
    paired = stats.paired_differences(df)
    for metric in ("test_acc", "clean_train_loss", "test_loss", "gap"):
        diffs = paired.pairs[paired.pairs["metric"] == metric]["diff"].to_numpy()
        assert paired.get(MIXUP_04, metric).p == pytest.approx(sps.ttest_1samp(diffs, 0.0).pvalue, rel=1e-9)
    ece = paired.get(MIXUP_04, "test_ece")  # every diff is -0.05 (up to rounding): no variance, no t test
    assert ece.test == "exact sign-flip test" and ece.p == pytest.approx(0.25)  # 2 of the 8 sign patterns
    assert math.isnan(stats.mean_interval([0.3]).p)
    assert stats.mean_interval([0.0, 0.0]).p == 1.0


def statsmodels_holm():
    """statsmodels' multipletests (a test-only dependency: the dev extra); the test skips without it."""
    return pytest.importorskip("statsmodels.stats.multitest").multipletests


HOLM_CASES = [
    [0.01, 0.04, 0.03, 0.005, 0.2],
    [0.001, 0.001, 0.5, 0.049, 0.02, 0.9, 0.0],
    [0.3],
    [0.04, 0.04, 0.04],
    [1e-6, 0.2, 0.011, 0.012, 0.013, 0.6, 0.0125, 0.03, 0.7, 0.0001],
]


@pytest.mark.parametrize("pvalues", HOLM_CASES)
def test_holm_equals_statsmodels(pvalues):
    multipletests = statsmodels_holm()
    _, expected, _, _ = multipletests(pvalues, alpha=0.05, method="holm")
    assert stats.holm(pvalues) == pytest.approx(expected, abs=1e-12)


def test_holm_leaves_untested_comparisons_out_of_the_family():
    multipletests = statsmodels_holm()
    got = stats.holm([0.01, math.nan, 0.04, math.nan])
    assert math.isnan(got[1]) and math.isnan(got[3])
    assert got[[0, 2]] == pytest.approx(multipletests([0.01, 0.04], method="holm")[1])
    assert stats.holm([]).size == 0


def test_holm_runs_over_every_arm_and_every_part_of_the_claim_with_family_experiment(tmp_path):
    """The experiment-wide family (`plot --family experiment`): every arm × every part of the claim,
    checked against statsmodels."""
    multipletests = statsmodels_holm()
    exp = write_pairs(tmp_path / "exp")
    mix2 = {k: [v + 0.01 * (i + 1) for i, v in enumerate(vals)] for k, vals in MIX.items()}
    write_pairs(exp, mix=mix2, alpha=1.0)
    paired = stats.paired_differences(loading.load_experiment(exp)[0], family=stats.EXPERIMENT)
    s = paired.summary
    assert len(s) == 2 * len(metrics.CLAIM) and paired.family_size == 10
    assert s["p_holm"].to_numpy() == pytest.approx(multipletests(s["p"].to_numpy(), method="holm")[1])
    assert (s["p_holm"] >= s["p"]).all()


def test_each_comparison_is_its_own_family_so_other_arms_change_nothing(tmp_path):
    """One family per comparison (the default): the verdict on MixUp alpha=0.4 against the baseline is the
    same, to the bit, with and without another arm in the folder; Holm runs over that arm's parts alone."""
    multipletests = statsmodels_holm()
    exp = write_pairs(tmp_path / "exp")
    alone = stats.paired_differences(loading.load_experiment(exp)[0]).summary
    mix2 = {k: [v + 0.01 * (i + 1) for i, v in enumerate(vals)] for k, vals in MIX.items()}
    write_pairs(exp, mix=mix2, alpha=1.0)
    paired = stats.paired_differences(loading.load_experiment(exp)[0])
    both = paired.summary
    assert paired.family_size == len(metrics.CLAIM)
    first = both[both["alpha"] == 0.4].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, alone)
    assert set(both["family"]) == {"mixup-a0.4 vs baseline-a0", "mixup-a1 vs baseline-a0"}
    for _, fam in both.groupby("family"):
        assert fam["p_holm"].to_numpy() == pytest.approx(multipletests(fam["p"].to_numpy(), method="holm")[1])


# --- summary table ---------------------------------------------------------------------


def test_summary_table(tmp_path):
    exp = write_pairs(tmp_path / "exp")
    write_final_values(exp, 1.0, 0, epochs=2, done=False, test_acc=0.5)
    df, _ = loading.load_experiment(exp)
    table = report.summary_table(analyze(df))
    assert list(table["arm"]) == ["baseline", "MixUp alpha=0.4", "MixUp alpha=1"]
    base, mix, one = (table.iloc[i] for i in range(3))
    assert base["test_acc_pct_mean"] == pytest.approx(82.0)
    assert base["test_acc_pct_std"] == pytest.approx(2.0)
    assert "best_test_acc_pct_mean" not in table.columns  # chosen on test numbers: never reported
    assert base["test_loss_mean"] == pytest.approx(0.70)
    assert base["clean_train_loss_mean"] == pytest.approx(0.12)
    assert base["gap_mean"] == pytest.approx(0.58)
    assert base["test_ece_pct_mean"] == pytest.approx(8.0)
    assert math.isnan(base["delta_test_acc_pp"]) and base["delta_pairs"] == 0
    assert mix["delta_test_acc_pp"] == pytest.approx(3.0)
    assert mix["delta_test_acc_pp_ci_low"] == pytest.approx(3.0 - 100 * half(0.01, 3, T_975_2))
    assert mix["delta_test_acc_pp_ci_high"] == pytest.approx(3.0 + 100 * half(0.01, 3, T_975_2))
    assert mix["delta_pairs"] == 3 and not mix["partial"] and mix["seeds"] == 3 and mix["runs_done"] == 3
    assert one["partial"] and one["seeds"] == 1 and one["runs_done"] == 0 and one["final_epoch_max"] == 2
    assert one["delta_test_acc_pp"] == pytest.approx(100 * (0.5 - 0.32))  # paired at epoch 2 with baseline s0
    assert one["delta_pairs"] == 1 and math.isnan(one["delta_test_acc_pp_ci_low"])
    assert list(table.columns) == list(report.SUMMARY_COLUMNS)


def val_run(exp, alpha, seed, val, test, **kw):
    """A run whose epochs have the validation and test accuracies `val` and `test`."""
    rows = [metrics_row(alpha, seed, e, val_acc=v, val_loss=1.0 - v, test_acc=t, test_loss=1.5 - t, **kw)
            for e, (v, t) in enumerate(zip(val, test, strict=True), start=1)]  # fmt: skip
    write_run(exp, alpha, seed, rows)


def test_best_val_epoch_is_chosen_by_validation_never_by_test(tmp_path):
    exp = tmp_path / "exp"
    # seed 0: validation peaks at epoch 2 (a tie with epoch 4: the earlier), test peaks at epoch 3
    val_run(exp, 0, 0, val=[0.50, 0.70, 0.60, 0.70], test=[0.40, 0.60, 0.90, 0.50])
    val_run(exp, 0, 1, val=[0.50, 0.55, 0.60, 0.65], test=[0.45, 0.50, 0.95, 0.58])
    val_run(exp, 0.4, 0, val=[0.40, 0.60, 0.75, 0.72], test=[0.41, 0.62, 0.64, 0.99])
    val_run(exp, 0.4, 1, val=[0.45, 0.80, 0.70, 0.71], test=[0.46, 0.65, 0.99, 0.70])
    a = analyze(loading.load_experiment(exp)[0])
    best = a.best_val.rows.set_index("run_id")
    assert best["epoch"].to_dict() == {"baseline-a0-s0": 2, "baseline-a0-s1": 4, "mixup-a0.4-s0": 3, "mixup-a0.4-s1": 2}
    table = report.summary_table(a).set_index("arm")
    assert table.loc["baseline", "best_val_test_acc_pct_mean"] == pytest.approx(100 * (0.60 + 0.58) / 2)
    assert table.loc["MixUp alpha=0.4", "best_val_test_acc_pct_mean"] == pytest.approx(100 * (0.64 + 0.65) / 2)
    assert table.loc["MixUp alpha=0.4", "best_val_val_acc_pct_mean"] == pytest.approx(100 * (0.75 + 0.80) / 2)
    assert (table.loc["baseline", "best_val_epoch_min"], table.loc["baseline", "best_val_epoch_max"]) == (2, 4)
    # each run at its own best epoch, paired by seed: (0.64 - 0.60, 0.65 - 0.58)
    acc = a.best_val.paired.get(MIXUP_04, "test_acc")
    assert acc.mean == pytest.approx(0.055) and acc.n == 2
    pair = a.best_val.paired.pairs.query("metric == 'test_acc' and seed == 1").iloc[0]
    assert (pair["epoch"], pair["epoch_reference"]) == (2, 4)
    assert table.loc["MixUp alpha=0.4", "best_val_delta_test_acc_pp"] == pytest.approx(5.5)
    # the last epoch is reported as before, next to it
    assert table.loc["MixUp alpha=0.4", "test_acc_pct_mean"] == pytest.approx(100 * (0.99 + 0.70) / 2)
    assert a.paired.get(MIXUP_04, "test_acc").mean == pytest.approx(((0.99 - 0.50) + (0.70 - 0.58)) / 2)


def test_without_validation_accuracy_only_the_last_epoch_is_reported(tmp_path):
    df, _ = loading.load_experiment(write_pairs(tmp_path / "exp"))  # runs from before the validation split
    a = analyze(df)
    assert a.best_val is None and [p.key for p in a.points] == [stats.LAST]
    table = report.summary_table(a)
    assert table["best_val_test_acc_pct_mean"].isna().all() and (table["best_val_delta_pairs"] == 0).all()
    text = claim.verdict(a)
    assert "only the last epoch is reported" in text and "best epoch by validation" not in text


def test_a_run_without_validation_accuracy_is_left_out_of_the_best_val_pairs(tmp_path):
    exp = tmp_path / "exp"
    for seed in (0, 1):
        val_run(exp, 0, seed, val=[0.5, 0.6], test=[0.5, 0.6])
        val_run(exp, 0.4, seed, val=[0.5, 0.7], test=[0.5, 0.7])
    write_final_values(exp, 0.4, 2, epochs=2)  # an old run: no val_acc
    write_final_values(exp, 0, 2, epochs=2)
    a = analyze(loading.load_experiment(exp)[0])
    assert a.best_val.paired.get(MIXUP_04, "test_acc").n == 2
    assert a.paired.get(MIXUP_04, "test_acc").n == 3
    assert any("seed 2" in n and "logged no validation accuracy" in n for n in a.best_val.paired.notes)


# --- verdict ---------------------------------------------------------------------------


def fmt(x: float, digits: int) -> str:
    return f"{x:+.{digits}f}"


def test_verdict_judges_each_part_of_the_claim(tmp_path):
    # diffs -0.02, -0.02, -0.03: lower accuracy; ECE diffs -0.06, -0.05, -0.06 (they vary: a t test applies)
    mix = dict(MIX, test_acc=[0.78, 0.80, 0.81], test_ece=[0.02, 0.04, 0.01])
    exp = write_pairs(tmp_path / "exp", mix=mix)
    df, _ = loading.load_experiment(exp)
    a = analyze(df)
    text = claim.verdict(a)
    p = {m: a.paired.get(MIXUP_04, m).p for m in metrics.CLAIM}
    holm = dict(zip(metrics.CLAIM, statsmodels_holm()([p[m] for m in metrics.CLAIM], method="holm")[1], strict=True))
    h = half(math.sqrt(3e-4), 3, T_975_2)
    assert (
        f"clean train loss by +0.320 (95% CI {fmt(0.32 - h, 3)} to {fmt(0.32 + h, 3)}; "
        f"Holm p={holm['clean_train_loss']:.3f}; claimed higher: supported)" in text
    )
    d = np.array([-0.02, -0.02, -0.03])
    h = half(d.std(ddof=1), 3, T_975_2)
    lo, hi = 100 * (d.mean() - h), 100 * (d.mean() + h)
    # raw p 0.020; Holm multiplies it by 2 (the 4th smallest of 5): 0.040 < 0.05, still contradicted
    assert holm["test_acc"] == pytest.approx(2 * p["test_acc"])
    assert (
        f"test accuracy by -2.33 pp (95% CI {fmt(lo, 2)} to {fmt(hi, 2)} pp; Holm p={holm['test_acc']:.3f}; "
        "claimed higher: contradicted)" in text
    )
    # test loss stays open, with the seeds a fixed-n t test at 0.05/5 (Bonferroni over the family) would need for
    # 80% power at its margin, 0.05 nats, at the observed spread (statsmodels: 11.05, so 12 seeds)
    power = pytest.importorskip("statsmodels.stats.power").TTestPower()
    spread = np.std([-0.05, 0.03, -0.02], ddof=1)
    needed = math.ceil(power.solve_power(effect_size=0.05 / spread, alpha=0.05 / 5, power=0.8))
    assert needed == 12
    assert "test loss by -0.013 (95% CI" in text and (
        f"claimed lower: inconclusive; about {needed} paired seeds would decide it (estimate, 80% power for ±0.05))"
        in text
    )
    e = np.array([-0.06, -0.05, -0.06])
    h = half(e.std(ddof=1), 3, T_975_2)
    assert (
        f"test ECE by -5.67 pp (95% CI {fmt(100 * (e.mean() - h), 2)} to {fmt(100 * (e.mean() + h), 2)} pp; "
        f"Holm p={holm['test_ece']:.3f}; claimed lower: supported)" in text
    )
    assert text.startswith("At the last epoch (pre-registered), over 3 paired seeds at epoch 3, MixUp alpha=0.4")
    assert "the claim of a higher training loss is supported" in text
    assert "contradicted by test accuracy" in text
    assert "inconclusive on test loss" in text
    assert "after Holm's correction over each comparison's 5 parts (one family per arm against its reference)" in text
    assert "\n" not in text.split("\n\n")[0]  # one paragraph per reporting point, then one of notes


def test_no_correction_judges_raw_p_values(tmp_path):
    # accuracy diffs +0.02, +0.03, +0.02: raw p 0.020 supports it; Holm over 5 comparisons, where it is the
    # third smallest (after clean train loss and the gap; ECE diffs +0.02, -0.01, 0 are inconclusive), does not: 0.059
    mix = dict(MIX, test_acc=[0.82, 0.85, 0.86], test_ece=[0.10, 0.08, 0.07])
    a = analyze(loading.load_experiment(write_pairs(tmp_path / "exp", mix=mix))[0])
    acc = a.paired.get(MIXUP_04, "test_acc")
    assert acc.p < 0.05 <= acc.p_holm
    corrected, raw = claim.verdict(a), claim.verdict(a, correction=False)
    # 8 seeds: statsmodels' TTestPower gives 7.30 for a margin of 1 pp at this spread (0.58 pp), alpha 0.05/5
    assert (
        "Holm p=0.059; claimed higher: inconclusive; about 8 paired seeds would decide it (estimate, 80% power for "
        "±1 pp))" in corrected.split("test accuracy by")[1].split("test loss")[0]
    )
    assert f"p={acc.p:.3f}; claimed higher: supported)" in raw.split("test accuracy by")[1].split("test loss")[0]
    assert "--no-correction" in raw and "Holm" not in raw


def test_verdict_is_not_templated_to_agree(tmp_path):
    # MixUp lowers clean train loss and worsens every generalisation measure: everything is contradicted.
    base = {"test_acc": [0.80, 0.82, 0.84], "clean_train_loss": [0.5, 0.6, 0.7], "test_loss": [0.6, 0.6, 0.6]}
    base["test_ece"] = [0.02, 0.03, 0.02]
    mix = {"test_acc": [0.70, 0.71, 0.75], "clean_train_loss": [0.2, 0.25, 0.3], "test_loss": [0.9, 0.95, 0.92]}
    mix["test_ece"] = [0.10, 0.12, 0.11]
    text = claim.verdict(analyze(loading.load_experiment(write_pairs(tmp_path / "exp", base=base, mix=mix))[0]))
    judged, closing = text.rsplit("\n\n", 1)  # the last epoch's paragraph; how the words are reached
    assert "supported" not in judged and "Intervals are 95% t intervals" in closing
    assert judged.count("contradicted") >= 5
    assert "the claim of a higher training loss is contradicted" in text


def test_verdict_with_one_seed_says_no_interval(tmp_path):
    exp = write_pairs(tmp_path / "exp", seeds=(0,))
    text = claim.verdict(analyze(loading.load_experiment(exp)[0]))
    assert "only one seed" in text
    assert "no interval can be given" in text
    assert "single-run" in text
    assert "clean train loss +0.300" in text and "test accuracy +3.00 pp" in text
    for word in ("supported", "contradicted", "inconclusive"):
        assert word not in text


def test_verdict_without_baseline_or_mixup(tmp_path):
    exp = tmp_path / "exp"
    write_final_values(exp, 0.4, 0)
    write_final_values(exp, 0.4, 1)
    text = claim.verdict(analyze(loading.load_experiment(exp)[0]))
    assert "No baseline arm" in text and "no paired comparison is possible" in text
    exp2 = tmp_path / "exp2"
    write_final_values(exp2, 0, 0)
    text = claim.verdict(analyze(loading.load_experiment(exp2)[0]))
    assert "no MixUp arm" in text and "no paired comparison is possible" in text


def test_verdict_with_seeds_that_do_not_match(tmp_path):
    exp = tmp_path / "exp"
    write_final_values(exp, 0, 0)
    write_final_values(exp, 0.4, 1)
    text = claim.verdict(analyze(loading.load_experiment(exp)[0]))
    assert "no run whose seed matches a baseline run" in text and "seed 1" in text


def test_diff_text_keeps_digits_near_zero():
    acc, loss = metrics.METRICS["test_acc"], metrics.METRICS["test_loss"]
    assert acc.diff_text(0.0123) == "+1.23 pp" and acc.diff_text(0.0123, unit=False) == "+1.23"
    assert acc.diff_text(-0.0000131) == "-0.0013 pp"
    assert loss.diff_text(-0.00015) == "-0.00015"
    assert loss.diff_text(0.0) == "+0.000"
    assert acc.value_text(0.74013) == "74.01" and loss.value_text(math.nan) == "n/a"
    assert metrics.p_clause(0.0004, holm=True) == "Holm p<0.001" and metrics.p_clause(0.0123, holm=False) == "p=0.012"
    assert metrics.epoch_span(15, 15) == "15" and metrics.epoch_span(9, 13) == "9–13"


# --- lam and calibration files ---------------------------------------------------------


def test_load_lam_and_calibration(tmp_path):
    exp = tmp_path / "exp"
    zeros = [0] * 15
    cal_a = calibration_dict([0] * 13 + [10, 30], zeros[:13] + [8.9, 28.5], zeros[:13] + [7, 29])
    cal_b = calibration_dict([0] * 13 + [20, 40], zeros[:13] + [17.8, 38.0], zeros[:13] + [15, 36])
    write_run(exp, 0, 0, [metrics_row(0, 0, 1)], calibration=cal_a)
    write_run(exp, 0, 1, [metrics_row(0, 1, 1)], calibration=cal_b)
    write_run(exp, 0.4, 0, [metrics_row(0.4, 0, 1)], lam=[0.1, 0.5, 0.9], calibration=None)
    bad = write_run(exp, 0.4, 1, [metrics_row(0.4, 1, 1)])
    (bad / "lam.csv").write_text("epoch,step,lam\n1,0,1.5\n")
    (bad / "calibration.json").write_text("{not json")
    df, _ = loading.load_experiment(exp)

    warnings = []
    lam = run_logs.read_lam(exp, df, warnings)
    assert list(lam["lam"]) == [0.1, 0.5, 0.9] and set(lam["alpha"]) == {0.4}
    assert len(warnings) == 1 and "mixup-a0.4-s1" in warnings[0]

    warnings = []
    pooled = run_logs.read_calibration(exp, df, warnings)
    assert len(warnings) == 1 and "mixup-a0.4-s1" in warnings[0]
    assert len(pooled) == 1
    r = pooled[0]
    assert r.method == "baseline" and r.n_runs == 2
    assert list(r.count[-2:]) == [30, 70]
    assert r.accuracy[-2:] == pytest.approx([22 / 30, 65 / 70])
    assert r.confidence[-2:] == pytest.approx([26.7 / 30, 66.5 / 70])
    assert r.ece == pytest.approx((abs(22 - 26.7) + abs(65 - 66.5)) / 100)
    assert math.isnan(r.accuracy[0])


def test_loaded_frame_is_plain_pandas_holding_the_written_numbers(tmp_path):
    df, _ = loading.load_experiment(write_pairs(tmp_path / "exp"))
    assert isinstance(df, pd.DataFrame)
    assert df["done"].dtype == bool
    assert df["alpha"].dtype.kind == "f" and df["test_acc"].dtype.kind == "f"
    # Every hand-made number comes back exactly (the CSV keeps full float precision), one row per run and epoch.
    final = df[df["epoch"] == 3].sort_values(["alpha", "seed"])
    assert final["run_id"].tolist() == [f"baseline-a0-s{s}" for s in range(3)] + [f"mixup-a0.4-s{s}" for s in range(3)]
    for metric in BASE:
        assert final[metric].tolist() == BASE[metric] + MIX[metric], metric
    earlier = df[df["epoch"] < 3].sort_values(["alpha", "seed", "epoch"])
    assert earlier["test_acc"].tolist() == pytest.approx([0.31, 0.32] * 6, abs=1e-12)
    assert earlier["test_loss"].tolist() == pytest.approx([1.9, 1.8] * 6, abs=1e-12)
    test_loss, clean_loss = (
        np.array(BASE["test_loss"] + MIX["test_loss"]),
        np.array(BASE["clean_train_loss"] + MIX["clean_train_loss"]),
    )
    assert final["gap"].to_numpy() == pytest.approx(test_loss - clean_loss)


def test_analysis_holds_each_number_once(tmp_path):
    exp = write_pairs(tmp_path / "exp")
    write_final_values(exp, 1.0, 0, epochs=2, done=False)
    df, _ = loading.load_experiment(exp)
    a = analyze(df)
    assert a.arms == [("baseline", 0.0), ("mixup", 0.4), ("mixup", 1.0)]
    assert a.mixup_alphas == [0.4, 1.0]
    assert a.partial_runs == ["mixup-a1-s0"]
    assert len(a.finals) == df["run_id"].nunique()
    assert list(a.arm_finals("mixup", 0.4)["seed"]) == [0, 1, 2]
    assert a.paired.get(MIXUP_04, "test_acc").mean == pytest.approx(0.03)
