"""mixup_bench/sequential.py: the error rates of `run --until-decided` under optional stopping (simulated), its
power at the committed effect sizes, and the pieces it is made of (the tests of a paired mean, the sequential
p-value, Holm, the seeds-needed estimate, the words), each against an independent reference where one exists.
No training: pure numpy/scipy, a few seconds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from mixup_bench import sequential as sq
from mixup_bench.metrics import CLAIM, METRICS

# --- the simulation of the stopping rule --------------------------------------------------------------------------

# The spread (std over seeds) of each part's paired difference, MixUp alpha=0.4 - baseline at the last epoch of
# results/demo (fp32, seeds 0-2): `git show c38c433:results/demo/paired.csv`, the 'last' rows' std column, in
# stored units (fractions for accuracy and ECE, nats for the losses).
DEMO_STD = {"clean_train_loss": 0.0144, "test_acc": 0.0049, "test_loss": 0.0231, "gap": 0.0287, "test_ece": 0.0078}
# ... and the paired mean of the same rows: the effect sizes the committed demo measured.
DEMO_MEAN = {"clean_train_loss": 0.367, "test_acc": 0.0165, "test_loss": -0.269, "gap": -0.636, "test_ece": -0.163}
LOOKS = (3, 5, 7, 9, 10)  # --seeds 3 --jobs 2 --max-seeds 10: sequential.design_looks(3, 2, 10)
SEQUENCES = 20_000
LEVEL = sq.LEVEL


def spreads() -> np.ndarray:
    return np.array([DEMO_STD[m] for m in CLAIM])


def margins() -> np.ndarray:
    return np.array([METRICS[m].margin for m in CLAIM])


def noise(tails: str, n: int = SEQUENCES, seed: int = 0) -> np.ndarray:
    """(n, 10 pairs, 5 parts) standardised paired differences: normal, or t with 3 degrees of freedom scaled to
    unit variance (heavy tails: the t test's null law no longer holds exactly)."""
    rng = np.random.default_rng(seed)
    shape = (n, LOOKS[-1], len(CLAIM))
    return rng.standard_normal(shape) if tails == "normal" else rng.standard_t(3, shape) / math.sqrt(3.0)


def wrong_rate(sign: np.ndarray) -> float:
    """Under the null every 'supported' or 'contradicted' is wrong: the share of experiments with any."""
    return float((sign != 0).any(axis=1).mean())


def bound(n: int = SEQUENCES) -> float:
    """The level plus 3 Monte Carlo standard errors of a rate at the level."""
    return LEVEL + 3 * math.sqrt(LEVEL * (1 - LEVEL) / n)


def naive(diffs: np.ndarray, looks: tuple[int, ...], margins: np.ndarray) -> np.ndarray:
    """The rule without the design: the plain t test at 0.05 at every look, each part on its own (no sequential
    p-value, no Holm) and the plain 95% interval for 'no effect'; stop when every part is decided. Signs as
    `sequential.simulate` returns them."""
    p = np.moveaxis(sq.t_test_p_at(np.moveaxis(diffs, 2, 1), looks), 1, 2)  # (sequences, looks, parts)
    sign = np.zeros(diffs.shape[::2], dtype=int)
    open_ = np.ones(diffs.shape[0], dtype=bool)
    for k, n in enumerate(looks):
        x = diffs[:, :n, :]
        mean = x.mean(axis=1)
        half = sps.t.ppf(0.975, n - 1) * x.std(axis=1, ddof=1) / math.sqrt(n)
        reject = p[:, k, :] < LEVEL
        equiv = ~reject & (mean - half > -margins) & (mean + half < margins)
        now = open_ & ((reject | equiv).all(axis=1) | (k == len(looks) - 1))
        sign[now] = np.where(reject[now], np.sign(mean[now]).astype(int), 0)
        open_ &= ~now
    return sign


@pytest.mark.parametrize("tails", ["normal", "t3"])
def test_the_stopping_rule_keeps_the_family_wise_error_rate_under_optional_stopping(tails):
    """The issue's check: null differences of the 5 parts at the demo's spreads, looked at after 3, 5, 7, 9 and
    10 pairs with the claim's margins, stopped as `run --until-decided` stops: the chance of any wrong
    'supported' or 'contradicted' stays at 5% (within Monte Carlo error), normal or heavy-tailed."""
    used, sign, equivalent = sq.simulate(noise(tails) * spreads(), LOOKS, margins())
    assert wrong_rate(sign) <= bound(), f"{tails}: family-wise rate {wrong_rate(sign):.4f} > {bound():.4f}"
    # the rule really stops early and really decides 'no effect' (or the check would be of a rule never used)
    assert used.min() == LOOKS[0] and used.mean() < LOOKS[-1]
    assert equivalent.all(axis=1).mean() > 0.5


def test_a_naive_rule_fails_the_same_check():
    """The check can fail: the plain t test at every look, without the sequential p-value and Holm, exceeds 5%."""
    assert wrong_rate(naive(noise("normal") * spreads(), LOOKS, margins())) > bound()


def test_optional_stopping_alone_inflates_a_single_t_test():
    """One part, stopped at the first look where the plain t test gives p < 0.05: above 5%; its sequential
    p-value, S(p) < 0.05, is not."""
    x = noise("normal")[:, :, 0]
    p = sq.t_test_p_at(x, LOOKS)
    assert (p < LEVEL).any(axis=1).mean() > bound()
    assert (sq.sequential_p(p, LOOKS) < LEVEL).any(axis=1).mean() <= bound()


def test_the_committed_effects_are_decided_in_the_right_direction():
    """Power: at the demo's means and spreads every part is decided the right way in at least 80% of experiments."""
    effects = np.array([DEMO_MEAN[m] for m in CLAIM])
    used, sign, _ = sq.simulate(noise("normal", 10_000, seed=1) * spreads() + effects, LOOKS, margins())
    for i, m in enumerate(CLAIM):
        power = (sign[:, i] == np.sign(effects[i])).mean()
        assert power >= 0.80, f"{m}: decided the right way in {power:.1%}"
    assert used.mean() < LOOKS[-1]


def test_simulate_is_the_rule_decide_applies_look_by_look():
    """The vectorised rule equals `decide` called at each look until every part is decided (where it stops, and
    the sign of each decided part), on sequences with effects, nulls and near-margin parts mixed."""
    rng = np.random.default_rng(7)
    effects = np.array([0.03, 0.0, -0.02, 0.0, 0.01])
    diffs = rng.standard_normal((60, LOOKS[-1], len(CLAIM))) * spreads() * 2 + effects
    used, sign, equivalent = sq.simulate(diffs, LOOKS, margins())
    directions = {m: METRICS[m].direction for m in CLAIM}
    limits = {m: METRICS[m].margin for m in CLAIM}
    for s in range(diffs.shape[0]):
        for n in LOOKS:
            d = sq.decide({m: diffs[s, :n, i] for i, m in enumerate(CLAIM)}, directions, limits, LOOKS)
            if all(v.word in sq.DECIDED for v in d.values()) or n == LOOKS[-1]:
                break
        assert used[s] == n
        for i, m in enumerate(CLAIM):
            expected = 0 if d[m].word not in (sq.SUPPORTED, sq.CONTRADICTED) else int(np.sign(d[m].mean))
            assert sign[s, i] == expected, (s, m, d[m])
            assert equivalent[s, i] == (d[m].word == sq.NO_EFFECT)


# --- the test of one paired mean ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "diffs",
    [
        [0.012, -0.004, 0.021, 0.007, 0.015, -0.002],
        [1.0, 2.0, 3.0, -0.5, 4.0, 0.25, 1.5],
        [0.3, -0.1, 0.2],
        [-0.05, -0.02, -0.03, -0.04, 0.01],
    ],
)
def test_sign_flip_p_is_the_exact_permutation_test(diffs):
    ref = sps.permutation_test(
        (np.asarray(diffs),), lambda x, axis: np.mean(x, axis=axis), permutation_type="samples",
        vectorized=True, n_resamples=np.inf, alternative="two-sided",
    )  # fmt: skip
    assert sq.sign_flip_p(diffs) == pytest.approx(ref.pvalue, rel=1e-9)


