"""The dose-response figure draws `analysis.trend`'s numbers on a log alpha axis, every alpha in its arm colour,
and `plot` draws it (and writes dose_response.csv) only for experiments with three MixUp alphas or more."""

from __future__ import annotations

import matplotlib.colors as mcolors
import pytest

from mixup_bench import plotting
from mixup_bench.analysis import report
from mixup_bench.figures import dose_response
from mixup_bench.figures.panels import PlotData
from tests.analysis.test_trend import ALPHAS, write_alpha_sweep


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return PlotData.of(report.read_report(write_alpha_sweep(tmp_path_factory.mktemp("d") / "alpha")))


def test_one_log_alpha_panel_per_measure_with_the_trend_in_its_title(data):
    fig = dose_response.figure_dose_response(data)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == len(data.dose.measures)
    clean = panels[0]
    assert clean.get_xscale() == "log" and clean.get_ylabel() == "Δ clean train loss (nats)"
    # rho = +1 in every seed: no t interval of values that do not vary, the reading from the exact permutation test
    assert clean.get_title().startswith("Clean train loss\nρ +1.00 (rises with α)")
    assert [t.get_text() for t in clean.get_xticklabels()] == ["0", "0.1", "1", "10"]
    x0 = dose_response.baseline_x(data.dose)
    assert x0 < min(a for a in ALPHAS if a > 0)
    for alpha in (0.1, 1.0, 10.0):  # each alpha's paired delta, in its arm colour
        color = data.color("mixup", alpha)
        marks = [line for line in clean.get_lines() if line.get_marker() == "o" and mcolors.same_color(
            line.get_color(), color)]  # fmt: skip
        delta = data.dose.deltas.query("alpha == @alpha and metric == 'clean_train_loss'")["mean"].iloc[0]
        assert len(marks) == 1 and float(marks[0].get_ydata()[0]) == pytest.approx(delta)
    legend = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
    assert legend[:4] == ["baseline (3 seeds)", "MixUp α=0.1 (3 seeds)", "MixUp α=1 (3 seeds)", "MixUp α=10 (3 seeds)"]
    assert "best α by validation accuracy (0.1)" in legend


@pytest.mark.slow  # end to end: renders every figure
def test_plot_draws_it_and_writes_its_table_only_with_three_alphas(tmp_path):
    three = write_alpha_sweep(tmp_path / "three")
    r = plotting.plot_experiment(three)
    assert (three / "plots" / "dose_response.png").exists() and (three / "plots" / "dose_response.svg").exists()
    assert (three / report.DOSE_CSV).exists() and "## Dose-response" in (three / "summary.md").read_text()
    assert three / report.DOSE_CSV in r.files
    two = write_alpha_sweep(tmp_path / "two", alphas=(0.0, 0.1, 1.0))
    plotting.plot_experiment(two)
    assert not (two / "plots" / "dose_response.png").exists() and not (two / report.DOSE_CSV).exists()
    assert "Dose-response" not in (two / "summary.md").read_text()
