"""The shift evaluation: its numbers, when it runs, that it changes nothing else, resume, and CIFAR-10-C files."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from mixup_bench.config import RunConfig, TrainingConfig
from mixup_bench.errors import UserError
from mixup_bench.results.layout import CORRUPTIONS_FILE
from mixup_bench.results.schema import CORRUPTION_COLUMNS, METRICS_COLUMNS, SHIFT_COLUMNS, csv_text, read_metrics
from mixup_bench.train import cifar10c
from mixup_bench.train import shift as S
from mixup_bench.train.corruptions import CORRUPTIONS, SEVERITIES
from mixup_bench.train.datasets.cifar10 import load_cifar10
from mixup_bench.train.loop import StopRequested, train_run
from mixup_bench.train.models import build_model
from mixup_bench.train.splits import Split
from mixup_bench.train.step import Normalize

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def model_and_test():
    torch.manual_seed(0)
    model = build_model("small-cnn", 10).to(memory_format=torch.channels_last).eval()
    g = torch.Generator().manual_seed(0)
    test = Split(torch.randint(0, 256, (40, 3, 32, 32), dtype=torch.uint8, generator=g),
                 torch.randint(0, 10, (40,), generator=g))  # fmt: skip
    return model, test


def evaluate(model, test, seed: int = 0, **kw) -> S.ShiftResult:
    return S.evaluate_shift(model, test, Normalize(CPU), 16, None, S.shift_generator(seed, CPU), **kw)


def test_every_corruption_and_severity_and_attack_is_measured(model_and_test):
    model, test = model_and_test
    r = evaluate(model, test, corrupt_images=24)
    assert [(c.type, c.severity) for c in r.cells] == [(n, s) for n in CORRUPTIONS for s in SEVERITIES]
    cols = r.columns()
    assert tuple(cols) == SHIFT_COLUMNS
    for key in SHIFT_COLUMNS[:-1]:
        assert 0.0 <= cols[key] <= 1.0 or key == "corrupt_loss", key
    assert cols["corrupt_acc"] == pytest.approx(np.mean([c.acc for c in r.cells]))
    assert r.corrupt_images == 24 and r.attack_images == 40  # the attack subset is capped by the test set
    rows = r.rows(epoch=7)
    assert len(rows) == len(r.cells) and set(rows[0]) == set(CORRUPTION_COLUMNS)
    assert {row["epoch"] for row in rows} == {7} and rows[0]["source"] == S.BUILT_IN


def test_the_same_seed_gives_the_same_numbers_and_another_seed_other_noise(model_and_test):
    model, test = model_and_test
    a, b, c = evaluate(model, test, corrupt_images=24), evaluate(model, test, corrupt_images=24), evaluate(
        model, test, seed=1, corrupt_images=24)  # fmt: skip
    assert a.cells == b.cells and a.fgsm_acc == b.fgsm_acc and a.pgd_acc == b.pgd_acc
    noisy = [i for i, cell in enumerate(a.cells) if CORRUPTIONS[cell.type].random]
    assert any(a.cells[i] != c.cells[i] for i in noisy)
    assert all(a.cells[i] == c.cells[i] for i in range(len(a.cells)) if i not in noisy)


def test_shift_leaves_the_model_and_the_global_rng_alone(model_and_test):
    model, test = model_and_test
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    evaluate(model, test, corrupt_images=8)
    assert torch.equal(torch.get_rng_state(), rng)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize(
    "epoch, epochs, every, due",
    [
        (5, 5, None, True),
        (4, 5, None, False),
        (2, 5, 2, True),
        (3, 5, 2, False),
        (5, 5, 2, True),
        (1, 1, 1, True),
    ],  # fmt: skip
)
def test_shift_is_due_at_the_last_epoch_and_every_k(epoch, epochs, every, due):
    assert S.shift_due(epoch, epochs, every) is due


def test_shift_every_zero_and_shift_images_zero_are_refused():
    with pytest.raises(UserError, match="--shift-every must be at least 1"):
        TrainingConfig(shift_every=0).validate()
    with pytest.raises(UserError, match="--shift-images must be at least 1"):
        TrainingConfig(shift_images=0).validate()


# --- inside a run ------------------------------------------------------------------------


def _config(shift: bool, **kw) -> RunConfig:
    training = TrainingConfig(epochs=3, batch_size=16, precision="fp32", subset=None, val_size=0,
                              clean_train_size=16, model="small-cnn", shift=shift, shift_images=8, **kw)  # fmt: skip
    return RunConfig("exp", 0.4, 0, training, "cpu")


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    from tests.images import write_image_folder

    return load_cifar10(write_image_folder(tmp_path_factory.mktemp("tiny")))


def test_shift_changes_no_other_number_and_fills_its_columns_only_when_due(tiny_data, tmp_path):
    off = train_run(_config(False), tiny_data, tmp_path / "off")
    on = train_run(_config(True, shift_every=2), tiny_data, tmp_path / "on")
    a, b = pd.read_csv(tmp_path / "off" / "metrics.csv"), pd.read_csv(tmp_path / "on" / "metrics.csv")
    same = [c for c in METRICS_COLUMNS if c not in SHIFT_COLUMNS + ("epoch_seconds", "images_per_second")]
    pd.testing.assert_frame_equal(a[same], b[same], check_exact=True)
    assert a[list(SHIFT_COLUMNS)].isna().all().all()
    assert b.loc[b["epoch"].isin([2, 3]), list(SHIFT_COLUMNS)].notna().all().all()
    assert b.loc[b["epoch"] == 1, list(SHIFT_COLUMNS)].isna().all().all()
    assert on["corrupt_acc"] == b["corrupt_acc"].iloc[-1] and off.get("corrupt_acc") is None
    assert not (tmp_path / "off" / CORRUPTIONS_FILE).exists()
    cells = pd.read_csv(tmp_path / "on" / CORRUPTIONS_FILE)
    assert tuple(cells.columns) == CORRUPTION_COLUMNS
    assert sorted(set(cells["epoch"])) == [2, 3] and len(cells) == 2 * len(CORRUPTIONS) * len(SEVERITIES)
    last = cells[cells["epoch"] == 3]
    assert b["corrupt_acc"].iloc[-1] == pytest.approx(last["acc"].mean())
    assert b["corrupt_loss"].iloc[-1] == pytest.approx(last["loss"].mean())
    loaded = read_metrics(tmp_path / "off" / "metrics.csv")  # an all-empty shift column still reads
    assert loaded["corrupt_acc"].isna().all()


def test_a_resumed_run_keeps_every_shift_evaluation_once(tiny_data, tmp_path):
    train_run(_config(True, shift_every=1), tiny_data, tmp_path / "whole")
    seen = []

    def stop_in_epoch_3() -> bool:
        return len(seen) > 0

    def on_event(event: dict) -> None:
        if event["type"] == "step" and event["epoch"] == 3:
            seen.append(event)

    with pytest.raises(StopRequested):
        train_run(_config(True, shift_every=1), tiny_data, tmp_path / "cut", on_event, stop_in_epoch_3)
    assert sorted(set(pd.read_csv(tmp_path / "cut" / CORRUPTIONS_FILE)["epoch"])) == [1, 2]
    train_run(_config(True, shift_every=1), tiny_data, tmp_path / "cut")
    whole = (tmp_path / "whole" / CORRUPTIONS_FILE).read_text()
    assert (tmp_path / "cut" / CORRUPTIONS_FILE).read_text() == whole


def test_old_csvs_without_shift_columns_still_load(tmp_path):
    old = [c for c in METRICS_COLUMNS if c not in SHIFT_COLUMNS]
    row = {c: 0.5 for c in old} | {"experiment": "e", "run_id": "baseline-a0-s0", "method": "baseline",
                                   "alpha": 0.0, "seed": 0, "epoch": 1}  # fmt: skip
    (tmp_path / "metrics.csv").write_text(csv_text(old, [row]))
    df = read_metrics(tmp_path / "metrics.csv")
    assert df["corrupt_acc"].isna().all() and df["pgd_acc_2"].isna().all()


# --- CIFAR-10-C files --------------------------------------------------------------------


def write_cifar10c(folder, per_severity: int = 12, held_out=("saturate",), seed: int = 0):
    """A CIFAR-10-C folder in the official layout, small: per_severity images per severity."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    labels = np.tile(rng.integers(0, 10, per_severity), cifar10c.SEVERITIES).astype(np.uint8)
    np.save(folder / "labels.npy", labels)
    for name in cifar10c.BENCHMARK + tuple(held_out):
        np.save(folder / f"{name}.npy", rng.integers(0, 256, (len(labels), 32, 32, 3), dtype=np.uint8))
    return folder


