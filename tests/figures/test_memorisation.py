"""plot with --label-noise runs: a memorisation figure and a summary column, and nothing new without them."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mixup_bench.analysis import report
from mixup_bench.analysis.memorisation import DISPLAY_HEADER, SUMMARY_COLUMNS
from mixup_bench.cli import app
from mixup_bench.figures import figures as plots
from tests.plot_fixtures import metrics_row, synthetic_experiment, write_run

runner = CliRunner()

# noise_memorised per (alpha, seed) over three epochs
MEMORISED = {
    (0.0, 0): (0.10, 0.30, 0.60),
    (0.0, 1): (0.12, 0.35, 0.70),
    (0.4, 0): (0.05, 0.10, 0.20),
    (0.4, 1): (0.06, 0.12, 0.26),
}


def noisy_experiment(exp: Path) -> Path:
    for (alpha, seed), values in MEMORISED.items():
        rows = [
            metrics_row(alpha, seed, e, test_acc=0.4 + 0.05 * e + 0.01 * seed, noise_memorised=v)
            for e, v in enumerate(values, start=1)
        ]
        write_run(exp, alpha, seed, rows)
    return exp


def plot(exp: Path):
    res = runner.invoke(app, ["plot", str(exp)], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    return res


@pytest.mark.slow  # end to end: trains or renders every figure
def test_plot_draws_memorisation_and_its_column_when_runs_logged_it(tmp_path):
    exp = noisy_experiment(tmp_path / "noisy")
    res = plot(exp)
    for fmt in ("png", "svg"):
        assert (exp / "plots" / f"memorisation.{fmt}").stat().st_size > 1000
    img = matplotlib.image.imread(exp / "plots" / "memorisation.png")
    assert img.shape[0] > 300 and img.shape[1] > 500
    table = pd.read_csv(exp / "summary.csv")
    assert list(table.columns) == [*report.SUMMARY_COLUMNS, *SUMMARY_COLUMNS]
    base = 100 * np.array([MEMORISED[(0.0, s)][-1] for s in (0, 1)])
    mix = 100 * np.array([MEMORISED[(0.4, s)][-1] for s in (0, 1)])
    assert table[SUMMARY_COLUMNS[0]].tolist() == pytest.approx([base.mean(), mix.mean()])
    assert table[SUMMARY_COLUMNS[1]].tolist() == pytest.approx([base.std(ddof=1), mix.std(ddof=1)])
    md = (exp / "summary.md").read_text()
    assert f"| ECE (%) | {DISPLAY_HEADER} |" in md
    assert "| 65.0 ± 7.1 |" in md and "| 23.0 ± 4.2 |" in md
    assert "![memorisation](plots/memorisation.png)" in md
    assert DISPLAY_HEADER in res.output


@pytest.mark.slow  # end to end: trains or renders every figure
def test_plot_without_label_noise_writes_what_it_wrote_before(tmp_path):
    exp = synthetic_experiment(tmp_path / "clean", alphas=(0.4,), seeds=(0, 1), epochs=3, steps_per_epoch=4)
    plot(exp)
    written = {p.name for p in (exp / "plots").iterdir()}
    assert written == {f"{name}.{fmt}" for name in plots.FIGURES for fmt in ("png", "svg")}
    assert list(pd.read_csv(exp / "summary.csv").columns) == list(report.SUMMARY_COLUMNS)
    assert "memorised" not in (exp / "summary.md").read_text().lower()
