"""What `mixup-bench compare` writes and prints: regime_map.csv, regime_map.md and the console table.

Rendering only: every number comes from the `CompareResult` of `compare.compare_experiments`, and
every name, unit and number format from the `metrics.Metric` records.
"""

from __future__ import annotations

import math
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from mixup_bench.analysis.compare import TABLE_CSV, TABLE_MD, Compared, CompareResult, setting_label
from mixup_bench.metrics import LEVEL, Metric, epoch_span, p_clause
from mixup_bench.naming import arm_label, format_alpha
from mixup_bench.results.atomic import atomic_write_text


def write_comparison(result: CompareResult, figures: list[Path]) -> list[Path]:
    """Write regime_map.csv and regime_map.md (which links the `figures` already drawn) into
    `result.out_dir`; return every path, the figures included, and keep them in `result.files`."""
    csv_path, md_path = result.out_dir / TABLE_CSV, result.out_dir / TABLE_MD
    atomic_write_text(csv_path, result.table.to_csv(index=False, float_format="%.6g"))
    atomic_write_text(md_path, regime_markdown(result, figures))
    result.files = [csv_path, md_path, *figures]
    return result.files


def _num(x: float, digits: int) -> str:
    return f"{x:+.{digits}f}" if math.isfinite(x) else "n/a"


def delta_text(row, m: Metric) -> str:
    """'+1.23 [+0.50, +2.00]' (mean and 95% interval), or '+1.23 (1 pair)' without an interval."""
    stem, digits = m.delta_column, m.decimals
    mean, lo, hi = row[stem], row[f"{stem}_ci_low"], row[f"{stem}_ci_high"]
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return f"{_num(mean, digits)} (1 pair)" if int(row["pairs"]) == 1 else _num(mean, digits)
    return f"{_num(mean, digits)} [{_num(lo, digits)}, {_num(hi, digits)}]"


def _claim_text(row, m: Metric, correction: bool) -> str:
    """'supported (Holm p=0.004)', or the word alone without a p-value."""
    p = row[f"{m.name}_p_holm"] if correction else row[f"{m.name}_p"]
    word = str(row[f"{m.name}_claim"])
    return f"{word} ({p_clause(p, holm=correction)})" if math.isfinite(p) else word


