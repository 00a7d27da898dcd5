"""The alpha dose-response (analysis/trend.py) on hand-made runs with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from mixup_bench.analysis import trend
from mixup_bench.analysis.facts import analyze
from mixup_bench.analysis.load import load_experiment
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
    assert (
        t.loc["clean_train_loss", "rho"] == pytest.approx(1.0) and t.loc["clean_train_loss", "reading"] == trend.RISES
    )
    assert t.loc["test_acc", "rho"] == pytest.approx(-1.0) and t.loc["test_acc", "reading"] == trend.FALLS
    rhos = [trend.seed_rho(ALPHAS, TEST_LOSS[s]) for s in (0, 1, 2)]
    assert t.loc["test_loss", "rho"] == pytest.approx(np.mean(rhos)) and t.loc["test_loss", "n"] == 3
    assert t.loc["test_loss", "reading"] == trend.FLAT
    assert (t["p_holm"].dropna() >= t["p"].dropna() - 1e-15).all()


def test_where_test_loss_bottoms_out_and_the_best_alpha_by_validation(tmp_path):
    d = dose(write_alpha_sweep(tmp_path / "e"))
    low = d.minima.set_index("metric")
    assert low.loc["test_loss", "alpha"] == 1.0  # means over seeds: 1.033, 0.817, 0.783, 0.983
    assert low.loc["test_loss", "per_seed"] == "seed 0: 1, seed 1: 1, seed 2: 0.1"
    assert d.best_alpha == 0.1  # mean validation accuracy 0.57 at alpha 0.1, 0.56 at alpha 1: not test loss's 1
    lines = "\n".join(trend.trend_markdown(d))
    assert "Test loss is lowest at α=1 on the mean over seeds" in lines
    assert "| clean train loss | +1.00 |" in lines and "rises with α" in lines


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


def test_one_seed_gives_rho_without_an_interval(tmp_path):
    d = dose(write_alpha_sweep(tmp_path / "e", seeds=(0,)))
    t = d.trend.set_index("metric")
    assert t.loc["clean_train_loss", "rho"] == pytest.approx(1.0)
    assert t.loc["clean_train_loss", "reading"] == trend.ONE_SEED and math.isnan(t.loc["clean_train_loss", "ci_low"])
