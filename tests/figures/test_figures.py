"""plots: every figure is written as a valid PNG and SVG; colours are stable; odd experiments still draw."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib.image
import pytest

from mixup_bench.analysis import load as loading
from mixup_bench.analysis.facts import analyze
from mixup_bench.figures import data as plotdata
from mixup_bench.figures import figures as plots
from mixup_bench.figures import style as plotstyle
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


@pytest.mark.slow  # end to end: trains or renders every figure
def test_every_figure_is_written_as_png_and_svg(sweep):
    df, _ = loading.load_experiment(sweep)
    paths = plots.plot_experiment(sweep, analyze(df))
    check_figures(paths, sweep / "plots")
    assert not list((sweep / "plots").glob("*.tmp"))


@pytest.mark.slow  # end to end: trains or renders every figure
def test_figures_of_an_odd_experiment_still_draw(tmp_path):
    # one seed, no baseline, a partial run, one epoch, no lam.csv and no calibration.json
    exp = tmp_path / "odd"
    write_final_values(exp, 0.4, 0, epochs=1)
    write_final_values(exp, 2.0, 0, epochs=1, done=False)
    df, _ = loading.load_experiment(exp)
    out = tmp_path / "figs"
    check_figures(plots.plot_experiment(exp, analyze(df), out_dir=out, formats=("png",)), out, ("png",))


@pytest.mark.slow  # end to end: trains or renders every figure
def test_figures_of_a_baseline_only_experiment(tmp_path):
    exp = synthetic_experiment(tmp_path / "base", alphas=(), seeds=(0, 1), epochs=2)
    df, _ = loading.load_experiment(exp)
    out = tmp_path / "figs"
    check_figures(plots.plot_experiment(exp, analyze(df), out_dir=out, formats=("png",)), out, ("png",))


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
    df, _ = loading.load_experiment(exp)
    data = plotdata.plot_data(exp, analyze(df))
    assert data.color("mixup", 0.4) == plotstyle.OKABE_ITO[1]
    assert data.color("baseline", 0) == plotstyle.BASELINE_COLOR


def test_legend_labels_name_seeds_and_partial_runs(tmp_path):
    exp = synthetic_experiment(tmp_path / "p", alphas=(0.4,), seeds=(0, 1), epochs=4, partial={(0.4, 1): 2})
    df, _ = loading.load_experiment(exp)
    data = plotdata.plot_data(exp, analyze(df))
    assert data.label("mixup", 0.4) == "MixUp α=0.4 (2 seeds, 1 partial)"
    assert data.label("baseline", 0.0) == "baseline (2 seeds)"


def test_figures_are_reproducible(sweep, tmp_path):
    df, _ = loading.load_experiment(sweep)
    data = plotdata.plot_data(sweep, analyze(df))
    a = plotstyle.save_figure(plots.figure_loss_curves(data), tmp_path / "a", "loss")
    b = plotstyle.save_figure(plots.figure_loss_curves(data), tmp_path / "b", "loss")
    for pa, pb in zip(a, b, strict=True):
        assert pa.read_bytes() == pb.read_bytes()
