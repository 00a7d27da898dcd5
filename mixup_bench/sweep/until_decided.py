"""`run --until-decided`: paired seeds are added, `--jobs` at a time, until every claimed part of the primary
comparison is decided at the last epoch, or `--max-seeds` is reached.

The design is fixed before the first run and written to experiment.json (`sequential`): the seeds in the
order they are added, and the looks (the numbers of pairs at which the data are judged). A killed run
resumes on the same design, runs no seed twice, and ends on the same seeds and the same verdict: every
look judges only finished runs, and training is deterministic per seed.

The judgement at a look is `mixup_bench.sequential.decide` (sequential p-values, Holm over the parts,
the interval at the design's nominal level, ±margin for "no effect"); `plot` then reports the same
procedure, read from the record.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from mixup_bench.config import ExperimentConfig, RunConfig
from mixup_bench.errors import UserError
from mixup_bench.metrics import CLAIM, METRICS, SHIFT_CLAIM, M
from mixup_bench.naming import BASELINE, arm_id, arm_label
from mixup_bench.results.atomic import atomic_write_json
from mixup_bench.results.layout import EXPERIMENT_FILE, METRICS_FILE
from mixup_bench.results.records import read_experiment
from mixup_bench.results.schema import read_metrics
from mixup_bench.sequential import DECIDED, NO_EFFECT, PartDecision, decide, design_looks
from mixup_bench.sweep.execute import run_dir
from mixup_bench.sweep.locks import experiment_lock
from mixup_bench.sweep.progress import Reporter
from mixup_bench.sweep.runner import Outcome, run_experiment

RECORD_KEY = "sequential"


@dataclasses.dataclass(frozen=True)
class Design:
    """The seeds of a sequential run in the order they are added, the looks, and the comparison it decides."""

    seeds: tuple[int, ...]
    looks: tuple[int, ...]
    primary: tuple[str, float]  # the arm judged against the baseline

    def to_dict(self) -> dict:
        return {"seeds": list(self.seeds), "looks": list(self.looks), "primary": arm_id(*self.primary)}


def plan(exp: ExperimentConfig) -> Design:
    """The design of `exp`: its seeds first, then the next unused seeds up to `max_seeds`; a look after the
    seeds given and after every `jobs` more (and at the maximum). The primary comparison is the first arm
    after the baseline (`ExperimentConfig.planned_arms`' order)."""
    seeds = list(exp.seeds)
    nxt = max(seeds) + 1
    while len(seeds) < exp.seed_cap:
        if nxt not in seeds:
            seeds.append(nxt)
        nxt += 1
    primary = next(arm for arm in exp.planned_arms if arm[0] != BASELINE)
    return Design(tuple(seeds), design_looks(len(exp.seeds), max(1, exp.jobs), exp.seed_cap), primary)


def recorded_design(exp: ExperimentConfig) -> Design | None:
    """The design experiment.json holds from an earlier call, or None."""
    record = read_experiment(exp.path)
    held = (record or {}).get(RECORD_KEY)
    if not isinstance(held, dict):
        return None
    try:
        seeds, looks = tuple(int(s) for s in held["seeds"]), tuple(int(n) for n in held["looks"])
    except (KeyError, TypeError, ValueError):
        raise UserError(f"{exp.path / EXPERIMENT_FILE} holds a damaged `{RECORD_KEY}` design; "
                        "restore it, or use another --name.") from None  # fmt: skip
    primary = next((arm for arm in exp.planned_arms if arm_id(*arm) == held.get("primary")), None)
    if primary is None or not looks or looks[-1] > len(seeds):
        raise UserError(f"{exp.path} was run --until-decided on another comparison ({held.get('primary')}); "
                        "use another --name.")  # fmt: skip
    return Design(seeds, looks, primary)


def _write_design(exp: ExperimentConfig, design: Design, stopped_at: int | None, decided: bool) -> None:
    """Keep the design (and where it stopped) in experiment.json, under the experiment's lock."""
    with experiment_lock(exp.path):
        record = read_experiment(exp.path) or {}
        record[RECORD_KEY] = {**design.to_dict(), "stopped_at": stopped_at, "decided": decided}
        atomic_write_json(exp.path / EXPERIMENT_FILE, record)


def judge_look(exp: ExperimentConfig, design: Design, n: int) -> dict[str, PartDecision]:
    """Each claimed part of the primary comparison over the first `n` seeds of the design, at the last epoch."""
    diffs: dict[str, list[float]] = {}
    for seed in design.seeds[:n]:
        arm = _final_row(exp, design.primary, seed)
        ref = _final_row(exp, (BASELINE, 0.0), seed)
        for name in CLAIM + (SHIFT_CLAIM if exp.training.shift else ()):
            diffs.setdefault(name, []).append(_value(arm, name) - _value(ref, name))
    directions = {m: METRICS[m].direction for m in diffs}
    margins = {m: METRICS[m].margin for m in diffs}
    return decide({m: np.asarray(v) for m, v in diffs.items()}, directions, margins, design.looks)


def _final_row(exp: ExperimentConfig, arm: tuple[str, float], seed: int) -> dict:
    cfg = RunConfig(exp.name, arm[1], seed, exp.training, exp.device, arm[0])
    df = read_metrics(run_dir(exp.path, cfg) / METRICS_FILE)
    return df.iloc[-1].to_dict()


def _value(row: dict, name: str) -> float:
    if name == M.gap.name:  # derived: metrics.csv has no column of it
        return float(row[M.test_loss.name]) - float(row[M.clean_train_loss.name])
    value = row.get(name)
    return float(value) if value is not None else math.nan


def look_line(n: int, decisions: dict[str, PartDecision]) -> str:
    """'After 5 paired seeds: decided clean train loss (supported), ...; still open: test accuracy.'"""
    done = [f"{METRICS[m].short} ({_word(d)})" for m, d in decisions.items() if d.word in DECIDED]
    open_ = [METRICS[m].short for m, d in decisions.items() if d.word not in DECIDED]
    text = f"After {n} paired seeds: decided {', '.join(done) or 'nothing yet'}"
    return text + (f"; still open: {', '.join(open_)}." if open_ else "; every part is decided.")


def _word(d: PartDecision) -> str:
    return f"{NO_EFFECT} within {METRICS[d.name].margin_text}" if d.word == NO_EFFECT else d.word


def run_until_decided(exp: ExperimentConfig, reporter: Reporter, rerun_command: str = "") -> Outcome:
    """Run the design's seeds look by look; stop at the first look where every claimed part of the primary
    comparison is decided, or at the last. Returns the Outcome of the last batch of runs."""
    exp.validate()
    design = recorded_design(exp) or plan(exp)
    reporter.say(
        f"Until decided: {arm_label(*design.primary)} against the baseline, looks at "
        f"{', '.join(map(str, design.looks))} paired seeds (seeds {design.seeds[0]}-{design.seeds[-1]} at most)."
    )
    outcome = Outcome()
    for n in design.looks:
        outcome = run_experiment(dataclasses.replace(exp, seeds=design.seeds[:n]), reporter, rerun_command)
        _write_design(exp, design, None, False)
        if outcome.stopped or outcome.held:
            return outcome
        decisions = judge_look(exp, design, n)
        reporter.say(look_line(n, decisions))
        decided = all(d.word in DECIDED for d in decisions.values())
        if decided or n == design.looks[-1]:
            _write_design(exp, design, n, decided)
            if not decided:
                reporter.say(f"Reached --max-seeds {n}: the open parts stay inconclusive; `plot` says how many "
                             "seeds would decide them.")  # fmt: skip
            return outcome
    return outcome
