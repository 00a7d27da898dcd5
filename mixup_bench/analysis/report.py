"""`mixup-bench plot`: read an experiment, write summary.csv, summary.md and the figures, print the verdict."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from mixup_bench import naming as labels
from mixup_bench import results
from mixup_bench.analysis import claim, run_logs, stats, summary
from mixup_bench.analysis import load as loading
from mixup_bench.analysis.facts import analyze
from mixup_bench.analysis.memorisation import extend_display
from mixup_bench.errors import UserError

SUMMARY_CSV = "summary.csv"
SUMMARY_MD = "summary.md"
VERSUS_CSV_PREFIX = "paired_vs_"  # + the reference arm's id (`plot --reference`): paired_vs_mixup-a0.2.csv


@dataclass
class ReportResult:
    """What `make_report` did: the experiment it read, the files it wrote, what it warned about, the verdict."""

    experiment_dir: Path
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    verdict: str = ""
    summary: pd.DataFrame | None = None


def make_report(path: Path, console: Console, reference: str | None = None) -> ReportResult:
    """Resolve `path` to an experiment (a folder, or a results root: its latest experiment),
    write `summary.csv`, `summary.md` and `plots/*` into it, and print the table, the verdict,
    the warnings (skipped runs, in yellow) and the files written.

    With `reference` (an arm id such as 'mixup-a0.2' or 'smooth-e0.1', see `resolve_reference`),
    every other arm is also paired with that arm: a second table in summary.md and on the console,
    and `paired_vs_<arm>.csv` (see `summary.versus_table`).

    The aggregates and paired differences are computed once (`facts.analyze`) and the same
    `Analysis` feeds the table, the verdict and the figures.

    Raises UserError when the folder is missing, holds no experiment, no run can be read, or
    `reference` names no arm of the experiment.
    """
    from mixup_bench.figures import figures as plots  # local: matplotlib is slow to import

    exp_dir = results.find_experiment(Path(path))
    results.check_output_dir(exp_dir)  # before the reading and drawing: a read-only folder fails at once
    df, warnings = loading.load_experiment(exp_dir)
    lam, lam_warnings = run_logs.load_lam(exp_dir, df)
    reliability, cal_warnings = run_logs.load_calibration(exp_dir, df)
    record, record_warnings = loading.read_record(exp_dir)
    warnings = warnings + lam_warnings + cal_warnings + record_warnings

    analysis = analyze(df, reference=None if reference is None else resolve_reference(reference, labels.arms(df)))
    table = summary.summary_table(analysis)
    text = claim.verdict(analysis)

    csv_path = exp_dir / SUMMARY_CSV
    results.atomic_write_text(csv_path, table.to_csv(index=False, float_format="%.6g"))
    versus_csv = []
    if analysis.versus is not None:
        versus_csv = [exp_dir / f"{VERSUS_CSV_PREFIX}{labels.arm_id(*analysis.versus.reference)}.csv"]
        versus = summary.versus_table(analysis.versus)
        results.atomic_write_text(versus_csv[0], versus.to_csv(index=False, float_format="%.6g"))
    figure_paths = plots.plot_experiment(exp_dir, analysis, lam=lam, reliability=reliability)
    md_path = exp_dir / SUMMARY_MD
    markdown = summary_markdown(
        exp_dir, table, text, analysis.paired, warnings, figure_paths, config_line(record), versus=analysis.versus
    )
    results.atomic_write_text(md_path, markdown)
    files = [csv_path, md_path, *versus_csv, *figure_paths]

    _print_report(console, exp_dir, table, text, warnings, files, analysis.versus)
    return ReportResult(experiment_dir=exp_dir, files=files, warnings=warnings, verdict=text, summary=table)


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


def _print_report(
    console: Console,
    exp_dir: Path,
    table: pd.DataFrame,
    verdict: str,
    warnings: list[str],
    files: list[Path],
    versus: stats.Paired | None = None,
) -> None:
    console.print(Text.assemble(("Experiment", "bold"), f" {exp_dir}"), soft_wrap=True)
    console.print(fitting_table(table, console))
    console.print()
    console.print(Text.assemble(("Verdict. ", "bold"), verdict))
    if versus is not None:
        console.print()
        console.print(versus_rich_table(versus))
    for w in warnings:
        console.print(f"Warning: {w}", style="yellow", markup=False, highlight=False, soft_wrap=True)
    console.print(Text.assemble("\n", (f"Wrote {len(files)} files", "bold"), f" into {exp_dir}:"), soft_wrap=True)
    for f in files:
        console.print(f"  {f.relative_to(exp_dir)}", markup=False, highlight=False, soft_wrap=True)


# --- formatting -----------------------------------------------------------------------


def _pm(mean: float, std: float, digits: int, n: int) -> str:
    if not math.isfinite(mean):
        return "–"
    if n < 2 or not math.isfinite(std):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _delta(row) -> str:
    if row["method"] == "baseline":
        return "(reference)"
    d = row["delta_test_acc_pp"]
    if not math.isfinite(d):
        return "no pair"
    lo, hi = row["delta_test_acc_pp_ci_low"], row["delta_test_acc_pp_ci_high"]
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return f"{d:+.2f} (1 pair, no CI)"
    return f"{d:+.2f} [{lo:+.2f}, {hi:+.2f}]"


def _epoch_span(lo, hi) -> str:
    return str(hi) if lo == hi else f"{lo}–{hi}"


def display_rows(table: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the summary table as text, shared by the console and summary.md."""
    header = [
        "arm",
        "seeds",
        "epochs",
        "test acc (%)",
        "best test acc (%)",
        "test loss",
        "clean train loss",
        "gap (test − train loss)",
        "ECE (%)",
        "Δ test acc vs baseline (pp) [95% CI]",
        "status",
    ]
    rows = []
    for _, r in table.iterrows():
        n = int(r["seeds"])
        status = f"partial: {n - int(r['runs_done'])} of {n} running" if r["partial"] else "done"
        rows.append(
            [
                str(r["arm"]),
                str(n),
                _epoch_span(int(r["final_epoch_min"]), int(r["final_epoch_max"])),
                _pm(r["test_acc_pct_mean"], r["test_acc_pct_std"], 2, n),
                _pm(r["best_test_acc_pct_mean"], r["best_test_acc_pct_std"], 2, n),
                _pm(r["test_loss_mean"], r["test_loss_std"], 3, n),
                _pm(r["clean_train_loss_mean"], r["clean_train_loss_std"], 3, n),
                _pm(r["gap_mean"], r["gap_std"], 3, n),
                _pm(r["test_ece_pct_mean"], r["test_ece_pct_std"], 2, n),
                _delta(r),
                status,
            ]
        )
    extend_display(table, header, rows, _pm)  # the memorisation column, only with --label-noise
    return header, rows


