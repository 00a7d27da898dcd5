"""The regime map of `mixup-bench compare`: what each arm changes against the setting the experiments differ in.

Four panels (Δ test accuracy, Δ test loss, Δ gap, Δ ECE), each arm (MixUp, CutMix, label smoothing,
Manifold MixUp) minus the baseline paired by seed at the final epoch, with its 95% t interval as an
error bar, against the setting's value: a log axis for the training-set size, a categorical axis (in
increasing order) for anything else. Each arm keeps the colour it has in every other figure
(`style.arm_colors`); a dashed line marks no difference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import NullLocator

from mixup_bench.figures.style import FORMATS, arm_colors, save_figure, styled
from mixup_bench.naming import arm_label, arms

# `result` below is an analysis.compare.CompareResult; figures never import analysis.compare (no cycle).
CompareResult = Any


def draw_regime_map(result: CompareResult, out_dir: Path, stem: str, formats=FORMATS) -> list[Path]:
    """Write `<out_dir>/<stem>.<fmt>` for each format; return the paths."""
    return save_figure(figure_regime_map(result), out_dir, stem, formats)


def _log_axis(result: CompareResult) -> bool:
    values = [e.settings[result.setting] for e in result.experiments]
    return (
        result.setting == "subset"
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in values)
        and len(values) > 1
    )


@styled
def figure_regime_map(result: CompareResult) -> Figure:
    """The 2x2 regime map of `result` (from `compare.compare_experiments`)."""
    table = result.table
    colors = arm_colors({arm for e in result.experiments for arm in e.arms})
    drawn = arms(table) if not table.empty else []
    log = _log_axis(result)
    ticks = [e.settings[result.setting] for e in result.experiments] if log else list(range(len(result.experiments)))
    position = {e.name: x for e, x in zip(result.experiments, ticks, strict=True)}
    labels = [result.value_label(e) for e in result.experiments]
    # Arms side by side around each value: a few percent of a decade on the log axis, of a slot otherwise.
    spread = 0.035 if log else 0.09
    offsets = {arm: (i - (len(drawn) - 1) / 2) * spread for i, arm in enumerate(drawn)}

    fig = Figure(figsize=(12.5, 8.6), layout="constrained")
    axes = fig.subplots(2, 2, sharex=True).ravel()
    for ax, m in zip(axes, result.metrics, strict=True):
        ax.axhline(0, color="0.35", ls="--", lw=1.1, zorder=1)
        for arm in drawn:
            rows = table[(table["method"] == arm[0]) & (table["alpha"] == arm[1])]
            shift = offsets[arm]
            xs = [position[n] * 10**shift if log else position[n] + shift for n in rows["experiment"]]
            _draw_arm(ax, np.asarray(xs, float), rows, m.delta_column, colors.get(arm, "#777777"))
        ax.set_title(f"Δ {m.label} (MixUp claim: {m.claim})")
        ax.set_ylabel(f"Δ {m.short} ({m.diff_unit})")
        _pad_y_around_zero(ax)
    for ax in axes:
        if log:
            ax.set_xscale("log")
            ax.set_xlim(min(ticks) / 1.6, max(ticks) * 1.6)
        else:
            ax.set_xlim(-0.5, len(ticks) - 0.5)
            ax.grid(axis="x", visible=False)
        ax.set_xticks(ticks, labels)
        ax.xaxis.set_minor_locator(NullLocator())
        ax.tick_params(axis="x", labelbottom=True)
    xlabel = result.setting_label
    if log:
        xlabel = xlabel[:-1] + ", log scale)" if xlabel.endswith(")") else xlabel + " (log scale)"
    for ax in axes[2:]:
        ax.set_xlabel(xlabel)

    what = "MixUp" if result.mixup_only else "each arm"
    title = f"What {what} changes against {result.setting_label}"
    if result.dataset:  # the one data set of every experiment, as `plot`'s titles name it
        title += f" — data set: {result.dataset}"
    sub = f"{'MixUp' if result.mixup_only else 'arm'} − baseline, paired by seed, at the final epoch; "
    sub += "error bars: 95% t interval over paired seeds"
    if result.also_differ:
        sub += f"\nconfounded with: {', '.join(result.also_differ)} (also differ between these experiments)"
    fig.suptitle(f"{title}\n{sub}")
    fig.legend(handles=_handles(drawn, colors, table), loc="outside right upper", frameon=False)
    fit_tick_labels(fig, axes, ticks, labels)
    return fig


TICK_GAP_PX = 4  # the least room between two level tick labels


def fit_tick_labels(fig: Figure, axes, ticks: list, labels: list[str]) -> None:
    """Keep the value labels apart however many experiments there are (20 would overlap): level when they
    fit side by side; else at 45 degrees, which needs only the text's height between neighbouring ticks
    (parallel lines: gap x sin 45 >= height); else every k-th label at 45 degrees. Measured on the laid-out
    figure, so it holds for any label text, font and axis (the log axis of `subset` too)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if len(ticks) < 2:
        return
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw_without_rendering()  # the constrained layout gives the axes their final width
    ax = axes[-1]
    x = np.sort(ax.transData.transform(np.column_stack([ticks, np.zeros(len(ticks))]))[:, 0])
    boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels()]
    widths, height, gaps = [b.width for b in boxes], max(b.height for b in boxes), np.diff(x)
    if all(g >= (a + b) / 2 + TICK_GAP_PX for g, a, b in zip(gaps, widths, widths[1:], strict=False)):
        return
    step = max(1, int(np.ceil(1.5 * height / max(gaps.min(), 1e-9))))
    for a in axes:
        a.set_xticks(ticks, [text if i % step == 0 else "" for i, text in enumerate(labels)])
        for text in a.get_xticklabels():
            text.set(rotation=45, horizontalalignment="right", rotation_mode="anchor")


