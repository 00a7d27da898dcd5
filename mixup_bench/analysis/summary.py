"""The summary table: one row per arm of final values over seeds, for summary.csv and summary.md.

Numbers only; `report` turns them into text for the console and summary.md.
"""

from __future__ import annotations

import math

import pandas as pd

from mixup_bench.analysis.facts import Analysis
from mixup_bench.analysis.memorisation import add_summary_columns
from mixup_bench.analysis.stats import Paired
from mixup_bench.naming import FRACTION_METRICS, arm_id, arm_label

SUMMARY_COLUMNS = (
    "arm",
    "method",
    "alpha",
    "seeds",
    "runs_done",
    "partial",
    "final_epoch_min",
    "final_epoch_max",
    "test_acc_pct_mean",
    "test_acc_pct_std",
    "best_test_acc_pct_mean",
    "best_test_acc_pct_std",
    "test_loss_mean",
    "test_loss_std",
    "clean_train_loss_mean",
    "clean_train_loss_std",
    "train_objective_mean",
    "gap_mean",
    "gap_std",
    "test_ece_pct_mean",
    "test_ece_pct_std",
    "delta_test_acc_pp",
    "delta_test_acc_pp_ci_low",
    "delta_test_acc_pp_ci_high",
    "delta_pairs",
)


def summary_table(analysis: Analysis) -> pd.DataFrame:
    """One row per arm, baseline first (columns `SUMMARY_COLUMNS`).

    "Final" values are each run's last finished epoch (`final_epoch_min/max` give the range;
    they differ when a run is partial), averaged over seeds with the sample std. `best_test_acc`
    is each seed's highest test accuracy over epochs, averaged. The delta columns are the paired
    arm - baseline test accuracy in percentage points with its t interval (empty for the
    baseline and when no pair exists). Accuracy and ECE columns are in percent.
    """
    best = analysis.df.groupby("run_id")["test_acc"].max()
    rows = []
    for method, alpha in analysis.arms:
        f = analysis.arm_finals(method, alpha)
        b = best.loc[f["run_id"]]
        delta = analysis.paired.get((method, alpha), "test_acc") if method != "baseline" else None
        rows.append(
            {
                "arm": arm_label(method, alpha),
                "method": method,
                "alpha": alpha,
                "seeds": len(f),
                "runs_done": int(f["done"].sum()),
                "partial": bool((~f["done"]).any()),
                "final_epoch_min": int(f["epoch"].min()),
                "final_epoch_max": int(f["epoch"].max()),
                "test_acc_pct_mean": 100 * f["test_acc"].mean(),
                "test_acc_pct_std": 100 * f["test_acc"].std(),
                "best_test_acc_pct_mean": 100 * b.mean(),
                "best_test_acc_pct_std": 100 * b.std(),
                "test_loss_mean": f["test_loss"].mean(),
                "test_loss_std": f["test_loss"].std(),
                "clean_train_loss_mean": f["clean_train_loss"].mean(),
                "clean_train_loss_std": f["clean_train_loss"].std(),
                "train_objective_mean": f["train_loss"].mean(),
                "gap_mean": f["gap"].mean(),
                "gap_std": f["gap"].std(),
                "test_ece_pct_mean": 100 * f["test_ece"].mean(),
                "test_ece_pct_std": 100 * f["test_ece"].std(),
                "delta_test_acc_pp": 100 * delta.mean if delta else math.nan,
                "delta_test_acc_pp_ci_low": 100 * delta.low if delta else math.nan,
                "delta_test_acc_pp_ci_high": 100 * delta.high if delta else math.nan,
                "delta_pairs": delta.n if delta else 0,
            }
        )
    # + memorisation.SUMMARY_COLUMNS, only for experiments trained with --label-noise
    return add_summary_columns(pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS)), analysis)


VERSUS_COLUMNS = (
    "reference",
    "arm",
    "method",
    "alpha",
    "metric",
    "unit",
    "mean",
    "std",
    "ci_low",
    "ci_high",
    "pairs",
    "seeds",
    "epoch_min",
    "epoch_max",
    "short",
)


def versus_table(paired: Paired) -> pd.DataFrame:
    """paired_vs_<arm>.csv (`plot --reference ARM`): one row per (arm, metric) of every other arm minus the
    reference arm, paired by seed (columns `VERSUS_COLUMNS`). `reference` is the reference arm's id
    ('mixup-a0.2'); mean, std and the 95% t interval are in `unit`: percentage points (pp) for accuracy
    and ECE, nats for the losses and the gap. `short` is True when a pair was compared before the last
    epoch of one of its runs (a partial run)."""
    s = paired.summary
    scale = s["metric"].map(lambda m: 100.0 if m in FRACTION_METRICS else 1.0)
    table = pd.DataFrame(
        {
            "reference": arm_id(*paired.reference),
            "arm": [arm_label(m, a) for m, a in zip(s["method"], s["alpha"], strict=True)],
            "method": s["method"],
            "alpha": s["alpha"],
            "metric": s["metric"],
            "unit": s["metric"].map(lambda m: "pp" if m in FRACTION_METRICS else "nats"),
            **{c: scale * s[c] for c in ("mean", "std", "ci_low", "ci_high")},
            "pairs": s["n"],
            "seeds": s["seeds"],
            "epoch_min": s["epoch_min"],
            "epoch_max": s["epoch_max"],
            "short": s["short"],
        }
    )
    return table[list(VERSUS_COLUMNS)]
