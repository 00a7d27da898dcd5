"""Third-party methods through the `mixup_bench.methods` entry point: the worked example of docs/methods.md,
installed as a distribution (a .dist-info with METADATA and entry_points.txt beside its package), trains with
`--arm cornermix:0.5` in a fresh process; a plugin that fails to import, raises, gives the wrong shapes or draws
from a global random state is one line naming it and exit 2."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mixup_bench import methods
from mixup_bench.errors import UserError
from tests.images import write_image_folder

REPO = Path(__file__).resolve().parents[1]
DOCS = (REPO / "docs" / "methods.md").read_text()
GOOD_METHOD = """from mixup_bench.methods import Method, Param

PARAM = Param("k", "k", "k", 1.0, 0.0, 10.0, meaning="strength")
METHOD = Method("{name}", "{label}", PARAM, "-", "-", "{module}:build")
"""


def docs_block(first_line: str) -> str:
    """The ```python block of docs/methods.md that starts with `first_line`."""
    blocks = re.findall(r"```python\n(.*?)```", DOCS, flags=re.S)
    return next(b for b in blocks if b.startswith(first_line))


def install(root: Path, dist: str, entry_points: str, files: dict[str, str]) -> Path:
    """A distribution as pip leaves it: its modules and <dist>-0.1.dist-info/{METADATA,entry_points.txt}."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    info = root / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{methods.ENTRY_POINT_GROUP}]\n{entry_points}\n")
    return root


def mixer_module(body: str) -> str:
    """A plugin module whose mixer's __call__ is `body` (x, y, self.generator in scope)."""
    return (
        "import torch\nfrom mixup_bench.train.mixup import MixedBatch, PairMixer, paired, sample_permutation\n\n"
        "class M(PairMixer):\n    def __init__(self, p, g):\n        self.p, self.generator = p, g\n\n"
        f"    def __call__(self, x, y):\n        {body}\n\n\n"
        "def build(param, generator, model, lam_mode):\n    return M(param, generator)\n"
    )


@pytest.fixture
def plugins(tmp_path, monkeypatch) -> Path:
    """One folder of plugin distributions, on sys.path: the docs' CornerMix and broken ones."""
    root = tmp_path / "site"
    install(root, "cornermix", "cornermix = cornermix:METHOD", {
        "cornermix/__init__.py": docs_block("# cornermix/__init__.py"),
        "cornermix/mixer.py": docs_block("# mixup_bench/train/methods/cornermix.py"),  # the built-in's one file
    })  # fmt: skip
    bodies = {
        "globalrng": "perm = torch.randperm(x.shape[0]); return paired(x, y, float(torch.rand(())), perm)",
        "shrinks": "return paired(x[..., :16, :16], y, 1.0, sample_permutation(x.shape[0], self.generator))",
        "raises": "raise RuntimeError('boom')",
    }  # fmt: skip
    for name, body in bodies.items():
        install(root, name, f"{name} = {name}_plugin:METHOD", {
            f"{name}_plugin.py": GOOD_METHOD.format(name=name, label=name.title(), module=f"{name}_mixer"),
            f"{name}_mixer.py": mixer_module(body),
        })  # fmt: skip
    install(root, "noimport", "noimport = noimport_plugin:METHOD", {"noimport_plugin.py": "import not_a_module\n"})
    install(root, "notamethod", "notamethod = notamethod_plugin:METHOD", {"notamethod_plugin.py": "METHOD = 3\n"})
    install(root, "misnamed", "misnamed = misnamed_plugin:make", {
        "misnamed_plugin.py": GOOD_METHOD.format(name="other", label="Other", module="x") + "make = lambda: METHOD\n"
    })  # fmt: skip
    monkeypatch.syspath_prepend(str(root))
    return root


def test_plugins_load_by_entry_point_and_broken_ones_are_named_in_one_line(plugins):
    found, errors = methods.plugin_methods([str(plugins)])
    assert set(found) == {"cornermix", "globalrng", "shrinks", "raises"}
    corner = found["cornermix"]
    assert corner.source == "cornermix 0.1" and corner.param.default == 0.5 and corner.label == "CornerMix"
    assert set(errors) == {"noimport", "notamethod", "misnamed"}
    assert "plugin noimport (noimport_plugin:METHOD, from noimport 0.1) does not load: ModuleNotFoundError" in (
        errors["noimport"]
    )  # fmt: skip
    assert "gives a int, not a mixup_bench.methods.Method" in errors["notamethod"]
    assert "its Method is named 'other'" in errors["misnamed"]
    assert all("\n" not in line for line in errors.values())


def test_the_probe_passes_the_example_and_refuses_what_would_break_the_pairing(plugins):
    from mixup_bench.train.plugin_check import probe_mixer

    found, _ = methods.plugin_methods([str(plugins)])
    for name, words in [
        ("globalrng", "plugin globalrng (globalrng 0.1) draws from a global random state"),
        ("shrinks", "plugin shrinks (shrinks 0.1): its batch's x has shape (8, 3, 16, 16) for images of shape"),
        ("raises", "plugin raises (raises 0.1): its mixer raised RuntimeError: boom"),
    ]:
        with pytest.raises(UserError) as err:
            _registered(found[name], lambda m: probe_mixer(m, 1.0))
        assert words in str(err.value) and "\n" not in str(err.value), str(err.value)
    _registered(found["cornermix"], lambda m: probe_mixer(m, 0.5))  # passes: draws only from its generator


def _registered(method, then):
    """Call `then(method)` with `method` in the registry (build_factory looks it up by name)."""
    methods.METHODS[method.name] = method
    try:
        return then(method)
    finally:
        del methods.METHODS[method.name]


def _cli(site: Path, *args: str) -> subprocess.CompletedProcess:
    """`mixup-bench ARGS` in a fresh process that sees the plugin distributions in `site`, as after pip install."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)]), "OMP_NUM_THREADS": "1",
           "COLUMNS": "250"}  # fmt: skip
    return subprocess.run([sys.executable, "-m", "mixup_bench", *args], capture_output=True, text=True, env=env)


def test_an_installed_plugin_trains_with_arm_and_is_listed(plugins, tmp_path):
    data = write_image_folder(tmp_path / "tiny")
    out = tmp_path / "r"
    args = ["run", "--data-dir", str(data), "--out", str(out), "--subset", "0", "--val-size", "8", "--epochs",
            "1", "--batch-size", "16", "--jobs", "1", "--seed", "0", "--device", "cpu", "--precision", "fp32",
            "-q"]  # fmt: skip
    res = _cli(plugins, *args, "--alpha", "0.4", "--arm", "cornermix:0.5")
    assert res.returncode == 0, res.stderr
    runs = sorted(p.name for p in (out / "default" / "runs").iterdir())
    assert runs == ["baseline-a0-s0", "cornermix-p0.5-s0", "mixup-a0.4-s0"]
    assert (out / "default" / "runs" / "cornermix-p0.5-s0" / "DONE").exists()

    for name, words in [
        ("globalrng", "error: plugin globalrng (globalrng 0.1) draws from a global random state"),
        ("noimport", "--arm noimport: plugin noimport (noimport_plugin:METHOD, from noimport 0.1) does not load"),
    ]:
        res = _cli(plugins, *args, "--name", name, "--arm", name)
        assert res.returncode == 2 and words in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr
        assert not (out / name).exists()

    listed = _cli(plugins, "methods")
    assert "cornermix (CornerMix): --arm cornermix:0.5, run ids cornermix-p0.5-s<seed>" in listed.stdout
    assert "  plugin: cornermix 0.1" in listed.stdout
    assert listed.returncode == 2 and len(listed.stderr.strip().splitlines()) == 3  # the three broken plugins


def test_a_malformed_plugin_or_one_named_as_a_built_in_costs_only_itself(tmp_path, monkeypatch):
    root = tmp_path / "site"
    install(root, "badparam", "badparam = badparam_plugin:METHOD", {"badparam_plugin.py": (
        "from mixup_bench.methods import Method, Param\n"
        "METHOD = Method('badparam', 'Bad', Param('p', 'p', 'p', None, 0.0, 1.0), '-', '-', 'x:build')\n"
    )})  # fmt: skip
    install(root, "fakemix", "mixup = fakemix_plugin:METHOD", {
        "fakemix_plugin.py": GOOD_METHOD.format(name="mixup", label="Fake", module="x")
    })  # fmt: skip
    monkeypatch.syspath_prepend(str(root))
    found, errors = methods.plugin_methods([str(root)])  # no exception: a bad default type is caught and named
    assert found == {}
    assert "plugin badparam" in errors["badparam"] and "malformed: TypeError" in errors["badparam"]
    assert "built-in" in errors["mixup"]
    monkeypatch.setitem(methods.PLUGIN_ERRORS, "mixup", errors["mixup"])
    assert methods.parse_arm_spec("mixup:0.4") == ("mixup", 0.4)  # the built-in still runs
