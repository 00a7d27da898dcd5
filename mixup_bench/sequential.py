"""Deciding with as few seeds as the data allow: the tests of a paired mean, the sequential design of
`run --until-decided`, equivalence ("no effect") and the seeds an open part would need.

The procedure (docs/metrics.md, "Decided verdicts"):

- **Looks.** Seeds are added `--jobs` at a time, from the seeds given to `--max-seeds`. The numbers of
  pairs at which the data are looked at are fixed before the first run (`looks`), e.g. (3, 5, 7, 9, 10).
- **Repeated p-values (Pocock-type group-sequential t test).** At each look every part of the claim
  gets its paired t test. Its p-value `p` is turned into a *sequential* p-value
  `S(p) = P_null(min over the looks of the t test's p <= p)`: the chance that a null effect gives so
  small a p at some look. Under normal differences the joint law of the t statistics at the looks does
  not depend on the spread, so `S` is one function per design, computed once by Monte Carlo (a fixed
  seed, `_NULL_SEQUENCES` sequences) and exact up to that error. A part is judged on `S(p)`; so the chance
  of any wrong "supported" or "contradicted" over all looks stays at the level however the stopping
  went. With one look, `S(p) = p`: a fixed-n experiment keeps its plain t test.
- **Holm over a family.** The sequential p-values of one comparison's parts are adjusted by Holm's
  step-down (`holm`), which keeps the family-wise rate under any dependence between the parts.
- **Intervals.** The interval shown is the t interval at the nominal level `nominal_level(looks)`,
  the p below which `S(p) < level`: it covers the true mean at every look at once with 95% probability
  (a confidence sequence over the looks). With one look it is the usual 95% t interval.
- **No effect.** A part whose interval lies inside ±margin (its `Metric.margin`, the smallest effect of
  interest) and does not exclude 0 is judged "no effect (within ±m)": two one-sided tests (TOST) at
  2.5% each, on the interval shown.
- **Zero variance.** When the differences do not vary the t test does not apply; the exact sign-flip
  (permutation) test of the mean is used instead, and named.

Pure numpy/scipy: `analysis.stats`, `plot` and the stopping rule of `run --until-decided` share it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from itertools import product

import numpy as np
from scipy import stats as sps

LEVEL = 0.05  # two-sided; the family-wise rate of a wrong "supported" or "contradicted"
POWER = 0.80  # the power the seeds-needed estimate aims at, for the smallest effect of interest
T_TEST = "paired t test"
SIGN_FLIP = "exact sign-flip test"  # where the t test cannot apply (differences without variance)
_NULL_SEQUENCES = 200_000  # Monte Carlo sequences behind S(p); its error on S near 0.05 is about 0.0005
_NULL_SEED = 20_261_203
_MIN_TAIL = 50  # below this many simulated sequences, S(p) falls back to the union bound K * p
MAX_SEEDS_NEEDED = 1_000  # beyond this, the estimate says "over 1,000"


# --- the test of one paired mean --------------------------------------------------------------


def sign_flip_p(diffs) -> float:
    """Two-sided p of the exact sign-flip test of mean 0: the share of the 2^n sign patterns whose
    |mean| is at least the observed |mean| (exact under a symmetric null; enumerated up to n = 16)."""
    x = np.asarray(diffs, dtype=float)
    n = x.size
    if n == 0:
        return math.nan
    if n > 16:
        raise ValueError("sign_flip_p enumerates 2^n patterns; use it for n <= 16")
    signs = np.array(list(product((1.0, -1.0), repeat=n)))  # (2^n, n)
    means = np.abs(signs @ x) / n
    return float(np.mean(means >= abs(x.mean()) - 1e-12 * max(1.0, abs(x.mean()))))


def mean_test(diffs) -> tuple[float, str]:
    """(two-sided p of mean 0, the test's name) for paired differences: the t test, or the exact
    sign-flip test where the differences have no variance (where a t test would give p = 0 or 1 from
    nothing). NaN with fewer than 2 finite values."""
    x = np.asarray(diffs, dtype=float)
    x = x[np.isfinite(x)]
    n = x.size
    if n < 2:
        return math.nan, ""
    std = float(x.std(ddof=1))
    # Identical differences leave a std of rounding noise (1e-17 for [0.1] * 3): no variance to test with.
    if not math.isfinite(std) or std <= 1e-12 * max(1.0, float(np.abs(x).max())):
        if x.mean() == 0:
            return 1.0, SIGN_FLIP
        return (sign_flip_p(x) if n <= 16 else 2.0 / 2.0**n), SIGN_FLIP
    t = float(x.mean()) / (std / math.sqrt(n))
    return float(2 * sps.t.sf(abs(t), n - 1)), T_TEST


# --- the sequential design ----------------------------------------------------------------------


def design_looks(n_start: int, step: int, n_max: int) -> tuple[int, ...]:
    """The numbers of pairs looked at: n_start, then every `step` more, and n_max last.
    (3, 2, 10) -> (3, 5, 7, 9, 10); (3, 1, 3) -> (3,)."""
    if n_start < 2 or step < 1 or n_max < n_start:
        raise ValueError(f"no design for n_start={n_start}, step={step}, n_max={n_max}")
    looks = list(range(n_start, n_max + 1, step))
    if looks[-1] != n_max:
        looks.append(n_max)
    return tuple(looks)


@lru_cache(maxsize=32)
def _null_min_p(looks: tuple[int, ...]) -> np.ndarray:
    """The sorted minimum over `looks` of the t test's p, for `_NULL_SEQUENCES` sequences of standard
    normal differences (the spread does not matter: t is scale-free). Deterministic (a fixed seed)."""
    rng = np.random.default_rng(_NULL_SEED)
    n_max = looks[-1]
    x = rng.standard_normal((_NULL_SEQUENCES, n_max))
    p = t_test_p_at(x, looks)  # (sequences, looks)
    return np.sort(p.min(axis=1))


def t_test_p_at(x: np.ndarray, looks: tuple[int, ...]) -> np.ndarray:
    """Two-sided t test p of mean 0 of x[..., :n] for each n in `looks`: array (..., len(looks)).
    x: (..., n_max) differences."""
    s1 = np.cumsum(x, axis=-1)
    s2 = np.cumsum(x * x, axis=-1)
    idx = np.asarray(looks) - 1
    n = np.asarray(looks, dtype=float)
    mean = s1[..., idx] / n
    var = np.maximum(s2[..., idx] - n * mean * mean, 0.0) / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = mean / np.sqrt(var / n)
    return 2 * sps.t.sf(np.abs(t), n - 1)


def sequential_p(p, looks: tuple[int, ...]):
    """S(p): the chance, with no effect, that the t test's p falls to `p` or below at some look of the
    design. Equal to `p` for a single look; at most K * p for K looks (the union bound). Arrays work."""
    p_arr = np.asarray(p, dtype=float)
    if len(looks) <= 1:
        return p_arr if p_arr.ndim else float(p_arr)
    null = _null_min_p(tuple(looks))
    count = np.searchsorted(null, p_arr, side="right")
    empirical = count / null.size
    floor_p = null[_MIN_TAIL - 1]  # below this p, too few sequences: the union bound, capped to stay monotone
    bound = np.minimum(len(looks) * p_arr, _MIN_TAIL / null.size)
    out = np.where(p_arr < floor_p, bound, np.maximum(empirical, p_arr))
    out = np.where(np.isfinite(p_arr), np.minimum(out, 1.0), np.nan)
    return out if out.ndim else float(out)


def nominal_level(looks: tuple[int, ...], level: float = LEVEL) -> float:
    """The per-look p below which a part is decided at `level` (S(p) < level): `level` itself for one
    look; for (3, 5, 7, 9, 10), about 0.015."""
    if len(looks) <= 1:
        return level
    null = _null_min_p(tuple(looks))
    return float(null[max(0, int(math.floor(level * null.size)) - 1)])


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values along the last axis; NaN entries are not
    tested and stay NaN. With the m finite p-values sorted, p_(1) <= ... <= p_(m), the adjusted value of
    p_(i) is max over k <= i of min(1, (m - k + 1) * p_(k)) (Holm 1979): rejecting where it is below the
    level keeps the chance of any false rejection in the family at most the level."""
    p = np.asarray(pvalues, dtype=float)
    if p.ndim > 1:
        return np.stack([holm(row) for row in p.reshape(-1, p.shape[-1])]).reshape(p.shape)
    out = np.full(p.shape, np.nan)
    tested = np.flatnonzero(np.isfinite(p))
    m = tested.size
    if m == 0:
        return out
    order = tested[np.argsort(p[tested], kind="stable")]
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(scaled)
    return out


# --- the words ----------------------------------------------------------------------------------

SUPPORTED = "supported"
CONTRADICTED = "contradicted"
NO_EFFECT = "no effect"
INCONCLUSIVE = "inconclusive"
DECIDED = (SUPPORTED, CONTRADICTED, NO_EFFECT)


def word(mean: float, low: float, high: float, p_adj: float, direction: int, margin: float) -> str:
    """The verdict on one part: 'supported' / 'contradicted' when the adjusted p is below LEVEL (on the
    side the claim predicts, or the other); 'no effect' when the interval [low, high] lies within
    ±margin; else 'inconclusive'."""
    if math.isfinite(p_adj) and p_adj < LEVEL:
        return SUPPORTED if (mean > 0) == (direction > 0) else CONTRADICTED
    if math.isfinite(margin) and margin > 0 and math.isfinite(low) and math.isfinite(high):
        if -margin < low and high < margin:
            return NO_EFFECT
    return INCONCLUSIVE


def seeds_needed(std: float, margin: float, alpha: float, power: float = POWER) -> int | None:
    """About how many paired seeds a two-sided t test at `alpha` needs to detect a mean of `margin` with
    `power`, at the spread `std` (the observed one: an estimate). None without a spread or margin."""
    if not (math.isfinite(std) and std > 0 and math.isfinite(margin) and margin > 0):
        return None
    for n in range(2, MAX_SEEDS_NEEDED + 1):
        crit = sps.t.ppf(1 - alpha / 2, n - 1)
        shift = margin / (std / math.sqrt(n))
        if shift > 1e6 or sps.nct.sf(crit, n - 1, shift) >= power:  # nct is NaN for huge shifts: power 1
            return n
    return MAX_SEEDS_NEEDED + 1


# --- the stopping rule --------------------------------------------------------------------------


@dataclass(frozen=True)
class PartDecision:
    """One part of the claim at one look."""

    name: str
    mean: float
    low: float
    high: float
    p: float  # the look's own test
    p_adj: float  # sequential, then Holm over the comparison's parts
    test: str
    word: str


def decide(
    diffs: dict[str, np.ndarray],
    directions: dict[str, int],
    margins: dict[str, float],
    looks: tuple[int, ...],
    level: float = LEVEL,
) -> dict[str, PartDecision]:
    """Judge each part of one comparison from its paired differences (one per seed) at the current look:
    sequential p, Holm over the parts, the interval at the design's nominal level, and the word."""
    names = list(diffs)
    tests = [mean_test(diffs[m]) for m in names]
    p_seq = np.array([sequential_p(p, looks) if math.isfinite(p) else math.nan for p, _ in tests])
    p_adj = holm(p_seq)
    confidence = 1 - nominal_level(looks, level)
    out = {}
    for i, m in enumerate(names):
        x = np.asarray(diffs[m], dtype=float)
        x = x[np.isfinite(x)]
        mean, low, high = t_interval(x, confidence)
        judged = word(mean, low, high, float(p_adj[i]), directions[m], margins.get(m, math.nan))
        out[m] = PartDecision(m, mean, low, high, tests[i][0], float(p_adj[i]), tests[i][1], judged)
    return out


def t_interval(x: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """(mean, low, high) of the two-sided t interval; NaN bounds with fewer than 2 values."""
    n = x.size
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if n < 2:
        return mean, math.nan, math.nan
    half = float(sps.t.ppf(0.5 + confidence / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


def simulate(
    diffs: np.ndarray, looks: tuple[int, ...], margins: np.ndarray, level: float = LEVEL
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stopping rule of `run --until-decided`, vectorised over many simulated experiments.

    diffs: (sequences, n_max, parts) paired differences. At each look, every part is judged as `decide`
    does (t test, S(p), Holm over the parts, the interval at the nominal level, ±margin); an experiment
    stops at the first look where every part is decided, else at the last look.
    Returns (pairs used (sequences,), sign of each decided effect (sequences, parts): +1 / -1 for a
    significant mean above / below 0, 0 otherwise, and whether each part ended 'no effect')."""
    n_seq, _, n_parts = diffs.shape
    confidence = 1 - nominal_level(looks, level)
    p = np.moveaxis(t_test_p_at(np.moveaxis(diffs, 2, 1), looks), 1, 2)  # (sequences, looks, parts)
    p_adj = _holm_last_axis(sequential_p(p, looks))
    used = np.full(n_seq, looks[-1])
    sign = np.zeros((n_seq, n_parts), dtype=int)
    equivalent = np.zeros((n_seq, n_parts), dtype=bool)
    open_ = np.ones(n_seq, dtype=bool)
    for k, n in enumerate(looks):
        x = diffs[:, :n, :]
        mean = x.mean(axis=1)
        half = sps.t.ppf(0.5 + confidence / 2, n - 1) * x.std(axis=1, ddof=1) / math.sqrt(n)
        reject = p_adj[:, k, :] < level
        equiv = ~reject & (mean - half > -margins) & (mean + half < margins)
        done = (reject | equiv).all(axis=1) | (k == len(looks) - 1)
        now = open_ & done
        used[now] = n
        sign[now] = np.where(reject[now], np.sign(mean[now]).astype(int), 0)
        equivalent[now] = equiv[now]
        open_ &= ~done
    return used, sign, equivalent


def _holm_last_axis(p: np.ndarray) -> np.ndarray:
    """Holm's adjustment along the last axis of an array without NaN (fast path for `simulate`)."""
    m = p.shape[-1]
    order = np.argsort(p, axis=-1, kind="stable")
    sorted_p = np.take_along_axis(p, order, axis=-1)
    scaled = np.minimum(1.0, (m - np.arange(m)) * sorted_p)
    adj_sorted = np.maximum.accumulate(scaled, axis=-1)
    out = np.empty_like(p)
    np.put_along_axis(out, order, adj_sorted, axis=-1)
    return out
