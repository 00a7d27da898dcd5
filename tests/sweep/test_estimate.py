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
    return ExperimentConfig(arms=("mixup:0.4",), seeds=(0, 1, 2), training=tc, jobs=2)


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


# --- the fixed costs (issue 26): parts checked on fake rates and a fake machine, never on a clock ---

RATES = Rates(train=1_000.0, evaluate=10_000.0, threads=1)


def _machine(**kw) -> estimate.Machine:
    parts = {"so_far": 10.0, "measuring": 2.0, "startup": 4.0, "load": 3.0, "cores": 2, "scale": 1.0}
    return estimate.Machine(**{**parts, **kw})


def _short(**kw) -> ExperimentConfig:
    """subset 1,000 in batches of 100 for 3 epochs: 30 steps, so BatchNorm is re-estimated every epoch."""
    tc = TrainingConfig(epochs=3, batch_size=100, subset=1_000, val_size=0, clean_train_size=100, model="fast-cnn")
    return ExperimentConfig(**{"arms": ("mixup:0.4",), "seeds": (0, 1), "training": tc, "jobs": 1, **kw})


def test_the_parts_add_up_to_the_total():
    exp = _short()
    est = estimate.plan_estimate(exp, 4, RATES, n_train=10_000, n_test=1_000, machine=_machine())
    per_epoch = 1_000 / 1_000.0 + (100 + 1_000) / 10_000.0 + estimate.EPOCH_WRITE_S  # train, eval, writes
    per_run = estimate.RUN_SETUP_S + 3 * 1_000 / 10_000.0 * 1.5  # set-up, BN re-estimated at each epoch
    assert est.per_epoch == pytest.approx(per_epoch) and est.per_run == pytest.approx(per_run)
    assert est.workers == 0 and est.workers_start == 0.0 and est.rounds == 4  # jobs 1: in this process
    assert est.finish == pytest.approx(estimate.EXIT_S)
    assert est.total == pytest.approx(10.0 + 2.0 + 4 * (per_run + 3 * per_epoch) + estimate.EXIT_S)
    assert est.remaining == pytest.approx(est.total - 12.0)  # what the ETA counts down from the estimate on


def test_two_jobs_count_each_workers_start_and_their_shutdown():
    exp = _short(jobs=2)
    est = estimate.plan_estimate(exp, 4, RATES, 10_000, 1_000, _machine())
    assert est.workers == 2 and est.rounds == 2
    assert est.per_worker == pytest.approx(4.0 + 3.0 + estimate.SPAWN_S)  # imports + own data load + spawn
    assert est.workers_start == pytest.approx(est.per_worker)  # two cores: the two start side by side
    assert est.finish == pytest.approx(estimate.EXIT_S + estimate.WORKER_STOP_S)
    one_core = estimate.plan_estimate(exp, 4, RATES, 10_000, 1_000, _machine(cores=1))
    assert one_core.workers_start == pytest.approx(2 * est.per_worker)  # one core: one after the other
    one_run = estimate.plan_estimate(exp, 1, RATES, 10_000, 1_000, _machine())
    assert one_run.workers == 0  # a single pending run trains in this process


def test_a_slower_machine_scales_the_modelled_constants():
    exp = _short(jobs=2)
    fast = estimate.plan_estimate(exp, 2, RATES, 10_000, 1_000, _machine())
    slow = estimate.plan_estimate(exp, 2, RATES, 10_000, 1_000, _machine(scale=2.0))
    assert slow.finish == pytest.approx(2 * fast.finish)
    assert slow.per_worker - fast.per_worker == pytest.approx(estimate.SPAWN_S)


def _fake_process(monkeypatch, elapsed: float, imported_ago: float, now: float = 1_000_000.0) -> float:
    monkeypatch.setattr(estimate, "process_seconds", lambda now=None: elapsed)
    monkeypatch.setattr(estimate, "IMPORTED_AT", now - imported_ago)
    return now


def test_a_warm_cache_lets_a_worker_load_as_fast_as_this_process_did(monkeypatch, tmp_path):
    # started 12 s ago; imports done 8.5 s ago (3.5 s of start-up); the measurement took the last 2 s
    now = _fake_process(monkeypatch, elapsed=12.0, imported_ago=8.5)
    m = estimate.measure_machine(tmp_path, measuring=2.0, n_images=60_000, now=now)
    assert (m.so_far, m.measuring) == (12.0, 2.0)
    assert m.startup == pytest.approx(3.5) and m.load == pytest.approx(12.0 - 2.0 - 3.5)


