"""The registry of mixing methods: each method's name, parameter (name, run-id letter, default, valid
range, meaning), paper, the reference it was checked against, and where its mixer factory lives.

Torch-free on purpose: `naming` and `config` read it on the `run` path before torch is imported; the
factory ("module:function", called as factory(param, generator, model, lam_mode) -> Mixer) is imported
only when a run builds its mixer (`build_factory`). Third-party methods register a `Method` (or a callable
returning one) under the entry-point group `mixup_bench.methods`, named as the method (see docs/methods.md);
`plugin_methods` loads them when this module is imported, so that every table derived from METHODS (run ids,
labels, the lam methods) holds them. A plugin that does not load is kept out, its one-line reason in
PLUGIN_ERRORS: `--arm` with its name and `mixup-bench methods` say it and exit 2. What needs torch (that its
mixer gives the right shapes and draws only from its generator) is checked before a run trains
(`train.plugin_check`).
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata

ENTRY_POINT_GROUP = "mixup_bench.methods"


@dataclass(frozen=True)
class Param:
    """A method's one parameter: its name, its letter in run ids, its symbol in labels, default and range."""

    name: str
    letter: str
    symbol: str
    default: float
    low: float
    high: float = math.inf
    low_open: bool = True  # low < value (else low <= value)
    high_open: bool = False  # value < high (else value <= high)
    meaning: str = ""

    def range_text(self) -> str:
        left, right = ("(" if self.low_open else "["), (")" if self.high_open or self.high == math.inf else "]")
        return f"{left}{self.low:g}, {self.high:g}{right}".replace("inf", "∞")

    def problem(self, value: float) -> str | None:
        """Why `value` is not valid, as a sentence, or None. The value is quoted exactly (`exact`): 0.9900001
        is never rounded to the bound it exceeds."""
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        if math.isfinite(value) and above and below:
            return None
        return f"{self.name} must be in {self.range_text()}, got {exact(value)}"


def exact(value: float) -> str:
    """Shortest exact text of a number (repr's round trip, without a trailing '.0'; -0.0 is '0'): run ids and
    arm specs spell a parameter this way, so two values never share a name and one value has one spelling."""
    text = repr(float(value) + 0.0)  # + 0.0: -0.0 is 0.0
    return text[:-2] if text.endswith(".0") else text


@dataclass(frozen=True)
class Method:
    """One mixing method as every part of mixup-bench sees it."""

    name: str  # as in run ids and metrics.csv's `method` column
    label: str  # display name
    param: Param
    paper: str
    reference: str  # the implementation its tests compare it with
    factory: str | Callable  # "module:function" (or the function) -> (param, generator, model, lam_mode) -> Mixer
    draws_lam: bool = True  # logs lam.csv (False: the baseline, label smoothing)
    lam_beta: bool = True  # lam is drawn from Beta(param, param): `plot` draws that density beside lam.csv
    lam_area: bool = False  # lam.csv holds the area share kept of the first image (after clipping), not the draw
    source: str = "built-in"  # or the distribution a plugin came from ("my-mix 0.1")


MAX_ALPHA = 1000.0  # far above any useful concentration; Beta draws stay sane below it


def _alpha(default: float, meaning: str = "Beta(alpha, alpha) concentration of lam") -> Param:
    return Param("alpha", "a", "α", default, 0.0, MAX_ALPHA, meaning=meaning)


