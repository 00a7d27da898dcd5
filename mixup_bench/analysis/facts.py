"""The numbers every output of `plot` shows, computed once per experiment.

`analyze` turns the rows of `folder.load_experiment` into an `Analysis`: the aggregates over
seeds, and for each reporting point each run's row there and the paired differences. The `plot`
command builds it once and hands the same object to the summary table, the verdict and the
figures, so that no two outputs can disagree about a number.

The reporting points are the last epoch (pre-registered) and, when the runs logged validation
accuracy, each run's epoch of highest validation accuracy (`best_val_rows`). Nothing is
ever chosen by test numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mixup_bench.analysis import stats
from mixup_bench.metrics import MEMORISED, SELECTION_METRIC
from mixup_bench.naming import arms, mixup_only

POINT_TITLES = {
    stats.LAST: "last epoch (pre-registered)",
    stats.BEST_VAL: "best epoch by validation accuracy (chosen per run)",
}


def final_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The last finished epoch of every run (one row per run): the pre-registered reporting point."""
    idx = df.groupby("run_id")["epoch"].idxmax()
    return df.loc[idx].reset_index(drop=True)


def best_val_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Each run's row at its epoch of highest validation accuracy (the earliest on a tie), one row per
    run that logged val_acc; empty when none did (metrics.csv from before the validation split).

    The epoch is chosen on validation numbers alone, per run, as early stopping would; the test
    numbers of that row are what the second reporting point shows. Of a partial run, the best so far.
    """
    if SELECTION_METRIC not in df.columns:
        return df.iloc[0:0].copy()
    logged = df[df[SELECTION_METRIC].notna()]
    if logged.empty:
        return df.iloc[0:0].copy()
    idx = logged.groupby("run_id", sort=False)[SELECTION_METRIC].idxmax()
    order = df.loc[idx.to_numpy()].index.sort_values()
    return df.loc[order].reset_index(drop=True)


def has_best_val(df: pd.DataFrame) -> bool:
    """Whether any run logged validation accuracy, so that the second reporting point exists."""
    return SELECTION_METRIC in df.columns and bool(df[SELECTION_METRIC].notna().any())


@dataclass(frozen=True, eq=False)
class Point:
    """One reporting point: each run's row there, and the paired differences at it."""

    key: str  # stats.LAST or stats.BEST_VAL
    rows: pd.DataFrame  # one row per run: the epoch this point takes it at
    paired: stats.Paired  # every other arm minus the baseline, paired by seed
    versus: stats.Paired | None = None  # every other arm minus the arm of `plot --reference`, when one is chosen

    @property
    def title(self) -> str:
        """'last epoch (pre-registered)' or 'best epoch by validation accuracy (chosen per run)'."""
        return POINT_TITLES[self.key]

    def arm_rows(self, method: str, alpha: float) -> pd.DataFrame:
        """The rows of one arm at this point, one per seed."""
        r = self.rows
        return r[(r["method"] == method) & (r["alpha"] == alpha)]


@dataclass(frozen=True, eq=False)
class Analysis:
    """One experiment's numbers. Build it with `analyze`; treat its frames as read-only."""

    df: pd.DataFrame  # every finished epoch of every run (folder.load_experiment)
    agg: pd.DataFrame  # mean, std and t interval over seeds per arm, measure and epoch (stats.aggregate)
    points: tuple[Point, ...]  # the last epoch, then the best epoch by validation accuracy when logged
    arms: list[tuple[str, float]]  # (method, parameter) in naming.arm_order: baseline, MixUp by alpha, neighbours

    @property
    def last(self) -> Point:
        """The pre-registered reporting point: each run's last finished epoch."""
        return self.points[0]

    @property
    def best_val(self) -> Point | None:
        """Each run at its epoch of highest validation accuracy; None when no run logged val_acc."""
        return self.points[1] if len(self.points) > 1 else None

    @property
    def finals(self) -> pd.DataFrame:
        """The last finished epoch of every run, one row per run (final_rows)."""
        return self.last.rows

    @property
    def paired(self) -> stats.Paired:
        """Every other arm minus the baseline at the last epoch, paired by seed."""
        return self.last.paired

    @property
    def versus(self) -> stats.Paired | None:
        """Every other arm minus the `plot --reference` arm at the last epoch, when one is chosen."""
        return self.last.versus

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
        return mixup_only(m for m, _ in self.arms)

    @property
    def partial_runs(self) -> list[str]:
        """The ids of the runs without a DONE marker, sorted."""
        return sorted(self.finals.loc[~self.finals["done"], "run_id"])

    @property
    def memorised(self) -> bool:
        """True when some run logged memorisation of its noisy labels (it trained with --label-noise)."""
        df = self.df
        return MEMORISED in df.columns and bool(pd.to_numeric(df[MEMORISED], errors="coerce").notna().any())

    def arm_finals(self, method: str, alpha: float) -> pd.DataFrame:
        """The final-epoch rows of one arm, one per seed."""
        return self.last.arm_rows(method, alpha)


def analyze(
    df: pd.DataFrame,
    reference: tuple[str, float] | None = None,
    looks: tuple[int, ...] = (),
    family: str = stats.COMPARISON,
) -> Analysis:
    """Compute every aggregate and paired difference of the rows `df` once, at each reporting point;
    with `reference` (an arm of `df` other than the baseline), also every other arm's paired
    differences against it. `looks`: the sequential design the experiment was run under (`run
    --until-decided`, read from experiment.json), () for a fixed number of seeds. `family`: Holm over
    each comparison's parts (COMPARISON) or over every comparison (EXPERIMENT)."""
    keys = [stats.LAST] + ([stats.BEST_VAL] if has_best_val(df) else [])
    chosen = {stats.LAST: final_rows, stats.BEST_VAL: best_val_rows}
    versus = reference is not None and reference[0] != "baseline"
    measures = stats.paired_measures(df)  # the claim, and the shift measures where the runs logged them
    points = tuple(
        Point(
            key=key,
            rows=chosen[key](df),
            paired=stats.paired_differences(df, measures, point=key, looks=looks, family=family),
            versus=stats.paired_differences(df, measures, reference=reference, point=key, looks=looks, family=family)
            if versus
            else None,
        )
        for key in keys
    )
    return Analysis(df=df, agg=stats.aggregate(df), points=points, arms=arms(df))
