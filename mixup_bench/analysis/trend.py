"""The alpha dose-response of an experiment with several MixUp arms: how each measure moves with alpha.

Larger alpha pushes lam towards 0.5, so the mixing is stronger. For every measure (the clean-data ones,
and the shift evaluation's where the runs logged them) at each run's last epoch (the pre-registered
point), `dose_response` gives:

- `values`: the mean over seeds at each alpha, alpha 0 being the baseline;
- `deltas`: each MixUp alpha minus the baseline, paired by seed, with a 95% t interval
  (`stats.paired_differences`, as the verdict pairs);
- `trend`: a trend test. For each seed, Spearman's rank correlation rho between alpha (the baseline
  included as 0) and the measure, over that seed's arms; the statistic is the mean of rho over seeds.
  Its p-value comes from a permutation test that assumes no distribution (`trend_test`): under the
  null, within each seed the measure's values are exchangeable across that seed's alphas (no trend
  in any seed), so each seed's rho is distributed as Spearman's rho over every ordering of that
  seed's values (average ranks for ties, as `scipy.stats.spearmanr`), independently across seeds,
  and mean rho as the convolution of those distributions. With at most EXACT_MAX_POINTS alphas per
  seed (8! = 40320 orderings) every ordering is enumerated and the seeds are combined exactly; with
  more, or where the exact combination would grow past MAX_SUPPORT points, the null is sampled
  (DRAWS draws from a numpy Generator seeded MC_SEED, p = (1 + hits) / (1 + DRAWS)). p is two-sided,
  P(|mean rho under the null| >= |observed mean rho|), Holm-adjusted over the measures tested, and
  the column `test` names the test behind it. A Holm p below 0.05 reads as a rise with alpha when
  mean rho > 0 and a fall when < 0 (monotonically, in rank); it answers "does clean training loss
  rise with alpha" without assuming a line. Rejecting the null says some seeds have a rank trend;
  it does not by itself generalise past these seeds. One seed is tested the same way (from that
  seed's own exact distribution): its reading stands on one run per alpha, which `n` says. `p_min`
  is the smallest p the test could give with these seeds and alphas (2/4! = 0.083 for one seed and
  four alphas, so no data could show a trend there). `ci_low`/`ci_high` is a descriptive 95% t
  interval over the seeds' rhos, clipped to [-1, 1], NaN with one seed or when every seed gives the
  same rho (a t interval of values that do not vary says nothing); it plays no part in p or the reading;
- `minima`: where test loss (and validation loss) bottom out: the alpha of the lowest mean over
  seeds, and each seed's own;
- `best_alpha`: the alpha of the highest mean validation accuracy (never a test number), when the
  runs logged one.

Numbers only: `figures/dose_response.py` draws them and `markdown.trend_markdown` writes them for summary.md.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from mixup_bench.analysis import stats
from mixup_bench.analysis.facts import Analysis
from mixup_bench.metrics import BOTTOMS as METRIC_BOTTOMS
from mixup_bench.metrics import SELECTION_METRIC, TREND
from mixup_bench.naming import format_alpha

# The measures followed against alpha, in this order, where the runs logged them (`Metric.trend`).
MEASURES = TREND
MIN_ALPHAS = 3  # MixUp alphas an experiment needs for a dose-response
BOTTOMS = METRIC_BOTTOMS  # measures whose lowest alpha is reported (`Metric.bottoms`)
RISES, FALLS, FLAT = "rises with α", "falls with α", "no monotonic trend shown"
UNTESTED = "not tested: no seed's values vary over 3 α or more"
EXACT_MAX_POINTS = 8  # alphas per seed (the baseline included) up to which all k! orderings are enumerated
MAX_SUPPORT = 4_000_000  # the largest outer product the exact combination of seeds may form
DRAWS = 100_000  # Monte Carlo draws of the null where it is not exact
MC_SEED = 0  # the numpy Generator's seed for those draws: the same data give the same p
DECIMALS = 12  # rho values (and their sums) are rounded to this many decimals to merge equal ones
TOL = 1e-9  # |null| >= |observed| - TOL counts as at least as extreme (float noise, far below any gap in rho)


@dataclass(frozen=True, eq=False)
class DoseResponse:
    """See the module doc. Alphas include 0 (the baseline) when the experiment has one."""

    alphas: list[float]
    measures: tuple[str, ...]
    values: pd.DataFrame  # alpha, metric, mean, std, n
    deltas: pd.DataFrame  # alpha (> 0), metric, mean, ci_low, ci_high, n, p (MixUp alpha − baseline, by seed)
    trend: pd.DataFrame  # metric, rho, ci_low, ci_high, n, p, p_holm, p_min, reading (RISES|FALLS|FLAT|UNTESTED), test
    minima: pd.DataFrame  # metric, alpha (of the lowest mean), per_seed ('seed 0: 1, seed 1: 2')
    best_alpha: float | None  # highest mean validation accuracy; None without validation numbers


def applies(analysis: Analysis) -> bool:
    """Whether the experiment has the MIN_ALPHAS MixUp alphas a dose-response needs."""
    return len(analysis.mixup_alphas) >= MIN_ALPHAS


def dose_response(analysis: Analysis) -> DoseResponse | None:
    """The dose-response of the baseline and MixUp arms at the last epoch, or None with fewer than MIN_ALPHAS alphas."""
    if not applies(analysis):
        return None
    finals = analysis.finals[analysis.finals["method"].isin(("baseline", "mixup"))]
    measures = tuple(m for m in MEASURES if m in finals.columns and finals[m].notna().any())
    alphas = sorted(set(finals["alpha"].astype(float)))
    df = analysis.df[analysis.df["method"].isin(("baseline", "mixup"))]
    paired = stats.paired_differences(df, measures)
    return DoseResponse(
        alphas=alphas,
        measures=measures,
        values=_values(finals, measures),
        deltas=_deltas(paired),
        trend=_trend(finals, measures),
        minima=_minima(finals, [m for m in BOTTOMS if m in measures]),
        best_alpha=_best_alpha(finals) if SELECTION_METRIC in measures else None,
    )


def _values(finals: pd.DataFrame, measures) -> pd.DataFrame:
    long = finals.melt(id_vars=["alpha", "seed"], value_vars=list(measures), var_name="metric").dropna()
    out = long.groupby(["alpha", "metric"], sort=False)["value"].agg(mean="mean", std="std", n="count")
    return out.reset_index()


def _deltas(paired: stats.Paired) -> pd.DataFrame:
    s = paired.summary[paired.summary["method"] == "mixup"]
    return s[["alpha", "metric", "mean", "ci_low", "ci_high", "n", "p"]].reset_index(drop=True)


def _points(alphas, values) -> tuple[np.ndarray, np.ndarray] | None:
    """One seed's finite (alpha, value) pairs; None with fewer than 3 or when either side does not vary."""
    a, v = np.asarray(alphas, float), np.asarray(values, float)
    keep = np.isfinite(a) & np.isfinite(v)
    a, v = a[keep], v[keep]
    if a.size < 3 or np.ptp(v) == 0 or np.ptp(a) == 0:
        return None
    return a, v


