"""plots: each figure draws the analysis' numbers (lines, legends, axis labels checked on the Figure objects);
every figure is written as a valid PNG and SVG; colours are stable; odd experiments still draw."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from mixup_bench.analysis import report
from mixup_bench.figures import figures as plots
from mixup_bench.figures import style as plotstyle
from mixup_bench.figures.panels import PlotData
from tests.plot_fixtures import synthetic_experiment, write_final_values

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def check_figures(paths: list[Path], out_dir: Path, formats=plotstyle.FORMATS) -> None:
    """Every figure of plots.FIGURES exists as a PNG that decodes and an SVG that parses."""
    expected = {out_dir / f"{name}.{fmt}" for name in plots.FIGURES for fmt in formats}
    assert set(paths) == expected
    for path in paths:
        assert path.stat().st_size > 1000, path
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == PNG_MAGIC
            img = matplotlib.image.imread(path)
            assert img.ndim == 3 and img.shape[2] in (3, 4)
            assert img.shape[0] > 300 and img.shape[1] > 500
        else:
            root = ET.parse(path).getroot()
            assert root.tag.endswith("svg")


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    exp = tmp_path_factory.mktemp("plots") / "sweep"
    return synthetic_experiment(exp, alphas=(0.2, 1.0), seeds=(0, 1, 2), epochs=7, steps_per_epoch=8)


def figure_data(exp: Path) -> PlotData:
    """What `plot` hands the figures: the experiment read and computed by analysis, in memory."""
    return PlotData.of(report.read_report(exp))


@pytest.mark.slow  # end to end: trains or renders every figure
def test_every_figure_is_written_as_png_and_svg(sweep):
    paths = plots.plot_experiment(figure_data(sweep), sweep / "plots")
    check_figures(paths, sweep / "plots")
    assert not list((sweep / "plots").glob("*.tmp"))


@pytest.mark.slow  # end to end: trains or renders every figure
def test_figures_of_an_odd_experiment_still_draw(tmp_path):
    # one seed, no baseline, a partial run, one epoch, no lam.csv and no calibration.json
    exp = tmp_path / "odd"
    write_final_values(exp, 0.4, 0, epochs=1, complete=False)
    write_final_values(exp, 2.0, 0, epochs=1, done=False, complete=False)
    out = tmp_path / "figs"
    check_figures(plots.plot_experiment(figure_data(exp), out, formats=("png",)), out, ("png",))


@pytest.mark.slow  # end to end: trains or renders every figure
def test_figures_of_a_baseline_only_experiment(tmp_path):
    exp = synthetic_experiment(tmp_path / "base", alphas=(), seeds=(0, 1), epochs=2)
    out = tmp_path / "figs"
    check_figures(plots.plot_experiment(figure_data(exp), out, formats=("png",)), out, ("png",))


def mixup_arms(alphas) -> list[tuple[str, float]]:
    return [("baseline" if a == 0 else "mixup", float(a)) for a in alphas]


def test_arm_colors_are_stable_and_colour_blind_safe():
    colors = plotstyle.arm_colors(mixup_arms([1.0, 0.4, 0, 0.2]))
    assert colors == {
        ("baseline", 0.0): "#000000",
        ("mixup", 0.2): "#0072B2",
        ("mixup", 0.4): "#E69F00",
        ("mixup", 1.0): "#009E73",
    }
    assert plotstyle.arm_colors(mixup_arms([0.2, 0.4]))[("mixup", 0.4)] == colors[("mixup", 0.4)]
    many = plotstyle.arm_colors(mixup_arms([0.1 * i for i in range(12)]))
    assert len(set(many.values())) == 12


def test_colour_follows_every_alpha_of_the_experiment(tmp_path):
    """alpha 0.4 keeps its colour when the alpha 0.2 run cannot be read."""
    exp = tmp_path / "exp"
    write_final_values(exp, 0, 0)
    write_final_values(exp, 0.4, 0)
    broken = exp / "runs" / "mixup-a0.2-s0"
    broken.mkdir()
    (broken / "metrics.csv").write_text("")
    data = figure_data(exp)
    assert data.color("mixup", 0.4) == plotstyle.OKABE_ITO[1]
    assert data.color("baseline", 0) == plotstyle.BASELINE_COLOR


def test_legend_labels_name_seeds_and_partial_runs(tmp_path):
    exp = synthetic_experiment(tmp_path / "p", alphas=(0.4,), seeds=(0, 1), epochs=4, partial={(0.4, 1): 2})
    data = figure_data(exp)
    assert data.label("mixup", 0.4) == "MixUp α=0.4 (2 seeds, 1 partial)"
    assert data.label("baseline", 0.0) == "baseline (2 seeds)"


def test_figures_are_reproducible(sweep, tmp_path):
    data = figure_data(sweep)
    a = plotstyle.save_figure(plots.figure_loss_curves(data), tmp_path / "a", "loss")
    b = plotstyle.save_figure(plots.figure_loss_curves(data), tmp_path / "b", "loss")
    for pa, pb in zip(a, b, strict=True):
        assert pa.read_bytes() == pb.read_bytes()


# --- what the figures show (checked on the Figure objects, without rendering files) ---------------


@pytest.fixture(scope="module")
def sweep_data(sweep) -> PlotData:
    return figure_data(sweep)


def _legend_texts(fig) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def _mean_curve(data: PlotData, arm, metric: str) -> np.ndarray:
    a = data.agg
    sel = a[(a["method"] == arm[0]) & (a["alpha"] == arm[1]) & (a["metric"] == metric)].sort_values("epoch")
    return sel["mean"].to_numpy()


def test_loss_curves_draw_two_mean_curves_per_arm_with_their_legend(sweep_data):
    fig = plots.figure_loss_curves(sweep_data)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "cross-entropy loss (nats)"
    lines = [line for line in ax.get_lines() if len(line.get_xdata()) == 7]  # one point per epoch
    assert len(lines) == 2 * len(sweep_data.arms)  # clean train loss (solid) and test loss (dashed) per arm
    assert sorted(line.get_linestyle() for line in lines) == ["-"] * 3 + ["--"] * 3
    ys = [np.asarray(line.get_ydata()) for line in lines]
    for arm in sweep_data.arms:
        for metric in ("clean_train_loss", "test_loss"):
            assert any(np.allclose(y, _mean_curve(sweep_data, arm, metric)) for y in ys), (arm, metric)
    assert _legend_texts(fig) == [
        "baseline (3 seeds)",
        "MixUp α=0.2 (3 seeds)",
        "MixUp α=1 (3 seeds)",
        "clean train loss (eval mode, unmixed)",
        "test loss",
        "shaded: ±1 std over seeds",
    ]


def test_final_values_mark_each_arms_mean_and_its_seeds(sweep_data):
    fig = plots.figure_final_vs_alpha(sweep_data)
    assert [ax.get_ylabel() for ax in fig.axes] == [
        "final test accuracy (%)",
        "final test loss (nats)",
        "final clean train loss (nats)",
    ]
    assert [ax.get_title() for ax in fig.axes] == [
        "Test accuracy (higher is better)",
        "Test loss (lower is better)",
        "Clean train loss (MixUp claim: higher)",
    ]
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0 (baseline)\nn=3", "0.2\nn=3", "1\nn=3"]
    # the errorbar markers sit at each arm's mean final test accuracy, in percent
    means = [100 * sweep_data.analysis.arm_finals(*arm)["test_acc"].mean() for arm in sweep_data.arms]
    markers = [line for line in ax.get_lines() if line.get_marker() == "o" and len(line.get_xdata()) == 1]
    assert [float(line.get_ydata()[0]) for line in markers] == pytest.approx(means)
    assert sum(len(c.get_offsets()) for c in ax.collections if hasattr(c, "get_offsets")) >= 9  # 3 seeds x 3 arms


def test_gap_and_accuracy_figures_name_their_axes_and_arms(sweep_data):
    gap = plots.figure_generalization_gap(sweep_data)
    assert gap.axes[0].get_ylabel() == "test loss − clean train loss (nats)"
    assert _legend_texts(gap)[:3] == ["baseline (3 seeds)", "MixUp α=0.2 (3 seeds)", "MixUp α=1 (3 seeds)"]
    acc = plots.figure_accuracy_curves(sweep_data)
    assert [ax.get_ylabel() for ax in acc.axes[:2]] == ["test accuracy (%)", "clean train accuracy (%)"]
    right = [line for line in acc.axes[1].get_lines() if len(line.get_xdata()) == 7]
    assert len(right) == 3
    expected = 100 * _mean_curve(sweep_data, ("mixup", 1.0), "clean_train_acc")
    assert any(np.allclose(line.get_ydata(), expected) for line in right)
