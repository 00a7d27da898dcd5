"""From what the user gives to an ExperimentConfig: the dataclass defaults, then a preset, then a
TOML file (`run --config`), then the command-line flags, each on top of the one before.

Every layer speaks the same flat keys: the fields of ExperimentConfig and TrainingConfig by name
(`epochs`, `arms`, `seeds`, ...), and the arm aliases (`alphas`, `cutmix`, `smoothing`, `manifold`: the
`--alpha`, ... flags). A layer's `arms` replace the arms below it; aliases alone replace only their own
methods' arms, as they always did (`config.merge_arms`). The dataclass defaults are the one source of every default; a
preset states only how it differs; a file may set any key; a flag left out is None ("not given").
This is also where a config is written back as TOML (`mixup-bench presets NAME --toml`), so that
what a file can hold and what is printed are one table.

`subset = 0` (in a file or a flag) means the whole training pool, as `--subset 0` does.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

try:
    import tomllib
except ImportError:  # Python 3.10: the same parser, from PyPI
    import tomli as tomllib


from mixup_bench.config import (
    ARM_ALIASES,
    PRESETS,
    ExperimentConfig,
    TrainingConfig,
    alias_specs,
    check_choice,
    check_name,
    merge_arms,
    seeds_option,
)
from mixup_bench.config.experiment import DEFAULT_DATA_DIR
from mixup_bench.config.setting import setting_of
from mixup_bench.errors import UserError
from mixup_bench.streams import cut, is_text, quoted, shown

_TRAINING_FIELDS = {f.name: f for f in dataclasses.fields(TrainingConfig)}
_EXPERIMENT_FIELDS = {f.name: f for f in dataclasses.fields(ExperimentConfig) if f.name != "training"}
SETTING_FIELDS = {**_EXPERIMENT_FIELDS, **_TRAINING_FIELDS}  # every setting's field (config.setting: its metadata)
# Every key a preset, a file or a flag may set, with its type (from the dataclasses' annotations).
SETTING_TYPES: dict[str, Any] = {
    **{k: t for k, t in typing.get_type_hints(ExperimentConfig).items() if k in _EXPERIMENT_FIELDS},
    **{k: t for k, t in typing.get_type_hints(TrainingConfig).items() if k in _TRAINING_FIELDS},
}
# ... and the arm aliases, which a file, a preset or a keyword may give as well (lists of numbers).
_ALIAS_KEYS = tuple(key for key, _, _ in ARM_ALIASES)
ACCEPTED_TYPES: dict[str, Any] = {**SETTING_TYPES, **{key: tuple[float, ...] for key in _ALIAS_KEYS}}
# Keys whose default depends on the machine or is "none": a printed preset shows them commented out,
# with an example value and what the default is.
_COMMENTED_WHEN_DEFAULT = {"data_dir": DEFAULT_DATA_DIR, "ray_address": "auto"}  # key: an example value


def default_of(key: str) -> Any:
    """The default of a setting, read from its dataclass field."""
    f = SETTING_FIELDS[key]
    return f.default_factory() if f.default is dataclasses.MISSING else f.default


def describe(value: Any) -> str:
    """A setting's value for people: 10,000; 0.4, 1; on/off; 'all' for subset None."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, tuple):
        return ", ".join(describe(v) for v in value) or "none"
    if value is None:
        return "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _default_text(key: str) -> str:
    """A setting's default for people: its `default_text` where the value alone would mislead (a machine's
    folder, "none"), else the value ('all' for subset None)."""
    meta = setting_of(SETTING_FIELDS[key])
    if meta is not None and meta.default_text is not None:
        return meta.default_text
    value = default_of(key)
    return "all" if key == "subset" and value is None else describe(value)


def default_help(key: str) -> str:
    """' Default: 128.' for a CLI option's help, from the setting's field."""
    return f" Default: {_default_text(key)}."


# --- the builder ---------------------------------------------------------------------


