"""The numbers of the shift figures (runs with `--shift`): per corruption, per severity and per attack.

`run_logs.read_corruptions` reads each run's corruptions.csv (train/shift.py writes it: accuracy and loss
per corruption type and severity at every shift evaluation); `shift_facts` turns them, and the shift
columns of metrics.csv, into three tables, each at every run's last epoch:

- `per_type`: each arm minus the baseline, paired by seed, in accuracy on each corruption type
  (averaged over its severities), with a 95% t interval;
- `severity`: each arm's accuracy against severity (0 = the clean test set), mean over seeds with a
  95% t interval, every type averaged;
- `attacks`: each arm's accuracy against the attack's epsilon (0 = the clean test set) for FGSM, and
  PGD-10 at its one epsilon, mean over seeds with a 95% t interval.

Nothing here reads or draws figures; `figures/shift.py` draws these tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mixup_bench.analysis.facts import Analysis
from mixup_bench.analysis.stats import mean_interval
from mixup_bench.metrics import M

FGSM = {1: M.fgsm_acc_1.name, 2: M.fgsm_acc_2.name, 4: M.fgsm_acc_4.name}  # epsilon in 1/255 -> metrics.csv column
PGD = {2: M.pgd_acc_2.name}


@dataclass(frozen=True, eq=False)
class ShiftFacts:
    """What the shift figures draw (see the module doc); accuracies are fractions in [0, 1]."""

    per_type: pd.DataFrame  # method, alpha, type, mean, ci_low, ci_high, n (arm − baseline, paired by seed)
    severity: pd.DataFrame  # method, alpha, severity (0 = clean), mean, ci_low, ci_high, n
    attacks: pd.DataFrame  # method, alpha, attack (FGSM | PGD-10), eps (in 1/255; 0 = clean), mean, ci_low, ci_high, n
    source: str  # where the corrupted images came from: built-in, CIFAR-10-C, or both


def shift_facts(analysis: Analysis, cells: pd.DataFrame) -> ShiftFacts | None:
    """The shift figures' tables, or None when no run logged a shift evaluation at its last epoch."""
    finals = analysis.finals
    if cells.empty and not finals.reindex(columns=list(FGSM.values())).notna().any().any():
        return None
    sources = sorted(set(cells["source"])) if not cells.empty else []
    return ShiftFacts(
        per_type=_per_type_deltas(cells),
        severity=_severity_curve(cells, finals),
        attacks=_attack_curve(finals),
        source=" and ".join(sources) or "none",
    )


def _interval_row(keys: dict, values) -> dict:
    iv = mean_interval(values)
    return {**keys, "mean": iv.mean, "ci_low": iv.low, "ci_high": iv.high, "n": iv.n}


def _per_type_deltas(cells: pd.DataFrame) -> pd.DataFrame:
    """Arm − baseline in accuracy per corruption type (mean over severities), paired by seed."""
    columns = ["method", "alpha", "type", "mean", "ci_low", "ci_high", "n"]
    if cells.empty:
        return pd.DataFrame(columns=columns)
    per_run = cells.groupby(["method", "alpha", "seed", "type"], sort=False)["acc"].mean().reset_index()
    base = per_run[per_run["method"] == "baseline"].set_index(["seed", "type"])["acc"]
    rows = []
    for (method, alpha, kind), g in per_run[per_run["method"] != "baseline"].groupby(
        ["method", "alpha", "type"], sort=False
    ):
        keys = list(zip(g["seed"], g["type"], strict=True))
        paired = [a - base[k] for a, k in zip(g["acc"], keys, strict=True) if k in base.index]
        if paired:
            rows.append(_interval_row({"method": method, "alpha": float(alpha), "type": kind}, paired))
    return pd.DataFrame(rows, columns=columns)


def _severity_curve(cells: pd.DataFrame, finals: pd.DataFrame) -> pd.DataFrame:
    """Accuracy per severity (every type averaged; severity 0: the clean test set), mean over seeds."""
    columns = ["method", "alpha", "severity", "mean", "ci_low", "ci_high", "n"]
    if cells.empty:
        return pd.DataFrame(columns=columns)
    per_run = cells.groupby(["method", "alpha", "seed", "severity"])["acc"].mean().reset_index()
    clean = finals[finals["run_id"].isin(_run_ids(finals, cells))][["method", "alpha", "seed", M.test_acc.name]]
    per_run = pd.concat([clean.rename(columns={M.test_acc.name: "acc"}).assign(severity=0), per_run], ignore_index=True)
    rows = [
        _interval_row({"method": m, "alpha": float(a), "severity": int(s)}, g["acc"])
        for (m, a, s), g in per_run.groupby(["method", "alpha", "severity"], sort=False)
    ]
    return pd.DataFrame(rows, columns=columns)


def _run_ids(finals: pd.DataFrame, cells: pd.DataFrame) -> set[str]:
    """The runs of `finals` that have corruption cells."""
    keys = set(zip(cells["method"], cells["alpha"], cells["seed"], strict=True))
    return {r for r, m, a, s in zip(finals["run_id"], finals["method"], finals["alpha"], finals["seed"], strict=True)
            if (m, float(a), int(s)) in keys}  # fmt: skip


def _attack_curve(finals: pd.DataFrame) -> pd.DataFrame:
    """Accuracy against epsilon per arm, FGSM (0 = the clean test set) and PGD-10, mean over seeds."""
    columns = ["method", "alpha", "attack", "eps", "mean", "ci_low", "ci_high", "n"]
    rows = []
    attacked = finals.dropna(subset=[c for c in FGSM.values() if c in finals.columns])
    for (m, a), g in attacked.groupby(["method", "alpha"], sort=False):
        keys = {"method": m, "alpha": float(a)}
        rows.append(_interval_row({**keys, "attack": "FGSM", "eps": 0}, g[M.test_acc.name]))
        rows += [_interval_row({**keys, "attack": "FGSM", "eps": eps}, g[col]) for eps, col in FGSM.items()]
        rows += [_interval_row({**keys, "attack": "PGD-10", "eps": eps}, g[col]) for eps, col in PGD.items()]
    return pd.DataFrame(rows, columns=columns)
