"""The summary of `plot` as text: the tables for the console (Rich) and summary.md (Markdown).

Rendering only: every number comes from `summary.summary_table` and the `Paired` comparisons of
`facts.Analysis`; every name, unit and number format from the `metrics.Metric` records.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from mixup_bench.analysis import stats
from mixup_bench.analysis.claim import open_text
from mixup_bench.analysis.facts import POINT_TITLES, Analysis
from mixup_bench.analysis.memorisation import DISPLAY_HEADER, SUMMARY_COLUMNS
from mixup_bench.analysis.summary import BEST_VAL_MEASURES, BEST_VAL_PREFIX, paired_table
from mixup_bench.metrics import METRICS, epoch_span, p_text
from mixup_bench.naming import arm_label, format_alpha

DELTA_HEADER = "Δ test acc vs baseline (pp) [95% CI]"


def _pm(mean: float, std: float, digits: int, n: int) -> str:
    """'74.01 ± 0.28' (mean ± std over seeds), the mean alone for one seed, '–' without a value."""
    if not math.isfinite(mean):
        return "–"
    if n < 2 or not math.isfinite(std):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _delta(row, prefix: str) -> str:
    if row["method"] == "baseline":
        return "(reference)"
    d = row[f"{prefix}delta_test_acc_pp"]
    if not math.isfinite(d):
        return "no pair"
    lo, hi = row[f"{prefix}delta_test_acc_pp_ci_low"], row[f"{prefix}delta_test_acc_pp_ci_high"]
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return f"{d:+.2f} (1 pair, no CI)"
    return f"{d:+.2f} [{lo:+.2f}, {hi:+.2f}]"


def _measure(name: str, prefix: str = "") -> tuple[str, Callable]:
    """A column of a summary table: its header ('test accuracy (%)', 'test loss') and its cell."""
    m = METRICS[name]
    stem = f"{prefix}{name}_pct" if m.fraction else f"{prefix}{name}"
    header = f"{m.short} ({m.unit})" if m.fraction else m.short
    return header, lambda r, n: _pm(r[f"{stem}_mean"], r[f"{stem}_std"], m.decimals, n)


def _status(r, n: int) -> str:
    """'done', or how many runs are unfinished and whether a process trains them now: 'partial: 1 of 3
    running', 'partial: 1 of 3 stopped' (`run` resumes it), 'partial: 2 of 3 (1 running, 1 stopped)'."""
    if not r["partial"]:
        return "done"
    unfinished, running = n - int(r["runs_done"]), int(r.get("runs_running", 0))
    if running in (0, unfinished):
        return f"partial: {unfinished} of {n} {'running' if running else 'stopped'}"
    return f"partial: {unfinished} of {n} ({running} running, {unfinished - running} stopped)"


_LAST_MEASURES = ("test_acc", "test_loss", "clean_train_loss", "gap", "test_ece")
_LAST_COLUMNS = (
    ("epochs", lambda r, n: epoch_span(r["final_epoch_min"], r["final_epoch_max"])),
    *(_measure(m) for m in _LAST_MEASURES),
    (DELTA_HEADER, lambda r, n: _delta(r, "")),
    ("status", _status),
)
_BEST_VAL_COLUMNS = (
    ("epochs", lambda r, n: epoch_span(r[f"{BEST_VAL_PREFIX}epoch_min"], r[f"{BEST_VAL_PREFIX}epoch_max"])),
    *(_measure(m, BEST_VAL_PREFIX) for m in BEST_VAL_MEASURES),
    (DELTA_HEADER, lambda r, n: _delta(r, BEST_VAL_PREFIX)),
)