def build_experiment(
    *,
    preset: str = "default",
    config_file: Path | None = None,
    seed: Sequence[int] | None = None,
    n_seeds: int | None = None,
    **flags: Any,
) -> ExperimentConfig:
    """The validated ExperimentConfig of `preset`, then `config_file`, then `flags` on top.

    flags: any setting key (`epochs=3`, `arms=("fmix:0.2",)`, an alias such as `alphas=(0.4, 1.0)`, ...);
    None means "not given" and a list counts as a tuple. seed: explicit seeds (`--seed`, repeatable),
    n_seeds: seeds 0..N-1 (`--seeds`); giving both is refused. A file's own errors name the file and the
    key; the file's name (without .toml) is the experiment's name unless the file or a flag gives one.
    """
    unknown = sorted(set(flags) - set(ACCEPTED_TYPES))
    if unknown:
        raise TypeError(f"build_experiment() got unknown settings: {', '.join(unknown)}")
    check_choice("--preset", preset, PRESETS)
    settings = dict(PRESETS[preset].settings)
    given = {k: tuple(v) if isinstance(v, list) else v for k, v in flags.items() if v is not None}
    seeds = seeds_option(seed, n_seeds, given.get("seeds"))
    if seeds is not None:
        given["seeds"] = seeds
    if "seeds" in given:  # `--seed 0 --seed 0` runs seed 0 once; so does a repeated seed given any other way
        given["seeds"] = tuple(dict.fromkeys(given["seeds"]))
    file = {} if config_file is None else read_settings_file(Path(config_file), settings, given)
    exp = experiment_of(settings, file, given)  # the file under the flags, validated once, whole (read_settings_file)
    exp.validate()
    return exp


def experiment_of(*layers: dict[str, Any]) -> ExperimentConfig:
    """An ExperimentConfig from layers of flat settings, each over the ones before (missing keys: the dataclass
    defaults; subset 0: all). A layer's `arms` replace the arms below it; its aliases alone replace only their
    methods' arms (`config.merge_arms`), starting from the default's."""
    settings: dict[str, Any] = {}
    arms = ExperimentConfig.arms
    for layer in layers:
        arms = merge_arms(arms, _layer_arms(layer), replace="arms" in layer)
        settings.update({k: v for k, v in layer.items() if k not in _ALIAS_KEYS})
    settings["arms"] = arms
    if settings.get("subset") == 0:
        settings["subset"] = None
    training = TrainingConfig(**{k: v for k, v in settings.items() if k in _TRAINING_FIELDS})
    return ExperimentConfig(training=training, **{k: v for k, v in settings.items() if k not in _TRAINING_FIELDS})


def _layer_arms(layer: dict[str, Any]) -> tuple[str, ...]:
    """The arm specs one layer gives: its aliases' (checked with the alias's message), then its `arms`."""
    specs = [spec for key in _ALIAS_KEYS if key in layer for spec in alias_specs(key, layer[key])]
    return (*specs, *layer.get("arms", ()))


def flat_settings(exp: ExperimentConfig) -> dict[str, Any]:
    """Every setting of `exp` by key, in the dataclasses' order (the inverse of `experiment_of`)."""
    d = {k: getattr(exp, k) for k in _EXPERIMENT_FIELDS}
    d.update({k: getattr(exp.training, k) for k in _TRAINING_FIELDS})
    return d


# --- TOML files ----------------------------------------------------------------------


def read_settings_file(path: Path, base: dict[str, Any], flags: dict[str, Any] | None = None) -> dict[str, Any]:
    """The settings a TOML file holds, each of the right type and, between `base` (the preset) and
    `flags` (which override it), in range: the merged settings are validated once, so a key that only
    makes sense with a flag (`shift_every` with `--shift`) is judged with it.

    The file's name (without .toml) is the experiment's name when neither the file nor a flag gives one.
    Raises a one-line UserError naming the file (and the key) for a missing or unreadable file, bad
    TOML, an unknown key, a wrong type, or a value out of range.
    """
    flags = flags or {}
    settings = {key: _checked(path, key, value) for key, value in _parse(path).items()}
    if "seeds" in settings:  # as `--seed 0 --seed 0`: each seed once
        settings["seeds"] = tuple(dict.fromkeys(settings["seeds"]))
    if "name" not in settings and flags.get("name") is None:
        settings["name"] = _name_of_file(path)
    _check_ranges(path, base, settings, flags)
    return settings


