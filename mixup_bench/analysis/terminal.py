"""What `plot` prints: the summary table at each reporting point, the verdict, the tables against the
`plot --reference` arm, the warnings and the files written.

Layout only: every number, judgement and sentence comes from the `report.Report`, every cell's text from
`text` (shared with summary.md, `markdown`).
"""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from mixup_bench.analysis.facts import POINT_TITLES
from mixup_bench.analysis.report import Report
from mixup_bench.analysis.stats import LAST, Paired
from mixup_bench.analysis.text import DELTA_HEADER, PAIRED_HEADER, display_rows, paired_rows, table_title
from mixup_bench.naming import arm_label


def print_report(report: Report, console: Console) -> None:
    """The tables at each reporting point, the verdict, the tables against the reference arm, the
    warnings (in yellow) and the files written."""
    exp_dir = report.experiment_dir
    console.print(Text.assemble(("Experiment", "bold"), f" {exp_dir}"), soft_wrap=True)
    for point in report.analysis.points:
        console.print(fitting_table(report.summary, console, point.key))
    console.print()
    console.print(Text.assemble(("Verdict. ", "bold"), report.verdict))
    for point in report.analysis.points:
        if point.versus is not None:
            console.print()
            console.print(versus_rich_table(point.versus, report.claims(point.versus)))
    for w in report.warnings:
        console.print(f"Warning: {w}", style="yellow", markup=False, highlight=False, soft_wrap=True)
    wrote = Text.assemble("\n", (f"Wrote {len(report.files)} files", "bold"), f" into {exp_dir}:")
    console.print(wrote, soft_wrap=True)
    for f in report.files:
        shown = f.relative_to(exp_dir) if f.is_relative_to(exp_dir) else f
        console.print(f"  {shown}", markup=False, highlight=False, soft_wrap=True)


def rich_table(table: pd.DataFrame, point: str = LAST) -> Table:
    """The summary table for the console, one row per arm."""
    header, rows = display_rows(table, point)
    t = Table(title=table_title(point), title_justify="left")
    for i, h in enumerate(header):
        t.add_column(h, justify="left" if i == 0 or h == "status" else "right")
    for row in rows:
        t.add_row(*(Text(c) for c in row), style="yellow" if row[-1].startswith("partial") else None)
    return t


def rich_table_by_metric(table: pd.DataFrame, point: str = LAST) -> Table:
    """The same numbers with one column per arm and one row per measure, for narrow consoles."""
    header, rows = display_rows(table, point)
    t = Table(title=table_title(point), title_justify="left")
    t.add_column("", justify="left", no_wrap=True)
    for row in rows:
        t.add_column(Text(row[0]), justify="right", no_wrap=True)
    for i, name in enumerate(header[1:], start=1):
        if name == DELTA_HEADER:
            t.add_row(Text("Δ test acc vs baseline (pp)"), *(Text(r[i].split(" [")[0]) for r in rows))
            t.add_row(Text("  95% CI"), *(Text("[" + r[i].split(" [")[1] if " [" in r[i] else "") for r in rows))
        else:
            t.add_row(Text(name), *(Text(r[i]) for r in rows))
    return t


def fitting_table(table: pd.DataFrame, console: Console, point: str = LAST) -> Table:
    """The wide table (one row per arm) when it fits the console, else the one with a column per arm."""
    wide = rich_table(table, point)
    unbounded = console.options.update_width(10_000)
    if Measurement.get(console, unbounded, wide).maximum <= console.width:
        return wide
    return rich_table_by_metric(table, point)


def versus_rich_table(versus: Paired, judged: list[str]) -> Table:
    """The paired differences against the `plot --reference` arm, for the console."""
    ref = arm_label(*versus.reference)
    title = f"Paired differences against {ref} (arm − {ref}, same seed), {POINT_TITLES[versus.point]}"
    t = Table(title=title, title_justify="left")
    for i, h in enumerate(("arm", *PAIRED_HEADER)):
        t.add_column(h, justify="left" if i < 2 or h == "claim" else "right")
    previous = None
    for row in paired_rows(versus, judged):
        t.add_row(*(Text(c) for c in ([row[0] if row[0] != previous else ""] + row[1:])))
        previous = row[0]
    if versus.summary.empty:
        t.add_row(Text("no run shares a seed with the reference arm"), *[Text("")] * len(PAIRED_HEADER))
    return t
