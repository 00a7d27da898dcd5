"""Figures of one experiment, written as PNG (150 dpi) and SVG into `<experiment>/plots/`.

`plot_experiment` draws every figure of `FIGURES` (and of `OPTIONAL_FIGURES`, where the experiment holds
their data) from the `report.Report` of `plot`; each `figure_*` builds one `Figure` from a `panels.PlotData`
(the numbers in memory, never read from files here), from the panels of `panels`, in the style of `style`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from mixup_bench.analysis.report import Report
from mixup_bench.figures import dose_response, memorisation, methods, shift
from mixup_bench.figures.panels import (
    MIN_BIN_COUNT,
    PlotData,
    arm_handles,
    arm_lam,
    beta_pdf,
    curve,
    draw_final,
    draw_gap,
    draw_lambda_overlay,
    draw_losses,
    draw_mixed_vs_clean,
    draw_reliability,
    draw_test_acc,
    experiment_title,
    lam_hist,
    lam_ylim,
    style_handles,
)
from mixup_bench.figures.style import (
    CLEAN_LS,
    FORMATS,
    MIXED_LS,
    TEST_LS,
    epoch_axis,
    fit_category_ticks,
    legend_in_columns,
    legend_right,
    no_data,
    save_figure,
    styled,
)
from mixup_bench.methods import lam_shape
from mixup_bench.metrics import FINAL, METRICS, M
from mixup_bench.naming import arm_label, format_alpha, plural

PLOTS_DIR = "plots"


def plot_experiment(report: Report | PlotData, out_dir: Path, formats=FORMATS) -> list[Path]:
    """Draw every figure of `FIGURES` from `report` (or its `PlotData`), and each of `OPTIONAL_FIGURES`
    whose data the experiment holds, into `out_dir` (`<experiment>/plots` for `plot`), once per format
    (PNG at 150 dpi and SVG by default), and return the written paths."""
    data = report if isinstance(report, PlotData) else PlotData.of(report)
    out_dir = Path(out_dir)
    written: list[Path] = []
    for name in FIGURES:
        written += save_figure(_BUILDERS[name](data), out_dir, name, formats)
    for name, (holds, build) in OPTIONAL_FIGURES.items():  # drawn only when the experiment holds their data
        if getattr(data, holds):
            written += save_figure(build(data), out_dir, name, formats)
    return written


# --- the figures ----------------------------------------------------------------------


def _one_panel_figure(data: PlotData, height: float, draw, title: str, styles) -> Figure:
    """A single epoch-axis panel with the arms and line styles in a legend on the right."""
    fig = Figure(figsize=(9.5, height), layout="constrained")
    ax = fig.add_subplot()
    draw(ax, data)
    ax.set_title(experiment_title(data, title))
    legend_right(fig, arm_handles(data) + style_handles(styles, data))
    return fig


LOSS_STYLES = ((CLEAN_LS, "clean train loss (eval mode, unmixed)"), (TEST_LS, "test loss"))


@styled
def figure_loss_curves(data: PlotData) -> Figure:
    """Clean train loss (solid) and test loss (dashed) per epoch, every arm: the figure of the claim."""
    return _one_panel_figure(data, 5.2, draw_losses, "Clean train loss (solid) and test loss (dashed)", LOSS_STYLES)


@styled
def figure_mixed_vs_clean(data: PlotData) -> Figure:
    """The training objective on mixed batches (dotted) next to the clean train loss (solid)."""
    styles = (
        (MIXED_LS, "objective on the training batches\n(mixed for MixUp; train mode)"),
        (CLEAN_LS, "clean train loss (eval mode, unmixed)"),
    )
    title = "Training objective on mixed batches (dotted) vs clean train loss (solid)"
    return _one_panel_figure(data, 5.2, draw_mixed_vs_clean, title, styles)


@styled
def figure_generalization_gap(data: PlotData) -> Figure:
    """Test loss minus clean train loss per epoch: how far the test loss is above the train loss."""
    title = "Generalisation gap: test loss − clean train loss (smaller is better)"
    return _one_panel_figure(data, 5.0, draw_gap, title, ())


@styled
def figure_accuracy_curves(data: PlotData) -> Figure:
    """Test accuracy (left, dashed) and clean train accuracy (right, solid) per epoch."""
    fig = Figure(figsize=(12.5, 4.8), layout="constrained")
    ax_test, ax_train = fig.subplots(1, 2)
    draw_test_acc(ax_test, data)
    ax_test.set_title("Test accuracy")
    for m, a in data.arms:
        curve(ax_train, data, m, a, M.clean_train_acc.name, CLEAN_LS)
    epoch_axis(ax_train)
    ax_train.set_ylabel(M.clean_train_acc.axis_label)
    ax_train.set_title("Clean train accuracy (eval mode, unmixed)")
    fig.suptitle(f"Accuracy per epoch — experiment: {data.name}")
    styles = ((TEST_LS, "test accuracy"), (CLEAN_LS, "clean train accuracy"))
    legend_right(fig, arm_handles(data) + style_handles(styles, data))
    return fig


@styled
def figure_final_vs_alpha(data: PlotData) -> Figure:
    """Final test accuracy, test loss and clean train loss against alpha (alpha=0 is the baseline)."""
    fig = Figure(figsize=(13, 4.8), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, name in zip(axes, FINAL, strict=True):
        m = METRICS[name]
        one_line = draw_final(ax, data, name)
        ax.set_ylabel(f"final {m.axis_label}")
        better = f"{m.claim} is better" if name != M.clean_train_loss.name else f"MixUp claim: {m.claim}"
        ax.set_title(f"{m.title} ({better})")
    against = "against MixUp α" if data.mixup_only else "per arm"
    fig.suptitle(f"Final values {against} — experiment: {data.name}")
    handles = [
        Line2D([], [], color="0.3", marker="o", ms=7, ls="", label="mean over seeds\n(error bar: ±1 std)"),
        Line2D([], [], color="0.3", marker="o", ms=4, alpha=0.45, ls="", label="one seed"),
    ]
    if (~data.df["done"]).any():
        handles.append(Line2D([], [], ls="", label="* holds a partial run\n(taken at its last epoch)"))
    legend_right(fig, handles)
    fit_category_ticks(fig, axes, one_line)
    return fig


@styled
def figure_lambda_distribution(data: PlotData) -> Figure:
    """One panel per arm that draws lam (MixUp, CutMix, Manifold MixUp): the Beta(alpha, alpha) density
    and a histogram of the lam sampled."""
    arms = data.lam_arms
    ncols = min(max(len(arms), 1), 3)
    nrows = max(1, math.ceil(len(arms) / 3))
    fig = Figure(figsize=(4.4 * ncols + 0.5, 3.6 * nrows + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    if not arms:
        no_data(axes[0], _NO_LAM if data.mixup_only else "No arm mixes images, so no arm draws a λ.")
    for ax, arm in zip(axes, arms, strict=False):  # spare axes are hidden below
        _lambda_panel(ax, data, arm)
    for ax in axes[len(arms) or 1 :]:
        ax.set_visible(False)
    if data.mixup_only:
        fig.suptitle(f"Mixing weight λ ~ Beta(α, α) — experiment: {data.name}  (the baseline uses λ = 1)")
    else:
        fig.suptitle(f"Mixing weight λ of the arms that mix — experiment: {data.name}  (the others draw no λ)")
    return fig


_NO_LAM = "No MixUp arm: the baseline always uses λ = 1 (no mixing)."


def _lambda_panel(ax, data: PlotData, arm: tuple[str, float]) -> None:
    """One arm's panel: the Beta(alpha, alpha) density its lam is drawn from and the histogram of lam.csv.
    CutMix logs the kept area of its box, which clipping at the border makes larger than the draw."""
    a = arm[1]
    beta, area = lam_shape(arm[0])  # from the registry: is lam Beta-drawn, and is the kept area logged
    color = data.color(*arm)
    n, hist_top = lam_hist(ax, data, arm, color)
    if beta:
        x, y = beta_pdf(a)
        ax.plot(x, y, color=color, lw=2)
    lam_ylim(ax, [a] if beta else [], hist_top)
    ax.set_xlim(0, 1)
    ax.set_xlabel("λ (weight of the first image)" if not area else "λ (area kept of the first image)")
    ax.set_ylabel("probability density")
    ax.set_title(arm_label(*arm, greek=True))
    seeds = arm_lam(data, arm)["seed"].nunique() if n else 0
    drawn = " (drawn)" if area else ""
    label = f"Beta({format_alpha(a)}, {format_alpha(a)}){drawn}"
    handles = [Line2D([], [], color=color, lw=2, label=label)] if beta else []
    logged = "kept area after clipping" if area else "sampled λ"
    handles.append(
        Patch(facecolor=color, alpha=0.35, label=f"{logged}: {n:,} values, {plural(seeds, 'seed')}")
        if n
        else Patch(facecolor="none", edgecolor="none", label="no lam.csv: samples not logged")
    )
    ax.legend(handles=handles, loc="upper center", frameon=True, framealpha=0.9)


@styled
def figure_calibration(data: PlotData) -> Figure:
    """Reliability diagram of the latest test evaluation of each arm, with the share of predictions per bin."""
    fig = Figure(figsize=(9.5, 7.2), layout="constrained")
    ax, ax_share = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.1]})
    handles = draw_reliability(ax, data)
    ax.set_title(experiment_title(data, "Reliability diagram of the latest test evaluation"))
    for r in data.reliability:
        centers = 100 * (r.bin_lower + r.bin_upper) / 2
        share = 100 * r.count / max(r.count.sum(), 1)
        color = data.color(r.method, r.alpha)
        ax_share.step(centers, np.where(share > 0, share, np.nan), where="mid", color=color, lw=1.5)
    if data.reliability:
        ax_share.set_yscale("log")
    ax_share.set_ylabel("predictions\nin bin (%, log)")
    ax_share.set_xlabel("confidence = highest softmax probability (%)")
    handles.append(
        Line2D([], [], ls="", label=f"bins pooled over seeds;\nbins with < {MIN_BIN_COUNT} predictions not drawn")
    )
    legend_right(fig, handles)
    return fig


@styled
def figure_dashboard(data: PlotData) -> Figure:
    """A 2x3 overview for a README or a slide."""
    fig = Figure(figsize=(17, 9.8), layout="constrained")
    axes = fig.subplots(2, 3)
    draw_losses(axes[0, 0], data)
    axes[0, 0].set_title("Clean train loss (solid) and test loss (dashed)")
    draw_gap(axes[0, 1], data)
    axes[0, 1].set_title("Gap: test loss − clean train loss")
    draw_test_acc(axes[0, 2], data)
    axes[0, 2].set_title("Test accuracy")
    one_line = draw_final(axes[1, 0], data, M.test_acc.name)
    axes[1, 0].set_ylabel(f"final {M.test_acc.axis_label}")
    axes[1, 0].set_title("Final test accuracy (mean ± std, dots: seeds)")
    rel_handles = draw_reliability(axes[1, 1], data, short=True)
    axes[1, 1].set_xlabel("confidence (%)")
    axes[1, 1].set_title("Reliability (latest test evaluation)")
    if rel_handles[1:]:
        axes[1, 1].legend(handles=rel_handles[1:], loc="upper left", fontsize=8, frameon=True, framealpha=0.9)
    draw_lambda_overlay(axes[1, 2], data)
    axes[1, 2].set_title("λ ~ Beta(α, α): density (line), sampled (steps)")
    n_seeds = data.df["seed"].nunique()
    epochs = int(data.df["epoch"].max())
    fig.suptitle(
        f"MixUp benchmark — experiment: {data.name} ({plural(n_seeds, 'seed')}, up to {plural(epochs, 'epoch')})"
    )
    handles = arm_handles(data) + style_handles(((CLEAN_LS, "clean train"), (TEST_LS, "test")), data)
    legend_in_columns(fig, handles, min(len(handles), 8), loc="outside lower center", frameon=False)
    fit_category_ticks(fig, [axes[1, 0]], one_line)
    return fig


_BUILDERS = {
    "loss_curves": figure_loss_curves,
    "mixed_vs_clean_train_loss": figure_mixed_vs_clean,
    "accuracy_curves": figure_accuracy_curves,
    "generalization_gap": figure_generalization_gap,
    "final_vs_alpha": figure_final_vs_alpha,
    "lambda_distribution": figure_lambda_distribution,
    "calibration": figure_calibration,
    "dashboard": figure_dashboard,
}

# The figures of every experiment, in the order they are drawn and linked from summary.md.
FIGURES = tuple(_BUILDERS)

# name -> (the `PlotData` flag that says the experiment holds its data, builder): figures of some experiments only.
OPTIONAL_FIGURES = {
    methods.NAME: ("has_other_arms", methods.figure_methods),  # arms other than MixUp
    memorisation.NAME: ("memorised", memorisation.figure_memorisation),  # --label-noise
    **{name: ("has_shift", build) for name, build in shift.BUILDERS.items()},  # --shift
    dose_response.NAME: ("has_dose", dose_response.figure_dose_response),  # 3 MixUp alphas or more
}
