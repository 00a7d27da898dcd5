"""The house style of every figure: colours per arm, line styles, rc settings, shared axes helpers,
and writing a figure to disk.

Every figure uses one colour per arm (method, parameter) for the whole experiment
(`arm_colors`): the baseline is black, each MixUp alpha takes a colour of the Okabe-Ito
palette (safe for colour-blind readers) by its rank among all alphas the experiment holds,
and CutMix, label smoothing and Manifold MixUp arms take the next colours, so an arm has the
same colour in every figure and in every `plot` of the same experiment. Line styles carry the other dimension:
solid = clean train (eval mode, unmixed images), dashed = test, dotted = the objective on
mixed batches.

Figures are built on `matplotlib.figure.Figure` objects with the Agg canvas and never touch
pyplot, so drawing needs no display and leaves no global state behind; the style is applied
with `rc_context` for the same reason.
"""

from __future__ import annotations

import functools
import io
import warnings
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FixedFormatter, MaxNLocator

from mixup_bench.naming import arm_order
from mixup_bench.results.atomic import atomic_write_bytes
from mixup_bench.streams import is_text, shown

DPI = 150
FORMATS = ("png", "svg")

BASELINE_COLOR = "#000000"
# Okabe & Ito (2008), without black (the baseline); yellow last, as it is faint on white.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442")
# Paul Tol's muted palette (also safe for colour-blind readers), for arms beyond Okabe-Ito's seven.
TOL_MUTED = ("#882255", "#44AA99", "#999933", "#332288", "#AA4499", "#117733", "#661100", "#6699CC", "#88CCEE")

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


def arm_colors(arms) -> dict[tuple[str, float], str]:
    """Map every arm (method, parameter) to a colour, the same in every figure of an experiment.

    The baseline is black. The MixUp arms take the Okabe-Ito palette by increasing alpha (as they
    always have, so figures of MixUp-only experiments keep their colours), or the viridis map when
    there are more of them than palette colours. The other arms (CutMix, label smoothing, Manifold
    MixUp, in `naming.arm_order`) then take the next colours: the rest of Okabe-Ito, then Paul Tol's
    muted palette, then the tab20 map.
    """
    arms = sorted({(str(m), float(a)) for m, a in arms}, key=arm_order)
    mixup = [arm for arm in arms if arm[0] == "mixup"]
    others = [arm for arm in arms if arm[0] not in ("baseline", "mixup")]
    colors = {("baseline", 0.0): BASELINE_COLOR}
    if len(mixup) <= len(OKABE_ITO):
        colors.update(zip(mixup, OKABE_ITO, strict=False))
        free = list(OKABE_ITO[len(mixup) :]) + list(TOL_MUTED)
    else:
        colors.update(zip(mixup, _spread("viridis", len(mixup), 0.9), strict=True))
        free = list(TOL_MUTED)
    if len(others) > len(free):
        free = _spread("tab20", len(others), 1.0)
    colors.update(zip(others, free, strict=False))
    return colors


def _spread(cmap: str, n: int, span: float) -> list[str]:
    """`n` colours spread evenly over `span` of a matplotlib colour map."""
    return [matplotlib.colors.to_hex(matplotlib.colormaps[cmap](span * i / max(n - 1, 1))) for i in range(n)]


def styled(builder):
    """Build the figure under the house style `RC`, whoever calls the builder."""

    @functools.wraps(builder)
    def wrapper(data) -> Figure:
        with matplotlib.rc_context(RC), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_GLYPH_MISSING, category=UserWarning)
            return builder(data)

    return wrapper


def save_figure(fig: Figure, out_dir: Path, stem: str, formats=FORMATS) -> list[Path]:
    """Write `fig` as `<out_dir>/<stem>.<fmt>` for each format, atomically; return the paths. A name whose
    bytes are not UTF-8 (an experiment folder named so) is drawn as `streams.shown` writes it (\\xNN): the
    font renderer takes no surrogate escape."""
    for text in fig.findobj(Text):
        if not is_text(text.get_text()):
            text.set_text(shown(text.get_text()))
    with matplotlib.rc_context(RC), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_GLYPH_MISSING, category=UserWarning)
        paths = [_save_one(fig, Path(out_dir) / f"{stem}.{fmt}", fmt) for fmt in formats]
    return paths


# A name in CJK or emoji (an experiment's, an arm's): the font lacks the glyph and draws a box, once per
# character and figure; matplotlib would say so on stderr for every one. Silenced while drawing only.
_GLYPH_MISSING = r"Glyph \d+ .* missing from (current )?font"


def _save_one(fig: Figure, path: Path, fmt: str) -> Path:
    buf = io.BytesIO()
    # No date or software version in the files: the same figure gives the same bytes.
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    fig.savefig(buf, format=fmt, dpi=DPI, metadata=metadata)
    atomic_write_bytes(path, buf.getvalue())
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


TICK_GAP_PX = 4  # the least room between two level tick labels of a categorical axis


def fit_category_ticks(fig: Figure, axes, one_line: list[str]) -> bool:
    """Keep an arm axis readable however many arms there are (11 overlapped): the labels stay as drawn,
    a word per line, when they fit side by side; else every axis in `axes` shows `one_line` (a label per
    arm on one line) turned upright, which needs only the text's height between neighbouring ticks.
    Measured on the laid-out figure, so it holds for any name, font and width; returns whether it turned them."""
    if not any(_labels_overlap(fig, ax) for ax in axes):
        return False
    for ax in axes:
        ax.xaxis.set_major_formatter(FixedFormatter(one_line))
        ax.tick_params(axis="x", labelrotation=90)
    return True


def _labels_overlap(fig: Figure, ax) -> bool:
    """Whether two neighbouring x tick labels of `ax` come closer than TICK_GAP_PX on the laid-out figure."""
    boxes = sorted((b.x0, b.x1) for b in _tick_label_boxes(fig, ax))
    return any(nxt[0] < prev[1] + TICK_GAP_PX for prev, nxt in zip(boxes, boxes[1:], strict=False))


def _tick_label_boxes(fig: Figure, ax) -> list:
    """The window extents of the shown x tick labels of `ax`, after the constrained layout has placed it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw_without_rendering()  # the constrained layout gives the axes their final width
    return [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]


def legend_in_columns(fig: Figure, handles: list, ncols: int, **kwargs):
    """A figure legend in `ncols` columns, or fewer where that runs past the figure's edges (eleven arms in
    eight columns did); returns it. A legend lays out its columns once, so each try is a new legend."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    for n in range(ncols, 1, -1):
        legend = fig.legend(handles=handles, ncol=n, **kwargs)
        fig.draw_without_rendering()
        box = legend.get_window_extent(renderer)
        if box.x0 >= 0 and box.x1 <= fig.bbox.width:
            return legend
        legend.remove()
    return fig.legend(handles=handles, ncol=1, **kwargs)
