"""`run --until-decided` (mixup_bench/sweep/until_decided.py) where a user meets it: its bad settings refused
through the real CLI in one line, before anything is written; and a sequential run killed after its first look
that resumes on the same design, runs no seed twice and ends where an uninterrupted one ends."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from mixup_bench.cli import app
from mixup_bench.results.layout import DONE_FILE, EXPERIMENT_FILE, METRICS_FILE
from mixup_bench.sweep.until_decided import RECORD_KEY, run_until_decided
from tests.sweep.synthetic import (
    NAME,
    TIMING_COLUMNS,
    RecordingReporter,
    cli_args,
    experiment,
    finish,
    kill,
    metric_rows,
    start_cli,
    wait_until,
)

cli = CliRunner()


def run_args(data_dir: Path, out: Path, *extra: str) -> list[str]:
    """A tiny `run` (2 epochs, one run at a time); `extra` holds the sequential options under test."""
    seeds = [] if {"--seed", "--seeds"} & set(extra) else ["--seeds", "3"]
    return [
        "run", "--data-dir", str(data_dir), "--out", str(out), "--subset", "0", "--val-size", "8", "--epochs", "2",
        "--batch-size", "16", "--device", "cpu", "--precision", "fp32", "--jobs", "1", *seeds, *extra,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--until-decided", "--max-seeds", "0"], "error: --max-seeds must be at least 1, got 0."),
        (["--until-decided", "--max-seeds", "-3"], "error: --max-seeds must be at least 1, got -3."),
        (["--until-decided", "--max-seeds", "2", "--seeds", "3"], "error: --max-seeds 2 is below the 3 seeds given"),
        (["--until-decided", "--seed", "4"], "error: --until-decided starts from at least 2 seeds"),
        (["--until-decided", "--no-baseline", "--alpha", "0.4"],
         "error: --until-decided decides a comparison: it needs the baseline and at least one other arm"),
        (["--until-decided", "--alpha", "0"],  # the baseline alone
         "error: --until-decided decides a comparison: it needs the baseline and at least one other arm"),
        (["--max-seeds", "5"], "error: --max-seeds bounds the sequential mode, which is off: add --until-decided."),
        (["--fixed-seeds", "--max-seeds", "5"], "error: --max-seeds bounds the sequential mode, which is off"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("dry_run", [False, True])
def test_bad_sequential_settings_are_one_line_exit_2_and_write_nothing(tiny_cifar, tmp_path, extra, expected, dry_run):
    out = tmp_path / "r"
    res = cli.invoke(app, run_args(tiny_cifar, out, *extra, *(["--dry-run"] if dry_run else [])))
    assert res.exit_code == 2, res.output
    assert res.output.strip().splitlines() == [res.output.strip()] and res.output.startswith(expected), res.output
    assert "Traceback" not in res.output
    assert not out.exists()


# --- killed after the first look, resumed ------------------------------------------------------------------------

EPOCHS = 2
SEEDS = 2  # to start from; then one more per look (--jobs 1) up to MAX_SEEDS: looks at 2, 3 and 4 pairs
MAX_SEEDS = 4
P_COLUMNS = ["point", "arm", "metric", "pairs", "seeds", "mean", "std", "ci_low", "ci_high", "p", "p_seq", "p_holm",
             "test", "family", "procedure", "claim", "seeds_needed"]  # fmt: skip


def sequential_record(exp_dir: Path) -> dict:
    return json.loads((exp_dir / EXPERIMENT_FILE).read_text())[RECORD_KEY]


def runs_of(exp_dir: Path) -> list[str]:
    return sorted(p.name for p in (exp_dir / "runs").iterdir())


def paired_csv(exp_dir: Path) -> pd.DataFrame:
    res = cli.invoke(app, ["plot", str(exp_dir)], env={"COLUMNS": "300"})
    assert res.exit_code == 0, res.output
    return pd.read_csv(exp_dir / "paired.csv")


@pytest.mark.slow
@pytest.mark.usefixtures("no_drawing")
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="watches the run folders and uses POSIX signals")
def test_a_sequential_run_killed_after_its_first_look_resumes_on_the_same_design(tiny_cifar, tmp_path):
    # The reference: the same sequential run, in this process, never interrupted.
    ref = experiment(tiny_cifar, tmp_path / "ref", seeds=range(SEEDS), epochs=EPOCHS, until_decided=True,
                     max_seeds=MAX_SEEDS)  # fmt: skip
    reporter = RecordingReporter()
    run_until_decided(ref, reporter)
    design = sequential_record(ref.path)
    assert design["seeds"] == [0, 1, 2, 3] and design["looks"] == [2, 3, 4] and design["primary"] == "mixup-a0.4"
    stopped_at = design["stopped_at"]
    assert stopped_at in design["looks"] and f"After {stopped_at} paired seeds" in reporter.text
    assert stopped_at > design["looks"][0], "decided at the first look: nothing left to interrupt"
    ref_runs = runs_of(ref.path)
    assert ref_runs == sorted(f"{arm}-s{s}" for arm in ("baseline-a0", "mixup-a0.4") for s in range(stopped_at))

    # The CLI, killed (SIGKILL) inside the first run after the first look: the look's runs are done, the design
    # is written, the verdict is not.
    out = tmp_path / "results"
    args = cli_args(tiny_cifar, out, "--until-decided", "--max-seeds", str(MAX_SEEDS), seeds=SEEDS, epochs=EPOCHS)
    exp_dir = out / NAME
    first_after = exp_dir / "runs" / f"baseline-a0-s{SEEDS}"
    proc = start_cli(args)
    wait_until(proc, lambda: metric_rows(first_after) >= 1, "the first epoch after the first look")
    kill(proc)
    assert not (first_after / DONE_FILE).exists()
    assert all((exp_dir / "runs" / f"{arm}-s{s}" / DONE_FILE).exists()
               for arm in ("baseline-a0", "mixup-a0.4") for s in range(SEEDS))  # fmt: skip
    killed = sequential_record(exp_dir)
    assert {**killed, "stopped_at": None, "decided": False} == {**design, "stopped_at": None, "decided": False}
    assert killed["stopped_at"] is None and killed["decided"] is False

    # The same command again finishes it: the same runs, each epoch once, the same numbers, the same record.
    rc, output = finish(start_cli(args))
    assert rc == 0, output
    assert "Traceback" not in output and f"After {stopped_at} paired seeds" in output
    assert runs_of(exp_dir) == ref_runs
    for rid in ref_runs:
        got, want = (pd.read_csv(d / "runs" / rid / METRICS_FILE) for d in (exp_dir, ref.path))
        assert got["epoch"].tolist() == list(range(1, EPOCHS + 1)), f"{rid} ran an epoch twice or not at all"
        assert (exp_dir / "runs" / rid / DONE_FILE).exists()
        cols = [c for c in want.columns if c not in TIMING_COLUMNS]
        pd.testing.assert_frame_equal(got[cols], want[cols], check_exact=True, obj=f"{rid} metrics.csv")
    assert sequential_record(exp_dir) == design

    # `plot` reads the design from experiment.json and reports the same sequential p-values and words.
    got, want = paired_csv(exp_dir), paired_csv(ref.path)
    tested = want.dropna(subset=["p"])
    assert (tested["p_seq"] >= tested["p"]).all() and (tested["p_seq"] > tested["p"]).any()  # the design was applied
    assert set(want["procedure"]) == {"sequential (looks at 2, 3, 4 pairs)"}
    pd.testing.assert_frame_equal(got[P_COLUMNS], want[P_COLUMNS], check_exact=True)
