"""The report of `mixup-bench plot`: read an experiment and compute its numbers once (`read_report`),
write summary.csv, paired.csv and summary.md (`write_report`), print the tables and the verdict
(`print_report`).

The figures are not drawn here: the command layer (`mixup_bench.plotting`) hands the `Report`'s
numbers to `figures` and the paths it wrote back to `write_report`, so that analysis never
imports figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.text import Text

from mixup_bench import naming as labels
from mixup_bench.analysis import claim, run_logs, summary, tables, trend
from mixup_bench.analysis import load as loading
from mixup_bench.analysis import shift as shift_tables
from mixup_bench.analysis.facts import Analysis, analyze
from mixup_bench.catalog import record_title
from mixup_bench.errors import UserError
from mixup_bench.results.atomic import atomic_write_text
from mixup_bench.results.discovery import find_experiment
from mixup_bench.results.writable import check_output_dir

SUMMARY_CSV = "summary.csv"
SUMMARY_MD = "summary.md"
PAIRED_CSV = "paired.csv"  # every paired comparison against the baseline, at both reporting points
VERSUS_CSV_PREFIX = "paired_vs_"  # + the reference arm's id (`plot --reference`): paired_vs_mixup-a0.2.csv
DOSE_CSV = "dose_response.csv"  # the trend of every measure against MixUp alpha (three alphas or more)


@dataclass
class Report:
    """One experiment read and computed for `plot`: its numbers, the verdict, and what was written."""

    experiment_dir: Path
    analysis: Analysis
    summary: pd.DataFrame  # summary.summary_table: one row per arm
    verdict: str
    warnings: list[str]
    record: dict  # experiment.json ({} without one)
    lam: pd.DataFrame  # every lam the mixing arms sampled (run_logs.load_lam)
    reliability: list[run_logs.Reliability]  # calibration bins pooled per arm (run_logs.load_calibration)
    shift: shift_tables.ShiftFacts | None  # per corruption, severity and attack (runs with --shift), else None
    dose: trend.DoseResponse | None  # each measure against MixUp alpha (3 alphas or more), else None
    arms: list[tuple[str, float]]  # every arm the experiment holds or plans, for colours (load.experiment_arms)
    correction: bool = True  # judged on Holm-adjusted p-values (False: `plot --no-correction`)
    files: list[Path] = field(default_factory=list)  # written by write_report

    @property
    def name(self) -> str:
        return self.experiment_dir.name


def design_looks(record: dict) -> tuple[int, ...]:
    """The looks of the sequential design an experiment was run under (experiment.json's `sequential`,
    written by `run --until-decided`); () for a fixed number of seeds or a record that holds no valid one."""
    looks = (record.get("sequential") or {}).get("looks") if isinstance(record.get("sequential"), dict) else None
    if not isinstance(looks, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in looks):
        return ()
    return tuple(looks) if len(looks) > 1 and looks == sorted(set(looks)) and looks[0] >= 2 else ()


def read_report(
    path: Path, reference: str | None = None, correction: bool = True, family: str = "comparison"
) -> Report:
    """Resolve `path` to an experiment (a folder, or a results root: its latest experiment), read it and
    compute every number once (`facts.analyze`): the summary table and the verdict.

    With `reference` (an arm id such as 'mixup-a0.2' or 'smooth-e0.1', see `resolve_reference`), every
    other arm is also paired with that arm. Without `correction`, the verdict judges raw p-values.

    Raises UserError when the folder is missing, holds no experiment, no run can be read, or
    `reference` names no arm of the experiment; and before any reading when the folder cannot be written.
    """
    exp_dir = find_experiment(Path(path))
    check_output_dir(exp_dir)  # before the reading and drawing: a read-only folder fails at once
    df, warnings = loading.load_experiment(exp_dir)
    lam, lam_warnings = run_logs.load_lam(exp_dir, df)
    reliability, cal_warnings = run_logs.load_calibration(exp_dir, df)
    record, record_warnings = loading.read_record(exp_dir)
    cells, shift_warnings = shift_tables.load_corruptions(exp_dir, df)
    arm = None if reference is None else resolve_reference(reference, labels.arms(df))
    analysis = analyze(df, reference=arm, looks=design_looks(record), family=family)
    return Report(
        experiment_dir=exp_dir,
        analysis=analysis,
        summary=summary.summary_table(analysis),
        verdict=claim.verdict(analysis, correction),
        warnings=warnings + lam_warnings + cal_warnings + record_warnings + shift_warnings,
        record=record,
        lam=lam,
        reliability=reliability,
        shift=shift_tables.shift_facts(analysis, cells),
        dose=trend.dose_response(analysis),
        arms=loading.experiment_arms(exp_dir, df),
        correction=correction,
    )


def write_report(report: Report, figures: list[Path]) -> list[Path]:
    """Write summary.csv, paired.csv, paired_vs_<arm>.csv (with a reference arm) and summary.md, which
    links the `figures` already drawn; return every path, the figures included, and keep them in `report.files`."""
    exp_dir, analysis = report.experiment_dir, report.analysis
    written = {
        exp_dir / SUMMARY_CSV: report.summary,
        exp_dir / PAIRED_CSV: summary.every_paired_table(analysis, report.correction),
    }
    if analysis.versus is not None:
        versus = exp_dir / f"{VERSUS_CSV_PREFIX}{labels.arm_id(*analysis.versus.reference)}.csv"
        written[versus] = summary.every_paired_table(analysis, report.correction, versus=True)
    if report.dose is not None:
        written[exp_dir / DOSE_CSV] = trend.trend_table(report.dose)
    for path, table in written.items():
        atomic_write_text(path, table.to_csv(index=False, float_format="%.6g"))
    md_path = exp_dir / SUMMARY_MD
    markdown = tables.summary_markdown(
        exp_dir, report.summary, report.verdict, analysis, report.warnings, figures, config_line(report.record),
        report.correction, sections=trend.trend_markdown(report.dose) if report.dose is not None else [],
    )  # fmt: skip
    atomic_write_text(md_path, markdown)
    paths = list(written)
    report.files = [paths[0], md_path, *paths[1:], *figures]
    return report.files


def resolve_reference(text: str, arms: list[tuple[str, float]]) -> tuple[str, float]:
    """The arm (method, parameter) of `plot --reference TEXT`: an arm id as in the run ids, without the
    seed ('mixup-a0.2', 'cutmix-a1', 'smooth-e0.1', 'manifold-a2', 'baseline'). A UserError (one line)
    when the text names no arm, or an arm the experiment does not hold."""
    held = ", ".join(labels.arm_id(*arm) for arm in arms)
    arm = labels.parse_arm(text)
    if arm is None:
        raise UserError(
            f"--reference {text!r} is not an arm name; give one as in the run ids, without -s<seed>: {held}."
        )
    if arm not in arms:
        raise UserError(f"--reference {text}: the experiment has no arm {labels.arm_id(*arm)}; its arms are: {held}.")
    return arm


def print_report(report: Report, console: Console) -> None:
    """The tables at each reporting point, the verdict, the tables against the reference arm, the
    warnings (in yellow) and the files written."""
    exp_dir = report.experiment_dir
    console.print(Text.assemble(("Experiment", "bold"), f" {exp_dir}"), soft_wrap=True)
    for point in report.analysis.points:
        console.print(tables.fitting_table(report.summary, console, point.key))
    console.print()
    console.print(Text.assemble(("Verdict. ", "bold"), report.verdict))
    for point in report.analysis.points:
        if point.versus is not None:
            console.print()
            console.print(tables.versus_rich_table(point.versus, report.correction))
    for w in report.warnings:
        console.print(f"Warning: {w}", style="yellow", markup=False, highlight=False, soft_wrap=True)
    wrote = Text.assemble("\n", (f"Wrote {len(report.files)} files", "bold"), f" into {exp_dir}:")
    console.print(wrote, soft_wrap=True)
    for f in report.files:
        shown = f.relative_to(exp_dir) if f.is_relative_to(exp_dir) else f
        console.print(f"  {shown}", markup=False, highlight=False, soft_wrap=True)


def config_line(record: dict) -> str:
    """The regime the verdict holds for, in one line, from an experiment.json record ("" when it holds none).

    e.g. "Regime: CIFAR-10, small-cnn, 10,000 training images, 40% label noise, 15 epochs, batch 128, peak lr 0.1,
    weight decay 0.0005, no augmentation; device cpu (bf16)."
    """
    config = record.get("config") if isinstance(record.get("config"), dict) else {}
    t = config.get("training") if isinstance(config.get("training"), dict) else {}
    parts = []
    if "model" in t:
        parts.append(str(t["model"]))
    if "subset" in t:
        parts.append(f"{t['subset']:,} training images" if isinstance(t["subset"], int) else "all training images")
    if isinstance(t.get("val_size"), int) and t["val_size"] > 0:
        parts.append(f"{t['val_size']:,} validation images")
    if isinstance(t.get("label_noise"), (int, float)) and t["label_noise"] > 0:
        parts.append(f"{100 * t['label_noise']:g}% label noise")
    for key, fmt in (("epochs", "{} epochs"), ("batch_size", "batch {}"), ("lr", "peak lr {}"),
                     ("weight_decay", "weight decay {}")):  # fmt: skip
        if key in t:
            parts.append(fmt.format(t[key]))
    if "augment" in t:
        parts.append("crop+flip augmentation" if t["augment"] else "no augmentation")
    if t.get("lam_mode") == "elem":
        parts.append("one lam per image")
    device = record.get("device") if isinstance(record.get("device"), dict) else {}
    if device.get("resolved"):
        parts.append(f"device {device['resolved']} ({device.get('precision', '?')})")
    # first the data set (CIFAR-10 for a record from before it was kept)
    return "Regime: " + ", ".join(map(str, [record_title(record), *parts])) + "." if parts else ""
