"""Figures of one experiment, written as PNG (150 dpi) and SVG into `<experiment>/plots/`.

Every figure uses one colour per arm for the whole experiment: the baseline is black and
each MixUp alpha takes a colour of the Okabe-Ito palette (safe for colour-blind readers) by
its rank among all alphas the experiment holds, so alpha 0.4 has the same colour in every
figure and in every `plot` of the same experiment. Line styles carry the other dimension:
solid = clean train (eval mode, unmixed images), dashed = test, dotted = the objective on
mixed batches. With several seeds a curve is the mean over seeds, with a shaded +-1 std band.

Figures are built on `matplotlib.figure.Figure` objects with the Agg canvas and never touch
pyplot, so drawing needs no display and leaves no global state behind.
"""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator
from scipy import stats as sps

from mixup_bench import results, stats

PLOTS_DIR = "plots"
DPI = 150
FORMATS = ("png", "svg")

BASELINE_COLOR = "#000000"
# Okabe & Ito (2008), without black (the baseline); yellow last, as it is faint on white.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442")

CLEAN_LS = "-"  # clean train metrics (eval mode, unmixed images)
TEST_LS = "--"  # test metrics
MIXED_LS = ":"  # the training objective on mixed batches

FIGURES = (
    "loss_curves",
    "mixed_vs_clean_train_loss",
    "accuracy_curves",
    "generalization_gap",
    "final_vs_alpha",
    "lambda_distribution",
    "calibration",
    "dashboard",
)

RC = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "figure.titlesize": 12,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "mixup-bench",  # stable SVG ids, so that unchanged figures give unchanged files
    "savefig.facecolor": "white",
}


def alpha_colors(alphas) -> dict[float, str]:
    """Map every alpha to a colour: 0 (baseline) -> black, the others by increasing value to Okabe-Ito.

    With more MixUp alphas than palette colours, they are spread over the viridis map instead.
    """
    positive = sorted({float(a) for a in alphas if float(a) > 0})
    colors = {0.0: BASELINE_COLOR}
    if len(positive) <= len(OKABE_ITO):
        colors.update({a: OKABE_ITO[i] for i, a in enumerate(positive)})
    else:
        cmap = matplotlib.colormaps["viridis"]
        colors.update(
            {a: matplotlib.colors.to_hex(cmap(0.9 * i / (len(positive) - 1))) for i, a in enumerate(positive)}
        )
    return colors


@dataclass
class PlotData:
    """Everything the figures draw, read once."""

    name: str
    df: pd.DataFrame
    agg: pd.DataFrame
    arms: list[tuple[str, float]]
    colors: dict[float, str]
    lam: pd.DataFrame
    reliability: list[stats.Reliability]

    def color(self, alpha: float) -> str:
        return self.colors.get(float(alpha), "#777777")

    def seeds(self, method: str, alpha: float) -> int:
        sel = self.df[(self.df["method"] == method) & (self.df["alpha"] == alpha)]
        return int(sel["run_id"].nunique())

    def partial_runs(self, method: str, alpha: float) -> int:
        sel = self.df[(self.df["method"] == method) & (self.df["alpha"] == alpha)]
        return int((~sel.groupby("run_id")["done"].first()).sum())

    def label(self, method: str, alpha: float) -> str:
        """Legend text of an arm: name, seeds, and how many runs are partial."""
        n, p = self.seeds(method, alpha), self.partial_runs(method, alpha)
        text = f"{stats.arm_label(method, alpha, greek=True)} ({n} seed{'s' if n != 1 else ''}"
        return text + (f", {p} partial)" if p else ")")

    @property
    def multi_seed(self) -> bool:
        return bool((self.agg["n"] > 1).any())

    @property
    def mixup_alphas(self) -> list[float]:
        return [a for m, a in self.arms if m == "mixup"]


def plot_data(
    exp_dir: Path,
    df: pd.DataFrame,
    agg: pd.DataFrame | None = None,
    lam: pd.DataFrame | None = None,
    reliability: list[stats.Reliability] | None = None,
) -> PlotData:
    """Collect what the figures need; lam and calibration files are read when not given."""
    exp_dir = Path(exp_dir)
    if lam is None:
        lam, _ = stats.load_lam(exp_dir, df)
    if reliability is None:
        reliability, _ = stats.load_calibration(exp_dir, df)
    return PlotData(
        name=exp_dir.name,
        df=df,
        agg=stats.aggregate(df) if agg is None else agg,
        arms=stats.arms(df),
        colors=alpha_colors(stats.experiment_alphas(exp_dir, df) + [0.0]),
        lam=lam,
        reliability=reliability,
    )


