"""Arms as the settings name them: "method:param" specs (`--arm`, TOML `arms`), the per-method aliases kept from
before them (`--alpha`, `--cutmix`, ...), how a layer of settings changes the arms below it, and the one arm
expansion (`arms_of`) that `run`, `status` and `plot` share, from a config or from experiment.json."""

from __future__ import annotations

import math
from collections.abc import Mapping

from mixup_bench.config.checks import check_float
from mixup_bench.errors import UserError
from mixup_bench.methods import METHODS, arm_spec, parse_arm_spec
from mixup_bench.naming import BASELINE, CUTMIX, MANIFOLD, MIXUP, SMOOTH, method_for

# The options that name one method's arms by its parameter alone, kept from before `--arm` as its aliases, and
# the keys of the same name that TOML files and older experiment.json records hold: (key, method, option).
# `--alpha 0` is the baseline: alpha 0 mixes nothing.
ARM_ALIASES = (
    ("alphas", MIXUP, "--alpha"),
    ("cutmix", CUTMIX, "--cutmix"),
    ("smoothing", SMOOTH, "--label-smoothing"),
    ("manifold", MANIFOLD, "--manifold-mixup"),
)
_ALIAS = {key: (method, option) for key, method, option in ARM_ALIASES}


def alias_specs(key: str, values) -> tuple[str, ...]:
    """The arm specs of an alias's values (`--cutmix 1` -> 'cutmix:1', `--alpha 0` -> 'baseline'), each value
    checked against its method's range with the alias's own message (`--alpha must be at least 0 ...`)."""
    method, option = _ALIAS[key]
    param = METHODS[method].param
    low_open = param.low_open and method != MIXUP  # --alpha takes 0: the baseline
    for v in values:
        check_float(option, v, param.low, param.high, lo_open=low_open)
    return tuple(arm_spec(method_for(v) if method == MIXUP else method, v) for v in values)


def _method_of(spec: str) -> str:
    return spec.strip().partition(":")[0]


def merge_arms(lower: tuple[str, ...], upper: tuple[str, ...], replace: bool = False) -> tuple[str, ...]:
    """The arms of a layer of settings (`upper`: flags, a TOML file) over those below it (`lower`: a file, a
    preset, the default). A layer that gives `arms` (`--arm`) lists every arm: `replace`, and `upper` is the
    whole list. A layer that gives only aliases keeps their old meaning: a method `upper` names keeps only
    `upper`'s arms, the others keep `lower`'s. So `--cutmix 1` adds CutMix to the default's MixUp arm (as it
    always did), `--alpha 1` replaces that arm, and 'baseline' (`--alpha 0`) names MixUp too: it leaves the
    default's MixUp arm out."""
    if replace:
        return tuple(upper)
    named = {_method_of(s) for s in upper}
    if BASELINE in named:
        named.add(MIXUP)
    return tuple(s for s in lower if _method_of(s) not in named) + tuple(upper)


def _canonical_spec(spec):
    """A spec in its one spelling ('mixup:0.40' -> 'mixup:0.4'); one that does not parse is left for `validate`."""
    try:
        return arm_spec(*parse_arm_spec(spec))
    except (ValueError, AttributeError):
        return spec


def check_arm_specs(specs) -> None:
    """One line for the first spec that names no method or a parameter out of range, or an arm given twice."""
    seen: dict[tuple[str, float], str] = {}
    for spec in specs:
        try:
            arm = parse_arm_spec(spec)
        except ValueError as e:
            raise UserError(f"--arm {spec}: {e}.") from None
        if arm in seen:
            raise UserError(
                f"The arm {arm_spec(*arm)} is given twice; give each arm once (an alias names an arm too: "
                "--alpha A is mixup:A)."
            )
        seen[arm] = spec


def arm_specs_of(config: Mapping) -> tuple[str, ...]:
    """The arm specs experiment.json's config object lists: its `arms`, after the per-method lists that older
    records hold instead (ARM_ALIASES' keys). A hand-edited file may hold anything: a list that is missing or
    not a list counts as empty; an entry that is not a valid spec, or not a finite number (0 and up for
    `alphas`, above 0 for the others), is left out."""
    specs = []
    for key, method, _ in ARM_ALIASES:
        values = config.get(key)
        for v in values if isinstance(values, list) else ():
            number = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            if number and (v > 0 or (v == 0 and method == MIXUP)):
                specs.append(arm_spec(method_for(v) if method == MIXUP else method, v))
    arms = config.get("arms")
    for spec in arms if isinstance(arms, list) else ():
        try:
            specs.append(arm_spec(*parse_arm_spec(spec)))
        except (ValueError, AttributeError):
            continue
    return tuple(dict.fromkeys(specs))


def arms_of(config) -> tuple[tuple[str, float], ...]:
    """(method, parameter) of every arm a config plans, without repeats: the baseline first (unless `baseline`
    is false), then each arm spec in order (`arms`; 'baseline' there is the baseline too).

    The one arm expansion: `run` takes its runs from it, `status` the runs it expects, `plot` the arms it
    colours. `config` is an ExperimentConfig (its `baseline` and `arms`, a spec that does not parse left to
    `validate`; the class is not imported here, as its module imports this one), or experiment.json's config
    object as read back (`arm_specs_of`, which reads older records too).
    """
    if isinstance(config, Mapping):
        baseline, specs = config.get("baseline", True) is not False, arm_specs_of(config)
    else:
        baseline, specs = config.baseline, config.arms
    arms = [(BASELINE, 0.0)] if baseline else []
    for spec in specs:
        try:
            arms.append(parse_arm_spec(spec))
        except (ValueError, AttributeError):
            continue
    return tuple(dict.fromkeys(arms))
