"""The alpha dose-response (analysis/trend.py) on hand-made runs with known answers, and its permutation
trend test against brute-force enumeration and scipy's `permutation_test`."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter

import numpy as np
import pytest
from scipy import stats as sps

from mixup_bench.analysis import markdown, trend
from mixup_bench.analysis.facts import analyze
from mixup_bench.analysis.folder import load_experiment
from tests.plot_fixtures import metrics_row, write_run

ALPHAS = (0.0, 0.1, 1.0, 10.0)
# test loss per seed at alpha 0, 0.1, 1, 10: lowest at alpha 1 for seeds 0 and 1, at 0.1 for seed 2
TEST_LOSS = {0: (1.0, 0.9, 0.8, 0.95), 1: (1.1, 0.85, 0.8, 1.2), 2: (1.0, 0.7, 0.75, 0.8)}
VAL_ACC = {0: (0.50, 0.56, 0.55, 0.40), 1: (0.52, 0.57, 0.56, 0.41), 2: (0.51, 0.58, 0.57, 0.42)}


def write_alpha_sweep(exp, seeds=(0, 1, 2), alphas=ALPHAS):
    """Clean train loss rises with alpha in every seed, test accuracy falls, test loss dips at alpha 1."""
    for seed in seeds:
        for i, alpha in enumerate(alphas):
            last = metrics_row(alpha, seed, 2, clean_train_loss=0.1 + 0.2 * i + 0.01 * seed,
                               test_acc=0.7 - 0.02 * i - 0.001 * seed, test_loss=TEST_LOSS[seed][i],
                               val_acc=VAL_ACC[seed][i], val_loss=1.0 - VAL_ACC[seed][i])  # fmt: skip
            write_run(exp, alpha, seed, [metrics_row(alpha, seed, 1, val_acc=0.3, val_loss=1.5), last])
    return exp


def dose(exp):
    df, _ = load_experiment(exp)
    return trend.dose_response(analyze(df))


def test_seed_rho_is_spearmans_and_nan_where_undefined():
    assert trend.seed_rho([0, 0.1, 1, 10], [1.0, 0.9, 0.8, 0.95]) == pytest.approx(-0.4)
    a, v = [0, 0.1, 0.2, 1, 2], [3.0, 1.0, 2.0, 5.0, 4.0]
    assert trend.seed_rho(a, v) == pytest.approx(sps.spearmanr(a, v).statistic)
    assert math.isnan(trend.seed_rho([0, 1, 2], [1.0, 1.0, 1.0]))  # no variation: no rank order
    assert math.isnan(trend.seed_rho([0, 1], [1.0, 2.0]))  # two points say nothing about a trend


def test_the_trend_test_reads_rises_falls_and_flat(tmp_path):
    d = dose(write_alpha_sweep(tmp_path / "e"))
    assert d.alphas == list(ALPHAS) and d.measures[:3] == ("clean_train_loss", "test_loss", "test_acc")
    t = d.trend.set_index("metric")
    assert list(d.trend.columns) == trend.TREND_COLUMNS
    # rho = +1 (-1) in each of 3 seeds over 4 alphas: only the identity (reversed) ordering in every seed
    # is as extreme, p = 2 * (1/4!)^3, not the 0 a t test of three equal rhos gives
    for metric, rho, reading in (("clean_train_loss", 1.0, trend.RISES), ("test_acc", -1.0, trend.FALLS)):
        row = t.loc[metric]
        assert row["rho"] == pytest.approx(rho) and row["n"] == 3
        assert row["p"] == pytest.approx(2 / 24**3, rel=1e-12) and row["p_min"] == pytest.approx(2 / 24**3, rel=1e-12)
        assert math.isnan(row["ci_low"]) and math.isnan(row["ci_high"])  # the rhos do not vary: no t interval
        assert row["reading"] == reading and row["p_holm"] < 0.05
        assert row["test"] == "exact permutation test of Spearman ρ within seeds (4 α values, 3 seeds)"
    rhos = [trend.seed_rho(ALPHAS, TEST_LOSS[s]) for s in (0, 1, 2)]
    assert t.loc["test_loss", "rho"] == pytest.approx(np.mean(rhos)) and t.loc["test_loss", "n"] == 3
    half = sps.t.ppf(0.975, 2) * np.std(rhos, ddof=1) / math.sqrt(3)  # the descriptive interval where rhos vary
    assert (t.loc["test_loss", "ci_low"], t.loc["test_loss", "ci_high"]) == pytest.approx(
        (np.mean(rhos) - half, np.mean(rhos) + half))  # fmt: skip
    assert t.loc["test_loss", "p"] == pytest.approx(brute_force_p([(ALPHAS, TEST_LOSS[s]) for s in (0, 1, 2)]))
    assert t.loc["test_loss", "reading"] == trend.FLAT
    # gap: rhos -1, -0.8, -1, whose t interval would reach -1.22; rho cannot go below -1
    assert t.loc["gap", "ci_low"] == -1.0 and t.loc["gap", "ci_high"] < -0.6
    # test ECE is the same everywhere: no rank order, nothing tested, and it takes no share of Holm's correction
    assert t.loc["test_ece", "reading"] == trend.UNTESTED and math.isnan(t.loc["test_ece", "p"])
    assert t.loc["test_ece", "n"] == 0 and t.loc["test_ece", "test"] == ""
    tested = t["p"].notna()
    assert t.loc[tested, "p_holm"].to_numpy() == pytest.approx(trend.stats.holm(t.loc[tested, "p"].to_numpy()))
    for _, row in t[tested].iterrows():  # the reading is the Holm-adjusted exact p and the sign of mean rho
        expected = trend.FLAT if row["p_holm"] >= 0.05 else trend.RISES if row["rho"] > 0 else trend.FALLS
        assert row["reading"] == expected


def test_where_test_loss_bottoms_out_and_the_best_alpha_by_validation(tmp_path):
    d = dose(write_alpha_sweep(tmp_path / "e"))
    low = d.minima.set_index("metric")
    assert low.loc["test_loss", "alpha"] == 1.0  # means over seeds: 1.033, 0.817, 0.783, 0.983
    assert low.loc["test_loss", "per_seed"] == "seed 0: 1, seed 1: 1, seed 2: 0.1"
    assert d.best_alpha == 0.1  # mean validation accuracy 0.57 at alpha 0.1, 0.56 at alpha 1: not test loss's 1
    lines = "\n".join(markdown.trend_markdown(d))
    assert "Test loss is lowest at α=1 on the mean over seeds" in lines
    assert "| clean train loss | +1.00 | n/a | 3 | <0.001 | rises with α |" in lines
    assert "p: exact permutation test of Spearman ρ within seeds (4 α values, 3 seeds); two-sided" in lines
    assert lines.count("exact permutation test") == 1 and not re.search(r"\bt test", lines)


def test_deltas_are_paired_by_seed_against_the_baseline(tmp_path):
    d = dose(write_alpha_sweep(tmp_path / "e"))
    row = d.deltas[(d.deltas["alpha"] == 1.0) & (d.deltas["metric"] == "test_loss")].iloc[0]
    diffs = [TEST_LOSS[s][2] - TEST_LOSS[s][0] for s in (0, 1, 2)]
    half = sps.t.ppf(0.975, 2) * np.std(diffs, ddof=1) / math.sqrt(3)
    assert row["mean"] == pytest.approx(np.mean(diffs)) and row["n"] == 3
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((np.mean(diffs) - half, np.mean(diffs) + half))
    assert set(d.deltas["alpha"]) == {0.1, 1.0, 10.0}


def test_fewer_than_three_alphas_give_no_dose_response(tmp_path):
    assert dose(write_alpha_sweep(tmp_path / "e", alphas=(0.0, 0.1, 1.0))) is None


def test_one_seed_is_tested_from_its_own_exact_distribution(tmp_path):
    d = dose(write_alpha_sweep(tmp_path / "e", seeds=(0,)))
    row = d.trend.set_index("metric").loc["clean_train_loss"]
    assert row["rho"] == pytest.approx(1.0) and row["n"] == 1 and math.isnan(row["ci_low"])
    # 4 alphas: the identity and the reversed ordering of 4! are as extreme, so p = 1/12 whatever the data
    assert row["p"] == pytest.approx(2 / 24) and row["p_min"] == pytest.approx(2 / 24) and row["reading"] == trend.FLAT
    assert row["test"] == "exact permutation test of Spearman ρ within seeds (4 α values, 1 seed)"
    lines = "\n".join(markdown.trend_markdown(d))
    assert "no monotonic trend shown (p cannot go below 0.083 with these seeds and α)" in lines


def test_one_seed_with_eight_alphas_can_show_a_trend(tmp_path):
    d = dose(write_monotone_sweep(tmp_path / "e", seeds=(0,)))
    row = d.trend.set_index("metric").loc["clean_train_loss"]
    assert row["p"] == pytest.approx(2 / math.factorial(8), rel=1e-12) and row["reading"] == trend.RISES


# --- the permutation test ------------------------------------------------------------------

EIGHT = (0.0, 0.05, 0.1, 0.2, 0.4, 1.0, 2.0, 10.0)  # 7 MixUp alphas and the baseline


def write_monotone_sweep(exp, seeds=(0, 1, 2), alphas=EIGHT):
    """Clean train loss rises with alpha in every seed, test accuracy falls; test loss does not vary."""
    for seed in seeds:
        for i, alpha in enumerate(alphas):
            last = metrics_row(alpha, seed, 2, clean_train_loss=0.1 + 0.1 * i + 0.01 * seed,
                               test_acc=0.7 - 0.01 * i, test_loss=1.0)  # fmt: skip
            write_run(exp, alpha, seed, [metrics_row(alpha, seed, 1), last])
    return exp


def brute_force_p(seeds) -> float:
    """Two-sided p of mean Spearman rho by enumerating every joint ordering of all seeds' values (scipy's rho)."""
    seeds = [(np.asarray(a, float), np.asarray(v, float)) for a, v in seeds]
    observed = np.mean([sps.spearmanr(a, v).statistic for a, v in seeds])
    per_seed = [[sps.spearmanr(a, v[list(order)]).statistic for order in itertools.permutations(range(len(v)))]
                for a, v in seeds]  # fmt: skip
    means = [np.mean(rhos) for rhos in itertools.product(*per_seed)]
    return float(np.mean(np.abs(means) >= abs(observed) - 1e-12))


def test_seven_alphas_three_seeds_all_monotone_give_the_exact_p(tmp_path):
    result = trend.trend_test([(EIGHT, range(8))] * 3)
    assert result.p == pytest.approx(2 * (1 / math.factorial(8)) ** 3, rel=1e-12) and result.p > 0
    assert result.exact and result.rho == 1.0 and result.n == 3
    assert result.test == "exact permutation test of Spearman ρ within seeds (8 α values, 3 seeds)"
    t = dose(write_monotone_sweep(tmp_path / "e")).trend.set_index("metric")
    for metric, reading in (("clean_train_loss", trend.RISES), ("test_acc", trend.FALLS)):
        assert t.loc[metric, "p"] == pytest.approx(2 / math.factorial(8) ** 3, rel=1e-12)
        assert t.loc[metric, "reading"] == reading and math.isnan(t.loc[metric, "ci_low"])
    assert t.loc["test_loss", "reading"] == trend.UNTESTED


def test_one_seeds_null_for_four_alphas_is_the_hand_counted_one():
    rho, prob = trend.seed_null([0, 0.1, 1, 10], [1.0, 0.9, 0.8, 0.95])
    # rho = 1 - 6 * sum(d^2) / (4 * 15); the number of the 24 orderings at each value, counted by hand
    counts = {1.0: 1, 0.8: 3, 0.6: 1, 0.4: 4, 0.2: 2, 0.0: 2, -0.2: 2, -0.4: 4, -0.6: 1, -0.8: 3, -1.0: 1}
    assert dict(zip(np.round(rho, 9), np.round(prob * 24, 9), strict=True)) == counts
    assert prob[rho == 1.0][0] == pytest.approx(1 / 24)
    brute = Counter(round(sps.spearmanr(range(4), order).statistic, 9) for order in itertools.permutations(range(4)))
    assert dict(zip(np.round(rho, 9), np.round(prob * 24, 9), strict=True)) == brute


def test_ties_take_average_ranks_as_spearmanr():
    a, v = [0, 0.1, 0.2, 1, 2], [3.0, 1.0, 3.0, 5.0, 1.0]  # two pairs of ties
    rho, prob = trend.seed_null(a, v)
    brute = Counter(
        round(sps.spearmanr(a, np.array(v)[list(o)]).statistic, 9) for o in itertools.permutations(range(5))
    )
    assert dict(zip(np.round(rho, 9), np.round(prob * 120, 9), strict=True)) == brute
    assert trend.trend_test([(a, v)]).rho == pytest.approx(sps.spearmanr(a, v).statistic)
    assert trend.trend_test([(a, v)]).p == pytest.approx(brute_force_p([(a, v)]), rel=1e-12)


def test_two_seeds_combined_exactly_as_every_joint_ordering():
    seeds = [([0, 0.1, 1, 10], [1.0, 0.7, 0.8, 0.95]), ([0, 0.1, 0.2, 1, 10], [2.0, 2.5, 2.5, 3.0, 1.0])]
    result = trend.trend_test(seeds)  # 4! x 5! = 2880 joint orderings, ties in the second seed
    assert result.exact and result.n == 2
    assert result.p == pytest.approx(brute_force_p(seeds), rel=1e-12)
    assert result.rho == pytest.approx(np.mean([sps.spearmanr(a, v).statistic for a, v in seeds]))
    assert result.test == "exact permutation test of Spearman ρ within seeds (4–5 α values, 2 seeds)"


def test_one_seed_matches_scipys_permutation_test():
    rng = np.random.default_rng(3)
    for k in (4, 5, 6):
        alphas, values = np.sort(rng.uniform(0, 10, k)), rng.normal(size=k)
        reference = sps.permutation_test(
            (values,), lambda v, alphas=alphas: sps.spearmanr(alphas, v).statistic,
            permutation_type="pairings", n_resamples=np.inf, alternative="two-sided",
        )  # fmt: skip
        assert trend.trend_test([(alphas, values)]).p == pytest.approx(reference.pvalue, rel=1e-9)


def test_seeds_whose_values_do_not_vary_are_left_out():
    monotone, flat = ([0, 1, 2, 3], [1, 2, 3, 4]), ([0, 1, 2, 3], [5, 5, 5, 5])
    assert trend.trend_test([monotone, flat]) == trend.trend_test([monotone])
    nothing = trend.trend_test([flat, ([0, 1], [1, 2])])
    assert nothing.n == 0 and math.isnan(nothing.p) and nothing.test == ""


def test_convolve_sums_independent_discrete_variables():
    values, probs = trend.convolve([([-1, 1], [0.5, 0.5])] * 3)
    assert list(values) == [-3, -1, 1, 3] and list(probs) == pytest.approx([1 / 8, 3 / 8, 3 / 8, 1 / 8])


def test_monte_carlo_beyond_eight_alphas_and_where_the_exact_combination_grows_too_large(monkeypatch):
    nine = trend.trend_test([(range(9), range(9))] * 3)  # 9! orderings: sampled with a fixed seed
    assert not nine.exact and nine.p == pytest.approx(1 / (1 + trend.DRAWS)) and nine.p_min == nine.p
    assert nine.test == ("Monte Carlo permutation test of Spearman ρ within seeds (9 α values, 3 seeds; "
                         "100,000 draws, generator seed 0)")  # fmt: skip
    seeds = [([0, 0.1, 1, 10, 20], [1.0, 0.7, 0.8, 0.95, 1.2]), ([0, 0.1, 1, 10, 20], [2.0, 2.5, 2.4, 3.0, 2.6])]
    exact = trend.trend_test(seeds)
    assert exact.exact
    monkeypatch.setattr(trend, "MAX_SUPPORT", 1)  # exact per seed, combined by sampling
    combined = trend.trend_test(seeds)
    assert combined.test.startswith("exact per seed, combined over seeds by Monte Carlo permutation test")
    assert not combined.exact and combined.p == pytest.approx(exact.p, abs=0.01)
    assert trend.trend_test(seeds) == combined  # the same draws every time
    monkeypatch.setattr(trend, "EXACT_MAX_POINTS", 4)  # every seed sampled
    sampled = trend.trend_test(seeds)
    assert sampled.test.startswith("Monte Carlo") and sampled.p == pytest.approx(exact.p, abs=0.01)
