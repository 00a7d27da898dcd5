"""`mixup-bench plot` (plotting.plot_experiment over analysis.report): files written, tables and verdict printed,
one-line errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from mixup_bench import plotting
from mixup_bench.analysis import folder as reading
from mixup_bench.analysis import report
from mixup_bench.errors import UserError
from mixup_bench.figures import figures as plots
from mixup_bench.figures import style as plotstyle
from mixup_bench.figures.panels import PlotData
from tests.plot_fixtures import synthetic_experiment, write_final_values


def add_broken_run(exp: Path) -> None:
    bad = exp / "runs" / "mixup-a0.4-s9"
    bad.mkdir(parents=True)
    (bad / "metrics.csv").write_text("epoch,test_acc\n1,0.5\n")


def invoke(*args: str):
    from mixup_bench.cli import app

    return CliRunner().invoke(app, ["plot", *args])


def one_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


# --- end to end through the CLI (the one test that draws every figure) ----------------------


@pytest.fixture(scope="module")
def plotted(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    exp = synthetic_experiment(root / "sweep", alphas=(0.4,), seeds=(0, 1, 2), epochs=5, steps_per_epoch=5)
    add_broken_run(exp)
    result = invoke(str(root))
    return exp, result


def test_plot_command_writes_summary_and_figures(plotted):
    exp, result = plotted
    assert result.exit_code == 0, result.output
    assert (exp / "summary.csv").exists() and (exp / "summary.md").exists()
    for name in plots.FIGURES:
        for fmt in plotstyle.FORMATS:
            assert (exp / "plots" / f"{name}.{fmt}").stat().st_size > 1000
    table = pd.read_csv(exp / "summary.csv")
    assert list(table.columns) == list(report.SUMMARY_COLUMNS)
    assert list(table["arm"]) == ["baseline", "MixUp alpha=0.4"]
    assert list(table["seeds"]) == [3, 3]
    paired = pd.read_csv(exp / "paired.csv")
    assert list(paired.columns) == list(report.PAIRED_COLUMNS)
    assert list(paired["point"].drop_duplicates()) == ["last", "best_val"]  # the synthetic runs log val_acc


def test_plot_command_prints_table_verdict_files_and_warning(plotted):
    exp, result = plotted
    out = result.output
    assert "Verdict." in out and "paired seeds" in out
    assert "baseline" in out and "MixUp alpha=0.4" in out
    assert "summary.md" in out and "plots/dashboard.png" in out
    assert "Warning: Skipped run mixup-a0.4-s9" in " ".join(out.split())


def test_summary_markdown_holds_table_verdict_and_figures(plotted):
    exp, _ = plotted
    md = (exp / "summary.md").read_text()
    assert md.startswith("# MixUp benchmark: sweep")
    assert "| arm | seeds |" in md and "| MixUp alpha=0.4 | 3 |" in md
    assert "## Last epoch (pre-registered), mean ± std over seeds" in md
    assert "## Best epoch by validation accuracy (chosen per run); the test numbers of that epoch" in md
    assert "## Verdict" in md and "claimed higher" in md
    assert "## Paired differences (MixUp − baseline, same seed), last epoch (pre-registered)" in md
    assert "| alpha | metric | mean | 95% CI | p | test | Holm p | claim | pairs | epoch |" in md
    assert (
        "Procedure: fixed-n; each arm against the baseline is its own family (Holm over that arm's parts of the claim)."
        in md
    )
    assert "## Warnings" in md and "mixup-a0.4-s9" in md
    assert "![loss curves](plots/loss_curves.png)" in md


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "does not exist"),
        ("no_experiment", "holds no experiment"),
        ("no_runs", "holds no runs"),
        ("missing_columns", "lacks the column"),
        ("empty_csv", "is empty"),
    ],
)
def test_plot_command_errors_are_one_line_with_exit_code_2(tmp_path, setup, message):
    path = make_bad(tmp_path, setup)
    result = invoke(str(path))
    assert result.exit_code == 2
    assert message in one_line(result)


def make_bad(tmp_path: Path, setup: str) -> Path:
    exp = tmp_path / "exp"
    if setup == "missing":
        return tmp_path / "nowhere"
    if setup == "no_experiment":
        (tmp_path / "empty").mkdir()
        return tmp_path / "empty"
    (exp / "runs").mkdir(parents=True)
    if setup == "missing_columns":
        run = exp / "runs" / "baseline-a0-s0"
        run.mkdir()
        (run / "metrics.csv").write_text("experiment,run_id,epoch\nx,baseline-a0-s0,1\n")
    if setup == "empty_csv":
        run = exp / "runs" / "baseline-a0-s0"
        run.mkdir()
        (run / "metrics.csv").write_text("")
    return exp


# --- plot_experiment directly (figures stubbed: drawing is covered above) ----------------------


@pytest.mark.usefixtures("no_drawing")
def test_summary_says_running_or_stopped(tmp_path):
    """An unfinished run is 'running' only while a process holds its lock; otherwise it was stopped."""
    from mixup_bench.sweep.locks import RunLock

    exp = tmp_path / "exp"
    for seed in (0, 1, 2):
        write_final_values(exp, 0, seed, done=seed != 2)
        write_final_values(exp, 0.4, seed, done=seed == 0)
    lock = RunLock(exp / "runs" / "mixup-a0.4-s1")
    assert lock.acquire()  # as a `run` training it would
    try:
        plotting.plot_experiment(exp, Console(record=True, width=220))
    finally:
        lock.release()
    md = (exp / "summary.md").read_text()
    assert "partial: 1 of 3 stopped" in md  # the baseline's seed 2: nobody trains it
    assert "partial: 2 of 3 (1 running, 1 stopped)" in md
    assert list(pd.read_csv(exp / "summary.csv")["runs_running"]) == [0, 1]


@pytest.mark.usefixtures("no_drawing")
def test_plot_experiment_returns_what_it_did(tmp_path):
    exp = tmp_path / "exp"
    for seed, acc in enumerate([0.80, 0.82, 0.84]):
        write_final_values(exp, 0, seed, test_acc=acc)
        write_final_values(exp, 0.4, seed, test_acc=acc + 0.01 * (seed + 1), done=seed != 2)
    add_broken_run(exp)
    console = Console(record=True, width=220)
    res = plotting.plot_experiment(exp, console)
    assert res.experiment_dir == exp
    assert [f.name for f in res.files] == ["summary.csv", "summary.md", "paired.csv", "fake.png"]
    assert len(res.warnings) == 1 and "mixup-a0.4-s9" in res.warnings[0]
    assert res.verdict.startswith("At the last epoch (pre-registered), over 3 paired seeds")
    assert "test accuracy by +2.00 pp" in res.verdict
    text = console.export_text()
    assert "partial: 1 of 3 stopped" in text  # no process trains it (see test_summary_says_running_or_stopped)
    assert "+2.00 [" in text  # delta with its interval in the table
    assert "Warning:" in text and res.verdict[:40] in text
    assert res.summary is not None and bool(res.summary.iloc[1]["partial"])


@pytest.mark.usefixtures("no_drawing")
def test_plot_experiment_with_one_seed_says_so(tmp_path):
    exp = tmp_path / "exp"
    write_final_values(exp, 0, 0, test_acc=0.8)
    write_final_values(exp, 0.4, 0, test_acc=0.81)
    console = Console(record=True, width=220)
    res = plotting.plot_experiment(exp, console)
    assert "no interval can be given" in res.verdict
    assert "1 pair, no CI" in console.export_text()


@pytest.mark.usefixtures("no_drawing")
@pytest.mark.parametrize("setup", ["missing", "no_experiment", "no_runs", "missing_columns", "empty_csv"])
def test_plot_experiment_raises_user_error(tmp_path, setup):
    with pytest.raises(UserError):
        plotting.plot_experiment(make_bad(tmp_path, setup), Console(record=True))


def test_table_verdict_and_figures_show_one_analysis(tmp_path, monkeypatch):
    """The figures get the very Analysis the table and the verdict were computed from, and the three agree."""
    from mixup_bench.figures import figures

    drawn = []

    def fake_plot_experiment(data, out_dir, **kwargs):
        drawn.append(data)
        return []

    monkeypatch.setattr(figures, "plot_experiment", fake_plot_experiment)
    exp = tmp_path / "exp"
    for seed, acc in enumerate((0.70, 0.74)):
        write_final_values(exp, 0, seed, test_acc=acc)
        write_final_values(exp, 0.4, seed, test_acc=acc + 0.02 + 0.01 * seed)
    res = plotting.plot_experiment(exp, Console(record=True, width=220))
    (given,) = drawn
    assert given is res  # the very Report the files and the console were written from
    data = PlotData.of(given)
    assert data.analysis is res.analysis and data.name == "exp (CIFAR-10)"  # the titles name the data set
    delta = res.analysis.paired.get(("mixup", 0.4), "test_acc")
    assert delta.mean == pytest.approx(0.025)
    table = pd.read_csv(exp / "summary.csv")
    assert table.loc[1, "delta_test_acc_pp"] == pytest.approx(100 * delta.mean)
    assert "test accuracy by +2.50 pp" in res.verdict
    paired = pd.read_csv(exp / "paired.csv").set_index("metric")
    assert paired.loc["test_acc", "mean"] == pytest.approx(2.5)
    assert paired.loc["test_acc", "p"] == pytest.approx(delta.p)


def test_an_unreadable_experiment_json_is_a_warning_not_an_error(tmp_path, no_drawing):
    exp = tmp_path / "exp"
    write_final_values(exp, 0, 0)
    (exp / "experiment.json").write_text("[1, 2]")
    res = plotting.plot_experiment(exp, Console(record=True, width=220))
    assert any("experiment.json" in w and "not a JSON object" in w for w in res.warnings)


def test_regime_line_comes_from_experiment_json():
    training = {"epochs": 3, "model": "resnet", "subset": 10000, "label_noise": 0.4, "augment": False}
    record = {"config": {"training": training}, "device": {"resolved": "cpu", "precision": "bf16"}}
    assert reading.config_line({}) == ""
    assert reading.config_line({"model": "cnn", "config": {"epochs": 2}}) == ""  # not a training config
    assert reading.config_line(record) == (
        "Regime: CIFAR-10, resnet, 10,000 training images, 40% label noise, 3 epochs, no augmentation, "
        "device cpu (bf16)."
    )
    full = {"config": {"training": {"subset": None, "label_noise": 0.0, "augment": True}}}
    assert reading.config_line(full) == "Regime: CIFAR-10, all training images, crop+flip augmentation."


@pytest.mark.usefixtures("no_drawing")
def test_plot_no_correction_judges_raw_p_values_and_says_so(tmp_path):
    # MixUp - baseline test accuracy +0.02, +0.03, +0.02: raw p 0.020; clean train loss and the gap are
    # clearer still, so Holm's correction over the 5 comparisons multiplies the accuracy's p by 3: 0.059
    exp = tmp_path / "exp"
    for seed, (acc, ctl, loss) in enumerate(((0.80, 0.10, 0.70), (0.82, 0.12, 0.72), (0.84, 0.14, 0.68))):
        write_final_values(exp, 0, seed, test_acc=acc, clean_train_loss=ctl, test_loss=loss, test_ece=0.08)
        mixed = {"test_acc": acc + (0.02, 0.03, 0.02)[seed], "clean_train_loss": ctl + (0.30, 0.33, 0.33)[seed]}
        write_final_values(exp, 0.4, seed, test_loss=loss - 0.01 * seed, test_ece=0.08 + 0.01 * (seed - 1), **mixed)
    corrected = invoke(str(exp))
    assert corrected.exit_code == 0, corrected.output
    paired = pd.read_csv(exp / "paired.csv").set_index("metric")
    assert paired.loc["test_acc", "p"] < 0.05 <= paired.loc["test_acc", "p_holm"]
    assert paired.loc["test_acc", "claim"] == "inconclusive"
    assert "| 0.4 | test accuracy | +2.33 pp |" in (exp / "summary.md").read_text()
    raw = invoke(str(exp), "--no-correction")
    assert raw.exit_code == 0, raw.output
    assert pd.read_csv(exp / "paired.csv").set_index("metric").loc["test_acc", "claim"] == "supported"
    md = (exp / "summary.md").read_text()
    assert "--no-correction" in md and "claimed higher: supported)" in md.split("test accuracy by")[1]
