"""What `plot` writes as text files: summary.csv, paired.csv, paired_vs_<arm>.csv, dose_response.csv and
summary.md.

Layout only: every number, judgement and sentence comes from the `report.Report`, every cell's text from
`text` (shared with the console, `terminal`).
"""

from __future__ import annotations

import math
from pathlib import Path

from mixup_bench.analysis.claim import capital
from mixup_bench.analysis.facts import Point
from mixup_bench.analysis.report import (
    DOSE_CSV,
    PAIRED_CSV,
    SUMMARY_CSV,
    SUMMARY_MD,
    VERSUS_CSV_PREFIX,
    Report,
)
from mixup_bench.analysis.stats import Paired
from mixup_bench.analysis.text import PAIRED_HEADER, display_rows, paired_rows, procedure_line, table_title
from mixup_bench.analysis.trend import DoseResponse
from mixup_bench.metrics import METRICS, p_text
from mixup_bench.naming import arm_id, arm_label, format_alpha
from mixup_bench.results.atomic import atomic_write_text


def write_report(report: Report, figures: list[Path]) -> list[Path]:
    """Write summary.csv, paired.csv, paired_vs_<arm>.csv (with a reference arm), dose_response.csv (three
    MixUp alphas or more) and summary.md, which links the `figures` already drawn; return every path, the
    figures included, and keep them in `report.files`."""
    exp_dir, analysis = report.experiment_dir, report.analysis
    written = {exp_dir / SUMMARY_CSV: report.summary, exp_dir / PAIRED_CSV: report.paired_csv()}
    if analysis.versus is not None:
        versus = exp_dir / f"{VERSUS_CSV_PREFIX}{arm_id(*analysis.versus.reference)}.csv"
        written[versus] = report.paired_csv(versus=True)
    if report.dose_table is not None:
        written[exp_dir / DOSE_CSV] = report.dose_table
    for path, table in written.items():
        atomic_write_text(path, table.to_csv(index=False, float_format="%.6g"))
    md_path = exp_dir / SUMMARY_MD
    atomic_write_text(md_path, summary_markdown(report, figures))
    paths = list(written)
    report.files = [paths[0], md_path, *paths[1:], *figures]
    return report.files


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def _md_table(header: list[str], rows: list[list[str]], aligns: list[str]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(aligns) + "|"]
    return lines + ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in rows]


def _paired_markdown(title: str, paired: Paired, by_alpha: bool, report: Report) -> list[str]:
    """A summary.md section: `title` and the table of `paired_rows`."""
    header = ["alpha" if by_alpha else "arm", *PAIRED_HEADER]
    aligns = ["---", "---", "---:", "---", "---:", "---", "---:", "---", "---:", "---:"]
    rows = paired_rows(paired, report.claims(paired), by_alpha)
    return [title, "", procedure_line(paired, report.correction), "", *_md_table(header, rows, aligns), ""]


def summary_markdown(report: Report, figures: list[Path]) -> str:
    """summary.md: the regime line, the table at each reporting point, the verdict, the paired
    differences against the baseline (and against the `plot --reference` arm) at each point, with raw
    and Holm-adjusted p-values, the dose-response (three MixUp alphas or more), the warnings and the
    links to the `figures`."""
    analysis, exp_dir, config = report.analysis, report.experiment_dir, report.regime
    mixup_only = analysis.mixup_only
    lines = [f"# MixUp benchmark: {exp_dir.name}", ""] + ([config, ""] if config else [])
    lines += [
        "Mean ± std over seeds. Accuracy and ECE in %, losses are cross-entropy in nats; the gap is test loss − "
        f"clean train loss. Δ is {'MixUp' if mixup_only else 'arm'} − baseline paired by seed, with a 95% t "
        "interval. Nothing is chosen by test numbers: the best epoch is each run's epoch of highest "
        "validation accuracy.",
        "",
    ]
    for point in analysis.points:
        header, rows = display_rows(report.summary, point.key)
        aligns = ["---"] + ["---:"] * (len(header) - 2) + ["---" if header[-1] == "status" else "---:"]
        lines += [f"## {table_title(point.key)}", "", *_md_table(header, rows, aligns), ""]
    lines += ["## Verdict", "", report.verdict, ""]
    for point in analysis.points:
        lines += _point_sections(point, mixup_only, report)
    lines += trend_markdown(report.dose) if report.dose is not None else []
    if report.warnings:
        lines += ["## Warnings", ""] + [f"- {w}" for w in report.warnings] + [""]
    lines += _figure_links(exp_dir, figures)
    return "\n".join(lines)