def test_a_cold_cache_counts_its_build_once_and_a_workers_load_from_the_model(monkeypatch, tmp_path):
    cache = tmp_path / ".mixup-bench-cache"
    cache.mkdir()
    (cache / "train-0123456789abcdef.pt").write_bytes(b"built by this process's data load")
    now = _fake_process(monkeypatch, elapsed=40.0, imported_ago=36.4)  # 3.6 s start-up; 34.4 s decoding
    m = estimate.measure_machine(tmp_path, measuring=2.0, n_images=60_000, now=now)
    assert m.so_far == 40.0  # the build is in what has been waited for already
    assert m.scale == pytest.approx(1.0)  # 3.6 s of start-up is the reference machine's
    assert m.load == pytest.approx(estimate.REF_WARM_LOAD_PER_IMAGE_S * 60_000)  # a worker reads the cache
    exp = _short(jobs=2)
    cold = estimate.plan_estimate(exp, 2, RATES, 10_000, 1_000, m)
    warm = estimate.plan_estimate(exp, 2, RATES, 10_000, 1_000, estimate.Machine(12.0, 2.0, 3.6, m.load, 2, 1.0))
    assert cold.total - warm.total == pytest.approx(40.0 - 12.0)  # the cache build, paid once by this process


def test_without_proc_the_reference_start_up_stands_in(monkeypatch, tmp_path):
    monkeypatch.setattr(estimate, "process_seconds", lambda now=None: None)
    m = estimate.measure_machine(tmp_path, measuring=2.0, n_images=1_000)
    assert m.so_far == 2.0 and m.startup == estimate.REF_STARTUP_S and m.scale == 1.0


def test_the_sequential_mode_gives_the_range_from_the_seeds_given_to_max_seeds():
    fixed = _short(jobs=2)
    est = estimate.plan_estimate(fixed, 4, RATES, 10_000, 1_000, _machine())
    assert estimate.estimate_range(fixed, est, RATES, 10_000, 1_000, _machine()) == (est.total, est.total)
    seq = _short(jobs=2, seeds=(0, 1, 2), until_decided=True, max_seeds=6)
    assert estimate.sequential_looks(seq) == (3, 5, 6)
    first = estimate.plan_estimate(seq, 6, RATES, 10_000, 1_000, _machine())
    low, high = estimate.estimate_range(seq, first, RATES, 10_000, 1_000, _machine())
    assert low == pytest.approx(first.total)
    # each later look: a warm data load, a new measurement, its workers started and stopped, its runs
    later = estimate.Machine(0.0, 2.0, 4.0, 3.0, 2, 1.0)
    look = [estimate.plan_estimate(seq, 2 * k, RATES, 10_000, 1_000, later) for k in (2, 1)]  # 2 and 1 more seeds
    per_look = [3.0 + x.measuring + x.workers_start + x.training + x.finish - estimate.EXIT_S for x in look]
    assert high == pytest.approx(first.total + sum(per_look))
    line = cost_line(seq, 6, RATES, 10_000, 1_000, first, (low, high))
    assert "(3 to 6 seeds)" in line and "about " in line


def test_the_eta_counts_the_fixed_costs_and_follows_the_pace():
    from mixup_bench.sweep.progress import remaining_seconds

    e = {"seconds": 50.0, "lead": 8.0, "finish": 2.0, "epochs": 10}  # 40 s of epochs, 4 s each
    assert remaining_seconds(e, 0, 5.0) == pytest.approx(45.0)
    assert remaining_seconds(e, 5, 28.0) == pytest.approx(20.0 + 2.0)  # on pace: 8 + 5 x 4 s by now
    assert remaining_seconds(e, 5, 56.0) == pytest.approx(2 * 20.0 + 2.0)  # twice as slow


def test_human_range():
    assert estimate.human_range(180, 540) == "3-9 min"
    assert estimate.human_range(40, 540) == "40 s-9 min"
    assert estimate.human_range(40, 40.2) == "40 s"
