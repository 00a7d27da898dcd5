"""Fixtures of the sweep tests: the uninterrupted reference sweep that interrupted, parallel and Ray runs must equal."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mixup_bench.sweep.runner import run_experiment
from tests.images import write_image_folder
from tests.sweep.synthetic import ALL_RUNS, RecordingReporter, experiment


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> Path:
    """The reference experiment folder: the whole tiny sweep (seeds 0 and 1, baseline and MixUp 0.4),
    run once per session in this process, on one thread, without interruption."""
    root = tmp_path_factory.mktemp("reference")
    exp = experiment(write_image_folder(root / "data"), root / "results", seeds=(0, 1))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        outcome = run_experiment(exp, RecordingReporter())
    finally:
        torch.set_num_threads(threads)
    assert sorted(outcome.trained) == ALL_RUNS
    return exp.path
