"""The shift figures' tables (analysis/shift.py) from hand-made runs with known answers."""

from __future__ import annotations

import math

import pytest
from scipy import stats as sps

from mixup_bench.analysis import run_logs, shift
from mixup_bench.analysis.facts import analyze
from mixup_bench.analysis.folder import load_experiment
from mixup_bench.results.layout import CORRUPTIONS_FILE, RUNS_DIR
from tests.shift_fixtures import SEEDS, TYPES, cell_acc, write_experiment


def facts(exp):
    df, _ = load_experiment(exp)
    warnings = []
    cells = run_logs.read_corruptions(exp, df, warnings)
    return shift.shift_facts(analyze(df), cells), cells, warnings


def test_corruption_cells_are_read_at_each_runs_last_epoch(tmp_path):
    _, cells, warnings = facts(write_experiment(tmp_path / "e"))
    assert not warnings and set(cells["epoch"]) == {3}
    assert len(cells) == 2 * len(SEEDS) * len(TYPES) * 5
    row = cells[
        (cells["method"] == "mixup") & (cells["seed"] == 2) & (cells["type"] == "fog") & (cells["severity"] == 4)
    ]
    assert float(row["acc"].iloc[0]) == pytest.approx(cell_acc(0.4, 2, "fog", 4))


def test_per_type_deltas_are_paired_by_seed_with_t_intervals(tmp_path):
    f, _, _ = facts(write_experiment(tmp_path / "e"))
    table = f.per_type.set_index("type")
    assert list(table.index) == list(TYPES) and set(table["method"]) == {"mixup"}
    noise = table.loc["gaussian_noise"]
    half = sps.t.ppf(0.975, 2) * 0.01 / math.sqrt(3)  # gains 0.02, 0.03, 0.04: std 0.01
    assert noise["mean"] == pytest.approx(0.03) and noise["n"] == 3
    assert (noise["ci_low"], noise["ci_high"]) == pytest.approx((0.03 - half, 0.03 + half))
    assert table.loc["fog", "mean"] == pytest.approx(0.0, abs=1e-12)


def test_severity_curve_starts_at_the_clean_test_accuracy(tmp_path):
    f, _, _ = facts(write_experiment(tmp_path / "e"))
    base = f.severity[f.severity["method"] == "baseline"].set_index("severity")
    assert list(base.index) == [0, 1, 2, 3, 4, 5]
    assert base.loc[0, "mean"] == pytest.approx(0.5 + 0.03 + 0.002)  # test_acc at epoch 3, mean over seeds
    assert base.loc[3, "mean"] == pytest.approx(0.6 - 0.15 + 0.01)  # both types, mean over seeds 0..2
    assert base.loc[3, "n"] == 3 and base.loc[3, "ci_low"] < base.loc[3, "mean"] < base.loc[3, "ci_high"]


def test_attack_curve_has_fgsm_from_clean_and_pgd(tmp_path):
    f, _, _ = facts(write_experiment(tmp_path / "e"))
    mix = f.attacks[f.attacks["method"] == "mixup"]
    fgsm = mix[mix["attack"] == "FGSM"].set_index("eps")["mean"]
    assert list(fgsm.index) == [0, 1, 2, 4]
    assert fgsm[2] == pytest.approx(0.21 - 0.025) and fgsm[4] == pytest.approx(0.1)
    assert fgsm[0] == pytest.approx(0.5 + 0.03 + 0.002 + 0.004)
    pgd = mix[mix["attack"] == "PGD-10"]
    assert list(pgd["eps"]) == [2] and float(pgd["mean"].iloc[0]) == pytest.approx(0.151)


def test_no_shift_numbers_give_no_tables(tmp_path):
    f, cells, _ = facts(write_experiment(tmp_path / "e", shift=False))
    assert f is None and cells.empty


def test_attacks_without_corruptions_csv_still_give_the_attack_table(tmp_path):
    f, _, _ = facts(write_experiment(tmp_path / "e", cells=False))
    assert f is not None and f.per_type.empty and f.severity.empty and len(f.attacks) == 2 * 5


def test_a_malformed_corruptions_csv_is_left_out_with_a_warning(tmp_path):
    exp = write_experiment(tmp_path / "e")
    bad = exp / RUNS_DIR / "mixup-a0.4-s1" / CORRUPTIONS_FILE
    bad.write_text("epoch,type\n3,fog\n")
    _, cells, warnings = facts(exp)
    assert len(warnings) == 1 and "lacks the column(s)" in warnings[0] and str(bad) in warnings[0]
    assert not ((cells["method"] == "mixup") & (cells["seed"] == 1)).any()
    f, _, _ = facts(exp)
    assert int(f.per_type.set_index("type").loc["fog", "n"]) == 2  # that seed has no pair left


def test_a_corruptions_csv_with_an_empty_severity_is_left_out_with_a_warning(tmp_path):
    exp = write_experiment(tmp_path / "e")
    bad = exp / RUNS_DIR / "mixup-a0.4-s1" / CORRUPTIONS_FILE
    lines = bad.read_text().splitlines()
    at = lines[0].split(",").index("severity")
    rows = [line.split(",") for line in lines[1:]]
    rows[-1][at] = ""  # a hand-edited or torn cell in the last epoch's rows: no longer a whole number
    bad.write_text("\n".join([lines[0], *(",".join(r) for r in rows)]) + "\n")
    _, cells, warnings = facts(exp)
    assert len(warnings) == 1 and "severity" in warnings[0] and str(bad) in warnings[0]
    assert not ((cells["method"] == "mixup") & (cells["seed"] == 1)).any()
