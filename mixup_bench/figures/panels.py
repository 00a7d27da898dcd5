"""What the figures draw (`PlotData`, gathered once per experiment from the `Report`, so every figure
shows the same numbers) and what one axes shows, shared by the single figures and the dashboard.

Figures take their data in memory and never read files. With several seeds a curve is the mean over
seeds, with a shaded +-1 std band. Every drawer takes the axes and the `PlotData` and leaves titles and
legends to the figure, which knows how much room it has.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator
from scipy import stats as sps

from mixup_bench import naming as labels
from mixup_bench.analysis.facts import Analysis
from mixup_bench.analysis.report import Report
from mixup_bench.analysis.run_logs import Reliability
from mixup_bench.analysis.shift import ShiftFacts
from mixup_bench.analysis.trend import DoseResponse
from mixup_bench.figures.style import CLEAN_LS, MIXED_LS, TEST_LS, arm_colors, epoch_axis, no_data
from mixup_bench.methods import lam_shape
from mixup_bench.metrics import METRICS, M
from mixup_bench.naming import arm_label, format_alpha, plural


@dataclass
class PlotData:
    """Everything the figures draw, from the `report.Report` of `plot` (`PlotData.of`): its numbers, the side
    logs, and a colour per arm, the only thing the figures add."""

    name: str  # in the titles: the experiment's folder name and data set
    analysis: Analysis
    colors: dict[tuple[str, float], str]  # per arm (method, parameter): style.arm_colors
    lam: pd.DataFrame
    reliability: list[Reliability]
    shift: ShiftFacts | None = None  # the shift evaluation's tables, when some run ran it (`run --shift`)
    dose: DoseResponse | None = None  # each measure against MixUp alpha, with three alphas or more
    memorised: bool = False  # some run logged memorisation of its noisy labels (--label-noise)

    @classmethod
    def of(cls, report: Report) -> PlotData:
        """The figures' view of a report. Colours come from every arm the experiment holds or plans
        (`folder.experiment_arms`), not only those drawn, so an arm keeps its colour across plots."""
        folder = report.folder
        return cls(folder.title, report.analysis, arm_colors(folder.arms), folder.lam, list(folder.reliability),
                   report.shift, report.dose, report.memorised)  # fmt: skip

    @property
    def df(self) -> pd.DataFrame:
        return self.analysis.df

    @property
    def agg(self) -> pd.DataFrame:
        return self.analysis.agg

    @property
    def arms(self) -> list[tuple[str, float]]:
        return self.analysis.arms

    @property
    def lam_arms(self) -> list[tuple[str, float]]:
        """The arms that draw a mixing weight lam (MixUp, CutMix, Manifold MixUp), in `naming.arm_order`."""
        return [arm for arm in self.arms if arm[0] in labels.LAM_METHODS]

    @property
    def mixup_only(self) -> bool:
        return self.analysis.mixup_only

    def color(self, method: str, alpha: float) -> str:
        """The colour of an arm, the same in every figure of the experiment."""
        return self.colors.get((method, float(alpha)), "#777777")

    def seeds(self, method: str, alpha: float) -> int:
        return len(self.analysis.arm_finals(method, alpha))

    def partial_runs(self, method: str, alpha: float) -> int:
        return int((~self.analysis.arm_finals(method, alpha)["done"]).sum())

    def label(self, method: str, alpha: float) -> str:
        """Legend text of an arm: name, seeds, and how many runs are partial."""
        n, p = self.seeds(method, alpha), self.partial_runs(method, alpha)
        text = f"{labels.arm_label(method, alpha, greek=True)} ({labels.plural(n, 'seed')}"
        return text + (f", {p} partial)" if p else ")")

    @property
    def multi_seed(self) -> bool:
        return bool((self.agg["n"] > 1).any())

    @property
    def has_other_arms(self) -> bool:
        """Whether the experiment holds an arm other than the baseline and MixUp (the methods figure)."""
        return not self.mixup_only

    @property
    def has_shift(self) -> bool:
        """Whether some run ran the shift evaluation (the shift figures)."""
        return self.shift is not None

    @property
    def has_dose(self) -> bool:
        """Whether the experiment has the three MixUp alphas a dose-response needs."""
        return self.dose is not None


def curve(ax, data: PlotData, method: str, alpha: float, metric: str, ls: str, lw: float = 1.8):
    """Mean over seeds of one measure of one arm in its shown unit (`Metric.scale`: percent for accuracies),
    with a +-1 std band when several seeds exist."""
    scale = METRICS[metric].scale
    a = data.agg
    sel = a[(a["method"] == method) & (a["alpha"] == alpha) & (a["metric"] == metric)].sort_values("epoch")
    if sel.empty:
        return
    x = sel["epoch"].to_numpy()
    y = sel["mean"].to_numpy() * scale
    s = sel["std"].to_numpy() * scale
    color = data.color(method, alpha)
    ax.plot(x, y, ls=ls, color=color, lw=lw, marker="o" if len(x) < 4 else None, ms=4)
    if (sel["n"] > 1).any():
        ax.fill_between(x, y - s, y + s, color=color, alpha=0.15, lw=0)


def arm_handles(data: PlotData, arms=None) -> list:
    return [
        Line2D([], [], color=data.color(m, a), lw=2.2, label=data.label(m, a))
        for m, a in (data.arms if arms is None else arms)
    ]


def style_handles(styles, data: PlotData) -> list:
    handles = [Line2D([], [], color="0.35", ls=ls, lw=1.8, label=label) for ls, label in styles]
    if data.multi_seed:
        handles.append(Patch(facecolor="0.5", alpha=0.3, label="shaded: ±1 std over seeds"))
    return handles


def experiment_title(data: PlotData, text: str) -> str:
    return f"{text}\nexperiment: {data.name}"


def draw_losses(ax, data: PlotData) -> None:
    for m, a in data.arms:
        curve(ax, data, m, a, M.clean_train_loss.name, CLEAN_LS)
        curve(ax, data, m, a, M.test_loss.name, TEST_LS)
    epoch_axis(ax)
    ax.set_ylabel("cross-entropy loss (nats)")
    ax.set_ylim(bottom=0)


def draw_mixed_vs_clean(ax, data: PlotData) -> None:
    for m, a in data.arms:
        curve(ax, data, m, a, M.train_loss.name, MIXED_LS, lw=2.2)
        curve(ax, data, m, a, M.clean_train_loss.name, CLEAN_LS)
    epoch_axis(ax)
    ax.set_ylabel("cross-entropy loss (nats)")
    ax.set_ylim(bottom=0)


def draw_test_acc(ax, data: PlotData, zoom: bool = True) -> None:
    for m, a in data.arms:
        curve(ax, data, m, a, M.test_acc.name, TEST_LS)
    epoch_axis(ax)
    ax.set_ylabel(M.test_acc.axis_label)
    if zoom:
        _zoom_last_epochs(ax, data, M.test_acc.name, TEST_LS)


def _zoom_last_epochs(ax, data: PlotData, metric: str, ls: str) -> None:
    """An inset (lower right) magnifying the last 40% of epochs, where arms differ by a point or less."""
    a = data.agg[data.agg["metric"] == metric]
    last = int(a["epoch"].max()) if not a.empty else 0
    if last < 6:
        return
    first = int(math.floor(0.6 * last))
    tail = a[a["epoch"] >= first]
    scale = METRICS[metric].scale
    lo = np.nanmin((tail["mean"] - tail["std"].fillna(0)).to_numpy()) * scale
    hi = np.nanmax((tail["mean"] + tail["std"].fillna(0)).to_numpy()) * scale
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return
    pad = max(0.08 * (hi - lo), 1e-3)
    inset = ax.inset_axes([0.42, 0.06, 0.55, 0.5])
    for m, al in data.arms:
        curve(inset, data, m, al, metric, ls, lw=1.5)
    inset.set_xlim(first - 0.3, last + 0.3)
    inset.set_ylim(lo - pad, hi + pad)
    inset.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    inset.tick_params(labelsize=8)
    inset.set_title(f"zoom: epochs {first}–{last}", fontsize=8, pad=3)
    inset.set_facecolor("white")
    ax.indicate_inset_zoom(inset, edgecolor="0.5")


def draw_gap(ax, data: PlotData) -> None:
    ax.axhline(0, color="0.5", lw=0.8)
    for m, a in data.arms:
        curve(ax, data, m, a, M.gap.name, CLEAN_LS)
    epoch_axis(ax)
    ax.set_ylabel("test loss − clean train loss (nats)")


def draw_final(ax, data: PlotData, metric: str, seed_dots: bool = True) -> list[str]:
    """Final value (each run's last epoch) per arm on a categorical axis: mean +- std and seeds.

    In MixUp-only experiments the ticks are the alphas (0 = the baseline); otherwise the arms' names.
    Returns the ticks on one line each, for `style.fit_category_ticks` when the arms are too many to fit."""
    means, xs, labels, one_line = [], [], [], []
    rng = np.random.default_rng(0)  # fixed jitter: the same figure every time
    for i, (m, a) in enumerate(data.arms):
        f = data.analysis.arm_finals(m, a)
        v = f[metric].to_numpy(dtype=float) * METRICS[metric].scale
        color = data.color(m, a)
        mean = float(np.nanmean(v)) if len(v) else math.nan
        std = float(np.nanstd(v, ddof=1)) if len(v) > 1 else 0.0
        if seed_dots and len(v) > 1:
            ax.scatter(i + rng.uniform(-0.12, 0.12, len(v)), v, s=14, color=color, alpha=0.45, lw=0, zorder=2)
        ax.errorbar(i, mean, yerr=std, fmt="o", ms=7, color=color, capsize=5, lw=1.8, zorder=3)
        partial = "*" if (~f["done"]).any() else ""
        labels.append(f"{_final_tick(data, m, a)}{partial}\nn={len(v)}")
        one_line.append(f"{_final_tick(data, m, a, one_line=True)}{partial} (n={len(v)})")
        if m in ("baseline", "mixup"):  # the line follows alpha, so it joins the baseline and MixUp arms only
            means.append(mean)
            xs.append(i)
    ax.plot(xs, means, color="0.6", lw=1, zorder=1)
    ax.set_xticks(range(len(labels)), labels, **({} if data.mixup_only else {"fontsize": 8}))
    ax.set_xlim(-0.5, len(labels) - 0.5)
    ax.set_xlabel("MixUp α (categorical axis)" if data.mixup_only else "arm (categorical axis)")
    ax.grid(axis="x", visible=False)
    return one_line


def _final_tick(data: PlotData, method: str, alpha: float, one_line: bool = False) -> str:
    """A tick of `draw_final`: '0 (baseline)' and '0.4' in MixUp-only experiments, else `arm_tick`."""
    if data.mixup_only:
        return "0 (baseline)" if method == "baseline" else format_alpha(alpha)
    return arm_tick(method, alpha, one_line)


def arm_tick(method: str, alpha: float, one_line: bool = False) -> str:
    """An arm's name for a categorical axis, a word per line: 'Manifold\nMixUp\nα=2' (`one_line`: as in legends)."""
    label = arm_label(method, alpha, greek=True)
    return label if one_line else label.replace(" ", "\n")


def arm_lam(data: PlotData, arm: tuple[str, float]) -> pd.DataFrame:
    """The rows of lam.csv values (`data.lam`) of one arm (method, parameter)."""
    lam = data.lam
    return lam[(lam["method"] == arm[0]) & (lam["alpha"] == arm[1])]


def lam_hist(ax, data: PlotData, arm: tuple[str, float], color: str, fill: bool = True) -> tuple[int, float]:
    """Histogram (as a density) of the lam sampled by one arm; returns (values drawn, highest bar)."""
    lam = arm_lam(data, arm)["lam"].to_numpy(dtype=float)
    if lam.size == 0:
        return 0, 0.0
    bins = np.linspace(0, 1, 41)
    heights, _ = np.histogram(lam, bins=bins, density=True)
    if fill:
        ax.stairs(heights, bins, fill=True, color=color, alpha=0.35, lw=0)
    else:
        ax.stairs(heights, bins, color=color, lw=1.0, alpha=0.8)
    return int(lam.size), float(heights.max())


def beta_pdf(alpha: float) -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(0.002, 0.998, 500)
    return x, sps.beta.pdf(x, alpha, alpha)


def lam_ylim(ax, alphas: list[float], hist_top: float = 0.0) -> None:
    """Cap the y axis: Beta(a, a) with a < 1 goes to infinity at 0 and 1."""
    top = hist_top
    for a in alphas:
        x, y = beta_pdf(a)
        top = max(top, float(y[(x > 0.03) & (x < 0.97)].max()))
    ax.set_ylim(0, top * 1.25 or 1.0)


def draw_lambda_overlay(ax, data: PlotData) -> None:
    arms = data.lam_arms
    if not arms:
        no_data(ax, "No MixUp arm:\nthe baseline uses λ = 1" if data.mixup_only else "No arm mixes images:\nno λ drawn")
        return
    hist_top = 0.0
    for m, a in arms:
        color = data.color(m, a)
        hist_top = max(hist_top, lam_hist(ax, data, (m, a), color, fill=False)[1])
        if lam_shape(m)[0]:  # lam ~ Beta(a, a): its density
            x, y = beta_pdf(a)
            ax.plot(x, y, color=color, lw=2)
    lam_ylim(ax, [a for m, a in arms if lam_shape(m)[0]], hist_top)
    ax.set_xlim(0, 1)
    ax.set_xlabel("λ (weight of the first image)")
    ax.set_ylabel("probability density")


MIN_BIN_COUNT = 20  # bins with fewer pooled predictions are not drawn in the reliability diagram


def draw_reliability(ax, data: PlotData, short: bool = False) -> list:
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
        color = data.color(r.method, r.alpha)
        ax.plot(100 * r.confidence[ok], 100 * r.accuracy[ok], marker="o", ms=4, color=color, lw=1.6)
        epochs = sorted(set(r.epochs))
        at = f"epoch {epochs[0]}" if len(epochs) == 1 else f"epochs {epochs[0]}–{epochs[-1]}"
        label = f"{arm_label(r.method, r.alpha, greek=True)}: ECE {100 * r.ece:.1f}%"
        if not short:
            label += f" ({plural(r.n_runs, 'run')} pooled, {at})"
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
