"""The checks every option's value goes through: one line naming the option for a value out of range, and the
one spelling of a number (`canonical`). The bounds that are not a setting's own (MAX_SEED, ...) live here."""

from __future__ import annotations

import dataclasses
import math

from mixup_bench.errors import UserError
from mixup_bench.streams import is_text, quoted

MAX_EPOCHS = 100_000
MAX_BATCH = 1 << 20
MAX_IMAGES = 1 << 31
MAX_SEED = (1 << 63) - 1
MAX_JOBS = 1024
MIN_GPU_SHARE = 1e-4  # the finest GPU share Ray accepts for a task
MAX_SEEDS = 10_000  # seeds of one experiment (--seeds N); each is a whole run per arm
DEFAULT_MAX_SEEDS = 10  # `run --until-decided` without --max-seeds


def check_int(option: str, value: int, lo: int, hi: int, why: str = "") -> None:
    """One line for an integer option outside [lo, hi]."""
    if not lo <= value <= hi:
        bound = f"at least {lo}" if value < lo else f"at most {hi:,}"
        raise UserError(f"{option} must be {bound}{why}, got {value}.")


def check_float(option: str, value: float, lo: float, hi: float = float("inf"), lo_open: bool = False) -> None:
    """One line for a float option that is not finite or lies outside its range."""
    if not math.isfinite(value):
        raise UserError(f"{option} must be a finite number, got {value!r}.")
    if value < lo or (lo_open and value == lo) or value > hi:
        low = f"{'above' if lo_open else 'at least'} {lo:g}"
        rng = low if hi == float("inf") else f"{low} and at most {hi:g}"
        raise UserError(f"{option} must be {rng}, got {value!r}.")  # repr: 0.9500001, never rounded to 0.95


NAME_MAX_BYTES = 255  # the longest folder name common file systems hold


def check_name(option: str, value: str) -> None:
    """One line for a name that cannot be a single folder name whose text every results file can hold:
    empty, hidden (a leading dot), with a path separator, a control character or a byte that is not UTF-8
    (a surrogate escape from the command line), or longer than a folder name may be."""
    if not value or value.startswith(".") or any(c in value for c in "/\\"):
        raise UserError(f"{option} must be a plain folder name (no /, no leading dot), got {quoted(value)}.")
    if any(ord(c) < 32 or 127 <= ord(c) <= 159 for c in value):  # C0, DEL and C1 (U+0085 is a line break)
        raise UserError(f"{option} must not hold control characters (tab, newline, ...), got {quoted(value)}.")
    if not is_text(value):
        raise UserError(f"{option} must be UTF-8 text, got {quoted(value)}, which holds other bytes; rename it.")
    if (size := len(value.encode("utf-8"))) > NAME_MAX_BYTES:
        raise UserError(f"{option} must be at most {NAME_MAX_BYTES} bytes long (a folder name), got {size}.")


def canonical(value):
    """A number as it is stored, named and compared: -0.0 becomes 0.0 (it equals 0.0, but would be written
    and shown as '-0'); a tuple element by element; anything else as it is."""
    if isinstance(value, float):
        return value + 0.0
    if isinstance(value, tuple):
        return tuple(canonical(v) for v in value)
    return value


def _canonical_fields(config) -> None:
    """Every field of a (frozen) config object made `canonical`, once, when the object is made: whatever
    built it (flags, a preset, a TOML file, the Python API), its run ids, files and checks see one value."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if isinstance(value, (float, tuple)):
            object.__setattr__(config, f.name, canonical(value))


def check_choice(option: str, value: str, choices) -> None:
    if value not in choices:
        raise UserError(f"Unknown {option.lstrip('-')} {value!r}; choose one of: {', '.join(choices)}.")
