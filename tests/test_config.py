"""config: run ids, the runs of an experiment and their order, and validation (one line naming the option)."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from mixup_bench.config import (
    TRAINING_KEYS,
    ExperimentConfig,
    RunConfig,
    TrainingConfig,
    alias_specs,
    arm_specs_of,
    arms_of,
    default_data_dir,
    merge_arms,
    training_changes,
)
from mixup_bench.errors import UserError
from mixup_bench.naming import run_id_for


@pytest.mark.parametrize(
    "alpha, seed, run_id",
    [(0, 0, "baseline-a0-s0"), (0.0, 3, "baseline-a0-s3"), (0.4, 0, "mixup-a0.4-s0"), (1.0, 12, "mixup-a1-s12")],
)
def test_run_id_names_method_alpha_and_seed(alpha, seed, run_id):
    assert run_id_for(alpha, seed) == run_id
    cfg = RunConfig("exp", alpha, seed)
    assert cfg.run_id == run_id and cfg.method == run_id.split("-")[0]


def test_runs_are_seed_major_baseline_first_in_the_order_given():
    exp = ExperimentConfig(arms=("mixup:0.4", "mixup:1.0"), seeds=(3, 1))
    assert exp.planned_arms == (("baseline", 0.0), ("mixup", 0.4), ("mixup", 1.0))
    assert [r.run_id for r in exp.runs()] == [
        "baseline-a0-s3",
        "mixup-a0.4-s3",
        "mixup-a1-s3",
        "baseline-a0-s1",
        "mixup-a0.4-s1",
        "mixup-a1-s1",
    ]
    assert all(r.training is exp.training and r.experiment == exp.name for r in exp.runs())
    assert ExperimentConfig(arms=("mixup:0.2",), baseline=False).planned_arms == (("mixup", 0.2),)
    planned = ExperimentConfig(arms=("fmix", "cutmix:2")).planned_arms
    assert planned == (("baseline", 0.0), ("fmix", 1.0), ("cutmix", 2.0))


def test_specs_take_one_spelling():
    assert ExperimentConfig(arms=("mixup:0.40", "fmix", "smooth:1e-1", "mixup:-0.0")).arms == (
        "mixup:0.4", "fmix:1", "smooth:0.1", "mixup:-0.0"  # the last does not parse: left for validate
    )  # fmt: skip


def test_arms_of_a_config_and_of_its_record_are_the_same_arms():
    """`run`, `status` and `plot` expand arms with the one `arms_of`: from the config, and from experiment.json."""
    exp = ExperimentConfig(arms=("mixup:1", "baseline", "mixup:0.2", "cutmix:1", "smooth:0.1", "manifold:2",
                                 "resizemix:0.5"), baseline=False)  # fmt: skip
    expected = (("mixup", 1.0), ("baseline", 0.0), ("mixup", 0.2), ("cutmix", 1.0), ("smooth", 0.1), ("manifold", 2.0),
                ("resizemix", 0.5))  # fmt: skip
    assert arms_of(exp) == exp.planned_arms == expected
    record = json.loads(json.dumps(dataclasses.asdict(exp), default=str))  # as experiment.json holds it
    assert arms_of(record) == expected
    assert arms_of({**record, "baseline": True})[0] == ("baseline", 0.0)


def test_arms_of_an_older_record_reads_its_per_method_lists():
    """Records written before `--arm` list each method's parameters under alphas, cutmix, smoothing, manifold."""
    record = {"alphas": [0.0, 0.4], "cutmix": [1.0], "smoothing": [0.1], "manifold": [2.0], "baseline": True}
    assert arms_of(record) == (("baseline", 0.0), ("mixup", 0.4), ("cutmix", 1.0), ("smooth", 0.1), ("manifold", 2.0))
    assert arm_specs_of(record) == ("baseline", "mixup:0.4", "cutmix:1", "smooth:0.1", "manifold:2")


def test_arms_of_a_hand_edited_record_leaves_out_what_is_not_an_arm():
    record = {"alphas": [0.4, "1", True, None, -1, float("nan"), 0.4], "cutmix": "1", "smoothing": [0, 0.1],
              "arms": ["fmix:0.2", "fmixx:1", "smooth:5", 3, None, "baseline"]}  # fmt: skip
    assert arms_of(record) == (("baseline", 0.0), ("mixup", 0.4), ("smooth", 0.1), ("fmix", 0.2))
    assert arms_of({"baseline": False}) == ()


def test_a_layer_of_aliases_replaces_the_arms_of_the_methods_it_names():
    """--cutmix 1 keeps the default's MixUp arm (as it always did); --alpha replaces it; --alpha 0 leaves it out;
    a layer that gives `arms` (--arm) gives all of them."""
    default = ExperimentConfig.arms
    assert merge_arms(default, ("cutmix:1", "fmix:1"), replace=True) == ("cutmix:1", "fmix:1")
    assert merge_arms(default, ("cutmix:1",)) == ("mixup:0.4", "cutmix:1")
    assert merge_arms(default, ("fmix:1", "mixup:1")) == ("fmix:1", "mixup:1")
    assert merge_arms(default, ("baseline", "smoothmix:0.5")) == ("baseline", "smoothmix:0.5")
    assert merge_arms(("mixup:1", "cutmix:1"), ()) == ("mixup:1", "cutmix:1")