def plot_experiment(
    exp_dir: Path,
    df: pd.DataFrame,
    out_dir: Path | None = None,
    agg: pd.DataFrame | None = None,
    lam: pd.DataFrame | None = None,
    reliability: list[stats.Reliability] | None = None,
    formats=FORMATS,
) -> list[Path]:
    """Draw every figure of `FIGURES` for the experiment in `exp_dir` (rows `df` from
    `stats.load_experiment`) into `out_dir` (default `<exp_dir>/plots`), once per format
    (PNG at 150 dpi and SVG by default), and return the written paths.

    `agg`, `lam` and `reliability` are computed or read from `exp_dir` when not given.
    """
    exp_dir = Path(exp_dir)
    out_dir = Path(out_dir) if out_dir is not None else exp_dir / PLOTS_DIR
    data = plot_data(exp_dir, df, agg=agg, lam=lam, reliability=reliability)
    written: list[Path] = []
    for name in FIGURES:
        written += save_figure(_BUILDERS[name](data), out_dir, name, formats)
    return written


def save_figure(fig: Figure, out_dir: Path, stem: str, formats=FORMATS) -> list[Path]:
    """Write `fig` as `<out_dir>/<stem>.<fmt>` for each format, atomically; return the paths."""
    with matplotlib.rc_context(RC):
        paths = [_save_one(fig, Path(out_dir) / f"{stem}.{fmt}", fmt) for fmt in formats]
    return paths


def _save_one(fig: Figure, path: Path, fmt: str) -> Path:
    buf = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    fig.savefig(buf, format=fmt, dpi=DPI, metadata=metadata)
    results.atomic_write_bytes(path, buf.getvalue())
    return path


# --- drawing helpers ------------------------------------------------------------------


def _styled(builder):
    """Build the figure under the house style `RC`, whoever calls the builder."""

    @functools.wraps(builder)
    def wrapper(data: PlotData) -> Figure:
        with matplotlib.rc_context(RC):
            return builder(data)

    return wrapper


def _curve(ax, data: PlotData, method: str, alpha: float, metric: str, ls: str, scale: float = 1.0, lw: float = 1.8):
    """Mean over seeds of one metric of one arm, with a +-1 std band when several seeds exist."""
    a = data.agg
    sel = a[(a["method"] == method) & (a["alpha"] == alpha) & (a["metric"] == metric)].sort_values("epoch")
    if sel.empty:
        return
    x = sel["epoch"].to_numpy()
    y = sel["mean"].to_numpy() * scale
    s = sel["std"].to_numpy() * scale
    color = data.color(alpha)
    ax.plot(x, y, ls=ls, color=color, lw=lw, marker="o" if len(x) < 4 else None, ms=4)
    if (sel["n"] > 1).any():
        ax.fill_between(x, y - s, y + s, color=color, alpha=0.15, lw=0)


def _epoch_axis(ax) -> None:
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    lo, hi = ax.get_xlim()
    if hi - lo < 2:  # one or two epochs: keep whole-number ticks around them
        mid = (lo + hi) / 2
        ax.set_xlim(mid - 1, mid + 1)


def _arm_handles(data: PlotData, arms=None) -> list:
    return [
        Line2D([], [], color=data.color(a), lw=2.2, label=data.label(m, a))
        for m, a in (data.arms if arms is None else arms)
    ]


def _style_handles(styles, data: PlotData) -> list:
    handles = [Line2D([], [], color="0.35", ls=ls, lw=1.8, label=label) for ls, label in styles]
    if data.multi_seed:
        handles.append(Patch(facecolor="0.5", alpha=0.3, label="shaded: ±1 std over seeds"))
    return handles


def _legend_right(fig: Figure, handles: list) -> None:
    fig.legend(handles=handles, loc="outside right upper", frameon=False)


