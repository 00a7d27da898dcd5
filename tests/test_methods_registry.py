"""The registry of methods (mixup_bench/methods.py): committed run ids unchanged, arm specs parsed and
checked with one-line messages, every method's factory importable and building its mixer, and the built-ins
found as one module each: each record read from its file without importing it equals the module's own, a
new file (the docs' CornerMix) is a new method, and a record that cannot be read is one line naming its file."""

from __future__ import annotations

import dataclasses
import importlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mixup_bench import methods, naming

DOCS = Path(__file__).resolve().parents[1] / "docs" / "methods.md"
# The order of the committed figures' colours and tables: it must not change.
BUILTIN_ORDER = ["baseline", "mixup", "cutmix", "smooth", "manifold", "fmix", "resizemix", "saliencymix",
                 "gridmix", "smoothmix", "regmixup"]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "param", "run_id"),
    [
        ("baseline", 0, "baseline-a0-s0"),
        ("mixup", 0.4, "mixup-a0.4-s0"),
        ("cutmix", 1, "cutmix-a1-s0"),
        ("smooth", 0.1, "smooth-e0.1-s0"),
        ("manifold", 2, "manifold-a2-s0"),
        ("smoothmix", 0.5, "smoothmix-s0.5-s0"),
        ("fmix", 0.2, "fmix-a0.2-s0"),
    ],
)
def test_run_ids_round_trip_and_the_committed_ones_stay(method, param, run_id):
    assert naming.run_id_for(param, 0, method) == run_id
    assert naming.parse_run_id(run_id) == (method, float(param), 0)


def test_arm_specs_parse_with_defaults_and_reject_bad_input_in_one_line():
    assert methods.parse_arm_spec("fmix:0.2") == ("fmix", 0.2)
    assert methods.parse_arm_spec("resizemix") == ("resizemix", 0.8)
    for spec, words in [
        ("fmixx:1", "did you mean fmix?"),
        ("smooth:1.5", "eps must be in (0, 0.99]"),
        ("resizemix:0.05", "scale must be in [0.1, 1]"),
        ("mixup:abc", "must be a number"),
    ]:
        with pytest.raises(ValueError, match=None) as err:
            methods.parse_arm_spec(spec)
        assert words in str(err.value) and "\n" not in str(err.value)


def test_the_registry_is_torch_free():
    """It reads the method modules without importing them (nor torch, ~3 s at every start)."""
    code = (
        "import sys, mixup_bench.methods, mixup_bench.naming; "
        "print('torch' in sys.modules, any(m.startswith('mixup_bench.train') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_the_built_ins_keep_their_order():
    assert [m.name for m in methods.BUILTIN] == BUILTIN_ORDER
    assert [m.position for m in methods.BUILTIN] == list(range(len(BUILTIN_ORDER)))
    assert list(naming.METHOD_NAMES)[: len(BUILTIN_ORDER)] == BUILTIN_ORDER


@pytest.mark.parametrize("name", BUILTIN_ORDER)
def test_the_record_read_from_the_file_is_the_modules_own(name):
    """What the registry reads with `ast` is what importing the module builds, its factory that module's build."""
    module = importlib.import_module(f"mixup_bench.train.methods.{name}")
    assert module.METHOD.factory is None  # a built-in leaves it out
    expected = dataclasses.replace(module.METHOD, factory=f"mixup_bench.train.methods.{name}:build")
    assert methods.read_record(methods.BUILTIN_DIR / f"{name}.py") == expected == methods.METHODS[name]
    assert methods.build_factory(name) is module.build


def _docs_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.S)
    return next(b for b in blocks if b.startswith("# mixup_bench/train/methods/cornermix.py"))


