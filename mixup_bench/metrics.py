"""What each measure is and how it is shown: one `Metric` record per measure.

The statistics, the verdict, the summary table, `compare` and the figures all read these records,
so a measure is named, scaled, formatted and judged the same way everywhere. A new measure (a
column of metrics.csv, or one derived from them such as `gap`) is added here once, in `METRICS`.

Values are stored as they are in metrics.csv: accuracies and ECE as fractions in [0, 1], losses
in nats. They become percent (differences: percentage points) only when shown, through
`Metric.value_text` and `Metric.diff_text`.

This module imports nothing of the package, nor pandas or torch: `naming`, the analysis and the
figures can all read it, and `run` pays nothing for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace

# The words a claim may use, and the sign of (arm − baseline) each predicts.
_CLAIM_SIGN = {"higher": +1, "lower": -1, "smaller": -1}


@dataclass(frozen=True)
class Metric:
    """One measure: its column, its names, its unit and the direction the MixUp claim predicts for it."""

    name: str  # its column in metrics.csv (or in the loaded frame, for derived measures such as gap)
    label: str  # in tables and sentences: 'test accuracy', 'test ECE'
    short: str  # where room is scarce (lists, figure titles, narrow columns): 'test accuracy', 'ECE'
    fraction: bool  # stored in [0, 1] and shown in percent (differences in percentage points); else nats
    claim: str = ""  # what the MixUp claim says of (arm − baseline): 'higher', 'lower', 'smaller'; '' = no claim
    digits: int | None = None  # decimals shown: by default 2 in percent, 3 in nats
    # The smallest effect of interest (stored units) of a claimed measure: a paired difference whose interval
    # lies within ±margin is "no effect" (docs/metrics.md says why each value); NaN = none declared.
    margin: float = math.nan
    # Where `plot` shows it, as a rank (1 first; 0 = not there): the columns of the summary tables (`SUMMARY`),
    # the panels of the final_vs_alpha figure (`FINAL`) and the measures of the dose-response (`TREND`).
    summary: int = 0
    final: int = 0
    trend: int = 0
    bottoms: bool = False  # the dose-response reports the alpha where it is lowest (`BOTTOMS`)
    # Its column of metrics.csv, as a rank among the measures (1 first; 0 = none: derived when the runs are
    # loaded, as gap is). `required`: written since the first release, so a file without it is refused; a
    # column added since (a new measure's) loads as NaN from older files. results.schema reads both.
    column: int = 0
    required: bool = False

    @property
    def direction(self) -> int:
        """The sign of (arm − baseline) the claim predicts: +1, -1, or 0 when the claim says nothing."""
        return _CLAIM_SIGN.get(self.claim, 0)

    @property
    def scale(self) -> float:
        """Factor from the stored value to the shown one: 100 for fractions (percent), else 1."""
        return 100.0 if self.fraction else 1.0

    @property
    def unit(self) -> str:
        """The unit of a shown value: '%' or 'nats'."""
        return "%" if self.fraction else "nats"

    @property
    def diff_unit(self) -> str:
        """The unit of a shown difference: 'pp' (percentage points) or 'nats'."""
        return "pp" if self.fraction else "nats"

    @property
    def axis_label(self) -> str:
        """The label of an axis of its values: 'test accuracy (%)', 'test loss (nats)'."""
        return f"{self.label} ({self.unit})"

    @property
    def title(self) -> str:
        """The short name opening a title: 'Test accuracy', 'ECE', 'Gap'."""
        return self.short[:1].upper() + self.short[1:]

    @property
    def delta_column(self) -> str:
        """The CSV column of a paired difference in the shown unit: 'delta_test_acc_pp', 'delta_test_loss'."""
        return f"delta_{self.name}_pp" if self.fraction else f"delta_{self.name}"

    @property
    def decimals(self) -> int:
        return self.digits if self.digits is not None else (2 if self.fraction else 3)

    @property
    def margin_text(self) -> str:
        """The smallest effect of interest as shown: '±1 pp', '±0.05'; '' when none is declared."""
        if not math.isfinite(self.margin):
            return ""
        return f"±{self.scale * self.margin:g}{' pp' if self.fraction else ''}"

    def value_text(self, value: float) -> str:
        """A stored value as shown, without unit: 0.7401 -> '74.01' (percent), 0.9731 -> '0.973'."""
        return f"{self.scale * value:.{self.decimals}f}" if math.isfinite(value) else "n/a"

    def diff_text(self, value: float, unit: bool = True) -> str:
        """A signed difference in the shown unit: '+0.77 pp', '-0.186'. A value that would round to zero
        keeps two significant digits instead ('-0.0013 pp'). Losses carry no unit word (nats)."""
        if not math.isfinite(value):
            return "n/a"
        v = self.scale * value
        text = f"{v:+.{self.decimals}f}"
        if v != 0 and float(text) == 0:
            text = f"{v:+.2g}"
        return text + (" pp" if unit and self.fraction else "")


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("train_loss", "training objective (mixed batches)", "objective", False, column=1, required=True),
        Metric("train_acc", "train accuracy (mixed batches)", "train accuracy", True, column=2, required=True),
        Metric("clean_train_loss", "clean train loss", "clean train loss", False, claim="higher", margin=0.05,
               summary=3, final=3, trend=1, column=3, required=True),
        Metric("clean_train_acc", "clean train accuracy", "clean train accuracy", True, column=4, required=True),
        Metric("val_loss", "validation loss", "val loss", False, trend=6, bottoms=True, column=5),
        Metric("val_acc", "validation accuracy", "val accuracy", True, trend=7, column=6),
        Metric("test_acc", "test accuracy", "test accuracy", True, claim="higher", margin=0.01, summary=1, final=1,
               trend=3, column=8, required=True),
        Metric("test_loss", "test loss", "test loss", False, claim="lower", margin=0.05, summary=2, final=2, trend=2,
               bottoms=True, column=7, required=True),
        Metric("gap", "gap between test and clean train loss", "gap", False, claim="smaller", margin=0.05,
               summary=4, trend=4),
        Metric("test_ece", "test ECE", "ECE", True, claim="lower", margin=0.02, summary=5, trend=5, column=9,
               required=True),
        Metric("noise_memorised", "memorised noisy labels", "memorised", True, digits=1, column=10),
        # The shift evaluation (train/shift.py, `run --shift`): corrupted test images (mean over types and
        # severities) and adversarial ones (a fixed 2,000-image test subset).
        Metric("corrupt_acc", "accuracy on corrupted test images", "corruption accuracy", True, claim="higher",
               margin=0.01, trend=8, column=11),
        Metric("corrupt_loss", "loss on corrupted test images", "corruption loss", False, column=12),
        Metric("corrupt_ece", "ECE on corrupted test images", "corruption ECE", True, column=13),
        Metric("fgsm_acc_1", "accuracy under FGSM at ε=1/255", "FGSM ε=1/255 accuracy", True, column=14),
        Metric("fgsm_acc_2", "accuracy under FGSM at ε=2/255", "FGSM accuracy", True, claim="higher", margin=0.01,
               trend=9, column=15),
        Metric("fgsm_acc_4", "accuracy under FGSM at ε=4/255", "FGSM ε=4/255 accuracy", True, column=16),
        Metric("pgd_acc_2", "accuracy under PGD-10 at ε=2/255", "PGD accuracy", True, trend=10, column=17),
    )
}  # fmt: skip

# Every measure by attribute, for code that names one measure (`M.test_acc.name` is "test_acc"): the names
# are written once, above.
M = SimpleNamespace(**METRICS)


def _ranked(rank: str) -> tuple[str, ...]:
    """The names of the measures with a rank `rank` (a field of `Metric`), in that order."""
    return tuple(sorted((n for n, m in METRICS.items() if getattr(m, rank)), key=lambda n: getattr(METRICS[n], rank)))


# The measures of the summary tables (summary.csv, summary.md, the console), in their column order.
SUMMARY = _ranked("summary")
# The panels of the final_vs_alpha figure, left to right.
FINAL = _ranked("final")
# The measures the dose-response follows against alpha, in its order, where the runs logged them.
TREND = _ranked("trend")
# The dose-response measures whose lowest alpha is reported.
BOTTOMS = tuple(n for n in TREND if METRICS[n].bottoms)
# The measures metrics.csv holds a column of, in its column order (results.schema.METRICS_COLUMNS).
LOGGED = _ranked("column")

# The measures of the shift evaluation: logged at the last epoch (and every --shift-every K) of runs
# with --shift only, so experiments without them keep their tables and verdicts as they were.
SHIFT = ("corrupt_acc", "corrupt_loss", "corrupt_ece", "fgsm_acc_1", "fgsm_acc_2", "fgsm_acc_4", "pgd_acc_2")
# The parts of the MixUp claim, in the order the verdict names them: training loss higher, then
# generalisation (test accuracy higher, test loss lower, gap smaller, ECE lower).
CLAIM = tuple(name for name, m in METRICS.items() if m.claim and name not in SHIFT)
# The parts about generalisation: the claim but its training-loss part (the methods figure, the regime map).
GENERALISATION = tuple(name for name in CLAIM if name != M.clean_train_loss.name)
# Parts judged where the runs measured them, after CLAIM: more robust to corruptions, and to FGSM at 2/255.
SHIFT_CLAIM = tuple(name for name in SHIFT if METRICS[name].claim)
# Every measure drawn or averaged per epoch.
CURVES = tuple(METRICS)

# The measure that picks each run's second reporting point (see `analysis.facts.best_val_rows`).
SELECTION_METRIC = M.val_acc.name
# The share of label-corrupted images predicted as their noisy label (runs with --label-noise only).
MEMORISED = M.noise_memorised.name
# Judgements use two-sided tests at this level (a 95% interval).
LEVEL = 0.05


def epoch_span(lo: int, hi: int) -> str:
    """The epochs a number comes from: '15', or '9–13' when runs were taken at different epochs."""
    return str(int(hi)) if int(lo) == int(hi) else f"{int(lo)}–{int(hi)}"


def p_text(p: float) -> str:
    """A p-value as shown in a table cell: '0.012', '<0.001', 'n/a'."""
    if not math.isfinite(p):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def p_clause(p: float, holm: bool) -> str:
    """A p-value in a sentence: 'Holm p=0.012', 'p<0.001' (`holm`: adjusted by Holm's correction)."""
    text = p_text(p)
    return f"{'Holm ' if holm else ''}p{'' if text.startswith('<') else '='}{text}"