def _no_data(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4", wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def _title(data: PlotData, text: str) -> str:
    return f"{text}\nexperiment: {data.name}"


# --- the figures ----------------------------------------------------------------------


def _draw_losses(ax, data: PlotData) -> None:
    for m, a in data.arms:
        _curve(ax, data, m, a, "clean_train_loss", CLEAN_LS)
        _curve(ax, data, m, a, "test_loss", TEST_LS)
    _epoch_axis(ax)
    ax.set_ylabel("cross-entropy loss (nats)")
    ax.set_ylim(bottom=0)


LOSS_STYLES = ((CLEAN_LS, "clean train loss (eval mode, unmixed)"), (TEST_LS, "test loss"))


@_styled
def figure_loss_curves(data: PlotData) -> Figure:
    """Clean train loss (solid) and test loss (dashed) per epoch, every arm: the figure of the claim."""
    fig = Figure(figsize=(9.5, 5.2), layout="constrained")
    ax = fig.add_subplot()
    _draw_losses(ax, data)
    ax.set_title(_title(data, "Clean train loss (solid) and test loss (dashed)"))
    _legend_right(fig, _arm_handles(data) + _style_handles(LOSS_STYLES, data))
    return fig


@_styled
def figure_mixed_vs_clean(data: PlotData) -> Figure:
    """The training objective on mixed batches (dotted) next to the clean train loss (solid)."""
    fig = Figure(figsize=(9.5, 5.2), layout="constrained")
    ax = fig.add_subplot()
    for m, a in data.arms:
        _curve(ax, data, m, a, "train_loss", MIXED_LS, lw=2.2)
        _curve(ax, data, m, a, "clean_train_loss", CLEAN_LS)
    _epoch_axis(ax)
    ax.set_ylabel("cross-entropy loss (nats)")
    ax.set_ylim(bottom=0)
    ax.set_title(_title(data, "Training objective on mixed batches (dotted) vs clean train loss (solid)"))
    styles = (
        (MIXED_LS, "objective on the training batches\n(mixed for MixUp; train mode)"),
        (CLEAN_LS, "clean train loss (eval mode, unmixed)"),
    )
    _legend_right(fig, _arm_handles(data) + _style_handles(styles, data))
    return fig


def _draw_test_acc(ax, data: PlotData, zoom: bool = True) -> None:
    for m, a in data.arms:
        _curve(ax, data, m, a, "test_acc", TEST_LS, scale=100)
    _epoch_axis(ax)
    ax.set_ylabel("test accuracy (%)")
    if zoom:
        _zoom_last_epochs(ax, data, "test_acc", TEST_LS, scale=100)


def _zoom_last_epochs(ax, data: PlotData, metric: str, ls: str, scale: float = 1.0) -> None:
    """An inset (lower right) magnifying the last 40% of epochs, where arms differ by a point or less."""
    a = data.agg[data.agg["metric"] == metric]
    last = int(a["epoch"].max()) if not a.empty else 0
    if last < 6:
        return
    first = int(math.floor(0.6 * last))
    tail = a[a["epoch"] >= first]
    lo = np.nanmin((tail["mean"] - tail["std"].fillna(0)).to_numpy()) * scale
    hi = np.nanmax((tail["mean"] + tail["std"].fillna(0)).to_numpy()) * scale
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return
    pad = max(0.08 * (hi - lo), 1e-3)
    inset = ax.inset_axes([0.42, 0.06, 0.55, 0.5])
    for m, al in data.arms:
        _curve(inset, data, m, al, metric, ls, scale=scale, lw=1.5)
    inset.set_xlim(first - 0.3, last + 0.3)
    inset.set_ylim(lo - pad, hi + pad)
    inset.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    inset.tick_params(labelsize=8)
    inset.set_title(f"zoom: epochs {first}–{last}", fontsize=8, pad=3)
    inset.set_facecolor("white")
    ax.indicate_inset_zoom(inset, edgecolor="0.5")


@_styled
def figure_accuracy_curves(data: PlotData) -> Figure:
    """Test accuracy (left, dashed) and clean train accuracy (right, solid) per epoch."""
    fig = Figure(figsize=(12.5, 4.8), layout="constrained")
    ax_test, ax_train = fig.subplots(1, 2)
    _draw_test_acc(ax_test, data)
    ax_test.set_title("Test accuracy")
    for m, a in data.arms:
        _curve(ax_train, data, m, a, "clean_train_acc", CLEAN_LS, scale=100)
    _epoch_axis(ax_train)
    ax_train.set_ylabel("clean train accuracy (%)")
    ax_train.set_title("Clean train accuracy (eval mode, unmixed)")
    fig.suptitle(f"Accuracy per epoch — experiment: {data.name}")
    styles = ((TEST_LS, "test accuracy"), (CLEAN_LS, "clean train accuracy"))
    _legend_right(fig, _arm_handles(data) + _style_handles(styles, data))
    return fig


def _draw_gap(ax, data: PlotData) -> None:
    ax.axhline(0, color="0.5", lw=0.8)
    for m, a in data.arms:
        _curve(ax, data, m, a, "gap", CLEAN_LS)
    _epoch_axis(ax)
    ax.set_ylabel("test loss − clean train loss (nats)")


@_styled
def figure_generalization_gap(data: PlotData) -> Figure:
    """Test loss minus clean train loss per epoch: how far the test loss is above the train loss."""
    fig = Figure(figsize=(9.5, 5.0), layout="constrained")
    ax = fig.add_subplot()
    _draw_gap(ax, data)
    ax.set_title(_title(data, "Generalisation gap: test loss − clean train loss (smaller is better)"))
    _legend_right(fig, _arm_handles(data) + _style_handles((), data))
    return fig


def _draw_final(ax, data: PlotData, metric: str, scale: float = 1.0, seed_dots: bool = True) -> None:
    """Final value (each run's last epoch) per arm on a categorical alpha axis: mean +- std and seeds."""
    final = stats.final_rows(data.df)
    means, xs, labels = [], [], []
    rng = np.random.default_rng(0)  # fixed jitter: the same figure every time
    for i, (m, a) in enumerate(data.arms):
        f = final[(final["method"] == m) & (final["alpha"] == a)]
        v = f[metric].to_numpy(dtype=float) * scale
        color = data.color(a)
        mean = float(np.nanmean(v)) if len(v) else math.nan
        std = float(np.nanstd(v, ddof=1)) if len(v) > 1 else 0.0
        if seed_dots and len(v) > 1:
            ax.scatter(i + rng.uniform(-0.12, 0.12, len(v)), v, s=14, color=color, alpha=0.45, lw=0, zorder=2)
        ax.errorbar(i, mean, yerr=std, fmt="o", ms=7, color=color, capsize=5, lw=1.8, zorder=3)
        partial = "*" if (~f["done"]).any() else ""
        name = "0 (baseline)" if m == "baseline" else stats.format_alpha(a)
        labels.append(f"{name}{partial}\nn={len(v)}")
        means.append(mean)
        xs.append(i)
    ax.plot(xs, means, color="0.6", lw=1, zorder=1)
    ax.set_xticks(xs, labels)
    ax.set_xlim(-0.5, len(xs) - 0.5)
    ax.set_xlabel("MixUp α (categorical axis)")
    ax.grid(axis="x", visible=False)


@_styled
def figure_final_vs_alpha(data: PlotData) -> Figure:
    """Final test accuracy, test loss and clean train loss against alpha (alpha=0 is the baseline)."""
    fig = Figure(figsize=(13, 4.8), layout="constrained")
    axes = fig.subplots(1, 3)
    panels = (
        ("test_acc", 100, "final test accuracy (%)", "Test accuracy (higher is better)"),
        ("test_loss", 1, "final test loss (nats)", "Test loss (lower is better)"),
        ("clean_train_loss", 1, "final clean train loss (nats)", "Clean train loss"),
    )
    for ax, (metric, scale, ylabel, title) in zip(axes, panels, strict=True):
        _draw_final(ax, data, metric, scale)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
    fig.suptitle(f"Final values against MixUp α — experiment: {data.name}")
    handles = [
        Line2D([], [], color="0.3", marker="o", ms=7, ls="", label="mean over seeds\n(error bar: ±1 std)"),
        Line2D([], [], color="0.3", marker="o", ms=4, alpha=0.45, ls="", label="one seed"),
    ]
    if (~data.df["done"]).any():
        handles.append(Line2D([], [], ls="", label="* holds a partial run\n(taken at its last epoch)"))
    _legend_right(fig, handles)
    return fig


def _lam_hist(ax, data: PlotData, alpha: float, color: str, fill: bool = True) -> tuple[int, float]:
    """Histogram (as a density) of the lam sampled for one alpha; returns (values drawn, highest bar)."""
    lam = data.lam[data.lam["alpha"] == alpha]["lam"].to_numpy(dtype=float) if not data.lam.empty else np.array([])
    if lam.size == 0:
        return 0, 0.0
    bins = np.linspace(0, 1, 41)
    heights, _ = np.histogram(lam, bins=bins, density=True)
    if fill:
        ax.stairs(heights, bins, fill=True, color=color, alpha=0.35, lw=0)
    else:
        ax.stairs(heights, bins, color=color, lw=1.0, alpha=0.8)
    return int(lam.size), float(heights.max())


def _beta_pdf(alpha: float) -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(0.002, 0.998, 500)
    return x, sps.beta.pdf(x, alpha, alpha)


def _lam_ylim(ax, alphas: list[float], hist_top: float = 0.0) -> None:
    """Cap the y axis: Beta(a, a) with a < 1 goes to infinity at 0 and 1."""
    top = hist_top
    for a in alphas:
        x, y = _beta_pdf(a)
        top = max(top, float(y[(x > 0.03) & (x < 0.97)].max()))
    ax.set_ylim(0, top * 1.25 or 1.0)


@_styled
def figure_lambda_distribution(data: PlotData) -> Figure:
    """One panel per MixUp alpha: the Beta(alpha, alpha) density and a histogram of the lam sampled."""
    alphas = data.mixup_alphas
    ncols = min(max(len(alphas), 1), 3)
    nrows = max(1, math.ceil(len(alphas) / 3))
    fig = Figure(figsize=(4.4 * ncols + 0.5, 3.6 * nrows + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    if not alphas:
        _no_data(axes[0], "No MixUp arm: the baseline always uses λ = 1 (no mixing).")
    for ax, a in zip(axes, alphas, strict=False):  # spare axes are hidden below
        color = data.color(a)
        n, hist_top = _lam_hist(ax, data, a, color)
        x, y = _beta_pdf(a)
        ax.plot(x, y, color=color, lw=2)
        _lam_ylim(ax, [a], hist_top)
        ax.set_xlim(0, 1)
        ax.set_xlabel("λ (weight of the first image)")
        ax.set_ylabel("probability density")
        ax.set_title(f"MixUp α={stats.format_alpha(a)}")
        seeds = data.lam.loc[data.lam["alpha"] == a, "seed"].nunique() if n else 0
        handles = [Line2D([], [], color=color, lw=2, label=f"Beta({stats.format_alpha(a)}, {stats.format_alpha(a)})")]
        handles.append(
            Patch(
                facecolor=color, alpha=0.35, label=f"sampled λ: {n:,} values, {seeds} seed{'s' if seeds != 1 else ''}"
            )
            if n
            else Patch(facecolor="none", edgecolor="none", label="no lam.csv: samples not logged")
        )
        ax.legend(handles=handles, loc="upper center", frameon=True, framealpha=0.9)
    for ax in axes[len(alphas) or 1 :]:
        ax.set_visible(False)
    fig.suptitle(f"Mixing weight λ ~ Beta(α, α) — experiment: {data.name}  (the baseline uses λ = 1)")
    return fig


def _draw_lambda_overlay(ax, data: PlotData) -> None:
    alphas = data.mixup_alphas
    if not alphas:
        _no_data(ax, "No MixUp arm:\nthe baseline uses λ = 1")
        return
    hist_top = 0.0
    for a in alphas:
        color = data.color(a)
        hist_top = max(hist_top, _lam_hist(ax, data, a, color, fill=False)[1])
        x, y = _beta_pdf(a)
        ax.plot(x, y, color=color, lw=2)
    _lam_ylim(ax, alphas, hist_top)
    ax.set_xlim(0, 1)
    ax.set_xlabel("λ (weight of the first image)")
    ax.set_ylabel("probability density")


MIN_BIN_COUNT = 20  # bins with fewer pooled predictions are not drawn in the reliability diagram


def _draw_reliability(ax, data: PlotData, short: bool = False) -> list:
    """Accuracy against mean confidence per bin, pooled over seeds; returns legend handles with ECE.

    Bins holding fewer than MIN_BIN_COUNT predictions are left out (their accuracy is noise),
    unless the arm has fewer than 10 * MIN_BIN_COUNT predictions in all (hand-made data).
    """
    ax.plot([0, 100], [0, 100], color="0.55", ls="--", lw=1)
    handles = [Line2D([], [], color="0.55", ls="--", lw=1, label="perfect calibration")]
    order = {arm: i for i, arm in enumerate(data.arms)}
    for r in sorted(data.reliability, key=lambda r: order.get((r.method, r.alpha), 99)):
        min_count = MIN_BIN_COUNT if r.count.sum() >= 10 * MIN_BIN_COUNT else 1
        ok = r.count >= min_count
        color = data.color(r.alpha)
        ax.plot(100 * r.confidence[ok], 100 * r.accuracy[ok], marker="o", ms=4, color=color, lw=1.6)
        epochs = sorted(set(r.epochs))
        at = f"epoch {epochs[0]}" if len(epochs) == 1 else f"epochs {epochs[0]}–{epochs[-1]}"
        label = f"{stats.arm_label(r.method, r.alpha, greek=True)}: ECE {100 * r.ece:.1f}%"
        if not short:
            label += f" ({r.n_runs} run{'s' if r.n_runs != 1 else ''} pooled, {at})"
        handles.append(Line2D([], [], color=color, marker="o", ms=4, lw=1.6, label=label))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_ylabel("accuracy in bin (%)")
    note = {"ha": "center", "va": "center", "color": "0.45", "style": "italic", "fontsize": 9}
    ax.text(75, 12, "overconfident\n(below the diagonal)", **note)
    if not short:
        ax.text(25, 88, "underconfident\n(above the diagonal)", **note)
    if not data.reliability:
        ax.text(50, 50, "no calibration.json found", ha="center", va="center", color="0.4")
    return handles


@_styled
def figure_calibration(data: PlotData) -> Figure:
    """Reliability diagram of the latest test evaluation of each arm, with the share of predictions per bin."""
    fig = Figure(figsize=(9.5, 7.2), layout="constrained")
    ax, ax_share = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.1]})
    handles = _draw_reliability(ax, data)
    ax.set_title(_title(data, "Reliability diagram of the latest test evaluation"))
    for r in data.reliability:
        centers = 100 * (r.bin_lower + r.bin_upper) / 2
        share = 100 * r.count / max(r.count.sum(), 1)
        ax_share.step(centers, np.where(share > 0, share, np.nan), where="mid", color=data.color(r.alpha), lw=1.5)
    if data.reliability:
        ax_share.set_yscale("log")
    ax_share.set_ylabel("predictions\nin bin (%, log)")
    ax_share.set_xlabel("confidence = highest softmax probability (%)")
    handles.append(
        Line2D([], [], ls="", label=f"bins pooled over seeds;\nbins with < {MIN_BIN_COUNT} predictions not drawn")
    )
    _legend_right(fig, handles)
    return fig


