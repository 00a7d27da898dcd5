"""compare: the regime table holds the paired differences by hand; the CLI writes the map or refuses in one line."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from typer.testing import CliRunner

from mixup_bench.analysis import compare, compare_report
from mixup_bench.cli import app
from mixup_bench.results.atomic import atomic_write_json
from mixup_bench.results.layout import EXPERIMENT_FILE
from tests.plot_fixtures import synthetic_experiment, write_final_values

runner = CliRunner()

# Final-epoch values per (alpha, seed): test_acc, test_loss, clean_train_loss, test_ece.
FINALS = {
    (0.0, 0): (0.70, 1.00, 0.20, 0.10),
    (0.0, 1): (0.72, 0.95, 0.25, 0.12),
    (0.0, 2): (0.69, 1.05, 0.15, 0.09),
    (0.4, 0): (0.73, 0.90, 0.50, 0.04),
    (0.4, 1): (0.72, 0.85, 0.45, 0.05),
    (0.4, 2): (0.74, 0.92, 0.52, 0.03),
}


def write_record(exp: Path, **training) -> None:
    """experiment.json as `run` writes it: the training settings under config.training."""
    config = {"epochs": 3, "subset": 10_000, "model": "small-cnn", "label_noise": 0.0, **training}
    atomic_write_json(exp / EXPERIMENT_FILE, {"name": exp.name, "config": {"training": config}})


def hand_experiment(exp: Path, shift: float = 0.0, **training) -> Path:
    """A baseline and MixUp alpha=0.4, seeds 0-2, with the final values of FINALS (MixUp accuracy + shift)."""
    for (alpha, seed), (acc, loss, clean, ece) in FINALS.items():
        acc = acc + (shift if alpha else 0.0)
        write_final_values(exp, alpha, seed, test_acc=acc, test_loss=loss, clean_train_loss=clean, test_ece=ece)
    write_record(exp, **training)
    return exp


def compare_experiments(paths, out_dir, **kwargs) -> compare.CompareResult:
    """compare without drawing (the regime map figure is drawn in the slow CLI test): compute, then write."""
    result = compare.compare_experiments(paths, out_dir, **kwargs)
    compare_report.write_comparison(result, [])
    return result


def paired_by_hand(index: int, scale: float, shift: float = 0.0) -> tuple[float, float, float]:
    """Mean and 95% t interval of MixUp - baseline over the three seeds, computed from FINALS directly."""
    diffs = []
    for seed in range(3):
        m, b = FINALS[(0.4, seed)], FINALS[(0.0, seed)]
        value = (lambda v: v[index]) if index >= 0 else (lambda v: v[1] - v[2])  # -1: the gap
        diffs.append(scale * (value(m) + (shift if index == 0 else 0.0) - value(b)))
    d = np.array(diffs)
    half = sps.t.ppf(0.975, 2) * d.std(ddof=1) / math.sqrt(3)
    return d.mean(), d.mean() - half, d.mean() + half


def test_regime_table_equals_hand_computed_paired_means(tmp_path):
    small = hand_experiment(tmp_path / "small", subset=5_000)
    large = hand_experiment(tmp_path / "large", shift=0.02, subset=20_000)
    res = compare_experiments([large, small], tmp_path / "out")
    assert res.setting == "subset"
    table = pd.read_csv(tmp_path / "out" / "regime_map.csv")
    assert list(table["value"]) == [5_000, 20_000]  # sorted by the setting, whatever the order given
    assert list(table["experiment"]) == ["small", "large"]
    assert list(table["pairs"]) == [3, 3]
    for row, shift in zip(table.itertuples(), (0.0, 0.02), strict=True):
        for stem, index, scale in (
            ("delta_test_acc_pp", 0, 100),
            ("delta_test_loss", 1, 1),
            ("delta_gap", -1, 1),
            ("delta_test_ece_pp", 3, 100),
        ):
            mean, lo, hi = paired_by_hand(index, scale, shift)
            got = getattr(row, stem), getattr(row, f"{stem}_ci_low"), getattr(row, f"{stem}_ci_high")
            assert got == pytest.approx((mean, lo, hi), rel=1e-5, abs=1e-9), stem
    # by hand: test loss -0.11 [-0.15, -0.07], raw p 0.008; gap -0.40 [-0.65, -0.15], p 0.020;
    # ECE -6.33 pp [-7.8, -4.9], p 0.003; accuracy +2.67 pp [-3.6, +8.9]; clean train loss p 0.028.
    # Holm over the experiment's 5 comparisons (as its `plot` verdict): ECE 0.014, loss 0.033, gap 0.061, ...
    assert list(table["test_loss_claim"]) == ["supported", "supported"]
    assert list(table["gap_claim"]) == ["inconclusive", "inconclusive"]
    assert list(table["test_ece_claim"]) == ["supported", "supported"]
    assert table["test_acc_claim"].iat[0] == "inconclusive"
    assert table["gap_p"].iat[0] == pytest.approx(0.0202, abs=5e-4)
    assert table["gap_p_holm"].iat[0] == pytest.approx(3 * table["gap_p"].iat[0])
    md = (tmp_path / "out" / "regime_map.md").read_text()
    assert "| 5,000 | small | MixUp alpha=0.4 | 3 | 3 |" in md and "inconclusive (Holm p=0.061)" in md
    raw = compare_experiments([large, small], tmp_path / "raw", correction=False)  # --no-correction
    assert list(raw.table["gap_claim"]) == ["supported", "supported"]
    assert "not corrected for making several comparisons" in (tmp_path / "raw" / "regime_map.md").read_text()


def test_compare_judges_each_experiment_as_its_plot_verdict_does(tmp_path):
    from mixup_bench.analysis import claim
    from mixup_bench.analysis import folder as load
    from mixup_bench.analysis.facts import analyze

    small = hand_experiment(tmp_path / "small", subset=5_000)
    large = hand_experiment(tmp_path / "large", shift=0.02, subset=20_000)
    res = compare_experiments([small, large], tmp_path / "out")
    for exp, (_, row) in zip((small, large), res.table.iterrows(), strict=True):
        words = claim.judgements(analyze(load.load_experiment(exp)[0]).paired)[("mixup", 0.4)]
        assert {m: row[f"{m}_claim"] for m in compare.COMPARED} == {m: words[m] for m in compare.COMPARED}


@pytest.mark.slow  # end to end: trains or renders every figure
def test_compare_cli_writes_the_regime_map_on_a_log_axis(tmp_path):
    root = tmp_path / "results"
    paths = []
    for i, subset in enumerate((2_000, 10_000, None)):
        exp = synthetic_experiment(
            root / f"subset-{subset or 'all'}", alphas=(0.2, 1.0), seeds=(0, 1), epochs=3, with_lam=False, seed=i
        )
        write_record(exp, subset=subset)
        paths.append(str(exp))
    res = runner.invoke(app, ["compare", *paths], env={"COLUMNS": "100"})
    assert res.exit_code == 0, res.output
    out = root / "compare-subset"  # the default: <common parent>/compare-<setting>
    assert {p.name for p in out.iterdir()} == {"regime_map.csv", "regime_map.md", "regime_map.png", "regime_map.svg"}
    img = matplotlib.image.imread(out / "regime_map.png")
    assert img.shape[0] > 600 and img.shape[1] > 900
    table = pd.read_csv(out / "regime_map.csv")
    assert list(table["value_label"]) == ["2,000"] * 2 + ["10,000"] * 2 + ["50,000 (all)"] * 2
    assert "test accuracy, pp" in res.output and "regime_map.png" in res.output
    assert "![regime map](regime_map.png)" in (out / "regime_map.md").read_text()
    # a second compare over results/*/ skips the first one's output folder
    again = runner.invoke(app, ["compare", *map(str, sorted(p for p in root.iterdir())), "--out", str(tmp_path / "o")])
    assert again.exit_code == 0, again.output
    assert "Skipped" in again.output and "earlier output of compare" in again.output


def test_setting_chooses_among_several_that_differ(tmp_path):
    a = hand_experiment(tmp_path / "a", subset=5_000, epochs=3)
    b = hand_experiment(tmp_path / "b", subset=20_000, epochs=5)
    res = runner.invoke(app, ["compare", str(a), str(b)])
    assert res.exit_code == 2
    assert "differ in 2 settings" in res.output and "--setting" in res.output
    ok = runner.invoke(app, ["compare", str(a), str(b), "--setting", "epochs", "--out", str(tmp_path / "o")])
    assert ok.exit_code == 0, ok.output
    assert "Confounded" in ok.output and "subset" in ok.output
    assert "**Confounded:**" in (tmp_path / "o" / "regime_map.md").read_text()


def test_label_noise_is_found_on_its_own(tmp_path):
    a = hand_experiment(tmp_path / "clean")
    b = hand_experiment(tmp_path / "noisy", label_noise=0.4)
    res = compare_experiments([a, b], tmp_path / "o")
    assert res.setting == "label_noise"
    assert list(res.table["value_label"]) == ["0%", "40%"]


def _one_line_error(args: list[str], expected: str) -> None:
    res = runner.invoke(app, ["compare", *args])
    assert res.exit_code == 2, res.output
    assert expected in res.output, res.output
    assert len(res.output.strip().splitlines()) == 1, res.output
    assert "Traceback" not in res.output


def test_a_folder_without_an_experiment_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "empty").mkdir()
    exp = hand_experiment(tmp_path / "a", subset=5_000)
    _one_line_error([str(tmp_path / "empty"), str(exp)], "holds no experiment")
    _one_line_error([str(tmp_path / "missing"), str(exp)], "does not exist")


def test_fewer_than_two_experiments_is_one_line_and_exit_2(tmp_path):
    exp = hand_experiment(tmp_path / "a", subset=5_000)
    _one_line_error([str(exp)], "at least 2 experiment folders")
    _one_line_error([str(exp), str(exp)], "at least 2 experiment folders")


def test_an_experiment_without_paired_seeds_is_one_line_and_exit_2(tmp_path):
    a = hand_experiment(tmp_path / "a", subset=5_000)
    b = tmp_path / "b"
    write_final_values(b, 0.0, 0)
    write_final_values(b, 0.4, 1)  # MixUp seed 1, baseline seed 0: nothing to pair
    write_record(b, subset=20_000)
    _one_line_error([str(a), str(b)], "has no paired seeds")
    c = tmp_path / "c"
    write_final_values(c, 0.0, 0)
    write_record(c, subset=40_000)
    _one_line_error([str(a), str(c)], "holds no MixUp run")


def test_same_settings_or_same_value_is_one_line_and_exit_2(tmp_path):
    a = hand_experiment(tmp_path / "a", subset=5_000)
    b = hand_experiment(tmp_path / "b", subset=5_000)
    _one_line_error([str(a), str(b)], "differ in no training setting")
    c = hand_experiment(tmp_path / "c", subset=5_000, epochs=7)
    d = hand_experiment(tmp_path / "d", subset=9_000, epochs=7)
    _one_line_error([str(a), str(c), str(d), "--setting", "subset"], "compare takes one experiment per value")
    _one_line_error([str(a), str(d), "--setting", "nope"], "Unknown setting 'nope'")


def test_a_record_from_before_the_validation_split_has_none(tmp_path):
    """experiment.json written before --val-size existed holds no val_size: those runs had no validation
    split (0), not today's default, so an old and a new experiment are seen to differ in it."""
    old = hand_experiment(tmp_path / "old")  # write_record holds no val_size, as records before it
    new = hand_experiment(tmp_path / "new", val_size=5_000)
    res = compare_experiments([old, new], tmp_path / "o")
    assert res.setting == "val_size"
    assert [e.settings["val_size"] for e in res.experiments] == [0, 5_000]


