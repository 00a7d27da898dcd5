"""What the figures draw, gathered once per experiment so that every figure shows the same numbers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mixup_bench import naming as labels
from mixup_bench.analysis import stats
from mixup_bench.analysis.load import experiment_alphas
from mixup_bench.analysis.run_logs import Reliability, load_calibration, load_lam
from mixup_bench.figures.style import alpha_colors


@dataclass
class PlotData:
    """Everything the figures draw, read once."""

    name: str
    df: pd.DataFrame
    agg: pd.DataFrame
    arms: list[tuple[str, float]]
    colors: dict[float, str]
    lam: pd.DataFrame
    reliability: list[Reliability]

    def color(self, alpha: float) -> str:
        return self.colors.get(float(alpha), "#777777")

    def seeds(self, method: str, alpha: float) -> int:
        sel = self.df[(self.df["method"] == method) & (self.df["alpha"] == alpha)]
        return int(sel["run_id"].nunique())

    def partial_runs(self, method: str, alpha: float) -> int:
        sel = self.df[(self.df["method"] == method) & (self.df["alpha"] == alpha)]
        return int((~sel.groupby("run_id")["done"].first()).sum())

    def label(self, method: str, alpha: float) -> str:
        """Legend text of an arm: name, seeds, and how many runs are partial."""
        n, p = self.seeds(method, alpha), self.partial_runs(method, alpha)
        text = f"{labels.arm_label(method, alpha, greek=True)} ({n} seed{'s' if n != 1 else ''}"
        return text + (f", {p} partial)" if p else ")")

    @property
    def multi_seed(self) -> bool:
        return bool((self.agg["n"] > 1).any())

    @property
    def mixup_alphas(self) -> list[float]:
        return [a for m, a in self.arms if m == "mixup"]


def plot_data(
    exp_dir: Path,
    df: pd.DataFrame,
    agg: pd.DataFrame | None = None,
    lam: pd.DataFrame | None = None,
    reliability: list[Reliability] | None = None,
) -> PlotData:
    """Collect what the figures need; lam and calibration files are read when not given."""
    exp_dir = Path(exp_dir)
    if lam is None:
        lam, _ = load_lam(exp_dir, df)
    if reliability is None:
        reliability, _ = load_calibration(exp_dir, df)
    return PlotData(
        name=exp_dir.name,
        df=df,
        agg=stats.aggregate(df) if agg is None else agg,
        arms=labels.arms(df),
        # Colours come from every alpha the experiment holds or plans, not only those drawn,
        # so an alpha keeps its colour across plots of the same experiment.
        colors=alpha_colors(experiment_alphas(exp_dir, df) + [0.0]),
        lam=lam,
        reliability=reliability,
    )
