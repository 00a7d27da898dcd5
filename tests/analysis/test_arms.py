"""Every arm alike: CutMix, label smoothing and Manifold MixUp runs load, pair with the baseline, get a
delta in the table, a part in the verdict, a row in `compare`, and `plot --reference ARM` pairs every arm
with a chosen one. All numbers are checked against values computed here by hand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from scipy import stats as sps
from typer.testing import CliRunner

from mixup_bench import naming
from mixup_bench.analysis import claim, report, stats
from mixup_bench.analysis import folder as loading
from mixup_bench.analysis.facts import analyze
from mixup_bench.cli import app
from mixup_bench.errors import UserError
from mixup_bench.plotting import compare_experiments, plot_experiment
from tests.analysis.test_compare import hand_experiment, write_record
from tests.plot_fixtures import metrics_row, write_final_values, write_run

# Final-epoch values per arm (method, parameter) and seed 0, 1: test_acc, test_loss, clean_train_loss, test_ece.
FINALS = {
    ("baseline", 0.0): ((0.80, 0.90, 0.10, 0.08), (0.82, 0.86, 0.12, 0.09)),
    ("mixup", 0.4): ((0.81, 0.80, 0.40, 0.05), (0.84, 0.84, 0.43, 0.04)),
    ("cutmix", 1.0): ((0.83, 0.82, 0.30, 0.06), (0.8508, 0.80, 0.33, 0.068)),
    ("smooth", 0.1): ((0.78, 0.95, 0.20, 0.10), (0.801, 0.92, 0.21, 0.12)),
}
# by hand, arm - baseline test_acc: MixUp +0.01, +0.02 (interval holds 0); CutMix +0.03, +0.0308 (above 0);
# label smoothing -0.02, -0.019 (below 0). No measure's two differences are equal: a t test applies to each
# (equal ones would get the exact sign-flip test, whose smallest p with two seeds is 0.5).
METRICS = ("test_acc", "test_loss", "clean_train_loss", "test_ece")
T_975_1 = sps.t.ppf(0.975, 1)


def write_arms(exp: Path, finals=FINALS) -> Path:
    for (method, param), per_seed in finals.items():
        for seed, values in enumerate(per_seed):
            write_final_values(exp, param, seed, method=method, **dict(zip(METRICS, values, strict=True)))
    return exp


def by_hand(arm, reference, metric: str) -> tuple[float, float, float]:
    """Mean and 95% t interval of arm - reference over the two seeds, from FINALS directly."""
    if metric == "gap":
        value = lambda v: v[1] - v[2]  # noqa: E731 - test loss - clean train loss
    else:
        value = lambda v, i=METRICS.index(metric): v[i]  # noqa: E731
    d = np.array([value(a) - value(r) for a, r in zip(FINALS[arm], FINALS[reference], strict=True)])
    half = T_975_1 * d.std(ddof=1) / math.sqrt(len(d))
    return d.mean(), d.mean() - half, d.mean() + half


@pytest.fixture
def arms_exp(tmp_path) -> Path:
    return write_arms(tmp_path / "exp")


# --- loading ---------------------------------------------------------------------------


def test_every_method_loads_in_arm_order(arms_exp):
    write_final_values(arms_exp, 2.0, 0, method="manifold")
    df, warnings = loading.load_experiment(arms_exp)
    assert warnings == []
    assert naming.arms(df) == [("baseline", 0.0), ("mixup", 0.4), ("cutmix", 1.0), ("smooth", 0.1), ("manifold", 2.0)]
    assert list(df["method"].drop_duplicates()) == ["baseline", "mixup", "cutmix", "smooth", "manifold"]
    assert set(df.loc[df["method"] == "smooth", "run_id"]) == {"smooth-e0.1-s0", "smooth-e0.1-s1"}


def test_bad_methods_and_parameters_skip_the_run(tmp_path):
    exp = tmp_path / "exp"
    write_final_values(exp, 0, 0)
    write_run(exp, 0.1, 0, [{**metrics_row(0.1, 0, 1, method="smooth"), "method": "dropout"}], method="smooth")
    write_run(exp, 0.0, 1, [metrics_row(0.0, 1, 1, method="cutmix")], method="cutmix")
    write_run(exp, 0.2, 2, [metrics_row(0.2, 2, 1, method="baseline")])
    df, warnings = loading.load_experiment(exp)
    assert list(df["run_id"].unique()) == ["baseline-a0-s0"]
    assert any("method 'dropout'" in w and "cutmix" in w for w in warnings)
    assert any("method cutmix with parameter 0" in w for w in warnings)
    assert any("method baseline with alpha 0.2" in w for w in warnings)  # the old check, kept for baseline/MixUp


# --- paired differences ------------------------------------------------------------------


@pytest.mark.parametrize("arm", [("cutmix", 1.0), ("smooth", 0.1), ("mixup", 0.4)])
@pytest.mark.parametrize("metric", ["test_acc", "test_loss", "gap", "test_ece", "clean_train_loss"])
def test_paired_differences_of_every_arm_equal_hand_computed_means(arms_exp, arm, metric):
    paired = stats.paired_differences(loading.load_experiment(arms_exp)[0])
    iv = paired.get(arm, metric)
    assert (iv.mean, iv.low, iv.high) == pytest.approx(by_hand(arm, ("baseline", 0.0), metric), abs=1e-12)
    assert iv.n == 2
    assert paired.compared == [("mixup", 0.4), ("cutmix", 1.0), ("smooth", 0.1)]
    assert paired.get(("cutmix", 0.4), metric) is None  # keyed by (method, parameter), never by alpha alone


def test_summary_table_gives_every_arm_its_delta(arms_exp):
    table = report.summary_table(analyze(loading.load_experiment(arms_exp)[0]))
    assert list(table["arm"]) == ["baseline", "MixUp alpha=0.4", "CutMix alpha=1", "label smoothing eps=0.1"]
    for (_, row), arm in zip(table.iloc[1:].iterrows(), list(FINALS)[1:], strict=True):
        mean, lo, hi = by_hand(arm, ("baseline", 0.0), "test_acc")
        assert row["delta_test_acc_pp"] == pytest.approx(100 * mean)
        assert (row["delta_test_acc_pp_ci_low"], row["delta_test_acc_pp_ci_high"]) == pytest.approx(
            (100 * lo, 100 * hi)
        )
        assert row["delta_pairs"] == 2


def test_a_neighbour_without_a_baseline_seed_is_left_out_with_a_note(arms_exp):
    write_final_values(arms_exp, 1.0, 5, method="cutmix")
    paired = stats.paired_differences(loading.load_experiment(arms_exp)[0])
    assert paired.get(("cutmix", 1.0), "test_acc").n == 2
    assert "CutMix alpha=1 seed 5 has no baseline run with seed 5; left out." in paired.notes


# --- the verdict ------------------------------------------------------------------------------


def test_verdict_names_the_arms_that_support_contradict_or_leave_each_part(arms_exp):
    # judged on raw p-values, so that each arm's word follows its own paired test (Holm: the test below)
    text = claim.verdict(analyze(loading.load_experiment(arms_exp)[0]), correction=False)
    assert text.startswith(
        "Part by part at the last epoch (pre-registered), the MixUp claim for every arm against the baseline"
    )
    # test accuracy by hand: CutMix +3.05 pp [+2.41, +3.69]; smoothing -1.95 pp [-2.59, -1.31]; MixUp +1.5 [-4.9, +7.9]
    assert (
        "Higher test accuracy: supported by CutMix alpha=1; contradicted by label smoothing eps=0.1; "
        "inconclusive for MixUp alpha=0.4." in text
    )
    # clean train loss: every arm's pair of diffs is > 0 with a narrow interval
    assert "Higher clean train loss: supported by MixUp alpha=0.4, CutMix alpha=1 and label smoothing eps=0.1." in text
    for arm in ("MixUp alpha=0.4", "CutMix alpha=1", "label smoothing eps=0.1"):
        assert f"At the last epoch (pre-registered), over 2 paired seeds at epoch 3, {arm} changed" in text
    assert "So for CutMix alpha=1 the claim of a higher training loss is supported" in text
    assert "\n" not in text.split("\n\n")[0]


def test_holm_over_every_arm_and_part_can_overturn_a_word(arms_exp):
    from statsmodels.stats.multitest import multipletests

    df = loading.load_experiment(arms_exp)[0]
    # the default family: each arm's own 5 parts; CutMix's accuracy (raw p 0.010) stays supported after Holm
    own = analyze(df)
    parts = own.paired.claim_parts(("cutmix", 1.0))
    raw = [own.paired.get(("cutmix", 1.0), m).p for m in parts]
    cut = own.paired.get(("cutmix", 1.0), "test_acc")
    assert own.paired.family_size == len(parts) == 5
    assert cut.p_holm == pytest.approx(multipletests(raw, method="holm")[1][parts.index("test_acc")])
    assert cut.p < cut.p_holm < 0.05
    text = claim.verdict(own)
    assert "Higher test accuracy: supported by CutMix alpha=1;" in text
    assert "after Holm's correction over each comparison's 5 parts (one family per arm against its reference)" in text
    # --family experiment: Holm over every arm x every part at once (15) overturns it
    every = analyze(df, family=stats.EXPERIMENT)
    cut = every.paired.get(("cutmix", 1.0), "test_acc")
    keys = [(arm, m) for arm in every.paired.compared for m in every.paired.claim_parts(arm)]
    raw = [every.paired.get(*key).p for key in keys]
    assert every.paired.family_size == len(raw) == 15
    assert cut.p_holm == pytest.approx(multipletests(raw, method="holm")[1][keys.index((("cutmix", 1.0), "test_acc"))])
    assert cut.p < 0.05 <= cut.p_holm
    text = claim.verdict(every)
    assert "Higher test accuracy: inconclusive for MixUp alpha=0.4, CutMix alpha=1 and label smoothing eps=0.1." in text
    assert "over every comparison of the experiment at once (15; --family experiment)" in text


def test_verdict_of_one_seed_names_no_supporting_arm(tmp_path):
    exp = write_arms(tmp_path / "exp", {arm: values[:1] for arm, values in FINALS.items()})
    text = claim.verdict(analyze(loading.load_experiment(exp)[0]))
    assert "Part by part" not in text and "supported" not in text
    assert "Label smoothing eps=0.1 was compared with the baseline on only one seed" in text


# --- plot --reference -------------------------------------------------------------------------


@pytest.mark.usefixtures("no_drawing")
def test_reference_table_values_equal_hand_computed_paired_means(arms_exp):
    console = Console(record=True, width=200)
    res = plot_experiment(arms_exp, console, reference="cutmix-a1")
    csv_path = arms_exp / "paired_vs_cutmix-a1.csv"
    assert [f.name for f in res.files] == ["summary.csv", "summary.md", "paired.csv", csv_path.name, "fake.png"]
    table = pd.read_csv(csv_path)
    assert list(table.columns) == list(report.PAIRED_COLUMNS)
    assert set(table["reference"]) == {"cutmix-a1"}
    assert list(table["arm"].drop_duplicates()) == ["baseline", "MixUp alpha=0.4", "label smoothing eps=0.1"]
    for row in table.itertuples():
        arm = (row.method, float(row.alpha))
        scale = 100 if row.metric in ("test_acc", "test_ece") else 1
        mean, lo, hi = by_hand(arm, ("cutmix", 1.0), row.metric)
        # paired_vs_*.csv keeps 6 significant digits
        assert (row.mean, row.ci_low, row.ci_high) == pytest.approx(
            (scale * mean, scale * lo, scale * hi), rel=1e-5, abs=1e-5
        )  # paired_vs_*.csv keeps 6 significant digits
        assert row.pairs == 2 and row.unit == ("pp" if scale == 100 else "nats")
    md = (arms_exp / "summary.md").read_text()
    assert "## Paired differences against CutMix alpha=1 (arm − CutMix alpha=1, same seed)" in md
    mean, lo, hi = by_hand(("smooth", 0.1), ("cutmix", 1.0), "test_acc")  # -5.0 pp [-5.0, -5.0]: both seeds -0.05
    row = (
        f"| label smoothing eps=0.1 | test accuracy | {100 * mean:+.2f} pp | {100 * lo:+.2f} pp to {100 * hi:+.2f} pp |"
    )
    assert row in md
    assert "Paired differences against CutMix alpha=1" in console.export_text()
    assert "## Paired differences (arm − baseline, same seed)" in md  # the table against the baseline stays


@pytest.mark.usefixtures("no_drawing")
def test_reference_baseline_adds_nothing_and_keeps_the_report(arms_exp):
    plain = plot_experiment(arms_exp, Console(record=True, width=200))
    md = (arms_exp / "summary.md").read_text()
    res = plot_experiment(arms_exp, Console(record=True, width=200), reference="baseline")
    assert [f.name for f in res.files] == [f.name for f in plain.files]
    assert (arms_exp / "summary.md").read_text() == md


def test_resolve_reference():
    arms = [("baseline", 0.0), ("mixup", 0.2), ("smooth", 0.1)]
    assert report.resolve_reference("mixup-a0.2", arms) == ("mixup", 0.2)
    assert report.resolve_reference("smooth-e0.10", arms) == ("smooth", 0.1)
    assert report.resolve_reference("baseline", arms) == ("baseline", 0.0)
    for text in ("mixup-a0.3", "smooth-a0.1", "mixup-a0.2-s0", "nonsense", ""):
        with pytest.raises(UserError):
            report.resolve_reference(text, arms)


@pytest.mark.parametrize(
    ("arm", "message"),
    [("mixup-a0.3", "has no arm mixup-a0.3; its arms are: baseline-a0, mixup-a0.4, cutmix-a1, smooth-e0.1"),
     ("cutmix", "is not an arm name")],
)  # fmt: skip
def test_unknown_reference_is_one_line_and_exit_2(arms_exp, arm, message):
    res = CliRunner().invoke(app, ["plot", str(arms_exp), "--reference", arm], env={"COLUMNS": "300"})
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in res.output
    assert not (arms_exp / "summary.csv").exists()  # refused before anything is written


# --- compare: every arm against the baseline -------------------------------------------------


def test_compare_includes_every_arm(tmp_path):
    exps = []
    for name, subset in (("small", 5_000), ("large", 20_000)):
        exp = hand_experiment(tmp_path / name, subset=subset)
        for seed in range(3):
            # CutMix: test_compare's baseline accuracy (0.70, 0.72, 0.69) plus 0.01, 0.015, 0.02
            write_final_values(exp, 1.0, seed, method="cutmix", test_acc=[0.71, 0.735, 0.71][seed])
        write_record(exp, subset=subset)
        exps.append(exp)
    res = compare_experiments(exps, tmp_path / "out", correction=False)
    table = pd.read_csv(tmp_path / "out" / "regime_map.csv")
    assert list(table["arm"]) == ["MixUp alpha=0.4", "CutMix alpha=1"] * 2
    assert list(table["method"]) == ["mixup", "cutmix"] * 2
    d = np.array([0.71 - 0.70, 0.735 - 0.72, 0.71 - 0.69])  # CutMix - baseline, per seed
    half = sps.t.ppf(0.975, 2) * d.std(ddof=1) / math.sqrt(3)
    cut = table[table["method"] == "cutmix"].iloc[0]
    assert (cut["delta_test_acc_pp"], cut["delta_test_acc_pp_ci_low"]) == pytest.approx(
        (100 * d.mean(), 100 * (d.mean() - half))
    )
    assert cut["test_acc_claim"] == claim.SUPPORTED  # +1.50 pp [+0.26, +2.74] by hand, raw p (--no-correction)
    assert cut["test_acc_p"] < 0.05 <= cut["test_acc_p_holm"]  # not after Holm over 2 arms x 5 parts
    md = (tmp_path / "out" / "regime_map.md").read_text()
    assert "| arms |" in md and "MixUp α=0.4, CutMix α=1" in md
    assert "arm − baseline" in md and res.mixup_only is False
