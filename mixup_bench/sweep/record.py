"""experiment.json: what an experiment was run with (config, versions, device, code, data), merged across calls."""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import torch

from mixup_bench.catalog import FOLDER
from mixup_bench.config import ExperimentConfig, arm_specs_of, canonical, training_changes
from mixup_bench.errors import UserError
from mixup_bench.provenance import code_identity
from mixup_bench.results.atomic import atomic_write_json
from mixup_bench.results.layout import EXPERIMENT_FILE
from mixup_bench.results.records import read_experiment
from mixup_bench.streams import shown
from mixup_bench.sweep.locks import experiment_lock
from mixup_bench.train.data import Cifar10
from mixup_bench.train.device import cpu_isa, cpu_model, resolve_device, resolve_precision


def environment(exp: ExperimentConfig) -> dict:
    """Versions, hardware and code (provenance.code_identity; git_sha, its commit, kept for older readers),
    stored next to the results they produced."""
    import torchvision

    from mixup_bench import __version__

    device = resolve_device(exp.device)
    amp = resolve_precision(exp.training.precision, device)
    code = code_identity()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model()
    return {
        "versions": {
            "mixup_bench": __version__,
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
        },
        "device": {
            "requested": exp.device,
            "resolved": str(device),
            "name": name,
            "precision": "bf16" if amp else "fp32",
            # bf16 numbers differ between CPU models of one ISA class (oneDNN picks other kernels): name both,
            # the class as `bench` and the docs name it (AVX2, AVX512, AVX512-BF16, AMX)
            "cpu_isa": cpu_isa(),
        },
        "threads": torch.get_num_threads(),
        "git_sha": code["git_sha"],
        "code": code,
    }


def check_compatible(exp: ExperimentConfig) -> dict | None:
    """Refuse to mix a changed config into an existing experiment folder. Returns the old record."""
    old = read_experiment(exp.path)
    if old is None:
        return None
    old_config = old.get("config", {})
    old_training = old_config.get("training", {}) if isinstance(old_config, dict) else None
    if not isinstance(old_training, dict):
        raise UserError(
            f"{exp.path / EXPERIMENT_FILE} holds no config.training object; "
            "restore it, or delete it to start the record anew."
        )
    changes = training_changes(old_training, exp.training)
    if changes:
        raise UserError(
            f"{exp.path} was run with other settings ({'; '.join(changes)}); "
            "use another --name, or delete that folder to start over."
        )
    _check_same_folder(exp, old)
    return old


def _check_same_folder(exp: ExperimentConfig, old: dict) -> None:
    """An image folder is the data set itself (`--dataset folder`): another folder is another data set, so
    it is part of the experiment's identity. The one experiment.json recorded (its data.root, resolved when
    it was read) must be the one asked for now. The built-in data sets are the same data from any
    --data-dir, and a record without a root (written before the data was read) has nothing to compare."""
    data = old.get("data")
    was = data.get("root") if isinstance(data, dict) else None
    if exp.training.dataset != FOLDER or not isinstance(was, str) or not was:
        return
    now = shown(str(Path(exp.data_dir).resolve()))
    if now != was:
        raise UserError(
            f"{exp.path} was run on the image folder {was}, not {now}; "
            "use another --name, or delete that folder to start over."
        )


def write_experiment_record(exp: ExperimentConfig, data: Cifar10) -> None:
    """experiment.json: the resolved config (arms and seeds merged with earlier calls), versions, data.

    The read-merge-write runs under the experiment's lock, so two `run` commands started
    together on one experiment (say with different seeds) both end up in the record.
    """
    with experiment_lock(exp.path):
        old = check_compatible(exp)  # re-read under the lock: another process may have written it meanwhile
        _write_experiment_record(exp, data, old)


def _write_experiment_record(exp: ExperimentConfig, data: Cifar10, old: dict | None) -> None:
    cfg = dataclasses.asdict(exp)
    old_cfg = (old or {}).get("config", {})  # an object: check_compatible made sure
    # arms added by later calls are merged in, after the earlier ones; an older record's per-method lists
    # (alphas, cutmix, ...) become arm specs
    cfg["arms"] = list(dict.fromkeys(arm_specs_of(old_cfg) + exp.arms))
    cfg["seeds"] = sorted(set(_numbers(old_cfg.get("seeds"), int)) | set(exp.seeds))
    record = {
        "name": exp.name,
        "config": cfg,
        "data": data.describe(),
        "created": (old or {}).get("created", time.strftime("%Y-%m-%dT%H:%M:%S%z")),
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **environment(exp),
        # the design of `run --until-decided` (sweep/until_decided.py), kept across calls
        **({"sequential": old["sequential"]} if isinstance((old or {}).get("sequential"), dict) else {}),
    }
    atomic_write_json(exp.path / EXPERIMENT_FILE, record)


def _numbers(values, kind: type = float) -> list:
    """The numbers of a JSON list read back (a hand-edited record may hold anything else), canonical (an
    older record's -0.0 merges with 0.0 rather than standing for it)."""
    if not isinstance(values, list):
        return []
    return [
        canonical(v) for v in values if isinstance(v, kind if kind is int else (int, float)) and not isinstance(v, bool)
    ]
