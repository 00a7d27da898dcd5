"""The shift figures, drawn by `plot` only for experiments whose runs ran the shift evaluation (`run --shift`).

- `shift_per_corruption`: each arm minus the baseline in accuracy on each corruption type (mean over
  its severities), paired by seed, with 95% t intervals; arms side by side within each type.
- `shift_severity`: each arm's accuracy against corruption severity, severity 0 being the clean test set.
- `shift_epsilon`: each arm's accuracy against the attack budget epsilon: FGSM as a line from the clean
  test set (epsilon 0), PGD-10 as a hollow square at its epsilon.

Every arm keeps its colour of every other figure. The numbers come from `analysis.shift.ShiftFacts`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from mixup_bench.figures.panels import PlotData, arm_handles, experiment_title
from mixup_bench.figures.style import legend_right, no_data, styled

NAMES = ("shift_per_corruption", "shift_severity", "shift_epsilon")
PGD_SHIFT = 0.15  # PGD's squares sit right of FGSM's points at the same epsilon, so neither hides the other


def _arm_rows(table: pd.DataFrame, arm: tuple[str, float]) -> pd.DataFrame:
    return table[(table["method"] == arm[0]) & (table["alpha"] == float(arm[1]))]


def _errorbars(ax, x, rows: pd.DataFrame, color: str, marker: str = "o", **kw) -> None:
    """Means (in percent) with their 95% intervals as error bars; a hollow marker where there is no interval."""
    mean, lo, hi = (100 * rows[c].to_numpy(dtype=float) for c in ("mean", "ci_low", "ci_high"))
    has = np.isfinite(lo) & np.isfinite(hi)
    x = np.asarray(x, dtype=float)
    if has.any():
        ax.errorbar(x[has], mean[has], yerr=[mean[has] - lo[has], hi[has] - mean[has]], fmt=marker, ms=6,
                    color=color, capsize=3, lw=1.5, zorder=3, **kw)  # fmt: skip
    if (~has).any():
        ax.plot(x[~has], mean[~has], marker, ms=6, mfc="white", mec=color, mew=1.5, ls="", zorder=3)


def _interval_handles(tables: list[pd.DataFrame]) -> list:
    handles = [Line2D([], [], color="0.3", marker="o", ms=6, lw=1.5, label="mean over seeds, 95% t interval")]
    if any(len(t) and bool((t["n"] < 2).any()) for t in tables):
        handles.append(Line2D([], [], color="0.3", marker="o", mfc="white", ls="", label="one seed: no interval"))
    return handles


@styled
def figure_per_corruption(data: PlotData) -> Figure:
    """Arm − baseline in accuracy per corruption type, paired by seed, arms side by side."""
    table = data.shift.per_type
    types = list(dict.fromkeys(table["type"]))
    arms = [arm for arm in data.arms if arm[0] != "baseline" and not _arm_rows(table, arm).empty]
    fig = Figure(figsize=(max(9.5, 0.85 * len(types) + 4), 5.4), layout="constrained")
    ax = fig.add_subplot()
    if not arms:
        no_data(ax, "No arm pairs with a baseline run that ran the shift evaluation.")
    width = 0.8 / max(len(arms), 1)
    for i, arm in enumerate(arms):
        rows = _arm_rows(table, arm).set_index("type").reindex(types)
        _errorbars(ax, np.arange(len(types)) - 0.4 + width * (i + 0.5), rows, data.color(*arm))
    if arms:
        ax.axhline(0, color="0.35", ls="--", lw=1.1, zorder=1)
        ax.set_xticks(range(len(types)), [t.replace("_", "\n") for t in types], fontsize=8)
        ax.set_xlim(-0.6, len(types) - 0.4)
        ax.grid(axis="x", visible=False)
    ax.set_xlabel(f"corruption ({data.shift.source}), accuracy averaged over severities 1–5")
    ax.set_ylabel("Δ accuracy vs baseline (pp)")
    ax.set_title(experiment_title(data, "Accuracy on corrupted test images: arm − baseline, paired by seed"))
    legend_right(fig, arm_handles(data, arms) + _interval_handles([table]))
    return fig


def _arm_axes(data: PlotData, table, empty: str):
    """(figure, axes, the arms with rows in `table`); the axes say `empty` when no arm has any."""
    arms = [arm for arm in data.arms if not _arm_rows(table, arm).empty]
    fig = Figure(figsize=(9.5, 5.2), layout="constrained")
    ax = fig.add_subplot()
    if not arms:
        no_data(ax, empty)
    return fig, ax, arms


@styled
def figure_severity(data: PlotData) -> Figure:
    """Accuracy against corruption severity per arm; severity 0 is the clean test set."""
    table = data.shift.severity
    fig, ax, arms = _arm_axes(data, table, "No run logged corruption accuracies (corruptions.csv).")
    for i, arm in enumerate(arms):
        rows = _arm_rows(table, arm).sort_values("severity")
        x = rows["severity"].to_numpy(dtype=float) + 0.06 * (i - (len(arms) - 1) / 2)  # side by side
        ax.plot(x, 100 * rows["mean"], color=data.color(*arm), lw=1.8, zorder=2)
        _errorbars(ax, x, rows, data.color(*arm))
    if arms:
        ax.set_xticks(range(6), ["clean", "1", "2", "3", "4", "5"])
    ax.set_xlabel(f"corruption severity ({data.shift.source}; every type averaged)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(experiment_title(data, "Accuracy against corruption severity"))
    legend_right(fig, arm_handles(data, arms) + _interval_handles([table]))
    return fig


@styled
def figure_epsilon(data: PlotData) -> Figure:
    """Accuracy against the attack's epsilon per arm: FGSM (a line from the clean test set) and PGD-10."""
    table = data.shift.attacks
    fig, ax, arms = _arm_axes(data, table, "No run logged attack accuracies.")
    for i, arm in enumerate(arms):
        rows, color = _arm_rows(table, arm), data.color(*arm)
        offset = 0.05 * (i - (len(arms) - 1) / 2)  # side by side
        fgsm = rows[rows["attack"] == "FGSM"].sort_values("eps")
        ax.plot(fgsm["eps"] + offset, 100 * fgsm["mean"], color=color, lw=1.8, zorder=2)
        _errorbars(ax, fgsm["eps"] + offset, fgsm, color)
        pgd = rows[rows["attack"] == "PGD-10"]
        _errorbars(ax, pgd["eps"] + offset + PGD_SHIFT, pgd, color, marker="s", mfc="white", mew=1.5)
    eps = sorted(set(table["eps"])) if arms else []
    ax.set_xticks(eps, ["clean" if e == 0 else f"{e:g}/255" for e in eps])
    ax.set_xlabel("attack budget ε (L∞, pixel scale; a fixed 2,000-image test subset, clean: the whole test set)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(experiment_title(data, "Accuracy under adversarial attack (fp32, eval mode)"))
    handles = [Line2D([], [], color="0.3", marker="o", lw=1.8, label="FGSM"),
               Line2D([], [], color="0.3", marker="s", mfc="white", ls="", label="PGD-10 (step ε/4)")]  # fmt: skip
    legend_right(fig, arm_handles(data, arms) + handles + _interval_handles([table])[1:])
    return fig


BUILDERS = dict(zip(NAMES, (figure_per_corruption, figure_severity, figure_epsilon), strict=True))