def _display(result: CompareResult) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the regime table as text, for regime_map.md."""
    header = [result.setting, "experiment", "arm", "pairs", "epoch"]
    for m in result.metrics:
        header += [f"Δ {m.short} ({m.diff_unit}) [95% CI]", f"claim: {m.claim}"]
    rows = []
    for _, r in result.table.iterrows():
        row = [str(r["value_label"]), str(r["experiment"]), str(r["arm"]), str(r["pairs"])]
        row.append(epoch_span(r["epoch_min"], r["epoch_max"]))
        for m in result.metrics:
            row += [delta_text(r, m), _claim_text(r, m, result.correction)]
        rows.append(row)
    return header, rows


def judging_text(result: CompareResult) -> str:
    """How regime_map.md judges each Δ, and over which family the correction runs."""
    rule = (
        "Holm's correction over every comparison of that experiment's verdict (every arm × every part of the "
        "claim, clean train loss included), as `plot` does, so each word is that verdict's"
        if result.correction
        else "raw p-values (`--no-correction`): not corrected for making several comparisons"
    )
    return (
        f"Δ is {_compared_name(result)} − baseline, paired by seed, at the last epoch both runs of a pair reached "
        "(the final epoch for finished runs), with a 95% t interval over the pairs. Accuracy and ECE differences "
        "are in percentage points, losses in nats; the gap is test loss − clean train loss. After each Δ, the "
        "MixUp claim (the same for every arm) for that measure (test accuracy higher, test loss lower, gap "
        f"smaller, ECE lower) is judged by the paired t test at the {LEVEL:g} level: *supported* when it is "
        "significant on the claimed side, *contradicted* when on the other side, *inconclusive* when not "
        f"significant, *no interval* with a single pair. The p-values are judged after {rule}."
    )


def regime_markdown(result: CompareResult, figures: list[Path]) -> str:
    """regime_map.md: what was compared, the table with a word per claim, the notes and the figure."""
    label = setting_label(result.setting)
    lines = [f"# MixUp regime map: {label}", ""]
    lines += [f"{len(result.experiments)} experiments, one per value of `{result.setting}`:", ""]
    lines += [f"| {result.setting} | experiment | folder | {'MixUp arms' if result.mixup_only else 'arms'} |"]
    lines.append("|---:|---|---|---|")
    for e in result.experiments:
        lines.append(f"| {result.value_label(e)} | {e.name} | `{e.path}` | {_arms_text(result, e)} |")
    lines.append("")
    if result.also_differ:
        other = "; ".join(f"`{k}` ({', '.join(v)})" for k, v in result.also_differ.items())
        lines += [
            f"**Confounded:** these settings differ between the experiments too, so what changes along "
            f"`{result.setting}` may come from them: {other}.",
            "",
        ]
    lines += [judging_text(result), ""]
    header, rows = _display(result)
    aligns = ["---:", "---", "---", "---:", "---:"] + ["---:", "---"] * len(result.metrics)
    lines += ["| " + " | ".join(header) + " |", "|" + "|".join(aligns) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    lines.append("")
    if result.warnings:
        lines += ["## Notes", ""] + [f"- {w}" for w in result.warnings] + [""]
    pngs = [f for f in figures if f.suffix == ".png"]
    if pngs:
        lines += ["## Figure", ""] + [f"![regime map]({f.name})" for f in pngs] + [""]
    return "\n".join(lines)


# --- the console --------------------------------------------------------------------------


def print_comparison(result: CompareResult, console: Console) -> None:
    """The table, the confounded settings and notes (in yellow), and the files written."""
    console.print(console_table(result))
    if result.also_differ:
        other = "; ".join(f"{k} ({', '.join(v)})" for k, v in result.also_differ.items())
        console.print(f"Confounded: these settings differ too: {other}", style="yellow", markup=False)
    for w in result.warnings:
        console.print(f"Warning: {w}", style="yellow", markup=False, highlight=False)
    console.print(Text.assemble("\n", (f"Wrote {len(result.files)} files", "bold"), f" into {result.out_dir}:"))
    for f in result.files:
        console.print(f"  {f.name}", markup=False, highlight=False)


def console_table(result: CompareResult) -> Table:
    """The regime table for a terminal: one row per measure, grouped by setting value and arm (fits 80 columns;
    the p-values are in regime_map.md and regime_map.csv)."""
    p = "Holm-adjusted p" if result.correction else "raw p, --no-correction"
    t = Table(
        title=f"{_compared_name(result)} − baseline by {result.setting} (paired by seed, final epoch)",
        title_justify="left",
        caption=f"claim: test acc higher, test loss lower, gap smaller, ECE lower; supported = paired t test "
        f"significant on the claimed side ({p} < {LEVEL:g}; p-values in {TABLE_MD}), contradicted = on the other "
        "side, inconclusive = not significant",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1, 0, 0),
        show_edge=False,
    )
    t.add_column(result.setting, justify="right")
    t.add_column("arm")
    t.add_column("Δ of", no_wrap=True)
    t.add_column("mean [95% CI]", justify="right", no_wrap=True)
    t.add_column("claim", no_wrap=True)
    for _, r in result.table.iterrows():
        for i, m in enumerate(result.metrics):
            first = i == 0
            t.add_row(
                Text(str(r["value_label"]) if first else ""),
                Text(f"{_short_arm(result, r['method'], r['alpha'])}, n={r['pairs']}" if first else ""),
                Text(f"{m.short}, {m.diff_unit}" if m.fraction else m.short),
                Text(delta_text(r, m)),
                Text(str(r[f"{m.name}_claim"])),
                end_section=i == len(result.metrics) - 1,
            )
    return t


def _compared_name(result: CompareResult) -> str:
    return "MixUp" if result.mixup_only else "arm"


def _short_arm(result: CompareResult, method: str, alpha: float) -> str:
    """'α=0.4' in MixUp-only comparisons, else the arm's label with greek letters ('CutMix α=1')."""
    return f"α={format_alpha(alpha)}" if result.mixup_only else arm_label(method, alpha, greek=True)


def _arms_text(result: CompareResult, exp: Compared) -> str:
    """The compared arms of one experiment: 'α = 0.2, 1' (MixUp only), else their labels."""
    arms = exp.paired.compared
    if result.mixup_only:
        return "α = " + ", ".join(format_alpha(a) for _, a in arms)
    return ", ".join(arm_label(m, a, greek=True) for m, a in arms)