def display_rows(table: pd.DataFrame, point: str = stats.LAST) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the summary table at one reporting point as text, shared by the console and
    summary.md. At the last epoch the memorisation column follows ECE when the runs logged it."""
    columns = _LAST_COLUMNS if point == stats.LAST else _BEST_VAL_COLUMNS
    header = ["arm", "seeds", *(h for h, _ in columns)]
    rows = [[str(r["arm"]), str(int(r["seeds"])), *(cell(r, int(r["seeds"])) for _, cell in columns)]
            for _, r in table.iterrows()]  # fmt: skip
    if point == stats.LAST and SUMMARY_COLUMNS[0] in table.columns:  # --label-noise runs only
        at = header.index(DELTA_HEADER)
        header.insert(at, DISPLAY_HEADER)
        for row, (_, r) in zip(rows, table.iterrows(), strict=True):
            row.insert(at, _pm(r[SUMMARY_COLUMNS[0]], r[SUMMARY_COLUMNS[1]], 1, int(r["seeds"])))
    return header, rows


def table_title(point: str) -> str:
    """'Last epoch (pre-registered), mean ± std over seeds' and the like."""
    title = POINT_TITLES[point]
    if point == stats.BEST_VAL:
        title += "; the test numbers of that epoch"
    return f"{title[:1].upper()}{title[1:]}, mean ± std over seeds"


def rich_table(table: pd.DataFrame, point: str = stats.LAST) -> Table:
    """The summary table for the console, one row per arm."""
    header, rows = display_rows(table, point)
    t = Table(title=table_title(point), title_justify="left")
    for i, h in enumerate(header):
        t.add_column(h, justify="left" if i == 0 or h == "status" else "right")
    for row in rows:
        t.add_row(*(Text(c) for c in row), style="yellow" if row[-1].startswith("partial") else None)
    return t


def rich_table_by_metric(table: pd.DataFrame, point: str = stats.LAST) -> Table:
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


def fitting_table(table: pd.DataFrame, console: Console, point: str = stats.LAST) -> Table:
    """The wide table (one row per arm) when it fits the console, else the one with a column per arm."""
    wide = rich_table(table, point)
    unbounded = console.options.update_width(10_000)
    if Measurement.get(console, unbounded, wide).maximum <= console.width:
        return wide
    return rich_table_by_metric(table, point)


# --- paired comparisons ---------------------------------------------------------------------

PAIRED_HEADER = ("metric", "mean", "95% CI", "p", "test", "Holm p", "claim", "pairs", "epoch")
_TESTS = {"paired t test": "t", "exact sign-flip test": "sign-flip (exact)"}  # the test column's short names


def paired_rows(paired: stats.Paired, by_alpha: bool = False, correction: bool = True) -> list[list[str]]:
    """One row of text per (arm, measure) of `paired`: the arm (its alpha with `by_alpha`, as in MixUp-only
    experiments, else its label), measure, mean, 95% CI, raw p and the test behind it, the Holm-adjusted
    (sequential, in a sequential design) p, the judgement (with the seeds an open part would need), pairs
    and epochs."""
    rows = []
    judged = paired_table(paired, correction)["claim"]
    for (_, s), claim in zip(paired.summary.iterrows(), judged, strict=True):
        m = METRICS[s["metric"]]
        iv = stats.Interval.from_row(s)
        ci = f"{m.diff_text(iv.low)} to {m.diff_text(iv.high)}" if math.isfinite(iv.low) else "n/a (one pair)"
        arm = format_alpha(s["alpha"]) if by_alpha else arm_label(s["method"], s["alpha"])
        epochs = epoch_span(s["epoch_min"], s["epoch_max"])
        words = open_text(m.name, claim, float(s["seeds_needed"])) if claim else ""
        test = _TESTS.get(iv.test, iv.test or "–")
        rows.append([arm, m.label, m.diff_text(iv.mean), ci, p_text(iv.p), test, p_text(iv.p_holm), words, str(iv.n),
                     epochs])  # fmt: skip
    return rows


def procedure_line(paired: stats.Paired, correction: bool = True) -> str:
    """How the section's words were reached: the procedure, the family and what each p is."""
    family = (
        "each arm against the baseline is its own family (Holm over that arm's parts of the claim)"
        if paired.family == stats.COMPARISON
        else "one family over every arm and part of the claim (--family experiment)"
    )
    seq = (
        "; p is each part's own test at the last look, Holm p its sequential p-value adjusted over the family"
        if len(paired.looks) > 1
        else ""
    )
    corrected = "" if correction else "; --no-correction: the claim column judges the raw p-values"
    return f"Procedure: {paired.procedure}; {family}{seq}{corrected}."


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def _md_table(header: list[str], rows: list[list[str]], aligns: list[str]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(aligns) + "|"]
    return lines + ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in rows]


