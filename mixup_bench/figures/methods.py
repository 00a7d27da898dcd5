"""The methods figure: every arm side by side at the final epoch, drawn by `plot` only for experiments
that hold an arm other than the baseline and MixUp (CutMix, label smoothing, Manifold MixUp).

Four columns (test accuracy, test loss, generalisation gap, ECE). The top row gives each arm's final
value per seed (dots) and the mean over seeds (a bar); the bottom row gives each arm minus the baseline,
paired by seed, with its 95% t interval (a hollow marker when a single pair gives no interval). Every
arm is a column of its own, in its colour of every other figure. MixUp-only experiments do not get
this figure, so their plots stay what they were (`final_vs_alpha` shows them).
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from mixup_bench.figures.panels import PlotData, arm_handles, arm_tick
from mixup_bench.figures.style import fit_category_ticks, no_data, styled
from mixup_bench.metrics import GENERALISATION, METRICS

NAME = "methods"
NEWLINE = "\n"  # between the words of a tick (no backslash inside an f-string's braces before Python 3.12)

# One column per part of the claim about generalisation (test accuracy, test loss, gap, ECE).
PANELS = tuple(METRICS[m] for m in GENERALISATION)


@styled
def figure_methods(data: PlotData) -> Figure:
    """Final test accuracy, test loss, gap and ECE per arm (top) and each arm minus the baseline (bottom)."""
    # 16 inches hold eleven arms (their names turned upright); more arms widen the figure.
    fig = Figure(figsize=(max(16.0, 1.4 * len(data.arms)), 9), layout="constrained")
    axes = fig.subplots(2, len(PANELS), sharex=True)
    ticks = [_tick(data, m, a) for m, a in data.arms]
    for col, m in enumerate(PANELS):
        top, bottom = axes[0, col], axes[1, col]
        _draw_values(top, data, m.name, m.scale)
        top.set_title(f"{m.title} ({m.claim} is better)")
        top.set_ylabel(f"final {m.axis_label}")
        _draw_deltas(bottom, data, m.name, m.scale)
        bottom.set_title(f"Δ {m.short} vs baseline")
        bottom.set_ylabel(f"arm − baseline ({m.diff_unit})")
        bottom.set_xticks(range(len(ticks)), ticks, fontsize=8)
        bottom.set_xlim(-0.6, len(ticks) - 0.4)
        for ax in (top, bottom):
            ax.grid(axis="x", visible=False)
    fig.suptitle(
        f"Every arm at its final epoch — experiment: {data.name}\n"
        "top: each seed (dots) and the mean over seeds (bar); "
        "bottom: arm − baseline paired by seed, mean and 95% t interval"
    )
    handles = arm_handles(data) + _marker_handles(data)
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 6), frameon=False)
    fit_category_ticks(fig, axes[1], [_tick(data, m, a, one_line=True) for m, a in data.arms])
    return fig


def _tick(data: PlotData, method: str, alpha: float, one_line: bool = False) -> str:
    """The arm's name a word per line ('Manifold\\nMixUp\\nα=2', or on one line), with '*' when the arm holds
    a partial run; the baseline is marked as the reference of the lower panels."""
    partial = "*" if data.partial_runs(method, alpha) else ""
    if method == "baseline":
        return f"baseline{partial}{' ' if one_line else NEWLINE}(reference)"
    return arm_tick(method, alpha, one_line) + partial


def _draw_values(ax, data: PlotData, metric: str, scale: float) -> None:
    """Each arm's final value per seed (jittered dots) and their mean (a short bar)."""
    rng = np.random.default_rng(0)  # fixed jitter: the same figure every time
    for i, (m, a) in enumerate(data.arms):
        v = data.analysis.arm_finals(m, a)[metric].to_numpy(dtype=float) * scale
        color = data.color(m, a)
        ax.scatter(i + rng.uniform(-0.15, 0.15, len(v)), v, s=22, color=color, alpha=0.6, lw=0, zorder=3)
        if len(v):
            ax.hlines(float(np.nanmean(v)), i - 0.3, i + 0.3, color=color, lw=2.6, zorder=4)


def _draw_deltas(ax, data: PlotData, metric: str, scale: float) -> None:
    """Each arm minus the baseline, paired by seed: the mean with its 95% t interval, 0 marked."""
    paired = data.analysis.paired
    if not paired.has_reference:
        no_data(ax, "no baseline arm:\nno paired differences")
        return
    ax.axhline(0, color="0.35", ls="--", lw=1.1, zorder=1)
    for i, arm in enumerate(data.arms):
        iv = paired.get(arm, metric) if arm[0] != "baseline" else None
        if iv is None or not math.isfinite(iv.mean):
            continue
        color = data.color(*arm)
        mean = scale * iv.mean
        if math.isfinite(iv.low) and math.isfinite(iv.high):
            yerr = [[mean - scale * iv.low], [scale * iv.high - mean]]
            ax.errorbar(i, mean, yerr=yerr, fmt="o", ms=7, color=color, capsize=5, lw=1.8, zorder=3)
        else:
            ax.plot(i, mean, "o", ms=7, mfc="white", mec=color, mew=1.8, zorder=3)
    lo, hi = ax.get_ylim()
    pad = 0.08 * (hi - lo) if hi > lo else 1.0
    ax.set_ylim(min(lo, 0.0) - pad, max(hi, 0.0) + pad)


def _marker_handles(data: PlotData) -> list:
    handles = [
        Line2D([], [], color="0.3", marker="o", ms=5, alpha=0.6, ls="", label="one seed (top)"),
        Line2D([], [], color="0.3", lw=2.6, label="mean over seeds (top)"),
        Line2D([], [], color="0.3", marker="o", ms=7, lw=1.8, label="paired Δ, 95% t interval\n(bottom)"),
        Line2D([], [], color="0.35", ls="--", lw=1.1, label="no difference\nfrom the baseline"),
    ]
    s = data.analysis.paired.summary
    if len(s) and bool((s["n"] < 2).any()):
        handles.append(Line2D([], [], color="0.3", marker="o", ms=7, mfc="white", ls="", label="one pair: no interval"))
    if (~data.df["done"]).any():
        handles.append(Line2D([], [], ls="", label="* holds a partial run\n(taken at its last epoch)"))
    return handles
