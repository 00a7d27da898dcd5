"""Figures of an experiment with all eleven arms of the registry stay readable (with eleven the arm names of
the methods figure ran into each other): the arm ticks, measured on the laid-out figure, never overlap; every
arm keeps its own colour; the dashboard's legend stays inside the figure. Experiments with few arms keep their
word-per-line ticks, level. The regime map of `compare` names the data set in its title, as `plot` does."""

from __future__ import annotations

import matplotlib.colors as mcolors
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from mixup_bench.analysis.compare import compare_experiments
from mixup_bench.figures import figures as plots
from mixup_bench.figures import methods
from mixup_bench.figures.panels import PlotData
from mixup_bench.figures.regime_map import figure_regime_map
from mixup_bench.naming import arm_label
from tests.analysis.test_compare import hand_experiment, write_record
from tests.figures.test_figures import figure_data
from tests.plot_fixtures import synthetic_experiment

# every method of `mixup-bench methods` but the baseline and MixUp, at its default parameter
OTHERS = (("cutmix", 1.0), ("smooth", 0.1), ("manifold", 2.0), ("fmix", 1.0), ("resizemix", 0.8),
          ("saliencymix", 1.0), ("gridmix", 1.0), ("smoothmix", 0.5), ("regmixup", 20.0))  # fmt: skip
ELEVEN = [("baseline", 0.0), ("mixup", 0.4), *OTHERS]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> PlotData:
    exp = tmp_path_factory.mktemp("many") / "eleven"
    synthetic_experiment(exp, alphas=(0.4,), seeds=(0, 1), epochs=3, steps_per_epoch=4, neighbours=OTHERS)
    return figure_data(exp)


def drawn(fig):
    """The figure laid out and drawn as `save_figure` draws it, with the renderer that measured it."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def tick_boxes(ax, renderer) -> list:
    return [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]


def assert_apart_and_inside(fig, ax, renderer) -> None:
    """No two tick labels of `ax` share a pixel column, and each lies inside the figure."""
    boxes = sorted(tick_boxes(ax, renderer), key=lambda b: b.x0)
    assert len(boxes) == len(ELEVEN)
    for prev, nxt in zip(boxes, boxes[1:], strict=False):
        assert nxt.x0 > prev.x1, (prev, nxt)
    for box in boxes:
        assert box.x0 >= 0 and box.x1 <= fig.bbox.width and box.y0 >= 0 and box.y1 <= fig.bbox.height


def test_methods_figure_names_eleven_arms_without_overlap(data):
    assert data.arms == ELEVEN
    fig = methods.figure_methods(data)
    renderer = drawn(fig)
    bottom = fig.axes[4:]
    for ax in bottom:
        assert_apart_and_inside(fig, ax, renderer)
    ticks = [t.get_text() for t in bottom[0].get_xticklabels()]
    # each arm on one line, as in the legend, turned upright; the baseline still the reference
    assert ticks == ["baseline (reference)"] + [arm_label(*arm, greek=True) for arm in ELEVEN[1:]]
    assert all(t.get_rotation() == 90 for t in bottom[0].get_xticklabels())
    # titles, axis labels and the legend stay; one colour per arm, its colour of every other figure
    assert [ax.get_title() for ax in fig.axes[:4]][0] == "Test accuracy (higher is better)"
    assert bottom[0].get_ylabel() == "arm − baseline (pp)"
    legend = fig.legends[0]
    colors = {t.get_text(): mcolors.to_hex(h.get_color()) for h, t in zip(legend.legend_handles, legend.get_texts(),
                                                                         strict=True)}  # fmt: skip
    assert [colors[data.label(*arm)] for arm in ELEVEN] == [mcolors.to_hex(data.color(*arm)) for arm in ELEVEN]
    assert len({data.color(*arm).lower() for arm in ELEVEN}) == len(ELEVEN)


def test_final_values_and_dashboard_name_eleven_arms_without_overlap(data):
    fig = plots.figure_final_vs_alpha(data)
    renderer = drawn(fig)
    for ax in fig.axes:
        assert_apart_and_inside(fig, ax, renderer)
    assert fig.axes[0].get_xticklabels()[4].get_text() == "Manifold MixUp α=2 (n=2)"

    fig = plots.figure_dashboard(data)
    renderer = drawn(fig)
    assert_apart_and_inside(fig, fig.axes[3], renderer)
    legend = fig.legends[0].get_window_extent(renderer)  # eleven arms and the line styles, all inside
    assert legend.x0 >= 0 and legend.x1 <= fig.bbox.width
    assert {data.label(*arm) for arm in ELEVEN} <= {t.get_text() for t in fig.legends[0].get_texts()}


def test_few_arms_keep_level_word_per_line_ticks(tmp_path):
    exp = synthetic_experiment(tmp_path / "few", alphas=(0.4,), seeds=(0, 1), epochs=2, steps_per_epoch=4,
                               neighbours=OTHERS[:3])  # fmt: skip
    few = figure_data(exp)
    fig = methods.figure_methods(few)
    renderer = drawn(fig)
    labels = fig.axes[4].get_xticklabels()
    assert [t.get_text() for t in labels][-1] == "Manifold\nMixUp\nα=2"
    assert all(t.get_rotation() == 0 for t in labels)
    boxes = sorted(tick_boxes(fig.axes[4], renderer), key=lambda b: b.x0)
    assert all(nxt.x0 > prev.x1 for prev, nxt in zip(boxes, boxes[1:], strict=False))
    assert fig.get_size_inches().tolist() == [16, 9]


@pytest.mark.parametrize(("dataset", "title"), [(None, "CIFAR-10"), ("cifar100", "CIFAR-100")])
def test_regime_map_title_names_the_data_set(tmp_path, dataset, title):
    extra = {} if dataset is None else {"dataset": dataset}
    small = hand_experiment(tmp_path / "small", subset=2_000, **extra)
    large = hand_experiment(tmp_path / "large", shift=0.01, subset=4_000, **extra)
    result = compare_experiments([small, large], out_dir=tmp_path / "cmp")
    assert result.dataset == title
    suptitle = figure_regime_map(result)._suptitle.get_text()
    assert suptitle.splitlines()[0] == f"What MixUp changes against training-set size (images) — data set: {title}"


def test_regime_map_of_image_folders_names_each_folder(tmp_path):
    exps = [hand_experiment(tmp_path / name, subset=n) for name, n in (("a", 2_000), ("b", 4_000))]
    for exp, root, n in zip(exps, ("/data/pets", "/data/pets-v2"), (2_000, 4_000), strict=True):
        write_record(exp, subset=n, dataset="folder")
        record = (exp / "experiment.json").read_text().replace('"config"', f'"data": {{"root": "{root}"}}, "config"')
        (exp / "experiment.json").write_text(record)
    result = compare_experiments(exps, out_dir=tmp_path / "cmp")
    assert result.dataset == "image folder pets, image folder pets-v2"