def _parse(path: Path) -> dict[str, Any]:
    """The TOML file's table; a one-line UserError for anything that is not one (a missing file, bytes
    that are not UTF-8, bad syntax, an integer of more than 4,300 digits, nesting deeper than Python's stack)."""
    try:
        return tomllib.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise UserError(f"--config {path}: no such file.") from None
    except ValueError as e:  # TOMLDecodeError, UnicodeDecodeError, and int()'s digit limit
        raise UserError(f"{path}: not a valid TOML file ({e}).") from None
    except RecursionError:
        raise UserError(f"{path}: not a valid TOML file (its values are nested too deeply).") from None
    except OSError as e:
        raise UserError(f"--config {path}: cannot read it ({e.strerror or e}).") from None


def _name_of_file(path: Path) -> str:
    """The file's name without .toml, as the experiment's name; one line when it cannot be one."""
    try:
        check_name("--name", path.stem)
    except UserError:
        raise UserError(
            f"--config {path}: its file name {quoted(path.stem)} cannot name the experiment (a plain folder name); "
            'give --name, or set name = "..." in the file.'
        ) from None
    return path.stem


def _checked(path: Path, key: str, value: Any) -> Any:
    """`value` as the type of setting `key`, or a UserError naming the file and the key."""
    if key not in ACCEPTED_TYPES:
        close = difflib.get_close_matches(key, ACCEPTED_TYPES, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(ACCEPTED_TYPES)}."
        raise UserError(f"{path}: unknown key {key!r}; {hint}")
    try:
        kind, converted = _convert(value, ACCEPTED_TYPES[key])
    except OverflowError:  # float(10**400)
        raise UserError(f"{path}: {key} = {brief_value(value)}: the number is too large.") from None
    if converted is _WRONG:
        raise UserError(f"{path}: {key} must be {kind}, got {brief_value(value)}.")
    return converted


def brief_value(value: Any, depth: int = 0) -> str:
    """`value` as TOML text for a message: nested lists and tables past 3 levels as `[…]`/`{…}` (also
    where Python's stack would not reach the bottom), and the whole cut to 80 characters (`streams.cut`)."""
    if isinstance(value, (list, tuple, dict)) and depth >= 3:
        return "{…}" if isinstance(value, dict) else "[…]"
    if isinstance(value, (list, tuple)):
        return cut("[" + ", ".join(brief_value(v, depth + 1) for v in value[:20]) + "]")
    if isinstance(value, dict):
        items = list(value.items())[:20]
        return cut("{" + ", ".join(f"{k} = {brief_value(v, depth + 1)}" for k, v in items) + "}")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**80:
        return f"a {len(str(abs(value)))}-digit integer"
    return cut(toml_value(value))


_WRONG = object()


def _convert(value: Any, hint: Any) -> tuple[str, Any]:
    """(what the type is called, `value` converted to it or _WRONG). TOML has no null: `X | None` takes X."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if typing.get_origin(hint) is tuple:
        item_kind, _ = _convert(0, typing.get_args(hint)[0])
        items = value if isinstance(value, list) else [value]
        converted = [_convert(v, typing.get_args(hint)[0])[1] for v in items]
        return f"a list of {item_kind.split(' ', 1)[1]}s", _WRONG if _WRONG in converted else tuple(converted)
    if hint is bool:
        return "true or false", value if isinstance(value, bool) else _WRONG
    if hint is int:
        return "an integer", value if isinstance(value, int) and not isinstance(value, bool) else _WRONG
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return "a number", float(value) if ok else _WRONG
    if hint is Path:
        # "" would be Path("."), the current folder: refused, as a key left out gives the default
        return "a path (a non-empty string)", Path(value) if isinstance(value, str) and value else _WRONG
    return "a string", value if isinstance(value, str) else _WRONG


def _check_ranges(path: Path, base: dict[str, Any], settings: dict[str, Any], flags: dict[str, Any]) -> None:
    """Validate the file between `base` and `flags`, once. An error that keys of the file are behind names
    the file and those keys: the keys without which the error goes away or changes (`batch_size = 64,
    subset = 32: --subset must be ...`). An error of the flags or the preset alone is theirs, said as it is."""
    try:
        experiment_of(base, settings, flags).validate()
    except UserError as whole:
        # a key a flag overrides cannot be behind it; arms merge per method, so the file's may be
        own = [key for key in settings if key not in flags or key == "arms" or key in _ALIAS_KEYS]
        culprits = [key for key in own if _error_without(base, settings, flags, key) != str(whole)]
        if not culprits:
            raise
        named = ", ".join(f"{key} = {brief_value(settings[key])}" for key in culprits)
        raise UserError(f"{path}: {named}: {whole}") from None


def _error_without(base: dict[str, Any], settings: dict[str, Any], flags: dict[str, Any], key: str) -> str | None:
    """The validation error of the settings without the file's `key` (None when they are valid)."""
    try:
        experiment_of(base, {k: v for k, v in settings.items() if k != key}, flags).validate()
    except UserError as e:
        return str(e)
    return None