def rich_table(table: pd.DataFrame) -> Table:
    """The summary table for the console (mean ± std over seeds at each run's last epoch)."""
    header, rows = display_rows(table)
    t = Table(title="Final epoch, mean ± std over seeds", title_justify="left")
    for i, h in enumerate(header):
        t.add_column(h, justify="left" if i == 0 or i == len(header) - 1 else "right")
    for row in rows:
        t.add_row(*(Text(c) for c in row), style="yellow" if row[-1].startswith("partial") else None)
    return t


def rich_table_by_metric(table: pd.DataFrame) -> Table:
    """The same numbers with one column per arm and one row per metric, for narrow consoles."""
    header, rows = display_rows(table)
    t = Table(title="Final epoch, mean ± std over seeds", title_justify="left")
    t.add_column("", justify="left", no_wrap=True)
    for row in rows:
        t.add_column(Text(row[0]), justify="right", no_wrap=True)
    for i, name in enumerate(header[1:], start=1):
        if name.startswith("Δ"):
            t.add_row(Text("Δ test acc vs baseline (pp)"), *(Text(r[i].split(" [")[0]) for r in rows))
            t.add_row(Text("  95% CI"), *(Text("[" + r[i].split(" [")[1] if " [" in r[i] else "") for r in rows))
        else:
            t.add_row(Text(name), *(Text(r[i]) for r in rows))
    return t


