"""The numbers every output of `plot` shows, computed once per experiment.

`analyze` turns the rows of `load.load_experiment` into an `Analysis`: the aggregates over
seeds, each run's final epoch and the paired differences. `report.make_report` builds it once
and hands the same object to the summary table, the verdict and the figures, so that no two
outputs can disagree about a number.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mixup_bench.analysis import stats
from mixup_bench.naming import arms


@dataclass(frozen=True, eq=False)
class Analysis:
    """One experiment's numbers. Build it with `analyze`; treat its frames as read-only."""

    df: pd.DataFrame  # every finished epoch of every run (load.load_experiment)
    agg: pd.DataFrame  # mean, std and t interval over seeds per arm, metric and epoch (stats.aggregate)
    finals: pd.DataFrame  # the last finished epoch of every run, one row per run (stats.final_rows)
    paired: stats.Paired  # every other arm minus the baseline, paired by seed (stats.paired_differences)
    arms: list[tuple[str, float]]  # (method, parameter) in naming.arm_order: baseline, MixUp by alpha, neighbours
    versus: stats.Paired | None = None  # every other arm minus the arm of `plot --reference`, when one is chosen

    @property
    def mixup_alphas(self) -> list[float]:
        """The alphas of the MixUp arms, increasing."""
        return [a for m, a in self.arms if m == "mixup"]

    @property
    def other_arms(self) -> list[tuple[str, float]]:
        """Every arm but the baseline, in `naming.arm_order`."""
        return [arm for arm in self.arms if arm[0] != "baseline"]

    @property
    def mixup_only(self) -> bool:
        """True when every arm is the baseline or MixUp: such experiments keep the MixUp-only wording."""
        return all(m in ("baseline", "mixup") for m, _ in self.arms)

    @property
    def partial_runs(self) -> list[str]:
        """The ids of the runs without a DONE marker, sorted."""
        return sorted(self.finals.loc[~self.finals["done"], "run_id"])

    def arm_finals(self, method: str, alpha: float) -> pd.DataFrame:
        """The final-epoch rows of one arm, one per seed."""
        f = self.finals
        return f[(f["method"] == method) & (f["alpha"] == alpha)]


def analyze(df: pd.DataFrame, reference: tuple[str, float] | None = None) -> Analysis:
    """Compute every aggregate and paired difference of the rows `df` once; with `reference` (an arm
    of `df` other than the baseline), also every other arm's paired differences against it."""
    versus = None
    if reference is not None and reference[0] != "baseline":
        versus = stats.paired_differences(df, reference=reference)
    return Analysis(
        df=df,
        agg=stats.aggregate(df),
        finals=stats.final_rows(df),
        paired=stats.paired_differences(df),
        arms=arms(df),
        versus=versus,
    )
