"""The `plot` and `compare` commands as plain functions, for the CLI and for notebooks.

This is the one module that joins the two subpackages. `plot` runs in four steps, each once: read the
experiment folder (`analysis.folder.read_folder`: a `Folder`) and compute every number from it
(`analysis.report.compute_report`: a `Report`; `analysis.report.read_report` does both), then hand that
report to each output: the figures (`figures.figures`), the text files (`analysis.markdown`) and the
console (`analysis.terminal`). So the flow
runs downhill (results -> analysis -> figures) and neither subpackage imports the other's caller.
matplotlib is imported only here and only when drawing, so `import mixup_bench` stays fast.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from mixup_bench.analysis import compare as comparing
from mixup_bench.analysis import compare_report, markdown, terminal
from mixup_bench.analysis.report import Report, read_report


def plot_experiment(
    path: Path,
    console: Console | None = None,
    reference: str | None = None,
    correction: bool = True,
    family: str = "comparison",
) -> Report:
    """Read the experiment at `path` (or the latest one under a results root), draw its figures into
    `<experiment>/plots/`, write summary.csv, paired.csv and summary.md, print the tables and the verdict
    on `console` (when given) and return the `Report`.

    `reference`: also pair every other arm with this arm ('mixup-a0.2'). `correction=False`
    (`--no-correction`): judge the raw p-values instead of Holm-adjusted ones. `family`: Holm over each
    comparison's parts ('comparison', the default) or over every comparison of the experiment ('experiment')."""
    from mixup_bench.figures import figures  # local: matplotlib is slow to import

    report = read_report(path, reference=reference, correction=correction, family=family)
    drawn = figures.plot_experiment(report, report.experiment_dir / figures.PLOTS_DIR)
    markdown.write_report(report, drawn)
    if console is not None:
        terminal.print_report(report, console)
    return report


def compare_experiments(
    paths: list[Path],
    out: Path | None = None,
    setting: str | None = None,
    console: Console | None = None,
    correction: bool = True,
) -> comparing.CompareResult:
    """Compare experiments that differ in one setting (see `analysis.compare.compare_experiments`), draw
    the regime map, write regime_map.csv and regime_map.md into `out` (default
    `<common parent>/compare-<setting>`), print the table on `console` (when given) and return the result."""
    from mixup_bench.figures.regime_map import draw_regime_map  # local: matplotlib is slow to import

    result = comparing.compare_experiments(paths, out, setting=setting, correction=correction)
    drawn = draw_regime_map(result, result.out_dir, comparing.FIGURE_STEM)
    compare_report.write_comparison(result, drawn)
    if console is not None:
        compare_report.print_comparison(result, console)
    return result