_N = "mixup_bench.train.neighbours"
_M = "mixup_bench.train.methods"
BUILTIN: tuple[Method, ...] = (
    Method(
        "baseline",
        "baseline",
        Param("alpha", "a", "α", 0.0, 0.0, 0.0, False, False, "no mixing (always 0)"),
        "-",
        "-",
        f"{_N}:build_baseline",
        draws_lam=False,
    ),
    Method("mixup", "MixUp", _alpha(0.4), "Zhang et al. 2018", "facebookresearch/mixup-cifar10", f"{_N}:build_mixup"),
    Method(
        "cutmix",
        "CutMix",
        _alpha(1.0),
        "Yun et al. 2019",
        "torchvision.transforms.v2.CutMix",
        f"{_N}:build_cutmix",
        lam_area=True,
    ),
    Method(
        "smooth",
        "label smoothing",
        Param("eps", "e", "ε", 0.1, 0.0, 0.99, True, False, "smoothing epsilon"),
        "Szegedy et al. 2016",
        "torch.nn.functional.cross_entropy(label_smoothing=)",
        f"{_N}:build_smooth",
        draws_lam=False,
    ),
    Method(
        "manifold",
        "Manifold MixUp",
        _alpha(2.0),
        "Verma et al. 2019",
        "vikasverma1077/manifold_mixup",
        f"{_N}:build_manifold",
    ),
    Method("fmix", "FMix", _alpha(1.0), "Harris et al. 2020", "ecs-vlc/FMix fmix.py", f"{_M}.fmix:build"),
    Method(
        "resizemix",
        "ResizeMix",
        Param("scale", "s", "s", 0.8, 0.1, 1.0, False, False, "largest side scale of the pasted image (>= 0.1)"),
        "Qin et al. 2020",
        "Westlake-AI/openmixup augments/resizemix.py",
        f"{_M}.resizemix:build",
        lam_beta=False,
        lam_area=True,
    ),
    Method(
        "saliencymix",
        "SaliencyMix",
        _alpha(1.0),
        "Uddin et al. 2021",
        "afm-shahab-uddin/SaliencyMix + OpenCV spectral residual",
        f"{_M}.saliencymix:build",
        lam_area=True,
    ),
    Method(
        "gridmix",
        "GridMix",
        _alpha(1.0),
        "Baek et al. 2021",
        "Westlake-AI/openmixup augments/gridmix.py",
        f"{_M}.gridmix:build",
        lam_area=True,
    ),
    Method(
        "smoothmix",
        "SmoothMix",
        Param("scale", "s", "s", 0.5, 0.0, 1.0, True, False, "sigma ~ U(s/2, s) x image side"),
        "Lee et al. 2020",
        "Westlake-AI/openmixup augments/smoothmix.py",
        f"{_M}.smoothmix:build",
        lam_beta=False,
    ),
    Method(
        "regmixup",
        "RegMixup",
        _alpha(20.0, "Beta(alpha, alpha) of the MixUp term (large)"),
        "Pinto et al. 2022",
        "FrancescoPinto/RegMixup models/regmixup.py",
        f"{_M}.regmixup:build",
    ),
)
METHODS: dict[str, Method] = {m.name: m for m in BUILTIN}


# --- plugins ------------------------------------------------------------------------------

_NAME_RE = re.compile(r"[a-z][a-z0-9_]*")  # no '-': run ids are split at it


def plugin_methods(paths: Iterable[str] | None = None) -> tuple[dict[str, Method], dict[str, str]]:
    """The Methods installed under ENTRY_POINT_GROUP (on sys.path, or on `paths`), by name, and one line per
    entry point that gives none, by its name. Whatever a plugin does wrong (its import fails or raises, it gives
    something other than a Method, its name or parameter is unusable) is caught here and named, so that one
    broken plugin costs its own arm and nothing else."""
    found: dict[str, Method] = {}
    errors: dict[str, str] = {}
    dists = metadata.distributions() if paths is None else metadata.distributions(path=list(paths))
    for dist in dists:
        for ep in dist.entry_points.select(group=ENTRY_POINT_GROUP):
            source = f"{dist.metadata['Name']} {dist.version}"
            where = f"plugin {ep.name} ({ep.value}, from {source})"
            if ep.name in found or ep.name in errors:
                errors[ep.name] = f"{where}: another installed plugin is named {ep.name} too; uninstall one"
                found.pop(ep.name, None)
                continue
            try:
                method = _load(ep)
            except Exception as e:  # noqa: BLE001 - third-party code: any failure is named and kept out
                errors[ep.name] = f"{where} does not load: {type(e).__name__}: {' '.join(str(e).split())}"
                continue
            problem = _plugin_problem(ep.name, method)
            if problem:
                errors[ep.name] = f"{where}: {problem}"
            else:
                found[ep.name] = dataclasses.replace(method, source=source)
    return found, errors


