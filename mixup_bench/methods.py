"""The registry of mixing methods: each method's name, parameter (name, run-id letter, default, valid
range, meaning), paper, the reference it was checked against, and where its mixer factory lives.

A built-in method is one module, `mixup_bench/train/methods/<name>.py`: its record `METHOD = Method(...)`
at the top, its mixer and `build(param, generator, model, lam_mode) -> Mixer`, its factory unless the
record names another. The registry finds them without importing them (`builtin_methods`): it lists the
folder and reads each file's record with `ast`, so that adding a method touches no table here.

Torch-free on purpose: `naming` and `config` read it on the `run` path before torch is imported (importing
the method modules would import torch: ~3 s at every start); the factory ("module:function", called as
factory(param, generator, model, lam_mode) -> Mixer) is imported only when a run builds its mixer
(`build_factory`). Third-party methods register a `Method` (or a callable returning one) under the
entry-point group `mixup_bench.methods`, named as the method (see docs/methods.md); `plugin_methods` loads
them when this module is imported, so that every table derived from METHODS (run ids, labels, the lam
methods) holds them. A plugin that does not load is kept out, its one-line reason in PLUGIN_ERRORS: `--arm`
with its name and `mixup-bench methods` say it and exit 2. What needs torch (that its mixer gives the right
shapes and draws only from its generator) is checked before a run trains (`train.plugin_check`).
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import importlib
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

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

    name: str  # as in run ids and metrics.csv's `method` column; a built-in's file is <name>.py
    label: str  # display name
    param: Param
    paper: str
    reference: str  # the implementation its tests compare it with
    # "module:function" (or the function) -> (param, generator, model, lam_mode) -> Mixer. A built-in
    # leaves it out: the registry makes it its own module's `build`. A plugin must give it.
    factory: str | Callable | None = None
    draws_lam: bool = True  # logs lam.csv (False: the baseline, label smoothing)
    lam_beta: bool = True  # lam is drawn from Beta(param, param): `plot` draws that density beside lam.csv
    lam_area: bool = False  # lam.csv holds the area share kept of the first image (after clipping), not the draw
    source: str = "built-in"  # or the distribution a plugin came from ("my-mix 0.1")
    # A built-in's place among the built-ins: the order of arms, tables, figure colours and legends
    # (committed figures depend on it). Plugins leave it out and come after, in the order they load.
    position: int | None = None


MAX_ALPHA = 1000.0  # far above any useful concentration; Beta draws stay sane below it


def alpha_param(default: float, meaning: str = "Beta(alpha, alpha) concentration of lam") -> Param:
    """The parameter most methods share: alpha in (0, MAX_ALPHA], letter `a` in run ids."""
    return Param("alpha", "a", "α", default, 0.0, MAX_ALPHA, meaning=meaning)


# --- built-ins: one module each, read without importing it -------------------------------------

_NAME_RE = re.compile(r"[a-z][a-z0-9_]*")  # no '-': run ids are split at it
BUILTIN_DIR = Path(__file__).parent / "train" / "methods"
BUILTIN_PACKAGE = "mixup_bench.train.methods"
# What a built-in's record may use besides literals: the names its module imports from here.
RECORD_NAMES = {"Method": Method, "Param": Param, "alpha_param": alpha_param, "MAX_ALPHA": MAX_ALPHA, "math": math}
_RECORD_NODES = (ast.Call, ast.keyword, ast.Name, ast.Load, ast.Constant, ast.Attribute, ast.Tuple, ast.List,
                 ast.UnaryOp, ast.USub, ast.UAdd, ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div)  # fmt: skip


class MethodFileError(Exception):
    """A built-in method's module whose `METHOD` record cannot be read: a developer's mistake, one line
    naming the file (and the line), raised when this module is imported."""


def builtin_methods(folder: Path = BUILTIN_DIR, package: str = BUILTIN_PACKAGE) -> tuple[Method, ...]:
    """The records of every `<name>.py` in `folder` (a module named `_*` is a helper, not a method),
    ordered by `position`; a record without a factory gets `<package>.<name>:build`. Nothing is imported:
    each file's `METHOD = Method(...)` is parsed with `ast` and evaluated alone (`read_record`)."""
    found = [read_record(path, package) for path in sorted(folder.glob("*.py")) if not path.name.startswith("_")]
    taken: dict[int, str] = {}
    for method in found:
        if method.position in taken:
            raise MethodFileError(
                f"{folder}: {taken[method.position]}.py and {method.name}.py both give position {method.position}; "
                "each built-in method needs its own"
            )
        taken[method.position] = method.name
    return tuple(sorted(found, key=lambda m: m.position))