def _draw_arm(ax, xs: np.ndarray, rows, stem: str, color: str) -> None:
    """One arm: its Δ at each value with the interval as an error bar, joined by a faint line;
    a hollow marker where a single pair gives no interval."""
    mean = rows[stem].to_numpy(float)
    lo, hi = rows[f"{stem}_ci_low"].to_numpy(float), rows[f"{stem}_ci_high"].to_numpy(float)
    has_ci = np.isfinite(lo) & np.isfinite(hi)
    if len(xs) > 1:
        ax.plot(xs, mean, color=color, lw=1.2, alpha=0.55, zorder=2)
    if has_ci.any():
        yerr = np.vstack([mean - lo, hi - mean])[:, has_ci]
        ax.errorbar(xs[has_ci], mean[has_ci], yerr=yerr, fmt="o", ms=7, color=color, capsize=5, lw=1.8, zorder=3)
    if (~has_ci).any():
        ax.plot(xs[~has_ci], mean[~has_ci], "o", ms=7, mfc="white", mec=color, mew=1.8, zorder=3)


def _pad_y_around_zero(ax) -> None:
    """Keep the zero line inside the panel with some room above and below it."""
    lo, hi = ax.get_ylim()
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    pad = 0.06 * (hi - lo) if hi > lo else 1.0
    ax.set_ylim(lo - pad, hi + pad)


def _handles(drawn, colors, table) -> list:
    handles = [
        Line2D([], [], color=colors.get(arm, "#777777"), marker="o", ms=7, lw=1.8, label=arm_label(*arm, greek=True))
        for arm in drawn
    ]
    handles.append(Line2D([], [], color="0.35", ls="--", lw=1.1, label="no difference\nfrom the baseline"))
    handles.append(Line2D([], [], color="0.3", marker="o", ms=7, lw=1.8, label="mean, 95% t interval"))
    single = table[[c for c in table.columns if c.endswith("_ci_low")]].isna().all(axis=1)
    if bool(single.any()):
        handles.append(Line2D([], [], color="0.3", marker="o", ms=7, mfc="white", ls="", label="one pair: no interval"))
    return handles