def test_compare_gives_a_sequential_experiment_the_p_values_plot_gives_it(tmp_path):
    import json

    from mixup_bench.analysis import folder as load
    from mixup_bench.analysis.facts import analyze

    small = hand_experiment(tmp_path / "small", subset=5_000)
    large = hand_experiment(tmp_path / "large", shift=0.02, subset=20_000)
    record = json.loads((large / EXPERIMENT_FILE).read_text())
    atomic_write_json(large / EXPERIMENT_FILE, {**record, "sequential": {"looks": [2, 3]}})  # run --until-decided
    res = compare_experiments([small, large], tmp_path / "out")
    for exp, looks in ((small, ()), (large, (2, 3))):
        got = next(e for e in res.experiments if e.path == exp).paired.summary.set_index("metric")
        folder = load.read_folder(exp, writable=False)
        assert folder.looks == looks
        want = analyze(folder.runs, looks=folder.looks).last.paired.summary.set_index("metric")
        for column in ("p_seq", "p_holm", "ci_low", "ci_high"):
            assert got.loc[list(compare.COMPARED), column].tolist() == want.loc[list(compare.COMPARED), column].tolist()
    sequential = next(e for e in res.experiments if e.path == large).paired
    assert sequential.procedure != "fixed-n"  # judged as the sequential design it ran under