def fitting_table(table: pd.DataFrame, console: Console) -> Table:
    """The wide table (one row per arm) when it fits the console, else the one with a column per arm."""
    wide = rich_table(table)
    unbounded = console.options.update_width(10_000)
    if Measurement.get(console, unbounded, wide).maximum <= console.width:
        return wide
    return rich_table_by_metric(table)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def summary_markdown(
    exp_dir: Path,
    table: pd.DataFrame,
    verdict: str,
    paired: stats.Paired,
    warnings: list[str],
    figures: list[Path],
    config: str = "",
    versus: stats.Paired | None = None,
) -> str:
    """summary.md: the setup line `config` (see `config_line`), the table, the verdict paragraph,
    the paired differences against the baseline (and against the `versus` arm of `plot --reference`),
    notes and figure links."""
    header, rows = display_rows(table)
    mixup_only = set(table["method"]) <= {"baseline", "mixup"}
    lines = [f"# MixUp benchmark: {exp_dir.name}", ""]
    if config:
        lines += [config, ""]
    lines += [
        "Final epoch of each run; mean ± std over seeds. Accuracy and ECE in %, losses are cross-entropy in nats. "
        f"Δ is {'MixUp' if mixup_only else 'arm'} − baseline paired by seed, with a 95% t interval.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(header) - 2) + ["---"]) + "|",
    ]
    lines += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in rows]
    lines += ["", "## Verdict", "", verdict, ""]
    if not paired.summary.empty:
        title = "MixUp − baseline" if mixup_only else "arm − baseline"
        lines += _paired_markdown(f"## Paired differences ({title}, same seed)", paired, by_alpha=mixup_only)
    if versus is not None and not versus.summary.empty:
        ref = labels.arm_label(*versus.reference)
        lines += _paired_markdown(f"## Paired differences against {ref} (arm − {ref}, same seed)", versus)
    if warnings:
        lines += ["## Warnings", ""] + [f"- {w}" for w in warnings] + [""]
    pngs = [f for f in figures if f.suffix == ".png"]
    if pngs:
        lines += ["## Figures", ""]
        for f in pngs:
            rel = f.relative_to(exp_dir).as_posix() if f.is_relative_to(exp_dir) else f.as_posix()
            lines.append(f"![{f.stem.replace('_', ' ')}]({rel})")
        lines.append("")
    return "\n".join(lines)


_PAIRED_HEADER = ("metric", "mean", "95% CI", "pairs", "epoch")


def paired_rows(paired: stats.Paired, by_alpha: bool = False) -> list[list[str]]:
    """One row of text per (arm, metric) of `paired.summary`: the arm (its alpha with `by_alpha`, as in
    MixUp-only experiments, else its label), metric, mean, 95% CI, pairs and epoch."""
    rows = []
    for _, s in paired.summary.iterrows():
        m = s["metric"]
        iv = stats.Interval.from_row(s)
        ci = (
            f"{labels.format_diff(m, iv.low)} to {labels.format_diff(m, iv.high)}"
            if math.isfinite(iv.low)
            else "n/a (one pair)"
        )
        arm = labels.format_alpha(s["alpha"]) if by_alpha else labels.arm_label(s["method"], s["alpha"])
        epoch = _epoch_span(s["epoch_min"], s["epoch_max"])
        rows.append([arm, labels.METRIC_NAMES[m], labels.format_diff(m, iv.mean), ci, str(iv.n), epoch])
    return rows


def _paired_markdown(title: str, paired: stats.Paired, by_alpha: bool = False) -> list[str]:
    """A summary.md section: `title` and the table of `paired_rows`."""
    lines = [title, "", f"| {'alpha' if by_alpha else 'arm'} | " + " | ".join(_PAIRED_HEADER) + " |"]
    lines.append("|---|---|---:|---|---:|---:|")
    lines += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in paired_rows(paired, by_alpha)]
    return lines + [""]


def versus_rich_table(versus: stats.Paired) -> Table:
    """The paired differences against the `plot --reference` arm, for the console."""
    ref = labels.arm_label(*versus.reference)
    t = Table(title=f"Paired differences against {ref} (arm − {ref}, same seed)", title_justify="left")
    for i, h in enumerate(("arm", *_PAIRED_HEADER)):
        t.add_column(h, justify="left" if i < 2 else "right")
    previous = None
    for row in paired_rows(versus):
        t.add_row(*(Text(c) for c in ([row[0] if row[0] != previous else ""] + row[1:])))
        previous = row[0]
    if versus.summary.empty:
        t.add_row(Text("no run shares a seed with the reference arm"), *[Text("")] * len(_PAIRED_HEADER))
    return t


def config_line(record: dict) -> str:
    """The regime the verdict holds for, in one line, from an experiment.json record ("" when it holds none).

    e.g. "Regime: small-cnn, 10,000 training images, 40% label noise, 15 epochs, batch 128, peak lr 0.1,
    weight decay 0.0005, no augmentation; device cpu (bf16)."
    """
    config = record.get("config") if isinstance(record.get("config"), dict) else {}
    t = config.get("training") if isinstance(config.get("training"), dict) else {}
    parts = []
    if "model" in t:
        parts.append(str(t["model"]))
    if "subset" in t:
        parts.append(f"{t['subset']:,} training images" if isinstance(t["subset"], int) else "all training images")
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
    return "Regime: " + ", ".join(map(str, parts)) + "." if parts else ""
