"""The alpha dose-response of an experiment with several MixUp arms: how each measure moves with alpha.

Larger alpha pushes lam towards 0.5, so the mixing is stronger. For every measure (the clean-data ones,
and the shift evaluation's where the runs logged them) at each run's last epoch (the pre-registered
point), `dose_response` gives:

- `values`: the mean over seeds at each alpha, alpha 0 being the baseline;
- `deltas`: each MixUp alpha minus the baseline, paired by seed, with a 95% t interval
  (`stats.paired_differences`, as the verdict pairs);
- `trend`: a trend test. For each seed, Spearman's rank correlation rho between alpha (the baseline
  included as 0) and the measure, over that seed's arms; then the mean of rho over seeds with a 95% t
  interval and a one-sample t test of mean rho = 0, Holm-adjusted over the measures tested. A rho
  whose interval lies above 0 says the measure rises with alpha (monotonically, in rank), below 0
  that it falls. It answers "does clean training loss rise with alpha" without assuming a line;
- `minima`: where test loss (and validation loss) bottom out: the alpha of the lowest mean over
  seeds, and each seed's own;
- `best_alpha`: the alpha of the highest mean validation accuracy (never a test number), when the
  runs logged one.

Numbers only: `figures/dose_response.py` draws them and `trend_markdown` writes them for summary.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from mixup_bench.analysis import stats
from mixup_bench.analysis.facts import Analysis
from mixup_bench.metrics import METRICS, SELECTION_METRIC, p_text
from mixup_bench.naming import format_alpha

# The measures followed against alpha, in this order, where the runs logged them.
MEASURES = ("clean_train_loss", "test_loss", "test_acc", "gap", "test_ece", "val_loss", "val_acc",
            "corrupt_acc", "fgsm_acc_2", "pgd_acc_2")  # fmt: skip
MIN_ALPHAS = 3  # MixUp alphas an experiment needs for a dose-response
BOTTOMS = ("test_loss", "val_loss")  # measures whose lowest alpha is reported
RISES, FALLS, FLAT, ONE_SEED = "rises with α", "falls with α", "no monotonic trend shown", "one seed: no interval"


@dataclass(frozen=True, eq=False)
class DoseResponse:
    """See the module doc. Alphas include 0 (the baseline) when the experiment has one."""

    alphas: list[float]
    measures: tuple[str, ...]
    values: pd.DataFrame  # alpha, metric, mean, std, n
    deltas: pd.DataFrame  # alpha (> 0), metric, mean, ci_low, ci_high, n, p (MixUp alpha − baseline, by seed)
    trend: pd.DataFrame  # metric, rho, ci_low, ci_high, n, p, p_holm, reading (RISES | FALLS | FLAT | ONE_SEED)
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


def seed_rho(alphas, values) -> float:
    """Spearman's rank correlation of one seed's values against alpha; NaN with fewer than 3 or all equal."""
    a, v = np.asarray(alphas, float), np.asarray(values, float)
    keep = np.isfinite(v)
    if keep.sum() < 3 or np.ptp(v[keep]) == 0:
        return math.nan
    return float(sps.spearmanr(a[keep], v[keep]).statistic)


def _trend(finals: pd.DataFrame, measures) -> pd.DataFrame:
    rows = []
    for metric in measures:
        rhos = [seed_rho(g["alpha"], g[metric]) for _, g in finals.groupby("seed")]
        iv = stats.mean_interval(rhos)
        rows.append({"metric": metric, "rho": iv.mean, "ci_low": iv.low, "ci_high": iv.high, "n": iv.n, "p": iv.p})
    trend = pd.DataFrame(rows, columns=["metric", "rho", "ci_low", "ci_high", "n", "p"])
    tested = trend["p"].notna().to_numpy()
    trend["p_holm"] = math.nan
    trend.loc[tested, "p_holm"] = stats.holm(trend.loc[tested, "p"].to_numpy())
    trend["reading"] = [_reading(r) for _, r in trend.iterrows()]
    return trend


def _reading(row) -> str:
    if row["n"] < 2 or not math.isfinite(row["p_holm"]):
        return ONE_SEED
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


def trend_markdown(dose: DoseResponse) -> list[str]:
    """The summary.md section: the trend of every measure, where the losses bottom out, the best alpha."""
    alphas = ", ".join(format_alpha(a) for a in dose.alphas)
    lines = ["## Dose-response: each measure against MixUp α", "",
             f"At the last epoch, α ∈ {{{alphas}}} (0 = the baseline). Trend: each seed's Spearman ρ between α "
             "and the measure, then the mean over seeds with a 95% t interval; p of mean ρ = 0, Holm-adjusted "
             "over the measures.", "",
             "| measure | mean ρ | 95% CI | seeds | Holm p | reading |", "|---|---:|---|---:|---:|---|"]  # fmt: skip
    for _, r in dose.trend.iterrows():
        ci = f"{r['ci_low']:+.2f} to {r['ci_high']:+.2f}" if math.isfinite(r["ci_low"]) else "n/a"
        lines.append(f"| {METRICS[r['metric']].label} | {r['rho']:+.2f} | {ci} | {int(r['n'])} | "
                     f"{p_text(r['p_holm'])} | {r['reading']} |")  # fmt: skip
    lines.append("")
    for _, r in dose.minima.iterrows():
        what = _capital(METRICS[r["metric"]].label)
        lines.append(f"- {what} is lowest at α={format_alpha(r['alpha'])} on the mean over seeds ({r['per_seed']}).")
    if dose.best_alpha is not None:
        lines.append(f"- The best α by validation accuracy (never by a test number): {format_alpha(dose.best_alpha)}.")
    return lines + [""]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