def _point_sections(point: Point, mixup_only: bool, report: Report) -> list[str]:
    """The paired-difference sections of one reporting point (against the baseline, then the reference arm)."""
    lines = []
    if not point.paired.summary.empty:
        what = "MixUp − baseline" if mixup_only else "arm − baseline"
        title = f"## Paired differences ({what}, same seed), {point.title}"
        lines += _paired_markdown(title, point.paired, mixup_only, report)
    if point.versus is not None and not point.versus.summary.empty:
        ref = arm_label(*point.versus.reference)
        title = f"## Paired differences against {ref} (arm − {ref}, same seed), {point.title}"
        lines += _paired_markdown(title, point.versus, False, report)
    return lines


def _figure_links(exp_dir: Path, figures: list[Path]) -> list[str]:
    pngs = [f for f in figures if f.suffix == ".png"]
    if not pngs:
        return []
    lines = ["## Figures", ""]
    for f in pngs:
        rel = f.relative_to(exp_dir).as_posix() if f.is_relative_to(exp_dir) else f.as_posix()
        lines.append(f"![{f.stem.replace('_', ' ')}]({rel})")
    return lines + [""]


def trend_markdown(dose: DoseResponse) -> list[str]:
    """The summary.md section: the trend of every measure, where the losses bottom out, the best alpha."""
    alphas = ", ".join(format_alpha(a) for a in dose.alphas)
    tests = list(dict.fromkeys(t for t in dose.trend["test"] if t))
    if len(tests) == 1:
        named = f"p: {tests[0]}"
    else:
        named = "p: " + "; ".join(f"[{i}] {t}" for i, t in enumerate(tests, 1))
    lines = ["## Dose-response: each measure against MixUp α", "",
             f"At the last epoch, α ∈ {{{alphas}}} (0 = the baseline). Trend: each seed's Spearman ρ between α "
             "and the measure, then the mean over seeds (mean ρ). "
             f"{named}; two-sided, under the null that in every seed the measure's values are exchangeable "
             "across α; Holm-adjusted over the measures. 95% CI: a t interval over the seeds' ρ within [−1, 1], "
             "descriptive only (n/a with one seed or where every seed gives the same ρ).", "",
             "| measure | mean ρ | 95% CI | seeds | Holm p | reading |", "|---|---:|---|---:|---:|---|"]  # fmt: skip
    for _, r in dose.trend.iterrows():
        ci = f"{r['ci_low']:+.2f} to {r['ci_high']:+.2f}" if math.isfinite(r["ci_low"]) else "n/a"
        rho = f"{r['rho']:+.2f}" if math.isfinite(r["rho"]) else "n/a"
        p = p_text(r["p_holm"]) + (f" [{tests.index(r['test']) + 1}]" if len(tests) > 1 and r["test"] else "")
        reading = r["reading"]
        if math.isfinite(r["p_min"]) and r["p_min"] >= 0.05:
            reading += f" (p cannot go below {r['p_min']:.3f} with these seeds and α)"
        lines.append(f"| {METRICS[r['metric']].label} | {rho} | {ci} | {int(r['n'])} | {p} | {reading} |")
    lines.append("")
    for _, r in dose.minima.iterrows():
        what = capital(METRICS[r["metric"]].label)
        lines.append(f"- {what} is lowest at α={format_alpha(r['alpha'])} on the mean over seeds ({r['per_seed']}).")
    if dose.best_alpha is not None:
        lines.append(f"- The best α by validation accuracy (never by a test number): {format_alpha(dose.best_alpha)}.")
    return lines + [""]
