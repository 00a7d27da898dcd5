"""`--arm METHOD[:PARAM]` and `mixup-bench methods` through CliRunner: every built-in method trains end to end on
tiny synthetic data and is drawn and named by `plot` from the registry; bad arms are one line, exit 2, nothing
written; arms come in the order given, through flags, aliases and TOML files alike."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from mixup_bench import methods, naming
from mixup_bench.cli import app
from tests.test_cli import base_args

runner = CliRunner()
EVERY_ARM = [m for m in methods.METHODS if m != "baseline"]


def test_every_built_in_method_trains_and_plot_names_and_colours_it_from_the_registry(tiny_cifar, tmp_path, no_drawing):
    out = tmp_path / "r"
    arms = [arg for name in EVERY_ARM for arg in ("--arm", name)]
    res = runner.invoke(app, base_args(tiny_cifar, out, "--epochs", "1", *arms))
    assert res.exit_code == 0, res.output
    exp = out / "default"
    expected = ["baseline-a0-s0"] + [naming.run_id_for(methods.METHODS[m].param.default, 0, m) for m in EVERY_ARM]
    assert sorted(p.name for p in (exp / "runs").iterdir()) == sorted(expected)
    for run_id in expected:
        df = pd.read_csv(exp / "runs" / run_id / "metrics.csv")
        method, param, _ = naming.parse_run_id(run_id)
        assert (df["method"] == method).all() and (df["alpha"] == param).all()
        assert df[["train_loss", "test_loss"]].notna().all().all() and (exp / "runs" / run_id / "DONE").exists()
        lam = pd.read_csv(exp / "runs" / run_id / "lam.csv")
        assert (len(lam) > 0) == methods.METHODS[method].draws_lam and lam["lam"].between(0, 1).all()
    record = json.loads((exp / "experiment.json").read_text())
    assert record["config"]["arms"] == [f"{m}:{methods.exact(methods.METHODS[m].param.default)}" for m in EVERY_ARM]

    plotted = runner.invoke(app, ["plot", str(exp)])
    assert plotted.exit_code == 0, plotted.output
    summary = (exp / "summary.md").read_text()
    for m in EVERY_ARM:
        assert naming.arm_label(m, methods.METHODS[m].param.default) in summary  # e.g. "ResizeMix scale=0.8"

    from mixup_bench.figures.style import arm_colors

    colours = arm_colors(naming.parse_run_id(r)[:2] for r in expected)
    assert len(set(colours.values())) == len(expected)  # one colour per arm, the baseline black


def test_arms_run_in_the_order_given_after_the_baseline(tiny_cifar, tmp_path):
    res = runner.invoke(app, base_args(tiny_cifar, tmp_path / "r", "--dry-run", "--arm", "fmix:0.2", "--alpha", "1",
                                       "--arm", "resizemix:1", "-a", "0.2"))  # fmt: skip
    assert res.exit_code == 0, res.output
    assert 'arms = ["fmix:0.2", "mixup:1", "resizemix:1", "mixup:0.2"]' in res.output
    runs = [line.split()[0] for line in res.output.splitlines() if line.startswith("  ") and "-s0" in line]
    assert runs == ["baseline-a0-s0", "fmix-a0.2-s0", "mixup-a1-s0", "resizemix-s1-s0", "mixup-a0.2-s0"]
    assert not (tmp_path / "r").exists()


def test_the_aliases_keep_their_arms_and_arm_lists_them_all(tiny_cifar, tmp_path):
    """The documented command of results/methods: its aliases add to the default's MixUp arm, as they always did;
    with --arm, the arms are the ones given."""
    res = runner.invoke(app, base_args(tiny_cifar, tmp_path / "r", "--dry-run", "--cutmix", "1", "--label-smoothing",
                                       "0.1", "--manifold-mixup", "2"))  # fmt: skip
    assert res.exit_code == 0, res.output
    assert 'arms = ["mixup:0.4", "cutmix:1", "smooth:0.1", "manifold:2"]' in res.output
    for run_id in ("baseline-a0-s0", "mixup-a0.4-s0", "cutmix-a1-s0", "smooth-e0.1-s0", "manifold-a2-s0"):
        assert run_id in res.output
    res = runner.invoke(app, base_args(tiny_cifar, tmp_path / "r", "--dry-run", "--arm", "fmix"))
    assert res.exit_code == 0 and 'arms = ["fmix:1"]' in res.output and "mixup-a0.4-s0" not in res.output


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--arm", "fmixx:1"], "error: --arm fmixx:1: unknown method 'fmixx' (did you mean fmix?)"),
        (["--arm", "resize"], "(did you mean resizemix?)"),
        (["--arm", "resizemix:2"], "error: --arm resizemix:2: scale must be in [0.1, 1], got 2."),
        (["--arm", "smooth:0"], "eps must be in (0, 0.99], got 0."),
        (["--arm", "gridmix:x"], "alpha must be a number, got 'x'."),
        # ':-1:' and ':abc:' are Rich emoji codes: the message keeps the text as typed
        (["--arm", "fmix:-1"], "error: --arm fmix:-1: alpha must be in (0, 1000], got -1."),
        (["--arm", "fmix:abc"], "error: --arm fmix:abc: alpha must be a number, got 'abc'."),
        (["--arm", "fmix", "--arm", "fmix:1"], "The arm fmix:1 is given twice"),
        (["--alpha", "1", "--arm", "mixup:1.0"], "The arm mixup:1 is given twice"),
        (["--cutmix", "0"], "--cutmix must be above 0 and at most 1000, got 0.0."),
    ],
)
def test_bad_arms_are_one_line_exit_2_and_write_nothing(tiny_cifar, tmp_path, extra, expected):
    res = runner.invoke(app, base_args(tiny_cifar, tmp_path / "r", *extra))
    assert res.exit_code == 2, res.output
    assert expected in res.output and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_a_toml_file_takes_arms_and_presets_print_them(tiny_cifar, tmp_path):
    printed = runner.invoke(app, ["presets", "label-noise", "--toml"])
    assert printed.exit_code == 0 and 'arms = ["mixup:1"]\n' in printed.output
    mine = tmp_path / "mine.toml"
    mine.write_text(printed.output.replace('arms = ["mixup:1"]', 'arms = ["fmix:0.2", "smoothmix"]'))
    res = runner.invoke(app, base_args(tiny_cifar, tmp_path / "r", "--config", str(mine), "--dry-run", "--cutmix", "1"))
    assert res.exit_code == 0, res.output
    assert 'arms = ["fmix:0.2", "smoothmix:0.5", "cutmix:1"]' in res.output  # the file's arms, then the alias's
    bad = tmp_path / "bad.toml"
    bad.write_text('arms = ["regmix:20"]\n')
    res = runner.invoke(app, base_args(tiny_cifar, tmp_path / "r", "--config", str(bad)))
    assert res.exit_code == 2 and 'bad.toml: arms = ["regmix:20"]: --arm regmix:20: unknown method' in res.output


def test_methods_lists_every_method_with_its_parameter_paper_and_reference():
    res = runner.invoke(app, ["methods"])
    assert res.exit_code == 0, res.output
    for m in methods.METHODS.values():
        assert f"{m.name} " in res.output or f"{m.name}:" in res.output
        if m.name != "baseline":
            p = m.param
            assert f"--arm {m.name}:{methods.exact(p.default)}" in res.output
            assert f"{p.name} = {methods.exact(p.default)} by default, in {p.range_text()}: {p.meaning}" in res.output
            assert f"paper: {m.paper}" in res.output and f"checked against: {m.reference}" in res.output
