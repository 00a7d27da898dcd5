"""A setting is one dataclass field with its metadata (config.setting): the `run` option, its help and default,
validate's message, the identity keys (TRAINING_KEYS, ...) and the TOML keys all come from it. --grad-clip is
the setting added that way, and it really changes training."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from mixup_bench.cli import app
from mixup_bench.config import DATA_KEYS, SHIFT_KEYS, TRAINING_KEYS, ExperimentConfig, TrainingConfig, training_changes
from mixup_bench.config.setting import flag_decls, setting_of
from mixup_bench.errors import UserError
from mixup_bench.settings import SETTING_FIELDS, SETTING_TYPES, build_experiment, preset_toml
from tests.test_cli import base_args

runner = CliRunner()
TIMING = ("epoch_seconds", "images_per_second", "shift_seconds")


def run_options() -> dict[str, object]:
    """`run`'s click parameters by name."""
    command = typer.main.get_command(app).commands["run"]
    return {p.name: p for p in command.params}


def test_every_setting_has_its_metadata_and_every_flag_is_a_run_option():
    options = run_options()
    for key, field in SETTING_FIELDS.items():
        meta = setting_of(field)
        assert meta is not None and meta.help, f"{key}: no setting metadata"
        decls = flag_decls(field, SETTING_TYPES[key])
        if decls:
            option = options[key]
            assert set(decls[0].split("/")) <= set(option.opts + option.secondary_opts)
            assert option.help.startswith(meta.help) and " Default: " in option.help
    written = {"ctx", "preset", "config", "arm", "alphas", "cutmix", "smoothing", "manifold", "seed", "n_seeds",
               "dry_run", "tensorboard", "mlflow", "quiet", "help"}  # fmt: skip
    assert set(options) - written == {k for k, f in SETTING_FIELDS.items() if flag_decls(f, SETTING_TYPES[k])}


def test_identity_keys_come_from_the_fields():
    assert "grad_clip" in TRAINING_KEYS and "compile" not in TRAINING_KEYS and "eval_batch_size" not in TRAINING_KEYS
    assert SHIFT_KEYS == ("shift", "shift_every", "shift_images", "cifar10c_dir") and DATA_KEYS == ("dataset",)
    old = dataclasses.asdict(TrainingConfig())
    del old["grad_clip"]  # a record from before --grad-clip: it ran without clipping
    assert training_changes(old, TrainingConfig()) == []
    assert training_changes(old, TrainingConfig(grad_clip=1.0)) == ["grad_clip=None (now 1.0)"]
    del old["epochs"]  # a setting that always existed: missing means not recorded
    assert training_changes(old, TrainingConfig()) == ["epochs not recorded (now 15)"]


@pytest.mark.parametrize(
    ("value", "words"),
    [(0.0, "--grad-clip must be above 0 and at most 1e+06, got 0.0."), (float("nan"), "--grad-clip must be a finite")],
)
def test_validate_names_the_flag_from_the_field(value, words):
    with pytest.raises(UserError) as err:
        ExperimentConfig(training=TrainingConfig(grad_clip=value)).validate()
    assert str(err.value) == words or words in str(err.value)


def test_files_and_presets_take_the_setting_by_its_field_name(tmp_path):
    (tmp_path / "clip.toml").write_text("grad_clip = 5\n")
    assert build_experiment(config_file=tmp_path / "clip.toml").training.grad_clip == 5.0
    assert "# grad_clip = <a number>  (default: none)" in preset_toml("default")


def _final(out, run_id="baseline-a0-s0") -> pd.DataFrame:
    df = pd.read_csv(out / "default" / "runs" / run_id / "metrics.csv")
    return df.drop(columns=[c for c in TIMING if c in df.columns])


def test_grad_clip_changes_training_only_when_it_clips(tiny_cifar, tmp_path):
    """A bound no gradient reaches multiplies by exactly 1: the numbers of no clipping, bit for bit; a tight one
    changes them."""
    for name, extra in [("none", []), ("loose", ["--grad-clip", "1000000"]), ("tight", ["--grad-clip", "0.001"])]:
        res = runner.invoke(app, base_args(tiny_cifar, tmp_path / name, "--alpha", "0", "--epochs", "1", *extra))
        assert res.exit_code == 0, res.output
    pd.testing.assert_frame_equal(_final(tmp_path / "none"), _final(tmp_path / "loose"))
    assert _final(tmp_path / "none")["train_loss"].iloc[0] != _final(tmp_path / "tight")["train_loss"].iloc[0]
    bad = runner.invoke(app, base_args(tiny_cifar, tmp_path / "bad", "--grad-clip", "-1"))
    assert bad.exit_code == 2 and "--grad-clip must be above 0" in bad.output and not (tmp_path / "bad").exists()
