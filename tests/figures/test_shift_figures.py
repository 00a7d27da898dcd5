"""The shift figures draw the shift tables (checked on the Figure objects: points, colours, axes, legends),
and `plot` writes them as PNG and SVG only for experiments whose runs ran the shift evaluation."""

from __future__ import annotations

import matplotlib.colors as mcolors
import numpy as np
import pytest

from mixup_bench.analysis import report
from mixup_bench.figures import figures as plots
from mixup_bench.figures import shift as shift_figures
from mixup_bench.figures.panels import PlotData
from tests.shift_fixtures import TYPES, write_experiment

MIXUP = ("mixup", 0.4)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return PlotData.of(report.read_report(write_experiment(tmp_path_factory.mktemp("s") / "shift")))


def _legend_texts(fig) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def _points(ax, color: str, marker: str = "o") -> list[tuple[float, float]]:
    """(x, y) of every `marker` drawn in `color` (not the error bars' caps)."""
    out = []
    for line in ax.get_lines():
        if line.get_marker() == marker and mcolors.same_color(line.get_markeredgecolor(), color):
            out += list(zip(np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float), strict=True))
    return out


def test_per_corruption_draws_each_types_paired_delta_in_percentage_points(data):
    fig = shift_figures.figure_per_corruption(data)
    (ax,) = fig.axes
    assert ax.get_ylabel() == "Δ accuracy vs baseline (pp)"
    assert "built-in" in ax.get_xlabel() and "arm − baseline" in ax.get_title()
    assert [t.get_text() for t in ax.get_xticklabels()] == [t.replace("_", "\n") for t in TYPES]
    ys = sorted(y for _, y in _points(ax, data.color(*MIXUP)))
    assert ys == pytest.approx([0.0, 3.0], abs=1e-9)  # fog: no gain; gaussian noise: +3 pp
    assert _legend_texts(fig)[0] == "MixUp α=0.4 (3 seeds)"  # the baseline is the reference, not drawn


def test_severity_starts_at_clean_and_draws_every_arm_in_its_colour(data):
    fig = shift_figures.figure_severity(data)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["clean", "1", "2", "3", "4", "5"]
    assert ax.get_ylabel() == "accuracy (%)"
    base = sorted(_points(ax, data.color("baseline", 0.0)))
    assert len(base) == 6 and base[3][1] == pytest.approx(100 * (0.6 - 0.15 + 0.01))
    assert len(_points(ax, data.color(*MIXUP))) == 6
    assert _legend_texts(fig)[:2] == ["baseline (3 seeds)", "MixUp α=0.4 (3 seeds)"]


def test_epsilon_draws_fgsm_from_clean_and_pgd_as_hollow_squares(data):
    fig = shift_figures.figure_epsilon(data)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["clean", "1/255", "2/255", "4/255"]
    color = data.color(*MIXUP)
    squares = [line for line in ax.get_lines() if line.get_marker() == "s" and mcolors.same_color(
        line.get_markeredgecolor(), color)]  # fmt: skip
    assert len(squares) == 1 and float(squares[0].get_ydata()[0]) == pytest.approx(15.1)
    assert {"FGSM", "PGD-10 (step ε/4)"} <= set(_legend_texts(fig))


@pytest.mark.slow  # end to end: renders every figure
def test_plot_writes_the_shift_figures_only_for_shift_experiments(tmp_path):
    with_shift = write_experiment(tmp_path / "with")
    paths = plots.plot_experiment(PlotData.of(report.read_report(with_shift)), tmp_path / "p1", formats=("png",))
    assert {p.name for p in paths} >= {f"{name}.png" for name in shift_figures.NAMES}
    without = write_experiment(tmp_path / "without", shift=False)
    paths = plots.plot_experiment(PlotData.of(report.read_report(without)), tmp_path / "p2", formats=("png",))
    assert not {p.name for p in paths} & {f"{name}.png" for name in shift_figures.NAMES}