def seed_rho(alphas, values) -> float:
    """Spearman's rank correlation of one seed's values against alpha; NaN with fewer than 3 or all equal."""
    points = _points(alphas, values)
    if points is None:
        return math.nan
    return float(sps.spearmanr(*points).statistic)


@dataclass(frozen=True)
class _Seed:
    """One seed's Spearman rho as ranks: rho of an ordering `perm` of the values is (cv[perm] @ ca) / denom.

    Average ranks are multiples of 1/2, so centred ranks are exact in floating point and so is every
    cv[perm] @ ca: the same rho always comes out as the same float."""

    ca: np.ndarray  # centred ranks of alpha
    cv: np.ndarray  # centred ranks of the values
    denom: float

    @classmethod
    def of(cls, alphas, values) -> _Seed:
        ra, rv = sps.rankdata(alphas), sps.rankdata(values)  # average ranks for ties, as spearmanr
        ca, cv = ra - ra.mean(), rv - rv.mean()
        return cls(ca, cv, float(math.sqrt(float(ca @ ca) * float(cv @ cv))))

    @property
    def k(self) -> int:
        return int(self.ca.size)

    def rho(self, s) -> np.ndarray:
        return np.round(np.asarray(s, float) / self.denom, DECIMALS)

    def observed(self) -> float:
        return float(self.rho(self.cv @ self.ca))