@pytest.fixture
def methods_copy(tmp_path, monkeypatch) -> Path:
    """A copy of the built-in methods' folder as an importable package `copied_methods`."""
    folder = tmp_path / "copied_methods"
    shutil.copytree(methods.BUILTIN_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.syspath_prepend(str(tmp_path))
    return folder


def test_a_new_method_is_one_file(methods_copy):
    """The docs' worked example, written into the folder, is listed after the others by its position (not by
    its file's name, which sorts before cutmix), and its factory builds a mixer of the right shapes."""
    import torch

    (methods_copy / "cornermix.py").write_text(_docs_example())
    found = methods.builtin_methods(methods_copy, "copied_methods")
    assert [m.name for m in found] == [*BUILTIN_ORDER, "cornermix"]
    corner = found[-1]
    assert corner.label == "CornerMix" and corner.param.default == 0.5 and corner.position == 11
    assert corner.factory == "copied_methods.cornermix:build"
    module, _, attr = corner.factory.partition(":")
    mixer = getattr(importlib.import_module(module), attr)(1.0, torch.Generator().manual_seed(0), None, "batch")
    x, y = torch.randn(4, 3, 8, 8), torch.arange(4)
    batch = mixer(x, y)
    assert batch.x.shape == x.shape and batch.lam == 0.75 and torch.equal(batch.x[..., 4:, :], x[..., 4:, :])
    assert mixer.loss(torch.randn(4, 10), batch).shape == ()


EXAMPLE_RECORD = (
    'METHOD = Method(\n    "cornermix", "CornerMix", Param("p", "p", "p", 0.5, 0.0, 1.0, False, False, "chance"),\n'
    '    paper="-", reference="-", {extra}\n)\n'
)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("import torch\n\ndef build(param, generator, model, lam_mode):\n    return None\n",
         "no top-level `METHOD = Method(...)` record"),
        ("METHOD = make_method()\n", "no top-level `METHOD = Method(...)` record"),
        ("P = 0.5\n" + EXAMPLE_RECORD.format(extra="position=P,"), ":4: METHOD must be built from literals"),
        (EXAMPLE_RECORD.format(extra="position=int('11'),"), "not `int('11')`"),
        (EXAMPLE_RECORD.format(extra="position=math.__doc__,"), "not `math.__doc__`"),
        (EXAMPLE_RECORD.format(extra=""), "give an integer position (got None)"),
        (EXAMPLE_RECORD.format(extra="position=3,"), "cornermix.py and smooth.py both give position 3"),
        (EXAMPLE_RECORD.format(extra="position=11, colour=1,"), "does not build: TypeError"),
        (EXAMPLE_RECORD.replace('"cornermix",', '"corner",').format(extra="position=11,"),
         "must be named as its file ('cornermix', got 'corner')"),
        (EXAMPLE_RECORD.replace("0.5, 0.0", "5.0, 0.0").format(extra="position=11,"),
         "its default is out of its own range"),
        ("METHOD = Method(\n", "was never closed"),
    ],
)  # fmt: skip
def test_a_record_that_cannot_be_read_is_one_line_naming_its_file(methods_copy, text, words):
    (methods_copy / "cornermix.py").write_text(text)
    with pytest.raises(methods.MethodFileError) as err:
        methods.builtin_methods(methods_copy, "copied_methods")
    message = str(err.value)
    assert "cornermix.py" in message and words in message and "\n" not in message, message


def test_helper_modules_and_the_package_are_not_methods(methods_copy):
    (methods_copy / "_shared.py").write_text("import torch\n")  # a helper: no record, not a method
    assert [m.name for m in methods.builtin_methods(methods_copy, "copied_methods")] == BUILTIN_ORDER


@pytest.mark.parametrize("name", list(methods.METHODS))
def test_every_factory_builds_a_mixer(name):
    import torch

    from mixup_bench.train.methods import build_mixer
    from mixup_bench.train.models import build_model

    param = methods.METHODS[name].param.default
    mixer = build_mixer(name, param, torch.Generator().manual_seed(0), build_model("small-cnn"))
    batch = mixer(torch.randn(4, 3, 32, 32), torch.randint(0, 10, (4,)))
    assert batch.x.shape[1:] == (3, 32, 32)