def _load(ep) -> object:
    """The Method an entry point gives: the object it names, or what that object returns when called."""
    obj = ep.load()
    return obj() if callable(obj) and not isinstance(obj, Method) else obj


def _plugin_problem(name: str, method: object) -> str | None:
    """Why a plugin's Method cannot be registered, as a phrase, or None."""
    if not isinstance(method, Method):
        return f"gives a {type(method).__name__}, not a mixup_bench.methods.Method"
    if method.name != name:
        return f"its Method is named {method.name!r}; the entry point must carry the method's name"
    if not _NAME_RE.fullmatch(name) or name in {m.name for m in BUILTIN}:
        return "its name must be lower-case letters, digits and _ (no -), and not a built-in method's"
    if not isinstance(method.param, Param) or not re.fullmatch(r"[a-z]", method.param.letter):
        return "its param must be a mixup_bench.methods.Param whose letter is one lower-case letter"
    if (problem := method.param.problem(method.param.default)) is not None:
        return f"its default is out of its own range: {problem}"
    if not (callable(method.factory) or (isinstance(method.factory, str) and ":" in method.factory)):
        return "its factory must be 'module:function' or a function"
    return None


PLUGINS, PLUGIN_ERRORS = plugin_methods()
METHODS.update(PLUGINS)


def lam_shape(name: str) -> tuple[bool, bool]:
    """(lam_beta, lam_area) of method `name` for the lam figures; (True, False), MixUp's, for a name not
    registered here (an arm of a plugin that is not installed)."""
    method = METHODS.get(name)
    return (True, False) if method is None else (method.lam_beta, method.lam_area)


def closest(name: str) -> str:
    """' (did you mean X?)' for the registered name closest to `name`, or ''."""
    match = difflib.get_close_matches(name, list(METHODS), n=1)
    return f" (did you mean {match[0]}?)" if match else ""


def parse_arm_spec(text: str) -> tuple[str, float]:
    """'fmix:0.2' -> ('fmix', 0.2); 'fmix' -> its default. Raises ValueError with a one-line message (which
    the caller prefixes with the spec: it names neither)."""
    name, _, value = text.strip().partition(":")
    if name in PLUGIN_ERRORS:
        raise ValueError(PLUGIN_ERRORS[name])
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}{closest(name)}; one of {', '.join(METHODS)}")
    param = METHODS[name].param
    try:
        number = float(value) if value else param.default
    except ValueError:
        raise ValueError(f"{param.name} must be a number, got {value!r}") from None
    problem = param.problem(number)
    if problem:
        raise ValueError(problem)
    return name, number + 0.0


def arm_spec(name: str, value: float) -> str:
    """The one spelling of an arm as `--arm` and TOML's `arms` take it: 'fmix:0.2', 'mixup:1'; the baseline,
    which has no parameter, is 'baseline'."""
    return "baseline" if name == "baseline" else f"{name}:{exact(value)}"


def build_factory(name: str) -> Callable:
    """The mixer factory of method `name`, imported now."""
    factory = METHODS[name].factory
    if callable(factory):
        return factory
    module, _, attr = factory.partition(":")
    return getattr(importlib.import_module(module), attr)


def method_lines() -> list[str]:
    """`mixup-bench methods`: each method with its `--arm` spec, parameter, paper and reference, as text."""
    lines = []
    for m in METHODS.values():
        p = m.param
        if m.name == "baseline":
            lines += [f"{m.name}: no mixing (always run unless --no-baseline)", ""]
            continue
        lines += [
            f"{m.name} ({m.label}): --arm {m.name}:{exact(p.default)}, run ids {m.name}-{p.letter}"
            f"{exact(p.default)}-s<seed>",
            f"  {p.name} = {exact(p.default)} by default, in {p.range_text()}: {p.meaning}",
            f"  paper: {m.paper}",
            f"  checked against: {m.reference}",
            *([f"  plugin: {m.source}"] if m.source != "built-in" else []),
            "",
        ]
    return lines[:-1]