@pytest.mark.parametrize(
    "arms, words",
    [
        (("fmixx:1",), "--arm fmixx:1: unknown method 'fmixx' (did you mean fmix?)"),
        (("resizemix:0.05",), "--arm resizemix:0.05: scale must be in [0.1, 1], got 0.05."),
        (("smooth:0.9900001",), "eps must be in (0, 0.99], got 0.9900001."),
        (("mixup:nan",), "alpha must be in (0, 1000], got nan."),
        (("fmix:x",), "alpha must be a number, got 'x'."),
        (("fmix", "fmix:1.0"), "The arm fmix:1 is given twice"),
        (("baseline", "baseline"), "The arm baseline is given twice"),
    ],
)
def test_bad_arms_are_one_line(arms, words):
    with pytest.raises(UserError) as err:
        ExperimentConfig(arms=arms).validate()
    assert words in str(err.value) and "\n" not in str(err.value)


def test_aliases_become_specs_checked_with_their_own_message():
    assert alias_specs("alphas", (0.0, 0.4)) == ("baseline", "mixup:0.4")
    assert alias_specs("smoothing", (0.1,)) == ("smooth:0.1",)
    for key, value, words in [
        ("alphas", -1.0, "--alpha must be at least 0 and at most 1000, got -1.0."),
        ("alphas", math.nan, "--alpha must be a finite number"),
        ("cutmix", 0.0, "--cutmix must be above 0"),
        ("smoothing", 0.9900001, "--label-smoothing must be above 0 and at most 0.99, got 0.9900001."),
    ]:
        with pytest.raises(UserError, match=None) as err:
            alias_specs(key, (value,))
        assert words in str(err.value)


def test_run_config_to_dict_carries_method_and_run_id():
    d = RunConfig("exp", 0.4, 2, TrainingConfig(epochs=3)).to_dict()
    assert d["method"] == "mixup" and d["run_id"] == "mixup-a0.4-s2" and d["training"]["epochs"] == 3


def test_training_changes_name_each_changed_key_and_a_key_not_recorded():
    """The one check behind refusing a changed command in an experiment folder and a changed resume."""
    old = dataclasses.asdict(TrainingConfig(epochs=3))
    assert training_changes(old, TrainingConfig(epochs=3)) == []
    assert training_changes(old, TrainingConfig(epochs=4, lr=0.2)) == ["epochs=3 (now 4)", "lr=0.1 (now 0.2)"]
    del old["lam_mode"]  # a record written before --lam-mode existed
    assert training_changes(old, TrainingConfig(epochs=3)) == ["lam_mode not recorded (now 'batch')"]
    old.update(lam_mode="batch", eval_batch_size=1, compile=True)  # not TRAINING_KEYS: they change no number
    assert training_changes(old, TrainingConfig(epochs=3)) == []


def test_training_keys_are_training_fields():
    """The keys that make an existing experiment refuse a changed command must be real hyperparameters."""
    fields = {f.name for f in dataclasses.fields(TrainingConfig)}
    assert set(TRAINING_KEYS) <= fields
    assert {"epochs", "batch_size", "lr", "model", "precision"} <= set(TRAINING_KEYS)


def test_experiment_path_and_data_dir(monkeypatch):
    assert ExperimentConfig(name="x", out=Path("r")).path == Path("r/x")
    monkeypatch.setenv("MIXUP_BENCH_DATA", "/somewhere/cifar")
    assert default_data_dir() == Path("/somewhere/cifar")
    monkeypatch.delenv("MIXUP_BENCH_DATA")
    assert default_data_dir() == Path("data")


def test_defaults_are_valid():
    ExperimentConfig().validate()
    TrainingConfig().validate()


@pytest.mark.parametrize(
    "change, option",
    [
        ({"epochs": 0}, "--epochs"),
        ({"batch_size": 1}, "--batch-size"),
        ({"lr": 0.0}, "--lr"),
        ({"lr": math.nan}, "--lr"),
        ({"weight_decay": -1e-4}, "--weight-decay"),
        ({"model": "resnet9000"}, "resnet9000"),
        ({"precision": "fp8"}, "fp8"),
        ({"subset": 8, "batch_size": 16}, "--subset"),
    ],
)
def test_bad_training_values_are_one_line_naming_the_option(change, option):
    cfg = dataclasses.replace(TrainingConfig(), **change)
    with pytest.raises(UserError) as err:
        ExperimentConfig(training=cfg).validate()
    assert option in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    "change, option",
    [
        ({"arms": ("mixup:-1",)}, "--arm mixup:-1"),
        ({"arms": ("mixup:nan",)}, "--arm mixup:nan"),
        ({"arms": (), "baseline": False}, "Nothing to run"),
        ({"seeds": ()}, "Nothing to run"),
        ({"seeds": (-1,)}, "--seed"),
        ({"name": "../x"}, "--name"),
        ({"name": ".hidden"}, "--name"),
        ({"name": ""}, "--name"),
        ({"device": "tpu"}, "tpu"),
        ({"jobs": 0}, "--jobs"),
        ({"backend": "slurm"}, "slurm"),
        ({"gpus_per_run": -0.5}, "--gpus-per-run"),
    ],
)
def test_bad_experiment_values_are_one_line_naming_the_option(change, option):
    with pytest.raises(UserError) as err:
        dataclasses.replace(ExperimentConfig(), **change).validate()
    assert option in str(err.value) and "\n" not in str(err.value)
