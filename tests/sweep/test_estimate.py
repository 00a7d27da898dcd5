"""The estimate printed before a run: measured on this machine, and invisible to the runs' numbers."""

from __future__ import annotations

import pytest
import torch

from mixup_bench.config import ExperimentConfig, RunConfig, TrainingConfig
from mixup_bench.sweep import estimate
from mixup_bench.sweep.estimate import Rates, cost_line, expected_seconds, measure_rates


@pytest.fixture(autouse=True)
def _short_timing(monkeypatch):
    """Two timed calls are enough to test what measuring does; the 2 s budget is for real runs."""
    monkeypatch.setattr(estimate, "TRAIN_SECONDS", 0.01)
    monkeypatch.setattr(estimate, "EVAL_SECONDS", 0.01)


def _experiment(**training) -> ExperimentConfig:
    tc = TrainingConfig(**{"epochs": 2, "batch_size": 16, "precision": "fp32", "model": "fast-cnn", **training})
    return ExperimentConfig(alphas=(0.4,), seeds=(0, 1, 2), training=tc, jobs=2)


def test_measuring_leaves_every_random_stream_as_it_was():
    exp = _experiment()
    torch.manual_seed(123)
    expected = torch.rand(5)
    torch.manual_seed(123)
    rates = measure_rates(exp.runs()[0], torch.device("cpu"), None, threads=1)
    assert torch.equal(torch.rand(5), expected)  # the run that follows draws what it would have drawn
    assert rates.train > 0 and rates.evaluate > 0 and rates.threads == 1


def test_measuring_restores_the_thread_count():
    before = torch.get_num_threads()
    measure_rates(RunConfig("e", 0.0, 0, _experiment().training), torch.device("cpu"), None, threads=1)
    assert torch.get_num_threads() == before


def test_expected_seconds_counts_training_and_every_evaluated_split_in_rounds_of_jobs():
    exp = _experiment(subset=1_000, val_size=500, clean_train_size=200, batch_size=100)
    rates = Rates(train=100.0, evaluate=1_000.0, threads=1)
    per_epoch = 1_000 / 100.0 + (200 + 500 + 2_000) / 1_000.0  # train + (clean, val, test)
    # 6 runs (2 arms x 3 seeds), 2 at a time: 3 rounds of 2 epochs each.
    assert expected_seconds(exp, 6, rates, n_train=10_000, n_test=2_000) == pytest.approx(3 * 2 * per_epoch)
    # 5 runs still take 3 rounds: the last one runs alone.
    assert expected_seconds(exp, 5, rates, 10_000, 2_000) == pytest.approx(3 * 2 * per_epoch)


def test_the_pool_beside_validation_is_what_a_run_without_subset_trains_on():
    exp = _experiment(subset=None, val_size=1_000, clean_train_size=100, batch_size=100)
    rates = Rates(train=1_000.0, evaluate=1e12, threads=1)
    assert expected_seconds(exp, 1, rates, n_train=5_050, n_test=10) == pytest.approx(2 * 4_000 / 1_000.0)


def test_cost_line_names_the_measured_rates():
    exp = _experiment()
    line = cost_line(exp, 6, Rates(1_234.0, 5_678.0, 1), n_train=50_000, n_test=10_000)
    assert "6 run(s) of 2 epochs" in line and "1,234 training" in line and "5,678 evaluation" in line


def test_the_shift_evaluation_is_counted_when_it_is_on():
    rates = Rates(train=1_000.0, evaluate=10_000.0, threads=1)
    off = expected_seconds(_experiment(subset=100, val_size=0, batch_size=100), 1, rates, 10_000, 1_000)
    on = expected_seconds(_experiment(subset=100, val_size=0, batch_size=100, shift=True, shift_images=10),
                          1, rates, 10_000, 1_000)  # fmt: skip
    # 12 corruptions x 5 severities x 10 images evaluated; 1,000 test images x (3 FGSM + 10 PGD steps) attacked
    assert on - off == pytest.approx(12 * 5 * 10 / 10_000.0 + 1_000 * 13 / 1_000.0)
    assert estimate.shift_evaluations(15, True, 4) == 4  # epochs 4, 8, 12 and the last
