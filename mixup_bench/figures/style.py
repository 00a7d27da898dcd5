"""The house style of every figure: colours per arm, line styles, rc settings, shared axes helpers,
and writing a figure to disk.

Every figure uses one colour per arm for the whole experiment: the baseline is black and
each MixUp alpha takes a colour of the Okabe-Ito palette (safe for colour-blind readers) by
its rank among all alphas the experiment holds, so alpha 0.4 has the same colour in every
figure and in every `plot` of the same experiment. Line styles carry the other dimension:
solid = clean train (eval mode, unmixed images), dashed = test, dotted = the objective on
mixed batches.

Figures are built on `matplotlib.figure.Figure` objects with the Agg canvas and never touch
pyplot, so drawing needs no display and leaves no global state behind; the style is applied
with `rc_context` for the same reason.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from mixup_bench import results

DPI = 150
FORMATS = ("png", "svg")

BASELINE_COLOR = "#000000"
# Okabe & Ito (2008), without black (the baseline); yellow last, as it is faint on white.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442")

CLEAN_LS = "-"  # clean train metrics (eval mode, unmixed images)
TEST_LS = "--"  # test metrics
MIXED_LS = ":"  # the training objective on mixed batches

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


def styled(builder):
    """Build the figure under the house style `RC`, whoever calls the builder."""

    @functools.wraps(builder)
    def wrapper(data) -> Figure:
        with matplotlib.rc_context(RC):
            return builder(data)

    return wrapper


def save_figure(fig: Figure, out_dir: Path, stem: str, formats=FORMATS) -> list[Path]:
    """Write `fig` as `<out_dir>/<stem>.<fmt>` for each format, atomically; return the paths."""
    with matplotlib.rc_context(RC):
        paths = [_save_one(fig, Path(out_dir) / f"{stem}.{fmt}", fmt) for fmt in formats]
    return paths


def _save_one(fig: Figure, path: Path, fmt: str) -> Path:
    buf = io.BytesIO()
    # No date or software version in the files: the same figure gives the same bytes.
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    fig.savefig(buf, format=fmt, dpi=DPI, metadata=metadata)
    results.atomic_write_bytes(path, buf.getvalue())
    return path


# --- shared axes helpers --------------------------------------------------------------


def epoch_axis(ax) -> None:
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    lo, hi = ax.get_xlim()
    if hi - lo < 2:  # one or two epochs: keep whole-number ticks around them
        mid = (lo + hi) / 2
        ax.set_xlim(mid - 1, mid + 1)


def legend_right(fig: Figure, handles: list) -> None:
    fig.legend(handles=handles, loc="outside right upper", frameon=False)


def no_data(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4", wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
