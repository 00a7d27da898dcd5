"""The memorisation figure, drawn by `plot` only for experiments trained with --label-noise.

Per epoch and arm: the share of label-corrupted clean-train images that the model predicts as
their wrong (noisy) label, mean over seeds with a +-1 std band, in the arm colours of every other
figure. A model that memorises the noise climbs towards 100%; one that learns the true classes
instead stays low.
"""

from __future__ import annotations

import dataclasses

from matplotlib.figure import Figure

from mixup_bench.analysis.memorisation import memorisation_agg
from mixup_bench.figures.panels import PlotData, arm_handles, curve, experiment_title, style_handles
from mixup_bench.figures.style import CLEAN_LS, epoch_axis, legend_right, styled
from mixup_bench.metrics import MEMORISED

NAME = "memorisation"


@styled
def figure_memorisation(data: PlotData) -> Figure:
    """Memorisation of corrupted labels per epoch, every arm that logged it."""
    # The same PlotData with the memorisation aggregate in place of the usual one, so that the
    # shared `curve`, legend and band helpers draw it exactly like every other per-epoch metric.
    agg = memorisation_agg(data.agg)
    memo = dataclasses.replace(data, analysis=dataclasses.replace(data.analysis, agg=agg))
    arms = [(m, a) for m, a in data.arms if ((agg["method"] == m) & (agg["alpha"] == a)).any()]
    fig = Figure(figsize=(9.5, 5.0), layout="constrained")
    ax = fig.add_subplot()
    for m, a in arms:
        curve(ax, memo, m, a, MEMORISED, CLEAN_LS)
    epoch_axis(ax)
    ax.set_ylabel("corrupted-label images predicted\nas their wrong label (%)")
    top = float((agg["mean"] + agg["std"].fillna(0)).max()) * 100 if not agg.empty else 100.0
    ax.set_ylim(0, min(100.0, max(5.0, 1.08 * top)))
    ax.set_title(experiment_title(data, "Memorisation of corrupted labels"))
    legend_right(fig, arm_handles(memo, arms) + style_handles((), memo))
    return fig