def seed_null(alphas, values) -> tuple[np.ndarray, np.ndarray]:
    """The exact null distribution of one seed's Spearman rho: (distinct rho values, their probabilities).

    Every one of the k! orderings of the values over the alphas is equally likely under the null;
    ties take average ranks (as `scipy.stats.spearmanr`). Needs 3 to EXACT_MAX_POINTS varying points."""
    points = _points(alphas, values)
    if points is None:
        raise ValueError("a seed needs 3 or more finite values that vary, at distinct alphas")
    return _exact(_Seed.of(*points))


def _exact(seed: _Seed) -> tuple[np.ndarray, np.ndarray]:
    if seed.k > EXACT_MAX_POINTS:
        raise ValueError(f"{seed.k}! orderings: enumerated only up to {EXACT_MAX_POINTS} points")
    perms = np.array(list(itertools.permutations(range(seed.k))), dtype=np.intp)
    rho, counts = np.unique(seed.rho(seed.cv[perms] @ seed.ca), return_counts=True)
    return rho, counts / counts.sum()


def _add(a: float, b: float) -> float:
    return float(np.round(a + b, DECIMALS))


def convolve(dists) -> tuple[np.ndarray, np.ndarray] | None:
    """The exact distribution of the sum of independent discrete variables, each given as (values, probabilities).

    Sums are rounded to DECIMALS decimals after each step, merging the equal ones; None where a step
    would form more than MAX_SUPPORT pairs (then the caller samples)."""
    values, probs = np.zeros(1), np.ones(1)
    for v, p in dists:
        if values.size * np.size(v) > MAX_SUPPORT:
            return None
        sums = np.round(np.add.outer(values, np.asarray(v, float)).ravel(), DECIMALS)
        values, inverse = np.unique(sums, return_inverse=True)
        probs = np.bincount(inverse.ravel(), weights=np.multiply.outer(probs, np.asarray(p, float)).ravel())
    return values, probs


@dataclass(frozen=True)
class TrendTest:
    """The permutation test of mean Spearman rho over seeds (see the module doc)."""

    rho: float  # mean over the tested seeds of each seed's rho
    n: int  # seeds tested (those with 3 or more varying values)
    p: float  # two-sided permutation p of mean rho; NaN when no seed is tested
    p_min: float  # the smallest p this test can give with these seeds and alphas
    exact: bool  # True: every ordering enumerated and the seeds combined exactly; False: Monte Carlo
    test: str  # what the test is, in words ('' when no seed is tested)


def trend_test(seeds) -> TrendTest:
    """The permutation test of "no trend in any seed" for a list of (alphas, values), one per seed.

    Seeds with fewer than 3 finite values, or values that do not vary, have no rho and are left out."""
    tested = [_Seed.of(*pts) for pts in (_points(a, v) for a, v in seeds) if pts is not None]
    n = len(tested)
    if n == 0:
        return TrendTest(math.nan, 0, math.nan, math.nan, False, "")
    observed = 0.0
    for seed in tested:
        observed = _add(observed, seed.observed())
    rho = float(np.mean([float(seed.cv @ seed.ca) / seed.denom for seed in tested]))
    ks = sorted({seed.k for seed in tested})
    where = (f"{ks[0]}" if len(ks) == 1 else f"{ks[0]}–{ks[-1]}") + f" α values, {n} seed"
    where += "" if n == 1 else "s"
    exact = ks[-1] <= EXACT_MAX_POINTS
    null = convolve([_exact(seed) for seed in tested]) if exact else None
    if null is not None:
        values, probs = null
        p = float(probs[np.abs(values) >= abs(observed) - TOL].sum())
        p_min = float(probs[np.abs(values) >= np.abs(values).max() - TOL].sum())
        test = f"exact permutation test of Spearman ρ within seeds ({where})"
        return TrendTest(rho, n, min(1.0, p), min(1.0, p_min), True, test)
    rng = np.random.default_rng(MC_SEED)
    sums = np.zeros(DRAWS)
    for seed in tested:
        if exact:  # exact per seed, too large a support to combine exactly: draw from each seed's distribution
            v, p = _exact(seed)
            sums = np.round(sums + rng.choice(v, size=DRAWS, p=p), DECIMALS)
        else:
            orders = rng.permuted(np.tile(seed.cv, (DRAWS, 1)), axis=1)
            sums = np.round(sums + seed.rho(orders @ seed.ca), DECIMALS)
    hits = int((np.abs(sums) >= abs(observed) - TOL).sum())
    how = "exact per seed, combined over seeds by Monte Carlo" if exact else "Monte Carlo"
    test = f"{how} permutation test of Spearman ρ within seeds ({where}; {DRAWS:,} draws, generator seed {MC_SEED})"
    return TrendTest(rho, n, (1 + hits) / (1 + DRAWS), 1 / (1 + DRAWS), False, test)


