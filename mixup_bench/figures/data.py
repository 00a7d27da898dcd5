"""What the figures draw, gathered once per experiment so that every figure shows the same numbers.

Figures take their data in memory and never read files: the command layer (`mixup_bench.plotting`)
reads the experiment through `analysis` and hands the numbers over in a `PlotData`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mixup_bench import naming as labels
from mixup_bench.analysis.facts import Analysis
from mixup_bench.analysis.run_logs import Reliability
from mixup_bench.analysis.shift import ShiftFacts
from mixup_bench.analysis.trend import DoseResponse
from mixup_bench.figures.style import arm_colors


@dataclass
class PlotData:
    """Everything the figures draw: the experiment's `Analysis`, colours and the side logs."""

    name: str
    analysis: Analysis
    colors: dict[tuple[str, float], str]  # per arm (method, parameter): style.arm_colors
    lam: pd.DataFrame
    reliability: list[Reliability]
    shift: ShiftFacts | None = None  # the shift evaluation's tables, when some run ran it (`run --shift`)
    dose: DoseResponse | None = None  # each measure against MixUp alpha, with three alphas or more

    @property
    def df(self) -> pd.DataFrame:
        return self.analysis.df

    @property
    def agg(self) -> pd.DataFrame:
        return self.analysis.agg

    @property
    def arms(self) -> list[tuple[str, float]]:
        return self.analysis.arms

    @property
    def lam_arms(self) -> list[tuple[str, float]]:
        """The arms that draw a mixing weight lam (MixUp, CutMix, Manifold MixUp), in `naming.arm_order`."""
        return [arm for arm in self.arms if arm[0] in labels.LAM_METHODS]

    @property
    def mixup_only(self) -> bool:
        return self.analysis.mixup_only

    def color(self, method: str, alpha: float) -> str:
        """The colour of an arm, the same in every figure of the experiment."""
        return self.colors.get((method, float(alpha)), "#777777")

    def seeds(self, method: str, alpha: float) -> int:
        return len(self.analysis.arm_finals(method, alpha))

    def partial_runs(self, method: str, alpha: float) -> int:
        return int((~self.analysis.arm_finals(method, alpha)["done"]).sum())

    def label(self, method: str, alpha: float) -> str:
        """Legend text of an arm: name, seeds, and how many runs are partial."""
        n, p = self.seeds(method, alpha), self.partial_runs(method, alpha)
        text = f"{labels.arm_label(method, alpha, greek=True)} ({labels.plural(n, 'seed')}"
        return text + (f", {p} partial)" if p else ")")

    @property
    def multi_seed(self) -> bool:
        return bool((self.agg["n"] > 1).any())


def plot_data(
    name: str,
    analysis: Analysis,
    arms: list[tuple[str, float]] | None = None,
    lam: pd.DataFrame | None = None,
    reliability: list[Reliability] | None = None,
    shift: ShiftFacts | None = None,
    dose: DoseResponse | None = None,
) -> PlotData:
    """What the figures of experiment `name` draw: the numbers of `analysis`, a colour per arm of `arms`
    (every arm the experiment holds or plans, `load.experiment_arms`; by default those of `analysis`),
    the lam values the mixing arms sampled, the pooled calibration bins, the shift tables and the dose-response
    (none by default)."""
    if lam is None:
        lam = pd.DataFrame({"method": pd.Series(dtype=str), **{c: pd.Series(dtype=float) for c in _LAM}})
    return PlotData(
        name=name,
        analysis=analysis,
        # Colours come from every arm the experiment holds or plans, not only those drawn,
        # so an arm keeps its colour across plots of the same experiment.
        colors=arm_colors(analysis.arms if arms is None else arms),
        lam=lam,
        reliability=list(reliability or []),
        shift=shift,
        dose=dose,
    )


_LAM = ("alpha", "seed", "epoch", "step", "lam")
