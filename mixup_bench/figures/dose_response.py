"""The dose-response figure, drawn by `plot` for experiments with at least three MixUp alphas.

One panel per measure (clean-data measures, then the shift evaluation's where logged): each MixUp
alpha minus the baseline, paired by seed, with its 95% t interval, on a log alpha axis. The baseline
sits left of the smallest alpha at 0 (the dashed line), since alpha 0 has no place on a log axis.
Each alpha is drawn in its arm colour of every other figure; a grey line joins them in alpha order.
Each panel's title gives the trend test (mean Spearman rho over seeds, its interval and reading),
and a dotted vertical line marks the alpha with the best validation accuracy. The numbers come from
`analysis.trend.DoseResponse`.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from mixup_bench.analysis.trend import DoseResponse
from mixup_bench.figures.panels import PlotData, arm_handles
from mixup_bench.figures.style import BASELINE_COLOR, legend_right, styled
from mixup_bench.metrics import METRICS
from mixup_bench.naming import format_alpha

NAME = "dose_response"
COLUMNS = 4


def baseline_x(dose: DoseResponse) -> float:
    """Where the baseline (alpha 0) sits on the log axis: a step left of the smallest MixUp alpha."""
    return min(a for a in dose.alphas if a > 0) / 3.0


@styled
def figure_dose_response(data: PlotData) -> Figure:
    """Every measure's paired difference from the baseline against alpha, with the trend test in each title."""
    dose = data.dose
    rows = math.ceil(len(dose.measures) / COLUMNS)
    cols = min(COLUMNS, len(dose.measures))
    fig = Figure(figsize=(4.1 * cols + 2.6, 3.5 * rows + 1.0), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, metric in zip(axes, dose.measures, strict=False):
        _panel(ax, data, dose, metric)
    for ax in axes[len(dose.measures) :]:
        ax.set_visible(False)
    fig.suptitle(
        f"Dose-response: MixUp α − baseline at the last epoch, paired by seed (95% t intervals) — experiment: "
        f"{data.name}\nTitles: trend over α, each seed's Spearman ρ averaged over seeds (Holm-adjusted p)"
    )
    arms = [("mixup", a) for a in dose.alphas if a > 0]
    handles = arm_handles(data, [("baseline", 0.0)] + arms)
    handles.append(Line2D([], [], color="0.35", ls="--", lw=1.1, label="baseline (α = 0): no difference"))
    if bool((dose.deltas["n"] < 2).any()):
        handles.append(Line2D([], [], color="0.3", marker="o", mfc="white", ls="", label="one pair: no interval"))
    if dose.best_alpha is not None:
        handles.append(Line2D([], [], color="0.3", ls=":", lw=1.4, label=f"best α by validation accuracy "
                              f"({format_alpha(dose.best_alpha)})"))  # fmt: skip
    legend_right(fig, handles)
    return fig


def _panel(ax, data: PlotData, dose: DoseResponse, metric: str) -> None:
    """One measure: the paired deltas at each alpha, the baseline at 0, the trend in the title."""
    m = METRICS[metric]
    deltas = dose.deltas[dose.deltas["metric"] == metric].sort_values("alpha")
    x0 = baseline_x(dose)
    ax.set_xscale("log")
    ax.axhline(0, color="0.35", ls="--", lw=1.1, zorder=1)
    ax.plot([x0], [0.0], "o", ms=6, color=BASELINE_COLOR, zorder=3)
    ax.plot(deltas["alpha"], m.scale * deltas["mean"], color="0.6", lw=1.2, zorder=2)
    for _, r in deltas.iterrows():
        color, mean = data.color("mixup", r["alpha"]), m.scale * r["mean"]
        if math.isfinite(r["ci_low"]) and math.isfinite(r["ci_high"]):
            ax.errorbar([r["alpha"]], [mean], yerr=[[mean - m.scale * r["ci_low"]], [m.scale * r["ci_high"] - mean]],
                        fmt="o", ms=6, color=color, capsize=3, lw=1.5, zorder=3)  # fmt: skip
        else:
            ax.plot([r["alpha"]], [mean], "o", ms=6, mfc="white", mec=color, mew=1.5, zorder=3)
    if dose.best_alpha is not None:
        ax.axvline(dose.best_alpha if dose.best_alpha > 0 else x0, color="0.3", ls=":", lw=1.4, zorder=1)
    ticks = [x0] + [a for a in dose.alphas if a > 0]
    ax.set_xticks(ticks, ["0"] + [format_alpha(a) for a in ticks[1:]], fontsize=8)
    ax.minorticks_off()
    ax.set_xlabel("MixUp α (log; 0 = baseline)")
    ax.set_ylabel(f"Δ {m.short} ({m.diff_unit})")
    ax.set_title(f"{m.title}\n{_trend_text(dose, metric)}", fontsize=9)


def _trend_text(dose: DoseResponse, metric: str) -> str:
    row = dose.trend[dose.trend["metric"] == metric]
    if row.empty or not math.isfinite(row["rho"].iloc[0]):
        return "no trend: the measure does not vary"
    r = row.iloc[0]
    if not math.isfinite(r["ci_low"]):
        return f"ρ {r['rho']:+.2f} ({r['reading']})"
    return f"ρ {r['rho']:+.2f} [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}]: {r['reading']}"
