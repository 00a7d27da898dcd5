"""settings: defaults < preset < TOML file < flags, every built-in preset valid, and TOML files in and out."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

from mixup_bench.config import PRESETS, ExperimentConfig, TrainingConfig
from mixup_bench.errors import UserError
from mixup_bench.settings import (
    SETTING_TYPES,
    build_experiment,
    default_help,
    default_of,
    flat_settings,
    preset_lines,
    preset_toml,
    settings_toml,
)


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_built_in_preset_builds_validates_and_states_only_differences(name):
    preset = PRESETS[name]
    exp = build_experiment(preset=name)  # validates: raises UserError for any value out of range
    exp.validate()
    assert preset.regime and preset.shows
    resolved = flat_settings(exp)
    for key, value in preset.settings.items():
        assert key in SETTING_TYPES, f"{name}: {key} is not a setting"
        assert value != default_of(key), f"{name}: {key} = {value!r} restates the default"
        assert resolved[key] == value
    others = {k: v for k, v in resolved.items() if k not in preset.settings}
    assert others == {k: default_of(k) for k in others}  # everything else is the dataclass default


def test_the_default_preset_is_the_dataclass_defaults():
    """One source: `run` without flags, `ExperimentConfig()` and the CLI help all say the same."""
    assert PRESETS["default"].settings == {}
    assert build_experiment() == ExperimentConfig()
    assert ExperimentConfig().training == TrainingConfig()
    assert default_help("batch_size") == f" Default: {TrainingConfig().batch_size}."
    assert default_help("subset") == f" Default: {TrainingConfig().subset:,}."
    assert default_help("seeds") == " Default: 0, 1, 2."


def write(tmp_path: Path, text: str, name: str = "mine.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_file_overrides_the_preset_and_flags_override_the_file(tmp_path):
    path = write(tmp_path, 'epochs = 3\nbatch_size = 32\nalphas = [0.2, 1]\nlabel_noise = 0.2\nmodel = "small-cnn"\n')
    exp = build_experiment(preset="label-noise", config_file=path, batch_size=16, n_seeds=2)
    assert exp.training.epochs == 3  # the file
    assert exp.training.batch_size == 16  # the flag over the file
    assert exp.arms == ("mixup:0.2", "mixup:1")  # the file's alias over the preset; TOML's 1 is a float here
    assert exp.training.label_noise == 0.2 and exp.seeds == (0, 1)
    assert exp.name == "mine"  # the file's name, as the file sets none
    assert build_experiment(config_file=path, name="other").name == "other"


def test_arms_replace_the_arms_below_and_aliases_alone_replace_their_methods(tmp_path):
    """A layer (preset, file, flags) that gives `arms` gives every arm; one that gives only aliases (`cutmix`,
    `--cutmix`) replaces the arms of their methods and keeps the others, as the aliases always did."""
    path = write(tmp_path, 'arms = ["fmix:0.2", "resizemix"]\ncutmix = [2]\n')
    assert build_experiment(preset="label-noise", config_file=path).arms == ("cutmix:2", "fmix:0.2", "resizemix:0.8")
    assert build_experiment(preset="label-noise", config_file=path, cutmix=[1]).arms == (
        "fmix:0.2", "resizemix:0.8", "cutmix:1"
    )  # fmt: skip
    exp = build_experiment(preset="label-noise", config_file=path, arms=["cutmix:1", "gridmix:0.5"], alphas=[0])
    assert exp.arms == ("baseline", "cutmix:1", "gridmix:0.5")
    assert build_experiment(preset="label-noise", cutmix=[1]).arms == ("mixup:1", "cutmix:1")
    assert 'arms = ["baseline", "cutmix:1", "gridmix:0.5"]' in settings_toml(exp)


def test_a_bad_arm_in_a_file_names_the_file_and_the_key(tmp_path):
    for text, words in [('arms = ["fmixx:1"]\n', 'arms = ["fmixx:1"]: --arm fmixx:1: unknown method'),
                        ("alphas = [-1]\n", "alphas = [-1.0]: --alpha must be at least 0"),
                        ('arms = [1]\n', "arms must be a list of strings, got [1].")]:  # fmt: skip
        with pytest.raises(UserError) as err:
            build_experiment(config_file=write(tmp_path, text))
        assert "mine.toml: " in str(err.value) and words in str(err.value), str(err.value)


def test_subset_zero_means_the_whole_pool_in_files_and_flags(tmp_path):
    assert build_experiment(config_file=write(tmp_path, "subset = 0\n")).training.subset is None
    assert build_experiment(subset=0).training.subset is None


@pytest.mark.parametrize("name", list(PRESETS))
def test_a_printed_preset_reads_back_to_the_same_config(tmp_path, name):
    text = preset_toml(name)
    assert tomllib.loads(text)  # valid TOML
    assert build_experiment(config_file=write(tmp_path, text, "any.toml")) == build_experiment(preset=name)


def test_a_dry_run_config_reads_back(tmp_path):
    exp = build_experiment(alphas=[0.2, 0.4], cutmix=[1.0], subset=0, epochs=2, out=tmp_path / "r", name="x")
    assert build_experiment(config_file=write(tmp_path, settings_toml(exp))) == exp


@pytest.mark.parametrize(
    "text, expected",
    [
        ('epochs = "ten"\n', 'mine.toml: epochs must be an integer, got "ten".'),
        ("epochs = 2.5\n", "epochs must be an integer, got 2.5"),
        ("augment = 1\n", "augment must be true or false, got 1"),
        ('alphas = ["a"]\n', "alphas must be a list of numbers"),
        ("lr = true\n", "lr must be a number, got true"),
        ("epoch = 3\n", "unknown key 'epoch'; did you mean 'epochs'?"),
        ("flavour = 3\n", "unknown key 'flavour'; known keys: name, out, arms"),
        ("epochs = 0\n", "mine.toml: epochs = 0: --epochs must be at least 1, got 0."),
        ("label_noise = 2.0\n", "label_noise = 2.0: --label-noise must be"),
        ('model = "resnet9000"\n', 'model = "resnet9000"'),
        ("batch_size = 64\nsubset = 32\n", "mine.toml: batch_size = 64, subset = 32: --subset must be at least 64"),
        ("lr = 0.05\nepochs = 0\n", "mine.toml: epochs = 0: --epochs"),  # only the key behind the error
        ("epochs = \n", "mine.toml: not a valid TOML file"),
        ("[training]\nepochs = 3\n", "unknown key 'training'"),
    ],
)
def test_bad_files_are_one_line_naming_the_file_and_the_key(tmp_path, text, expected):
    with pytest.raises(UserError) as err:
        build_experiment(config_file=write(tmp_path, text))
    assert expected in str(err.value) and "\n" not in str(err.value)
    assert str(tmp_path / "mine.toml") in str(err.value)


def test_a_missing_or_unreadable_file_is_one_line(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        build_experiment(config_file=tmp_path / "absent.toml")
    with pytest.raises(UserError, match="cannot read it"):
        build_experiment(config_file=tmp_path)  # a folder


def test_seed_options_that_clash_are_refused_in_validation():
    with pytest.raises(UserError, match=r"^Give --seed or --seeds, not both\.$"):
        build_experiment(seed=[0], n_seeds=2)
    with pytest.raises(UserError, match="--seeds must be at least 1"):
        build_experiment(n_seeds=0)
    assert build_experiment(seed=[3, 1, 3]).seeds == (3, 1)  # repeats dropped, order kept
    assert build_experiment(n_seeds=4).seeds == (0, 1, 2, 3)


def test_unknown_settings_are_a_programming_error():
    with pytest.raises(TypeError, match="alpha"):
        build_experiment(alpha=[0.4])  # the setting is `alphas`


def test_presets_listing_shows_each_preset_and_the_defaults():
    text = "\n".join(preset_lines())
    for name, preset in PRESETS.items():
        assert f"{name}: {preset.regime}" in text
    assert "label_noise = 0.4" in text and f"batch_size = {TrainingConfig().batch_size}" in text
    one = preset_lines("paper")
    assert any(line.strip() == '* model = "preact-resnet18"' for line in one)
    assert any(line.strip() == "lr = 0.1" for line in one)  # the default, unmarked
    with pytest.raises(UserError, match="Unknown preset 'nope'"):
        preset_lines("nope")


def test_setting_types_cover_every_field_but_the_nested_training():
    fields = {f.name for cls in (ExperimentConfig, TrainingConfig) for f in dataclasses.fields(cls)}
    assert set(SETTING_TYPES) == fields - {"training"}