def _paired_markdown(title: str, paired: stats.Paired, by_alpha: bool, correction: bool) -> list[str]:
    """A summary.md section: `title` and the table of `paired_rows`."""
    header = ["alpha" if by_alpha else "arm", *PAIRED_HEADER]
    aligns = ["---", "---", "---:", "---", "---:", "---", "---:", "---", "---:", "---:"]
    rows = paired_rows(paired, by_alpha, correction)
    return [title, "", procedure_line(paired, correction), "", *_md_table(header, rows, aligns), ""]


def versus_rich_table(versus: stats.Paired, correction: bool = True) -> Table:
    """The paired differences against the `plot --reference` arm, for the console."""
    ref = arm_label(*versus.reference)
    title = f"Paired differences against {ref} (arm − {ref}, same seed), {POINT_TITLES[versus.point]}"
    t = Table(title=title, title_justify="left")
    for i, h in enumerate(("arm", *PAIRED_HEADER)):
        t.add_column(h, justify="left" if i < 2 or h == "claim" else "right")
    previous = None
    for row in paired_rows(versus, correction=correction):
        t.add_row(*(Text(c) for c in ([row[0] if row[0] != previous else ""] + row[1:])))
        previous = row[0]
    if versus.summary.empty:
        t.add_row(Text("no run shares a seed with the reference arm"), *[Text("")] * len(PAIRED_HEADER))
    return t


# --- summary.md ---------------------------------------------------------------------------


def summary_markdown(
    exp_dir: Path,
    table: pd.DataFrame,
    verdict: str,
    analysis: Analysis,
    warnings: list[str],
    figures: list[Path],
    config: str = "",
    correction: bool = True,
    sections: list[str] = (),
) -> str:
    """summary.md: the setup line `config`, the table at each reporting point, the verdict, the paired
    differences against the baseline (and against the `plot --reference` arm) at each point, with raw
    and Holm-adjusted p-values, any further `sections` (markdown lines: the dose-response), the warnings
    and the figure links."""
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
        header, rows = display_rows(table, point.key)
        aligns = ["---"] + ["---:"] * (len(header) - 2) + ["---" if header[-1] == "status" else "---:"]
        lines += [f"## {table_title(point.key)}", "", *_md_table(header, rows, aligns), ""]
    lines += ["## Verdict", "", verdict, ""]
    for point in analysis.points:
        lines += _point_sections(point, mixup_only, correction)
    lines += list(sections)
    if warnings:
        lines += ["## Warnings", ""] + [f"- {w}" for w in warnings] + [""]
    lines += _figure_links(exp_dir, figures)
    return "\n".join(lines)


def _point_sections(point, mixup_only: bool, correction: bool) -> list[str]:
    """The paired-difference sections of one reporting point (against the baseline, then the reference arm)."""
    lines = []
    if not point.paired.summary.empty:
        what = "MixUp − baseline" if mixup_only else "arm − baseline"
        title = f"## Paired differences ({what}, same seed), {point.title}"
        lines += _paired_markdown(title, point.paired, mixup_only, correction)
    if point.versus is not None and not point.versus.summary.empty:
        ref = arm_label(*point.versus.reference)
        title = f"## Paired differences against {ref} (arm − {ref}, same seed), {point.title}"
        lines += _paired_markdown(title, point.versus, False, correction)
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
