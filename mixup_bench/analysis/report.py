"""The report of `mixup-bench plot`, computed once: every number, judgement and sentence that the outputs show.

`compute_report` turns a `folder.Folder` (the experiment as read once) into a `Report`: the `facts.Analysis`
(aggregates and paired differences at each reporting point), the summary table, every paired table with
its judgements, the verdict, the shift tables, the dose-response and the regime line. The outputs only
lay it out, each for its medium: `markdown` (summary.md and the CSV files), `terminal` (the console) and
`figures` (the command layer, `mixup_bench.plotting`, hands the `Report` over, so analysis never imports
figures). None of them computes a number of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mixup_bench import naming as labels
from mixup_bench.analysis import claim, summary, trend
from mixup_bench.analysis import shift as shift_tables
from mixup_bench.analysis.facts import Analysis, analyze
from mixup_bench.analysis.folder import Folder, read_folder
from mixup_bench.analysis.stats import Paired
from mixup_bench.catalog import record_title
from mixup_bench.errors import UserError

SUMMARY_CSV = "summary.csv"
SUMMARY_MD = "summary.md"
PAIRED_CSV = "paired.csv"  # every paired comparison against the baseline, at both reporting points
VERSUS_CSV_PREFIX = "paired_vs_"  # + the reference arm's id (`plot --reference`): paired_vs_mixup-a0.2.csv
DOSE_CSV = "dose_response.csv"  # the trend of every measure against MixUp alpha (three alphas or more)


@dataclass
class Report:
    """One experiment read and computed for `plot`: its numbers, the verdict, and what was written."""

    folder: Folder  # the experiment as read: runs, side logs, record, arms, warnings
    analysis: Analysis
    summary: pd.DataFrame  # summary.summary_table: one row per arm (summary.csv)
    paired: dict[tuple[str, bool], pd.DataFrame]  # (point key, against the reference arm?) -> summary.paired_table
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
        return pd.concat(tables, ignore_index=True) if tables else summary.empty_paired_table()


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
        (point.key, against): summary.paired_table(comparison, correction)
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
        summary=summary.summary_table(analysis),
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