@pytest.mark.parametrize("n", [2, 3, 5, 8, 16])
def test_differences_that_do_not_vary_get_the_exact_sign_flip_p_not_zero(n):
    # 0.25 and 0.03125 are exact in binary: the differences have no variance to the last bit
    for value in (0.25, -0.03125):
        p, test = sq.mean_test([value] * n)
        assert test == sq.SIGN_FLIP
        assert p == pytest.approx(2 / 2**n)  # only all-plus and all-minus reach the observed |mean|
    assert sq.mean_test([0.0] * n) == (1.0, sq.SIGN_FLIP)


@pytest.mark.parametrize("diffs", [[0.1] * 3, [0.7] * 7, [0.03] * 10, [0.25] * 20])
def test_repeated_differences_that_round_are_still_without_variance(diffs):
    p, test = sq.mean_test(diffs)
    assert test == sq.SIGN_FLIP and p == pytest.approx(2 / 2 ** len(diffs))


def test_mean_test_is_the_paired_t_test_and_names_it():
    x = [0.012, -0.004, 0.021, 0.007, 0.015, -0.002]
    p, test = sq.mean_test(x)
    assert test == sq.T_TEST == "paired t test"
    assert p == pytest.approx(sps.ttest_1samp(x, 0.0).pvalue, rel=1e-12)
    assert sq.mean_test([0.1, np.nan, 0.2, 0.4])[0] == pytest.approx(sps.ttest_1samp([0.1, 0.2, 0.4], 0).pvalue)
    assert math.isnan(sq.mean_test([0.1])[0]) and math.isnan(sq.mean_test([])[0])