def test_a_cifar10c_folder_is_read_in_its_layout(tmp_path, model_and_test):
    folder = write_cifar10c(tmp_path / "c")
    assert cifar10c.check_cifar10c_dir(folder) == cifar10c.BENCHMARK + ("saturate",)
    cells = list(cifar10c.load_cells(folder, torch.tensor([0, 5])))
    assert len(cells) == 16 * 5
    name, severity, x, y = cells[7]  # shot_noise, severity 3
    raw = np.load(folder / "shot_noise.npy")
    assert (name, severity) == ("shot_noise", 3)
    assert torch.equal(x, torch.from_numpy(raw[[24, 29]]).permute(0, 3, 1, 2))
    assert y.tolist() == np.load(folder / "labels.npy")[[24, 29]].tolist()
    model, test = model_and_test
    r = evaluate(model, test, corrupt_images=5, cifar10c_dir=folder)
    assert r.source == S.CIFAR10C and len(r.cells) == 16 * 5 and r.corrupt_images == 5


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda f: (f / "labels.npy").unlink(), "lacks labels.npy"),
        (lambda f: (f / "fog.npy").unlink(), "lacks fog.npy"),
        (lambda f: (f / "fog.npy").write_bytes((f / "fog.npy").read_bytes()[:-100]), "fog.npy is truncated"),
        (lambda f: (f / "snow.npy").write_bytes(b"not numpy at all"), "snow.npy is not a NumPy .npy file"),
        (lambda f: np.save(f / "frost.npy", np.zeros((60, 32, 32), np.uint8)), "frost.npy holds uint8"),
        (lambda f: np.save(f / "labels.npy", np.zeros((7,), np.uint8)), "not one integer label per image"),
    ],
)
def test_a_damaged_cifar10c_folder_is_one_line(tmp_path, damage, message):
    folder = write_cifar10c(tmp_path / "c", held_out=())
    damage(folder)
    with pytest.raises(UserError, match=message) as e:
        cifar10c.check_cifar10c_dir(folder)
    assert "\n" not in str(e.value)


def test_a_missing_cifar10c_folder_is_one_line(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        cifar10c.check_cifar10c_dir(tmp_path / "nowhere")


def test_shift_in_a_config_round_trip():
    cfg = dataclasses.replace(_config(True, shift_every=2, cifar10c_dir="/data/c10c"))
    assert cfg.to_dict()["training"]["cifar10c_dir"] == "/data/c10c"