TREND_COLUMNS = ["metric", "rho", "ci_low", "ci_high", "n", "p", "p_holm", "p_min", "reading", "test"]


def _trend(finals: pd.DataFrame, measures) -> pd.DataFrame:
    rows = []
    for metric in measures:
        seeds = [(g["alpha"], g[metric]) for _, g in finals.groupby("seed")]
        result = trend_test(seeds)
        low, high = _rho_interval([seed_rho(a, v) for a, v in seeds])
        rows.append({"metric": metric, "rho": result.rho, "ci_low": low, "ci_high": high, "n": result.n,
                     "p": result.p, "p_min": result.p_min, "test": result.test})  # fmt: skip
    trend = pd.DataFrame(rows, columns=[c for c in TREND_COLUMNS if c not in ("p_holm", "reading")])
    tested = trend["p"].notna().to_numpy()
    trend["p_holm"] = math.nan
    trend.loc[tested, "p_holm"] = stats.holm(trend.loc[tested, "p"].to_numpy())
    trend["reading"] = [_reading(r) for _, r in trend.iterrows()]
    return trend[TREND_COLUMNS]


def _rho_interval(rhos) -> tuple[float, float]:
    """The descriptive 95% t interval over the seeds' rhos, clipped to rho's range [-1, 1]; NaN with one
    seed or rhos that do not vary."""
    iv = stats.mean_interval(rhos)
    if iv.n < 2 or not iv.std > 0:
        return math.nan, math.nan
    return max(-1.0, iv.low), min(1.0, iv.high)


def _reading(row) -> str:
    if not math.isfinite(row["p_holm"]):
        return UNTESTED
    if row["p_holm"] >= 0.05:
        return FLAT
    return RISES if row["rho"] > 0 else FALLS


def _minima(finals: pd.DataFrame, measures) -> pd.DataFrame:
    rows = []
    for metric in measures:
        mean = finals.groupby("alpha")[metric].mean().dropna()
        if mean.empty:
            continue
        per_seed = [f"seed {int(s)}: {format_alpha(g.loc[g[metric].idxmin(), 'alpha'])}"
                    for s, g in finals.dropna(subset=[metric]).groupby("seed")]  # fmt: skip
        rows.append({"metric": metric, "alpha": float(mean.idxmin()), "per_seed": ", ".join(per_seed)})
    return pd.DataFrame(rows, columns=["metric", "alpha", "per_seed"])


def _best_alpha(finals: pd.DataFrame) -> float | None:
    mean = finals.groupby("alpha")[SELECTION_METRIC].mean().dropna()
    return float(mean.idxmax()) if not mean.empty else None


# --- as text ------------------------------------------------------------------------------


def trend_table(dose: DoseResponse) -> pd.DataFrame:
    """dose_response.csv: one row per measure: the trend test, and where the bottoming measures are lowest."""
    table = dose.trend.merge(dose.minima.rename(columns={"alpha": "lowest_at_alpha"}), on="metric", how="left")
    return table.assign(best_alpha_by_validation=dose.best_alpha)