# --- the sequential p-value, the nominal level, Holm -------------------------------------------------------------


def test_with_one_look_the_sequential_p_is_the_p():
    for p in (0.0001, 0.01, 0.049, 0.3, 1.0):
        assert sq.sequential_p(p, (5,)) == p
    assert np.array_equal(sq.sequential_p(np.array([0.01, 0.2]), (5,)), [0.01, 0.2])


def test_the_sequential_p_is_monotone_and_between_p_and_k_times_p():
    p = np.concatenate([np.geomspace(1e-9, 1e-2, 400), np.linspace(0.01, 1.0, 400)])
    s = sq.sequential_p(p, LOOKS)
    assert np.all(np.diff(s) >= 0)
    assert np.all(s >= p) and np.all(s <= np.minimum(len(LOOKS) * p, 1.0) + 1e-12)
    assert 0.012 < float(sq.sequential_p(0.01, LOOKS)) < 0.05  # looking 5 times costs, but less than Bonferroni
    assert math.isnan(sq.sequential_p(math.nan, LOOKS))


def test_the_sequential_p_is_the_chance_of_so_small_a_p_at_some_look():
    """S(p) against an independent simulation of null t tests at the looks (another seed)."""
    p_min = sq.t_test_p_at(np.random.default_rng(11).standard_normal((40_000, LOOKS[-1])), LOOKS).min(axis=1)
    for p in (0.002, 0.0125, 0.05):
        expected = (p_min <= p).mean()
        assert sq.sequential_p(p, LOOKS) == pytest.approx(expected, abs=4 * math.sqrt(expected / 40_000) + 1e-3)


def test_the_nominal_level_of_the_design():
    a = sq.nominal_level(LOOKS)
    assert LEVEL / len(LOOKS) < a < LEVEL
    assert sq.sequential_p(a * 0.999, LOOKS) < LEVEL <= sq.sequential_p(a * 1.05, LOOKS)
    assert sq.nominal_level((7,)) == LEVEL
    assert sq.nominal_level((3, 10)) > a  # fewer looks, less to pay


def test_design_looks():
    assert sq.design_looks(3, 2, 10) == LOOKS
    assert sq.design_looks(3, 1, 3) == (3,)
    assert sq.design_looks(2, 4, 10) == (2, 6, 10)
    for bad in ((1, 1, 5), (3, 0, 5), (5, 1, 3)):
        with pytest.raises(ValueError):
            sq.design_looks(*bad)