def read_record(path: Path, package: str = BUILTIN_PACKAGE) -> Method:
    """The Method that `path`'s top-level `METHOD = Method(...)` builds, evaluated with RECORD_NAMES only.
    Raises MethodFileError if there is none, or it uses anything else (a variable, a call of its own), or
    its name is not the file's, or it has no integer position."""
    text = path.read_text(encoding="utf-8")
    try:
        call = _record_call(ast.parse(text, str(path)))
    except SyntaxError as e:
        raise MethodFileError(f"{path}:{e.lineno}: {e.msg}") from None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "Method"):
        raise MethodFileError(
            f"{path}: no top-level `METHOD = Method(...)` record; every module of {path.parent.name}/ not named "
            "_* is one method, with its record at the top (docs/methods.md)"
        )
    bad = next((node for node in ast.walk(call) if not _is_literal_part(node)), None)
    if bad is not None:
        raise MethodFileError(
            f"{path}:{bad.lineno}: METHOD must be built from literals and {', '.join(RECORD_NAMES)} only "
            f"(the registry reads it without importing the module), not `{ast.unparse(bad)}`"
        )
    try:
        method = eval(compile(ast.Expression(call), str(path), "eval"), {"__builtins__": {}}, dict(RECORD_NAMES))
    except Exception as e:  # noqa: BLE001 - a wrong argument: named with its file
        raise MethodFileError(f"{path}:{call.lineno}: METHOD does not build: {type(e).__name__}: {e}") from None
    if method.name != path.stem or not isinstance(method.position, int):
        raise MethodFileError(
            f"{path}:{call.lineno}: METHOD must be named as its file ({path.stem!r}, got {method.name!r}) "
            f"and give an integer position (got {method.position!r})"
        )
    if (problem := _record_problem(method)) is not None:
        raise MethodFileError(f"{path}:{call.lineno}: METHOD: {problem}")
    return method if method.factory else dataclasses.replace(method, factory=f"{package}.{path.stem}:build")


def _record_call(tree: ast.Module) -> ast.expr | None:
    """The value of the first top-level `METHOD = ...` of a parsed module, or None."""
    return next((node.value for node in tree.body if _assigns_method(node)), None)


def _assigns_method(node: ast.stmt) -> bool:
    """Whether a top-level statement is `METHOD = ...` (or `METHOD: Method = ...`)."""
    if isinstance(node, ast.Assign):
        return len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "METHOD"
    return isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "METHOD"


def _is_literal_part(node: ast.AST) -> bool:
    """Whether a node of a record may stay: a literal, an operator, a RECORD_NAMES name or call, math.X."""
    if isinstance(node, ast.Name):
        return node.id in RECORD_NAMES
    if isinstance(node, ast.Attribute):
        return isinstance(node.value, ast.Name) and node.value.id == "math" and not node.attr.startswith("_")
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Name) and node.func.id in RECORD_NAMES
    return isinstance(node, _RECORD_NODES)


def _record_problem(method: Method) -> str | None:
    """Why a Method (a built-in's or a plugin's) cannot name runs, as a phrase, or None."""
    if not _NAME_RE.fullmatch(method.name):
        return "its name must be lower-case letters, digits and _ (no -)"
    if not isinstance(method.param, Param) or not re.fullmatch(r"[a-z]", method.param.letter):
        return "its param must be a mixup_bench.methods.Param whose letter is one lower-case letter"
    if (problem := method.param.problem(method.param.default)) is not None:
        return f"its default is out of its own range: {problem}"
    return None


BUILTIN: tuple[Method, ...] = builtin_methods()
METHODS: dict[str, Method] = {m.name: m for m in BUILTIN}


# --- plugins ------------------------------------------------------------------------------


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
            try:  # its own values are checked too: a Param of the wrong types raises in the comparisons
                problem = _plugin_problem(ep.name, method)
            except Exception as e:  # noqa: BLE001 - as above: named and kept out
                problem = f"its Method is malformed: {type(e).__name__}: {' '.join(str(e).split())}"
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
    if name in {m.name for m in BUILTIN}:
        return f"{name} is a built-in method's name"
    if (problem := _record_problem(method)) is not None:
        return problem
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
    if name in PLUGIN_ERRORS and name not in METHODS:  # a plugin named as a built-in leaves the built-in alone
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
