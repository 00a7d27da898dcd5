"""The public Python API: a config from a preset, a run, one tidy DataFrame, the summary and paired differences."""

from __future__ import annotations

import subprocess
import sys

import pytest

import mixup_bench as mb


@pytest.mark.slow  # end to end: trains or renders every figure
def test_api_runs_loads_and_summarises_an_experiment(tiny_cifar, tmp_path):
    exp = mb.build_experiment(
        preset="default", data_dir=tiny_cifar, out=tmp_path, name="nb", subset=0, epochs=2, batch_size=16,
        seeds=(0, 1), jobs=1, device="cpu", precision="fp32", cutmix=(1.0,), val_size=8,
    )  # fmt: skip
    outcome = mb.run_experiment(exp)
    assert sorted(outcome.trained) == sorted(cfg.run_id for cfg in exp.runs())
    assert len(outcome.trained) == 6  # baseline, MixUp 0.4 and CutMix 1, two seeds each
    df, warnings = mb.load_experiment(exp.path)
    assert warnings == []
    assert len(df) == 6 * 2 and set(df["method"]) == {"baseline", "mixup", "cutmix"}
    analysis = mb.analyze(df)
    table = mb.summary_table(analysis)
    assert list(table["method"])[0] == "baseline" and len(table) == 3
    paired = analysis.paired.summary
    acc = paired[(paired["method"] == "cutmix") & (paired["metric"] == "test_acc")].iloc[0]
    # the paired mean is the mean over seeds of (cutmix - baseline) at the last epoch
    last = df[df["epoch"] == 2].set_index(["method", "seed"])["test_acc"]
    expected = (last["cutmix"] - last["baseline"]).mean()
    assert acc["mean"] == pytest.approx(expected)


def test_import_is_light_and_lists_its_names():
    code = "import sys, mixup_bench as mb; mb.ExperimentConfig; print('torch' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
    assert set(mb.__all__) >= {"run_experiment", "load_experiment", "analyze", "summary_table", "paired_differences"}
    with pytest.raises(AttributeError):
        mb.no_such_name  # noqa: B018
