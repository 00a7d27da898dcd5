"""The text of the tables `plot` shows, shared by summary.md (`markdown`) and the console (`terminal`).

Cells only: every number comes from the `report.Report` (its summary table, its paired comparisons and
their judgements), every name, unit and number format from the `metrics.Metric` records. Each output
lays these rows out for its medium.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd

from mixup_bench.analysis import stats
from mixup_bench.analysis.claim import open_text
from mixup_bench.analysis.facts import POINT_TITLES
from mixup_bench.analysis.memorisation import DISPLAY_HEADER, SUMMARY_COLUMNS
from mixup_bench.analysis.report import BEST_VAL_MEASURES, BEST_VAL_PREFIX
from mixup_bench.metrics import METRICS, SUMMARY, M, epoch_span, p_text
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
    column = f"{prefix}{M.test_acc.delta_column}"
    d = row[column]
    if not math.isfinite(d):
        return "no pair"
    lo, hi = row[f"{column}_ci_low"], row[f"{column}_ci_high"]
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


_LAST_COLUMNS = (
    ("epochs", lambda r, n: epoch_span(r["final_epoch_min"], r["final_epoch_max"])),
    *(_measure(m) for m in SUMMARY),
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


# --- paired comparisons ---------------------------------------------------------------------

PAIRED_HEADER = ("metric", "mean", "95% CI", "p", "test", "Holm p", "claim", "pairs", "epoch")
_TESTS = {"paired t test": "t", "exact sign-flip test": "sign-flip (exact)"}  # the test column's short names


def paired_rows(paired: stats.Paired, judged: list[str], by_alpha: bool = False) -> list[list[str]]:
    """One row of text per (arm, measure) of `paired`: the arm (its alpha with `by_alpha`, as in MixUp-only
    experiments, else its label), measure, mean, 95% CI, raw p and the test behind it, the Holm-adjusted
    (sequential, in a sequential design) p, the judgement (`judged`, one per row of `paired.summary`: its
    claim column, with the seeds an open part would need), pairs and epochs."""
    rows = []
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
