"""The report of `mixup-bench plot`, computed once: every number, judgement and sentence that the outputs show.

`compute_report` turns a `folder.Folder` (the experiment as read once) into a `Report`: the `facts.Analysis`
(aggregates and paired differences at each reporting point), the summary table (`summary_table`: summary.csv,
one row per arm at both reporting points), every paired table with its judgements (`paired_table`: paired.csv
and paired_vs_<arm>.csv), the verdict, the shift tables, the dose-response and the regime line. The outputs only
lay it out, each for its medium: `markdown` (summary.md and the CSV files), `terminal` (the console) and
`figures` (the command layer, `mixup_bench.plotting`, hands the `Report` over, so analysis never imports
figures). None of them computes a number of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mixup_bench import naming as labels
from mixup_bench.analysis import claim, trend
from mixup_bench.analysis import shift as shift_tables
from mixup_bench.analysis.claim import judge_metric
from mixup_bench.analysis.facts import Analysis, Point, analyze
from mixup_bench.analysis.folder import Folder, config_line, read_folder
from mixup_bench.analysis.memorisation import add_summary_columns
from mixup_bench.analysis.stats import Interval, Paired
from mixup_bench.errors import UserError
from mixup_bench.metrics import METRICS, SELECTION_METRIC, SUMMARY, M
from mixup_bench.naming import arm_id, arm_label

SUMMARY_CSV = "summary.csv"
SUMMARY_MD = "summary.md"
PAIRED_CSV = "paired.csv"  # every paired comparison against the baseline, at both reporting points
VERSUS_CSV_PREFIX = "paired_vs_"  # + the reference arm's id (`plot --reference`): paired_vs_mixup-a0.2.csv
DOSE_CSV = "dose_response.csv"  # the trend of every measure against MixUp alpha (three alphas or more)


# The measures summary.csv gives at the best epoch by validation accuracy, mean and std over seeds.
BEST_VAL_MEASURES = (SELECTION_METRIC, *SUMMARY)
# At the last epoch, the mean of the training objective follows the measures on held-out data and the clean
# train loss, as summary.csv has always had it.
_BEFORE_OBJECTIVE = SUMMARY.index(M.clean_train_loss.name) + 1
BEST_VAL_PREFIX = "best_val_"


def _stem(name: str) -> str:
    """The column stem of a measure: its name, with '_pct' for the ones shown in percent ('test_acc_pct')."""
    return f"{name}_pct" if METRICS[name].fraction else name


def _mean_std_columns(names, prefix: str = "") -> tuple[str, ...]:
    return tuple(f"{prefix}{_stem(m)}_{s}" for m in names for s in ("mean", "std"))


def _delta_columns(prefix: str = "") -> tuple[str, ...]:
    """The paired test-accuracy difference against the baseline, its interval and its pair count."""
    delta = f"{prefix}{M.test_acc.delta_column}"
    return delta, f"{delta}_ci_low", f"{delta}_ci_high", f"{prefix}delta_pairs"


SUMMARY_COLUMNS = (
    "arm",
    "method",
    "alpha",
    "seeds",
    "runs_done",
    "runs_running",  # unfinished runs that a process trains right now; the other unfinished runs were stopped
    "partial",
    "final_epoch_min",
    "final_epoch_max",
    *_mean_std_columns(SUMMARY[:_BEFORE_OBJECTIVE]),
    "train_objective_mean",
    *_mean_std_columns(SUMMARY[_BEFORE_OBJECTIVE:]),
    *_delta_columns(),
    *_mean_std_columns((SELECTION_METRIC,)),
    f"{BEST_VAL_PREFIX}epoch_min",
    f"{BEST_VAL_PREFIX}epoch_max",
    *_mean_std_columns(BEST_VAL_MEASURES, BEST_VAL_PREFIX),
    *_delta_columns(BEST_VAL_PREFIX),
)


def summary_table(analysis: Analysis) -> pd.DataFrame:
    """One row per arm, baseline first (columns `SUMMARY_COLUMNS`).

    "Final" values are each run's last finished epoch (`final_epoch_min/max` give the range;
    they differ when a run is partial), averaged over seeds with the sample std. The `best_val_`
    columns are each run's epoch of highest validation accuracy (chosen per run, never on test
    numbers; `best_val_epoch_min/max` give the range of epochs chosen) and the numbers of that
    epoch, averaged likewise; they are empty when the runs logged no validation accuracy. The
    delta columns are the paired arm − baseline test accuracy in percentage points with its t
    interval (empty for the baseline and when no pair exists). Accuracy and ECE columns are in
    percent. Nothing here is chosen by test numbers.
    """
    rows = []
    for method, alpha in analysis.arms:
        f = analysis.arm_finals(method, alpha)
        row = {
            "arm": arm_label(method, alpha),
            "method": method,
            "alpha": alpha,
            "seeds": len(f),
            "runs_done": int(f["done"].sum()),
            "runs_running": int(f["running"].sum()) if "running" in f else 0,
            "partial": bool((~f["done"]).any()),
            "final_epoch_min": int(f["epoch"].min()),
            "final_epoch_max": int(f["epoch"].max()),
            **_mean_std(f, SUMMARY[:_BEFORE_OBJECTIVE]),
            "train_objective_mean": f[M.train_loss.name].mean(),
            **_mean_std(f, SUMMARY[_BEFORE_OBJECTIVE:]),
            **_delta(analysis.last, (method, alpha), ""),
            **_mean_std(f, (SELECTION_METRIC,)),
        }
        row.update(_best_val_values(analysis.best_val, (method, alpha)))
        rows.append(row)
    table = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    # + memorisation.SUMMARY_COLUMNS, only for experiments trained with --label-noise
    return add_summary_columns(table, analysis) if analysis.memorised else table


def _mean_std(rows: pd.DataFrame, names, prefix: str = "") -> dict[str, float]:
    """`<prefix><stem>_mean` and `_std` over the rows (one per seed) of each measure, in its shown unit."""
    out = {}
    for name in names:
        v = METRICS[name].scale * rows[name].astype(float) if name in rows else pd.Series(dtype=float)
        out[f"{prefix}{_stem(name)}_mean"] = v.mean()
        out[f"{prefix}{_stem(name)}_std"] = v.std()
    return out


def _delta(point: Point, arm: tuple[str, float], prefix: str) -> dict[str, float]:
    """`<prefix>delta_test_acc_pp` with its 95% interval and pair count at `point` (NaN for the baseline)."""
    m = M.test_acc
    d = point.paired.get(arm, m.name) if arm[0] != "baseline" else None
    return {
        f"{prefix}{m.delta_column}": m.scale * d.mean if d else math.nan,
        f"{prefix}{m.delta_column}_ci_low": m.scale * d.low if d else math.nan,
        f"{prefix}{m.delta_column}_ci_high": m.scale * d.high if d else math.nan,
        f"{prefix}delta_pairs": d.n if d else 0,
    }


def _best_val_values(point: Point | None, arm: tuple[str, float]) -> dict[str, float]:
    """The `best_val_` columns of one arm (NaN without a best-validation point, or for an arm without values)."""
    if point is None or point.arm_rows(*arm).empty:
        return {f"{BEST_VAL_PREFIX}delta_pairs": 0}
    rows = point.arm_rows(*arm)
    return {
        f"{BEST_VAL_PREFIX}epoch_min": int(rows["epoch"].min()),
        f"{BEST_VAL_PREFIX}epoch_max": int(rows["epoch"].max()),
        **_mean_std(rows, BEST_VAL_MEASURES, BEST_VAL_PREFIX),
        **_delta(point, arm, BEST_VAL_PREFIX),
    }


# --- every paired comparison -------------------------------------------------------------------

PAIRED_COLUMNS = (
    "point",
    "reference",
    "arm",
    "method",
    "alpha",
    "metric",
    "unit",
    "mean",
    "std",
    "ci_low",
    "ci_high",
    "p",
    "test",
    "p_seq",
    "p_holm",
    "family",
    "procedure",
    "claim",
    "seeds_needed",
    "pairs",
    "seeds",
    "epoch_min",
    "epoch_max",
    "short",
)


def paired_table(paired: Paired, correction: bool = True) -> pd.DataFrame:
    """One row per (arm, measure) of `paired` (columns `PAIRED_COLUMNS`): `point` is the reporting point
    ('last' or 'best_val'), `reference` the reference arm's id ('baseline-a0', 'mixup-a0.2'); mean, std
    and the 95% t interval are in `unit`: percentage points (pp) for accuracy and ECE, nats for the
    losses and the gap. `p` is the paired t test's, `p_holm` the same after Holm's correction over the
    family (every arm × every part of the claim at this point, against this reference); `claim` the
    judgement of the claimed direction (`claim.judge`, on `p_holm`, or on `p` without `correction`).
    `short` is True when a pair was compared before the last epoch of one of its runs (a partial run).
    paired.csv holds this table for both reporting points against the baseline; paired_vs_<arm>.csv
    (`plot --reference`) against another arm."""
    s = paired.summary
    metrics = [METRICS[m] for m in s["metric"]]
    scale = pd.Series([m.scale for m in metrics], index=s.index, dtype=float)
    table = pd.DataFrame(
        {
            "point": paired.point,
            "reference": arm_id(*paired.reference),
            "arm": [arm_label(m, a) for m, a in zip(s["method"], s["alpha"], strict=True)],
            "method": s["method"],
            "alpha": s["alpha"],
            "metric": s["metric"],
            "unit": [m.diff_unit for m in metrics],
            **{c: scale * s[c] for c in ("mean", "std", "ci_low", "ci_high")},
            "p": s["p"],
            "test": s["test"],
            "p_seq": s["p_seq"],
            "p_holm": s["p_holm"],
            "family": s["family"],
            "procedure": paired.procedure,
            "claim": [_judge_row(row, m, correction) for (_, row), m in zip(s.iterrows(), metrics, strict=True)],
            "seeds_needed": s["seeds_needed"],
            "pairs": s["n"],
            "seeds": s["seeds"],
            "epoch_min": s["epoch_min"],
            "epoch_max": s["epoch_max"],
            "short": s["short"],
        },
        index=s.index,
    )
    return table[list(PAIRED_COLUMNS)]


def _judge_row(row, metric, correction: bool) -> str:
    """The judgement of one summary row, or '' for a measure the claim says nothing about."""
    return judge_metric(Interval.from_row(row), metric.name, correction) if metric.direction else ""


def empty_paired_table() -> pd.DataFrame:
    """A paired table without rows (no reference arm chosen, or no pair)."""
    return pd.DataFrame(columns=list(PAIRED_COLUMNS))


# --- the report ---------------------------------------------------------------------------


@dataclass
class Report:
    """One experiment read and computed for `plot`: its numbers, the verdict, and what was written."""

    folder: Folder  # the experiment as read: runs, side logs, record, arms, warnings
    analysis: Analysis
    summary: pd.DataFrame  # `summary_table`: one row per arm (summary.csv)
    paired: dict[tuple[str, bool], pd.DataFrame]  # (point key, against the reference arm?) -> `paired_table`
    verdict: str
    shift: shift_tables.ShiftFacts | None  # per corruption, severity and attack (runs with --shift), else None
    dose: trend.DoseResponse | None  # each measure against MixUp alpha (3 alphas or more), else None
    dose_table: pd.DataFrame | None  # dose_response.csv (trend.trend_table), with `dose`
    memorised: bool  # some run logged memorisation of noisy labels (--label-noise)
    regime: str  # the regime the verdict holds for, in one line (`config_line`)
    correction: bool = True  # judged on Holm-adjusted p-values (False: `plot --no-correction`)
    files: list[Path] = field(default_factory=list)  # written by markdown.write_report

    @property
    def experiment_dir(self) -> Path:
        return self.folder.path

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def warnings(self) -> list[str]:
        return self.folder.warnings

    @property
    def record(self) -> dict:
        return self.folder.record

    def claims(self, paired: Paired) -> list[str]:
        """The judgement of each row of `paired.summary` (its `claim` column in the paired tables)."""
        return list(self.paired[(paired.point, paired.reference[0] != "baseline")]["claim"])

    def paired_csv(self, versus: bool = False) -> pd.DataFrame:
        """paired.csv (or paired_vs_<arm>.csv with `versus`): the paired tables of every point, last epoch first."""
        tables = [table for (_, against), table in self.paired.items() if against == versus]
        return pd.concat(tables, ignore_index=True) if tables else empty_paired_table()


def read_report(
    path: Path, reference: str | None = None, correction: bool = True, family: str = "comparison"
) -> Report:
    """`compute_report` of the experiment at `path` (a folder, or a results root: its latest experiment),
    read once by `folder.read_folder`. Raises UserError when the folder is missing, holds no experiment,
    no run can be read, or `reference` names no arm; and before any reading when it cannot be written."""
    return compute_report(read_folder(path), reference, correction, family)


def compute_report(
    folder: Folder, reference: str | None = None, correction: bool = True, family: str = "comparison"
) -> Report:
    """Compute every number of `folder` once (`facts.analyze`), and from them the tables and the verdict.

    With `reference` (an arm id such as 'mixup-a0.2' or 'smooth-e0.1', see `resolve_reference`), every
    other arm is also paired with that arm. Without `correction`, the verdict judges raw p-values."""
    df = folder.runs
    arm = None if reference is None else resolve_reference(reference, labels.arms(df))
    analysis = analyze(df, reference=arm, looks=folder.looks, family=family)
    paired = {
        (point.key, against): paired_table(comparison, correction)
        for against in (False, True)
        for point in analysis.points
        if (comparison := point.versus if against else point.paired) is not None
    }
    dose = trend.dose_response(analysis) if len(analysis.mixup_alphas) >= trend.MIN_ALPHAS else None
    attacked = analysis.finals.reindex(columns=list(shift_tables.FGSM.values())).notna().any().any()
    measured = attacked or not folder.corruptions.empty  # some run ran the shift evaluation (`run --shift`)
    return Report(
        folder=folder,
        analysis=analysis,
        summary=summary_table(analysis),
        paired=paired,
        verdict=claim.verdict(analysis, correction),
        shift=shift_tables.shift_facts(analysis, folder.corruptions) if measured else None,
        dose=dose,
        dose_table=trend.trend_table(dose) if dose is not None else None,
        memorised=analysis.memorised,
        regime=config_line(folder.record),
        correction=correction,
    )


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
