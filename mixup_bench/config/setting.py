"""A setting is one dataclass field with its metadata (`setting(...)`): its help, its bounds or choices, its
flag, and whether it is part of an experiment's identity. Everything else derives from that field: the `run`
option (cli/run.py generates it), `validate`'s one-line messages (`check_settings`), TRAINING_KEYS and its
siblings (`identity_keys`), the TOML keys and `presets --toml` (settings.py reads the fields).

Adding a setting is therefore one field, e.g.

    grad_clip: float | None = setting(None, "Clip the gradient norm to this.", lo=0.0, lo_open=True,
                                      identity="training", absent=True)

plus the code that uses it and its test.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mixup_bench.config.checks import check_choice, check_float, check_int

TRAINING, SHIFT, DATA = "training", "shift", "data"  # the parts of an experiment's identity (`identity_keys`)


@dataclass(frozen=True)
class Setting:
    """What a config field is to the commands: see `setting`."""

    help: str
    flag: str | bool = True
    label: str = ""
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    why: str = ""
    choices: tuple | None = None
    check: Callable[[Any, Any], None] | None = None
    identity: str | None = None
    absent: bool = False
    default_text: str | None = None


def setting(default: Any = dataclasses.MISSING, help: str = "", *, default_factory: Any = dataclasses.MISSING,
            **meta: Any) -> Any:  # fmt: skip
    """A dataclass field with its Setting metadata:

    help: the `run` option's help (its default is appended, read from the field; or `default_text`).
    flag: True for `--field-name` (`--x/--no-x` for a bool); a string for other declarations
        ("--until-decided/--fixed-seeds"); False for none (a preset or a file may still set it).
    label: how messages name it when it has no flag ("momentum").
    lo, hi, lo_open, why: the range of a number (`checks.check_int` / `check_float`); choices: of a string.
    check: `check(config, value)` for what a range cannot say (a bound that depends on another field).
    identity: TRAINING, SHIFT or DATA when the value is part of an experiment's identity: an existing
        experiment folder refuses a command that changes it (`identity_keys`).
    absent: a record written before the setting existed ran at its default (else a missing key counts
        as changed).
    """
    return dataclasses.field(
        default=default, default_factory=default_factory, metadata={"setting": Setting(help, **meta)}
    )


def setting_of(f: dataclasses.Field) -> Setting | None:
    return f.metadata.get("setting")


def flag_decls(f: dataclasses.Field, kind: type) -> list[str]:
    """The option declarations of a field's flag: `--batch-size`, `--augment/--no-augment`, or its own."""
    s = setting_of(f)
    if s is None or s.flag is False:
        return []
    if isinstance(s.flag, str):
        return s.flag.split()
    dash = f.name.replace("_", "-")
    return [f"--{dash}/--no-{dash}"] if kind is bool else [f"--{dash}"]


def option_name(f: dataclasses.Field, kind: type = object) -> str:
    """How a message names a field: its flag ('--epochs', '--shift'), or its label ('momentum')."""
    decls = flag_decls(f, kind)
    return decls[0].split("/")[0] if decls else (setting_of(f).label or f.name.replace("_", " "))


def check_settings(config: Any) -> None:
    """One line (a UserError) for the first field of `config`, in field order, whose value is out of its
    range or choices or fails its own `check`. None is a setting left unset, never out of range."""
    for f in dataclasses.fields(config):
        s, value = setting_of(f), getattr(config, f.name)
        if s is None:
            continue
        name = option_name(f, type(value))
        if value is not None and not isinstance(value, bool):
            if s.choices is not None:
                check_choice(name, value, s.choices)
            elif isinstance(value, int) and s.lo is not None:
                check_int(name, value, int(s.lo), sys.maxsize if s.hi is None else int(s.hi), s.why)
            elif isinstance(value, float) and s.lo is not None:
                check_float(name, value, s.lo, float("inf") if s.hi is None else s.hi, s.lo_open)
        if s.check is not None:
            s.check(config, value)


def identity_keys(cls: type, part: str) -> tuple[str, ...]:
    """The fields of `cls` that are part `part` (TRAINING, SHIFT, DATA) of an experiment's identity."""
    return tuple(f.name for f in dataclasses.fields(cls) if (s := setting_of(f)) is not None and s.identity == part)


def absent_is_default(cls: type) -> frozenset[str]:
    """The fields of `cls` that a record written before they existed ran at their default."""
    return frozenset(f.name for f in dataclasses.fields(cls) if (s := setting_of(f)) is not None and s.absent)