def toml_value(value: Any) -> str:
    """`value` as TOML text: true, 128, 0.0005, "small-cnn", [0, 1, 2]."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a TOML basic string: JSON's escapes are TOML's


def settings_toml(exp: ExperimentConfig, header: Sequence[str] = ()) -> str:
    """`exp` as a TOML file that `run --config` reads back to the same config: every key, with
    `subset = 0` for the whole pool and the keys whose default depends on the machine commented out."""
    lines = [f"# {h}" for h in header]
    lines += [setting_line(key, value) for key, value in flat_settings(exp).items()]
    return "\n".join(lines) + "\n"


def setting_line(key: str, value: Any) -> str:
    """One TOML line: `key = value`; `subset = 0` for the whole pool; a machine-dependent key at its
    default commented out, with an example and what the default is."""
    if key in _COMMENTED_WHEN_DEFAULT and value == default_of(key):
        return f"# {key} = {toml_value(_COMMENTED_WHEN_DEFAULT[key])}  (default: {_default_text(key)})"
    if key == "subset" and value is None:
        value = 0
    if isinstance(value, (str, Path)) and not is_text(str(value)):  # bytes a TOML file cannot hold: as a comment
        return f"# {key} = {json.dumps(shown(str(value)))}  (not UTF-8 text, which TOML cannot hold: give it as a flag)"
    if value is None:  # TOML has no null: left out, the key keeps its default (none)
        return f"# {key} = <{_convert(None, SETTING_TYPES[key])[0]}>  (default: none)"
    return f"{key} = {toml_value(value)}"


# --- presets as text ----------------------------------------------------------------------


def preset_lines(name: str | None = None) -> list[str]:
    """`mixup-bench presets [NAME]`: every preset with what it changes, then the defaults; or one
    preset whole (every setting, `*` where it differs from the default)."""
    if name is not None:
        check_choice("preset", name, PRESETS)
        p, lines = PRESETS[name], []
        lines += [f"{name}: {p.regime}", f"  shows: {p.shows}", "  settings (* = not the default):"]
        for key, value in flat_settings(build_experiment(preset=name)).items():
            lines.append(f"  {'*' if key in p.settings else ' '} {setting_line(key, value)}")
        return lines
    lines = []
    for p in PRESETS.values():
        changes = ", ".join(setting_line(k, v) for k, v in p.settings.items())
        lines += [f"{p.name}: {p.regime}", f"  settings: {changes or 'the defaults'}", f"  shows: {p.shows}", ""]
    lines.append("Defaults (a preset changes some, a --config file and flags override both):")
    lines += [f"  {setting_line(k, default_of(k))}" for k in SETTING_TYPES]
    lines.append("`mixup-bench presets NAME` shows one whole; `--toml` prints it as a file for `run --config`.")
    return lines


def preset_toml(name: str) -> str:
    """A preset as a TOML file to start from: every setting, resolved."""
    check_choice("preset", name, PRESETS)
    header = [
        f"mixup-bench preset {name!r}: {PRESETS[name].regime}.",
        "Run it with `mixup-bench run --config FILE.toml`; flags override what it says. subset = 0: the whole pool.",
    ]
    return settings_toml(build_experiment(preset=name), header)
