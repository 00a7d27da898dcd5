"""The registry of methods (mixup_bench/methods.py): committed run ids unchanged, arm specs parsed and
checked with one-line messages, and every method's factory importable and building its mixer."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mixup_bench import methods, naming


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
    code = "import sys, mixup_bench.methods, mixup_bench.naming; print('torch' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )


@pytest.mark.parametrize("name", list(methods.METHODS))
def test_every_factory_builds_a_mixer(name):
    import torch

    from mixup_bench.train.models import build_model
    from mixup_bench.train.neighbours import build_mixer

    param = methods.METHODS[name].param.default
    mixer = build_mixer(name, param, torch.Generator().manual_seed(0), build_model("small-cnn"))
    batch = mixer(torch.randn(4, 3, 32, 32), torch.randint(0, 10, (4,)))
    assert batch.x.shape[1:] == (3, 32, 32)
