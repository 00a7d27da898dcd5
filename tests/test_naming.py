"""naming: run ids and arm names, the same everywhere."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mixup_bench import naming


@pytest.mark.parametrize(
    ("alpha", "seed", "run_id"), [(0, 0, "baseline-a0-s0"), (0.4, 1, "mixup-a0.4-s1"), (1.0, 12, "mixup-a1-s12")]
)
def test_run_ids_round_trip(alpha, seed, run_id):
    assert naming.run_id_for(alpha, seed) == run_id
    assert naming.parse_run_id(run_id) == (naming.method_for(alpha), float(alpha), seed)


@pytest.mark.parametrize("name", ["mixup-a0.4", "foo-a0.4-s1", "mixup-ax-s1", "mixup-a1..2-s0", "baseline-a0-s0-old"])
def test_other_names_are_not_run_ids(name):
    assert naming.parse_run_id(name) is None


def test_arm_names():
    assert naming.arm_label("baseline", 0.0) == "baseline"
    assert naming.arm_label("mixup", 0.4) == "MixUp alpha=0.4"
    assert naming.arm_label("mixup", 1.0, greek=True) == "MixUp α=1"
    assert naming.plural(1, "seed") == "1 seed" and naming.plural(3, "seed") == "3 seeds"


def test_format_alpha_is_the_shortest_exact_text():
    assert [naming.format_alpha(a) for a in (0, 0.4, 1.0, 0.0001, 2.5)] == ["0", "0.4", "1", "0.0001", "2.5"]


@pytest.mark.parametrize("method", list(naming.METHOD_NAMES))
def test_every_method_names_its_runs_the_same_way_in_config(method):
    """A run folder that `run` writes is one that `status`, `plot` and `compare` parse back to its arm."""
    from mixup_bench.config import RunConfig

    param = 0.0 if method == naming.BASELINE else 0.25
    run_id = RunConfig("exp", param, 7, method=method).run_id
    assert naming.parse_run_id(run_id) == (method, param, 7)
    assert naming.parse_arm(run_id.rsplit("-s", 1)[0]) == (method, param)


def test_naming_and_config_import_neither_pandas_nor_torch():
    code = "import sys, mixup_bench.naming, mixup_bench.config; print('pandas' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False False", out.stderr


@pytest.mark.parametrize(
    ("text", "arm"),
    [("baseline", ("baseline", 0.0)), ("baseline-a0", ("baseline", 0.0)), ("mixup-a0.2", ("mixup", 0.2)),
     ("cutmix-a1", ("cutmix", 1.0)), ("smooth-e0.1", ("smooth", 0.1)), ("manifold-a2", ("manifold", 2.0)),
     ("smooth-a0.1", None), ("mixup-a0.2-s0", None), ("mixup", None), ("mixup-ainf", None), ("", None)],
)  # fmt: skip
def test_arm_ids_round_trip(text, arm):
    assert naming.parse_arm(text) == arm
    if arm is not None and text != "baseline":
        assert naming.arm_id(*arm) == text


def test_mixup_only_counts_the_baseline_in_and_every_neighbour_out():
    """One rule for the report (arms of an experiment) and compare (compared arms, the baseline left out)."""
    assert naming.mixup_only(["baseline", "mixup"]) and naming.mixup_only(["mixup"]) and naming.mixup_only([])
    assert not naming.mixup_only(["baseline", "mixup", "smooth"]) and not naming.mixup_only(["cutmix"])
