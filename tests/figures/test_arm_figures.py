"""Figures of experiments with CutMix, label smoothing and Manifold MixUp arms: the methods figure is
written and readable, every arm keeps one colour in every figure (the regime map included), and the
λ figure shows only the arms that draw λ."""

from __future__ import annotations

from pathlib import Path

import matplotlib.colors as mcolors
import matplotlib.image
import pytest

from mixup_bench.analysis.compare import compare_experiments
from mixup_bench.figures import figures as plots
from mixup_bench.figures import methods
from mixup_bench.figures import style as plotstyle
from mixup_bench.figures.panels import PlotData
from mixup_bench.figures.regime_map import figure_regime_map
from tests.analysis.test_compare import write_record
from tests.figures.test_figures import figure_data
from tests.plot_fixtures import synthetic_experiment

NEIGHBOURS = (("cutmix", 1.0), ("smooth", 0.1), ("manifold", 2.0))
ARMS = [("baseline", 0.0), ("mixup", 0.2), ("mixup", 1.0), *NEIGHBOURS]


@pytest.fixture(scope="module")
def multi(tmp_path_factory) -> Path:
    exp = tmp_path_factory.mktemp("arms") / "multi"
    return synthetic_experiment(
        exp, alphas=(0.2, 1.0), seeds=(0, 1), epochs=4, steps_per_epoch=6, neighbours=NEIGHBOURS
    )


@pytest.fixture(scope="module")
def data(multi) -> PlotData:
    return figure_data(multi)


@pytest.mark.slow  # end to end: trains or renders every figure
def test_methods_png_is_written_for_an_experiment_with_neighbours(data, tmp_path):
    paths = plots.plot_experiment(data, tmp_path, formats=("png",))
    names = {p.name for p in paths}
    assert names == {f"{n}.png" for n in plots.FIGURES} | {"methods.png"}
    img = matplotlib.image.imread(tmp_path / "methods.png")
    assert img.shape[0] >= 1200 and img.shape[1] >= 2000  # 16 x 9 inches at 150 dpi: readable at its size


def test_methods_figure_has_a_column_per_arm_and_the_paired_intervals(data):
    fig = methods.figure_methods(data)
    axes = fig.axes
    assert len(axes) == 8
    assert [ax.get_title() for ax in axes[:4]] == [
        "Test accuracy (higher is better)",
        "Test loss (lower is better)",
        "Gap (smaller is better)",
        "ECE (lower is better)",
    ]
    assert axes[4].get_ylabel() == "arm − baseline (pp)" and axes[5].get_ylabel() == "arm − baseline (nats)"
    ticks = [t.get_text() for t in axes[4].get_xticklabels()]
    # six arms: a word per line, 'smoothing' and 'Manifold' would touch, so each arm is on one line, upright
    assert ticks == ["baseline (reference)", "MixUp α=0.2", "MixUp α=1", "CutMix α=1", "label smoothing ε=0.1",
                     "Manifold MixUp α=2"]  # fmt: skip
    # the error bar of CutMix in the Δ test accuracy panel spans its paired 95% interval in pp
    iv = data.analysis.paired.get(("cutmix", 1.0), "test_acc")
    color = mcolors.to_rgba(data.color("cutmix", 1.0))
    spans = [
        sorted(seg[:, 1])
        for c in axes[4].collections
        for seg, rgba in zip(c.get_segments(), c.get_colors(), strict=False)
        if tuple(rgba) == color
    ]
    assert [pytest.approx([100 * iv.low, 100 * iv.high])] == spans


def test_methods_figure_only_with_arms_other_than_mixup(tmp_path, data):
    assert data.has_other_arms
    exp = synthetic_experiment(tmp_path / "mix", alphas=(0.4,), seeds=(0, 1), epochs=2, with_lam=False)
    assert not figure_data(exp).has_other_arms


def _legend_colors(fig) -> dict[str, str]:
    """Legend text -> colour (hex) of every figure-level and axes-level legend of `fig`."""
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    out = {}
    for legend in legends:
        for handle, text in zip(legend.legend_handles, legend.get_texts(), strict=True):
            color = handle.get_color() if hasattr(handle, "get_color") else handle.get_facecolor()
            out[text.get_text()] = mcolors.to_hex(color)
    return out


@pytest.mark.slow  # end to end: trains or renders every figure
def test_each_arm_keeps_one_colour_in_every_figure(data, multi, tmp_path):
    colors = {arm: c.lower() for arm, c in plotstyle.arm_colors(ARMS).items()}
    # baseline black; MixUp in the Okabe-Ito order by alpha, as before; then the neighbours' next colours
    assert [colors[arm] for arm in ARMS] == [c.lower() for c in (plotstyle.BASELINE_COLOR, *plotstyle.OKABE_ITO[:5])]
    mixup_only = plotstyle.arm_colors(ARMS[:3])  # the MixUp colours do not change when neighbours are added
    assert {arm: c.lower() for arm, c in mixup_only.items()} == {arm: colors[arm] for arm in ARMS[:3]}
    assert {arm: c.lower() for arm, c in data.colors.items()} == colors
    labels = {arm: data.label(*arm) for arm in ARMS}
    for build in (
        plots.figure_loss_curves,
        plots.figure_accuracy_curves,
        plots.figure_dashboard,
        methods.figure_methods,
    ):
        legend = _legend_colors(build(data))
        assert {arm: legend[labels[arm]] for arm in ARMS} == colors, build.__name__
    calibration = _legend_colors(plots.figure_calibration(data))
    for arm in ARMS:
        name = data.label(*arm).split(" (")[0]
        (color,) = [c for text, c in calibration.items() if text.startswith(f"{name}: ECE")]
        assert color == colors[arm]
    # the regime map of `compare` over two such experiments uses the same colours
    second = synthetic_experiment(multi.parent / "multi2", alphas=(0.2, 1.0), seeds=(0, 1), epochs=4,
                                  neighbours=NEIGHBOURS, seed=1, with_lam=False)  # fmt: skip
    write_record(multi, subset=2_000)
    write_record(second, subset=4_000)
    regime = _legend_colors(figure_regime_map(compare_experiments([multi, second], out_dir=tmp_path / "cmp")))
    for arm in ARMS[1:]:
        assert regime[data.label(*arm).split(" (")[0]] == colors[arm]


def test_lambda_figure_shows_only_the_arms_that_draw_lambda(data):
    fig = plots.figure_lambda_distribution(data)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == ["MixUp α=0.2", "MixUp α=1", "CutMix α=1", "Manifold MixUp α=2"]
    legend = _legend_colors(fig)
    assert legend["Beta(1, 1) (drawn)"] == data.color("cutmix", 1.0).lower()
    assert any(t.startswith("kept area after clipping: 48 values, 2 seeds") for t in legend)
    assert any(t.startswith("sampled λ: 48 values, 2 seeds") for t in legend)
    assert set(data.lam["method"]) == {"mixup", "cutmix", "manifold"}