def test_holm_against_statsmodels():
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.01, 0.04, 0.03, 0.005, 0.5])
    assert np.allclose(sq.holm(p), multipletests(p, method="holm")[1])
    with_nan = sq.holm(np.array([0.01, np.nan, 0.04]))
    assert np.isnan(with_nan[1]) and np.allclose(with_nan[[0, 2]], multipletests([0.01, 0.04], method="holm")[1])


# --- the seeds an open part would need ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("std", "margin", "alpha"),
    [(0.0049, 0.01, 0.05), (0.0096, 0.01, 0.05), (0.0096, 0.01, 0.01), (0.03, 0.01, 0.0125), (0.0144, 0.05, 0.05)],
)
def test_seeds_needed_against_statsmodels(std, margin, alpha):
    from statsmodels.stats.power import TTestPower

    n = TTestPower().solve_power(effect_size=margin / std, alpha=alpha, power=0.8, alternative="two-sided")
    assert abs(sq.seeds_needed(std, margin, alpha) - math.ceil(n)) <= 1


@pytest.mark.parametrize("std", [1e-12, 1e-17])
def test_seeds_needed_at_a_spread_next_to_nothing_is_two(std):
    assert sq.seeds_needed(1e-9, 0.02, 0.05) == 2
    assert sq.seeds_needed(std, 0.02, 0.05) == 2


def test_seeds_needed_without_a_spread_or_a_margin():
    assert sq.seeds_needed(0.0, 0.01, 0.05) is None
    assert sq.seeds_needed(0.01, math.nan, 0.05) is None
    assert sq.seeds_needed(10.0, 0.001, 0.05) == sq.MAX_SEEDS_NEEDED + 1


# --- the words ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("looks", [(5,), (3, 5)])
def test_decide_gives_the_words_of_clear_cases(looks):
    rng = np.random.default_rng(3)
    jitter = rng.standard_normal(5)
    centred = jitter - jitter.mean()  # mean 0: no test can call these significant
    diffs = {
        "clean_train_loss": 0.37 + 0.01 * jitter,  # claimed higher, far above 0
        "test_acc": -0.05 + 0.002 * jitter,  # claimed higher, far below 0
        "test_loss": 0.001 * centred,  # tiny spread around 0, margin 0.05
        "gap": 0.3 * centred,  # wide spread
    }
    directions = {m: METRICS[m].direction for m in diffs}
    d = sq.decide(diffs, directions, {m: METRICS[m].margin for m in diffs}, looks)
    assert {m: v.word for m, v in d.items()} == {
        "clean_train_loss": sq.SUPPORTED, "test_acc": sq.CONTRADICTED, "test_loss": sq.NO_EFFECT,
        "gap": sq.INCONCLUSIVE,
    }  # fmt: skip
    acc = d["test_acc"]
    assert acc.test == sq.T_TEST and acc.low < acc.mean < acc.high < 0
    assert acc.p_adj >= acc.p  # sequential, then Holm: never below the look's own p
    if len(looks) > 1:  # the interval of a sequential design is wider than the plain 95% one
        plain = sps.t.ppf(0.975, 4) * diffs["test_acc"].std(ddof=1) / math.sqrt(5)
        assert acc.high - acc.mean > plain


def test_word_edges():
    assert sq.word(0.02, 0.01, 0.03, 0.01, +1, 0.01) == sq.SUPPORTED
    assert sq.word(0.02, 0.01, 0.03, 0.01, -1, 0.01) == sq.CONTRADICTED
    assert sq.word(0.0, -0.009, 0.009, 0.9, +1, 0.01) == sq.NO_EFFECT
    assert sq.word(0.0, -0.01, 0.009, 0.9, +1, 0.01) == sq.INCONCLUSIVE  # the margin itself is not inside
    assert sq.word(0.0, -0.009, 0.009, 0.9, +1, math.nan) == sq.INCONCLUSIVE  # no margin declared
    assert sq.word(0.02, 0.01, 0.03, 0.05, +1, 0.01) == sq.INCONCLUSIVE  # p = 0.05 is not below 0.05