@_styled
def figure_dashboard(data: PlotData) -> Figure:
    """A 2x3 overview for a README or a slide."""
    fig = Figure(figsize=(17, 9.8), layout="constrained")
    axes = fig.subplots(2, 3)
    _draw_losses(axes[0, 0], data)
    axes[0, 0].set_title("Clean train loss (solid) and test loss (dashed)")
    _draw_gap(axes[0, 1], data)
    axes[0, 1].set_title("Gap: test loss − clean train loss")
    _draw_test_acc(axes[0, 2], data)
    axes[0, 2].set_title("Test accuracy")
    _draw_final(axes[1, 0], data, "test_acc", 100)
    axes[1, 0].set_ylabel("final test accuracy (%)")
    axes[1, 0].set_title("Final test accuracy (mean ± std, dots: seeds)")
    rel_handles = _draw_reliability(axes[1, 1], data, short=True)
    axes[1, 1].set_xlabel("confidence (%)")
    axes[1, 1].set_title("Reliability (latest test evaluation)")
    if rel_handles[1:]:
        axes[1, 1].legend(handles=rel_handles[1:], loc="upper left", fontsize=8, frameon=True, framealpha=0.9)
    _draw_lambda_overlay(axes[1, 2], data)
    axes[1, 2].set_title("λ ~ Beta(α, α): density (line), sampled (steps)")
    n_seeds = data.df["seed"].nunique()
    epochs = int(data.df["epoch"].max())
    fig.suptitle(
        f"MixUp benchmark — experiment: {data.name} ({n_seeds} seed{'s' if n_seeds != 1 else ''}, "
        f"up to {epochs} epoch{'s' if epochs != 1 else ''})"
    )
    handles = _arm_handles(data) + _style_handles(((CLEAN_LS, "clean train"), (TEST_LS, "test")), data)
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 8), frameon=False)
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
