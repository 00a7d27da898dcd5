"""An arm's curves for a dashboard: the mean over its finished seeds, per epoch, with when it happened.

MLflow's chart view draws the runs its table shows, and it shows the arm-level parent runs (the seed
runs are folded under them). So each parent run holds the arm's curves: every metrics.csv metric as
the mean over the arm's finished seeds at each epoch, and `seeds`, how many seeds that mean is of.
Only finished seeds count (a run still training would pull the mean's last epochs to fewer seeds),
so the mean changes only when a seed finishes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mixup_bench.errors import UserError
from mixup_bench.integrations.rows import metric_values, read_epochs
from mixup_bench.integrations.times import RunClock, run_start
from mixup_bench.naming import arm_id, parse_run_id
from mixup_bench.results.layout import CONFIG_FILE, is_done, run_dirs
from mixup_bench.results.records import read_json

SEEDS_METRIC = "seeds"  # the parent's metric: how many seeds the mean of that epoch is of


@dataclass
class ArmCurve:
    """The mean over an arm's finished seeds: epoch -> metric -> mean, when each epoch ended (the mean
    over the seeds), and the span of the seeds' runs (the earliest start, the latest end)."""

    seeds: list[int] = field(default_factory=list)
    means: dict[int, dict[str, float]] = field(default_factory=dict)
    times: dict[int, float] = field(default_factory=dict)
    start: float = 0.0
    end: float = 0.0

    @property
    def key(self) -> str:
        """Which seeds the mean is of, as the parent run's tag holds it: '0,1,2'."""
        return ",".join(str(s) for s in self.seeds)


def arm_curve(exp_path: Path, arm: str) -> ArmCurve:
    """The curve of arm `arm` (an arm id, `mixup-a0.4`) from the experiment's finished run folders."""
    curve = ArmCurve()
    sums: dict[int, dict[str, list[float]]] = {}
    ends: dict[int, list[float]] = {}
    starts, lasts = [], []
    for rdir in run_dirs(Path(exp_path)):
        parsed = parse_run_id(rdir.name)
        if parsed is None or arm_id(parsed[0], parsed[1]) != arm or not is_done(rdir):
            continue
        try:
            config = read_json(rdir / CONFIG_FILE)
        except UserError:  # a run folder without a readable config.json: its id says enough
            config = {"run_id": rdir.name}
        clock = RunClock(run_start(Path(exp_path), config))
        for epoch, row in sorted(read_epochs(rdir).items()):
            values = metric_values(row)
            ends.setdefault(epoch, []).append(clock.end_of(epoch, values))
            for key, value in values.items():
                sums.setdefault(epoch, {}).setdefault(key, []).append(value)
        curve.seeds.append(parsed[2])
        starts.append(clock.start)
        lasts.append(clock.last)
    curve.seeds.sort()
    for epoch, by_key in sorted(sums.items()):
        curve.means[epoch] = {key: sum(v) / len(v) for key, v in by_key.items()}
        curve.means[epoch][SEEDS_METRIC] = float(len(ends[epoch]))
        curve.times[epoch] = sum(ends[epoch]) / len(ends[epoch])
    if starts:
        curve.start, curve.end = min(starts), max(lasts)
    return curve
