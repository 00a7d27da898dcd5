"""Smoke test on real CIFAR-10, when MIXUP_BENCH_CIFAR_DIR points at a copy (CI unpacks one)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from mixup_bench.cli import app
from mixup_bench.results.schema import METRICS_COLUMNS

CIFAR_DIR = os.environ.get("MIXUP_BENCH_CIFAR_DIR")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CIFAR_DIR or not Path(CIFAR_DIR).is_dir(), reason="MIXUP_BENCH_CIFAR_DIR is not set to a CIFAR-10 copy"
    ),
]


def test_two_epochs_on_a_real_subset(tmp_path):
    res = CliRunner().invoke(
        app,
        [
            "run",
            "--data-dir",
            CIFAR_DIR,
            "--out",
            str(tmp_path),
            "--epochs",
            "2",
            "--lr",
            "0.05",
            "--subset",
            "2000",
            "--batch-size",
            "64",
            "--seed",
            "0",
            "--quiet",
        ],
    )
    assert res.exit_code == 0, res.output
    for run_id in ("baseline-a0-s0", "mixup-a0.4-s0"):
        df = pd.read_csv(tmp_path / "default" / "runs" / run_id / "metrics.csv")
        assert tuple(df.columns) == METRICS_COLUMNS and len(df) == 2
        # 10 classes: two epochs on 2,000 images clearly beat chance (10%) on the 10,000 test images
        # (about 21-26% measured; lr 0.05, since 0.1 on 31-step epochs barely trains)
        assert df["test_acc"].iloc[-1] > 0.15
