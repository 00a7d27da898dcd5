"""Read once, compute once, render (issue 22): the folder is read once into a `Folder`, the `Report` is computed
once from it, and the outputs lay that report out without computing anything again."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from mixup_bench.analysis import claim, facts, markdown, report, stats, terminal
from mixup_bench.analysis.folder import read_folder
from mixup_bench.analysis.report import compute_report
from mixup_bench.results.layout import EXPERIMENT_FILE, LAM_FILE, RUNS_DIR
from mixup_bench.results.records import read_experiment
from tests.plot_fixtures import write_final_values
from tests.test_layout import PACKAGE, import_graph

ROOT = Path(__file__).resolve().parents[2]


def small_experiment(exp: Path, alphas=(0.0, 0.4)) -> Path:
    for alpha in alphas:
        for seed, acc in enumerate((0.70, 0.74, 0.71)):
            write_final_values(exp, alpha, seed, test_acc=acc + (0.02 + 0.005 * seed if alpha else 0))
    return exp


def test_the_record_is_read_once_and_warnings_come_in_one_list(tmp_path, monkeypatch):
    exp = small_experiment(tmp_path / "exp")
    (exp / EXPERIMENT_FILE).write_text(json.dumps({"config": {"alphas": [0.4, 1.0]}}))
    (exp / RUNS_DIR / "mixup-a0.4-s1" / LAM_FILE).write_text("epoch,step,lam\n1,0,1.5\n")
    reads = []
    real = read_experiment
    monkeypatch.setattr("mixup_bench.analysis.folder.read_experiment", lambda d: reads.append(d) or real(d))
    got = read_folder(exp)
    assert len(reads) == 1  # experiment.json, read once for the regime, the design's looks and the planned arms
    assert ("mixup", 1.0) in got.arms  # planned in the record, not run: it keeps its colour slot
    assert got.record["config"]["alphas"] == [0.4, 1.0]
    assert len(got.warnings) == 1 and "lam.csv" in got.warnings[0] and "mixup-a0.4-s1" in got.warnings[0]
    assert got.title == "exp (CIFAR-10)" and got.looks == ()


def test_an_unreadable_record_is_one_warning_after_the_runs(tmp_path):
    exp = small_experiment(tmp_path / "exp")
    (exp / EXPERIMENT_FILE).write_text("[1, 2]")
    got = read_folder(exp)
    assert got.record == {} and [w for w in got.warnings if "experiment.json" in w] == got.warnings[-1:]


def _computed(*args, **kwargs):
    raise AssertionError("an output computed a number again")


def test_the_outputs_compute_nothing_of_their_own(tmp_path, monkeypatch):
    """Once the report is computed, summary.md, the CSV files and the console are written with every
    statistic and judgement made to fail (their code replaced, so every reference to them fails, imported
    by name or not): the outputs only lay the report out."""
    rep = compute_report(read_folder(small_experiment(tmp_path / "exp")), reference="mixup-a0.4")
    for function in (stats.paired_differences, stats.mean_interval, stats.aggregate, facts.analyze, claim.verdict,
                     claim.judge, report.summary_table, report.paired_table):  # fmt: skip
        monkeypatch.setattr(function, "__code__", _computed.__code__)
    files = markdown.write_report(rep, [])
    console = Console(file=io.StringIO(), width=200)
    terminal.print_report(rep, console)
    text = (rep.experiment_dir / report.SUMMARY_MD).read_text()
    assert rep.verdict in text and rep.verdict.split(".")[0] in console.file.getvalue()
    assert [f.name for f in files] == ["summary.csv", "summary.md", "paired.csv", "paired_vs_mixup-a0.4.csv"]
    with pytest.raises(AssertionError, match="computed a number again"):
        report.paired_table(rep.analysis.paired)  # the replacement holds while the outputs are written


def test_analysis_reaches_neither_the_sweep_nor_the_figures():
    """The lock probe lives outside the sweep (`lock_probe`), so analysis imports no sweep module."""
    graph = import_graph(PACKAGE)
    reached = {t for m, targets in graph.items() if m.startswith("mixup_bench.analysis.") for t in targets}
    assert not {t for t in reached if t.startswith(("mixup_bench.sweep", "mixup_bench.figures"))}
    assert "mixup_bench.lock_probe" in graph["mixup_bench.analysis.folder"]


def load_trace_script():
    spec = importlib.util.spec_from_file_location("trace_plot_path", ROOT / "scripts" / "trace_plot_path.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_path_trace_counts_modules_entries_and_returns():
    from mixup_bench import metrics, naming

    trace = load_trace_script()
    package_dir = PACKAGE.resolve()

    def walk():
        metrics.p_text(0.5)
        metrics.p_text(0.01)  # a second call in the same module: the same entry
        naming.plural(3, "seed")
        metrics.p_text(0.2)  # back into metrics: a return

    entries = trace.trace(walk, package_dir)
    assert entries == ["mixup_bench.metrics", "mixup_bench.naming", "mixup_bench.metrics"]
    assert trace.module_of(str(package_dir / "analysis" / "report.py"), package_dir) == "mixup_bench.analysis.report"
    assert trace.module_of(str(package_dir / "__init__.py"), package_dir) == "mixup_bench"
    assert trace.module_of(pytest.__file__, package_dir) is None
