"""Issue 25 ("Edges, third round") through the real CLI (CliRunner): settings files with huge numbers,
deep nesting and 1 MB values; the settings merged (defaults, preset, file, flags) and validated once;
the dry run making `run`'s checks; the shift settings as part of an experiment's identity; usage errors
as one line; and the rule that a failing evaluation never loses a trained epoch.

Each bad input ends with one `error:` line and exit code 2, never a traceback.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mixup_bench.cli import app
from mixup_bench.results.layout import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    CORRUPTIONS_FILE,
    DONE_FILE,
    EXPERIMENT_FILE,
    METRICS_FILE,
    RUNS_DIR,
)
from mixup_bench.results.schema import write_lam_log, write_metrics
from tests.train.test_shift import write_cifar10c

cli = CliRunner()
TIMING = ("epoch_seconds", "images_per_second", "shift_seconds")  # wall times: the only columns that may differ


def one_line(result, *needles: str) -> str:
    """Exit code 2, no traceback, exactly one `error:` line of a readable length holding every needle."""
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), (result.exit_code, result.output)
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]  # progress lines aside
    assert len(lines) == 1, result.output[:2000]
    assert len(lines[0]) < 600, lines[0][:2000]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def no_estimate(monkeypatch):
    """`run --dry-run` without timing steps on this machine (seconds each, beside the point here)."""
    monkeypatch.setattr("mixup_bench.sweep.runner.estimate_event", lambda *a, **k: {"text": "(estimate)"})


def dry(tmp_path: Path, *args: str):
    return cli.invoke(app, ["run", "--dry-run", "--out", str(tmp_path / "out"), "--data-dir", str(tmp_path), *args])


def toml_file(tmp_path: Path, text: str, name: str = "cfg.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- class 1: tracebacks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("lr = 1" + "0" * 400, "lr = a 401-digit integer: the number is too large"),
        ("alphas = [1" + "0" * 400 + "]", "alphas = [a 401-digit integer]: the number is too large"),
        ("label_noise = 1" + "0" * 400, "label_noise = a 401-digit integer"),
        ("epochs = 1" + "0" * 400, "--epochs must be at most"),
        ("lr = " + "1" * 5000, "not a valid TOML file"),  # past int()'s 4,300 digits
        ("alphas = " + "[" * 5000 + "]" * 5000, "nested too deeply"),
        ("alphas = " + "{a = " * 5000 + "1" + "}" * 5000, "nested too deeply"),
        ("alphas = " + "[" * 100 + "1" + "]" * 100, "alphas must be a list of numbers, got [[[[…]]]]"),
        ('model = "' + "x" * 1_000_000 + '"', "Unknown model 'xxxx"),
        ('name = "' + "y" * 1_000_000 + '"', "--name must be at most 255 bytes"),
        ('cifar10c_dir = "' + "z" * 1_000_000 + '"', "add --shift"),
    ],
)
def test_toml_huge_numbers_deep_nesting_and_huge_values_are_one_short_line(text, says, tmp_path, no_estimate):
    one_line(dry(tmp_path, "--config", str(toml_file(tmp_path, text + "\n"))), says)


@pytest.mark.parametrize("uri", ["bogus://x", "http://[::1", "file:mlruns-x"])
@pytest.mark.parametrize("command", ["run", "export", "dry-run"])
def test_mlflow_uris_that_fail_when_the_client_is_made_are_one_line(uri, command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if command == "export":
        exp = hand_made_experiment(tmp_path / "r" / "exp")
        res = cli.invoke(app, ["export", str(exp), "--to", "mlflow", "--mlflow", uri])
    else:
        extra = ["--dry-run"] if command == "dry-run" else []
        res = cli.invoke(app, ["run", *extra, "--data-dir", str(tmp_path), "--out", str(tmp_path / "o"),
                               "--mlflow", uri])  # fmt: skip
    one_line(res, "MLflow at", "cannot be used")
    assert not (tmp_path / "o").exists()


@pytest.mark.skipif(importlib.util.find_spec("psycopg2") is not None, reason="the driver is installed here")
def test_a_postgresql_uri_without_its_driver_is_one_line(tmp_path):
    res = cli.invoke(app, ["run", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o"),
                           "--mlflow", "postgresql://u@localhost/db"])  # fmt: skip
    one_line(res, "cannot be used")


def shift_args(data_dir: Path, out: Path, *extra: str) -> list[str]:
    return ["run", "--subset", "0", "--val-size", "8", "--jobs", "1", "--seed", "0", "--data-dir", str(data_dir),
            "--out", str(out), "--epochs", "2", "--batch-size", "16", "--device", "cpu", "--precision", "fp32",
            "--no-baseline", "--alpha", "0.4", "--shift", "--shift-images", "8", *extra]  # fmt: skip


@pytest.mark.parametrize("label", [10, 255])
def test_cifar10c_labels_out_of_range_are_refused_before_training(label, tiny_cifar, tmp_path):
    folder = write_cifar10c(tmp_path / "c10c", held_out=())
    labels = np.load(folder / "labels.npy")
    labels[-1] = label  # the last one: the check reads all of them
    np.save(folder / "labels.npy", labels)
    res = cli.invoke(app, shift_args(tiny_cifar, tmp_path / "r", "--cifar10c-dir", str(folder)))
    one_line(res, f"holds the label {label}, outside CIFAR-10's classes 0..9")
    assert not list((tmp_path / "r").rglob("metrics.csv"))


def test_cifar10c_labels_out_of_range_are_refused_before_any_worker_starts_with_two_jobs(tiny_cifar, tmp_path):
    """`--jobs 2`: the labels are checked in the parent before the workers start, so the refusal is the same
    one line (no _RemoteTraceback from a worker), no run folder holds a row, and `status` has nothing lost."""
    folder = write_cifar10c(tmp_path / "c10c", held_out=())
    labels = np.load(folder / "labels.npy")
    labels[-1] = 10
    np.save(folder / "labels.npy", labels)
    res = cli.invoke(app, [*shift_args(tiny_cifar, tmp_path / "r", "--cifar10c-dir", str(folder)), "--jobs", "2"])
    one_line(res, "holds the label 10, outside CIFAR-10's classes 0..9")
    assert "RemoteTraceback" not in res.output and not list((tmp_path / "r").rglob("metrics.csv"))
    assert not list((tmp_path / "r").rglob("checkpoint.pt"))


def test_a_failing_shift_evaluation_keeps_the_trained_epoch_and_a_rerun_finishes_it(tiny_cifar, tmp_path, monkeypatch):
    """The root rule: the epoch is saved before the shift evaluation runs. A failure there is one line;
    the checkpoint and the row of the epoch are on disk, `status` says so, and the same command
    finishes the run, to the numbers of a run that never failed."""
    from mixup_bench.train import loop

    clean = cli.invoke(app, shift_args(tiny_cifar, tmp_path / "clean"))
    assert clean.exit_code == 0, clean.output
    real = loop.shift_for_epoch

    def broken(cfg, epoch, *args, **kwargs):  # the last epoch's evaluation (the one due) fails
        if epoch == cfg.training.epochs:
            raise IndexError("index 10 is out of bounds for dimension 1 with size 10")
        return real(cfg, epoch, *args, **kwargs)

    monkeypatch.setattr(loop, "shift_for_epoch", broken)
    failed = cli.invoke(app, shift_args(tiny_cifar, tmp_path / "r"))
    one_line(failed, "mixup-a0.4-s0: the shift evaluation of epoch 2 failed (IndexError", "training is saved")
    run_dir = tmp_path / "r" / "default" / "runs" / "mixup-a0.4-s0"
    assert (run_dir / CHECKPOINT_FILE).exists() and not (run_dir / DONE_FILE).exists()
    assert pd.read_csv(run_dir / METRICS_FILE)["epoch"].tolist() == [1, 2]  # the epoch is kept
    status = cli.invoke(app, ["status", str(tmp_path / "r" / "default")])
    assert "not started" not in status.output and "2/2" in status.output, status.output
    monkeypatch.setattr(loop, "shift_for_epoch", real)
    again = cli.invoke(app, shift_args(tiny_cifar, tmp_path / "r"))
    assert again.exit_code == 0, again.output
    assert (run_dir / DONE_FILE).exists()
    got = pd.read_csv(run_dir / METRICS_FILE).drop(columns=list(TIMING))
    want = pd.read_csv(tmp_path / "clean" / "default" / "runs" / "mixup-a0.4-s0" / METRICS_FILE)
    pd.testing.assert_frame_equal(got, want.drop(columns=list(TIMING)))
    assert not got["corrupt_acc"].isna().iloc[-1]
    clean_cells = tmp_path / "clean" / "default" / "runs" / "mixup-a0.4-s0" / CORRUPTIONS_FILE
    pd.testing.assert_frame_equal(pd.read_csv(run_dir / CORRUPTIONS_FILE), pd.read_csv(clean_cells))


# --- class 2: one validation, after the flags ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "flags"),
    [
        ("shift_every = 2\n", ["--shift"]),
        ("subset = 32\n", ["--batch-size", "16"]),
        ("shift_images = 10\n", ["--shift"]),
    ],
)
def test_a_file_is_validated_with_the_flags_on_top(text, flags, tmp_path, no_estimate):
    res = dry(tmp_path, "--config", str(toml_file(tmp_path, text)), *flags)
    assert res.exit_code == 0, res.output


def test_a_file_error_still_names_the_file_and_its_key_and_a_flag_error_is_the_flags(tmp_path, no_estimate):
    path = toml_file(tmp_path, "subset = 32\n")
    one_line(dry(tmp_path, "--config", str(path), "--batch-size", "64"), f"{path}: subset = 32: --subset must be")
    line = one_line(dry(tmp_path, "--config", str(toml_file(tmp_path, "epochs = 2\n")), "--lr", "-1"), "--lr must be")
    assert "cfg.toml" not in line


@pytest.mark.parametrize("name", [".hidden.toml", ".toml", "a\nb.toml", "bad\udcff.toml", "c\x85.toml"])
def test_a_file_whose_name_cannot_name_the_experiment_is_fine_with_a_name(name, tmp_path, no_estimate):
    try:
        path = toml_file(tmp_path, "epochs = 2\n", name)
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system cannot hold the name")
    ok = dry(tmp_path, "--config", str(path), "--name", "good")
    assert ok.exit_code == 0 and "out/good" in ok.output, ok.output
    one_line(dry(tmp_path, "--config", str(path)), "cannot name the experiment", "give --name")
    path.write_text('epochs = 2\nname = "fine"\n')  # a name in the file: its file name is not used
    named = dry(tmp_path, "--config", str(path))
    assert named.exit_code == 0 and "out/fine" in named.output, named.output


def test_repeated_seeds_in_a_file_run_once(tmp_path, no_estimate):
    res = dry(tmp_path, "--config", str(toml_file(tmp_path, "seeds = [0, 0, 1, 0]\n")))
    assert res.exit_code == 0, res.output
    assert "seeds = [0, 1]" in res.output and "x 2 seeds" in res.output


# --- class 3: the dry run makes run's checks ---------------------------------------------------------


def write_record(exp: Path, **training) -> Path:
    """An experiment.json as `run` writes it (only what check_compatible reads), without shift keys unless given."""
    exp.mkdir(parents=True, exist_ok=True)
    base = {"epochs": 2, "batch_size": 128, "lr": 0.1, "weight_decay": 5e-4, "momentum": 0.9,
            "warmup_fraction": 0.15, "model": "fast-cnn", "augment": False, "precision": "auto", "subset": 5000,
            "clean_train_size": 1000, "val_size": 5000, "label_noise": 0.0, "lam_mode": "batch"}  # fmt: skip
    record = {"name": exp.name, "created": "2026-01-01T00:00:00+0000", "config": {"training": {**base, **training}}}
    (exp / EXPERIMENT_FILE).write_text(json.dumps(record))
    return exp


def test_a_dry_run_refuses_what_run_refuses(tmp_path, no_estimate):
    write_record(tmp_path / "out" / "default")
    one_line(dry(tmp_path, "--epochs", "3"), "epochs=2 (now 3)")
    assert dry(tmp_path, "--epochs", "2").exit_code == 0  # an old record without shift keys: no shift
    one_line(dry(tmp_path, "--val-size", "60000", "--name", "other"), "--val-size 60,000 leaves no training images")
    one_line(dry(tmp_path, "--name", "other", "--mlflow", "http://127.0.0.1:9"), "MLflow at http://127.0.0.1:9")
    assert not (tmp_path / "out" / "other").exists()


# --- class 4: the shift settings are part of the identity -------------------------------------------


def test_shift_settings_are_part_of_the_experiments_identity(tmp_path, no_estimate):
    one_line(dry(tmp_path, "--shift-images", "10"), "--shift-images sets up the shift evaluation", "add --shift")
    write_record(tmp_path / "out" / "default", shift=False)
    one_line(dry(tmp_path, "--epochs", "2", "--shift"), "shift=False (now True)")
    write_record(tmp_path / "out" / "s", shift=True, shift_every=None, shift_images=10, cifar10c_dir=None)
    one_line(dry(tmp_path, "--epochs", "2", "--name", "s", "--shift", "--shift-images", "50"),
             "shift_images=10 (now 50)")  # fmt: skip
    one_line(dry(tmp_path, "--epochs", "2", "--name", "s", "--shift", "--shift-images", "10", "--shift-every", "1"),
             "shift_every=None (now 1)")  # fmt: skip
    assert dry(tmp_path, "--epochs", "2", "--name", "s", "--shift", "--shift-images", "10").exit_code == 0


# --- class 6: minor --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["run", "--epochs", "abc"], "Invalid value for '--epochs'"),
        (["export", "EXP"], "Missing option '--to'"),
        (["run", "--no-such-option"], "No such option"),
        (["run", "--out", ""], "'--out': an empty path would be the current folder"),
        (["run", "--data-dir="], "'--data-dir': an empty path"),
        (["run", "--mlflow="], "--mlflow needs a URI or a folder"),
        (["export", "x", "--to", "mlflow", "--mlflow", ""], "--mlflow needs a URI or a folder"),
        (["run", "--name", "a\x85b"], "must not hold control characters"),
    ],
)
def test_usage_errors_and_empty_values_are_one_line(args, says, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    one_line(cli.invoke(app, args), says)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("key", ["out", "data_dir"])
def test_an_empty_path_in_a_file_is_one_line(key, tmp_path, no_estimate):
    one_line(dry(tmp_path, "--config", str(toml_file(tmp_path, f'{key} = ""\n'))), f"{key} must be a path")


@pytest.mark.skipif(importlib.util.find_spec("ray") is not None, reason="Ray is installed here")
def test_backend_ray_without_ray_is_refused_before_anything_is_written(tmp_path):
    res = cli.invoke(app, ["run", "--backend", "ray", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o")])
    one_line(res, "--backend ray needs Ray")
    assert not (tmp_path / "o").exists()
    one_line(dry(tmp_path, "--backend", "ray"), "--backend ray needs Ray")


# --- class 5: dashboards ------------------------------------------------------------------------------


def hand_made_experiment(exp: Path, test_loss=(2.5, 2.643975), created: str = "2026-01-01T00:00:00+0000") -> Path:
    """One finished run of 2 epochs, with an experiment.json (its creation time is part of its identity)."""
    from mixup_bench.integrations.rows import METRIC_COLUMNS

    run = exp / RUNS_DIR / "mixup-a0.4-s0"
    run.mkdir(parents=True)
    config = {"run_id": "mixup-a0.4-s0", "method": "mixup", "alpha": 0.4, "seed": 0, "training": {"epochs": 2}}
    (run / CONFIG_FILE).write_text(json.dumps(config))
    rows = [{"experiment": exp.name, "run_id": "mixup-a0.4-s0", "method": "mixup", "alpha": 0.4, "seed": 0,
             "epoch": e, **{c: 0.5 for c in METRIC_COLUMNS if c in ("train_loss", "test_acc")},
             "test_loss": test_loss[e - 1]} for e in (1, 2)]  # fmt: skip
    write_metrics(run, rows)
    write_lam_log(run, [{"epoch": e, "step": 1, "lam": 0.5} for e in (1, 2)])
    (exp / EXPERIMENT_FILE).write_text(json.dumps({"name": exp.name, "created": created, "config": {}}))
    (run / DONE_FILE).write_text(json.dumps(rows[-1]))
    return exp


def mlflow_values(store: Path, experiment: str, key: str) -> dict[int, list[float]]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{store / 'mlflow.db'}")
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, [e.name for e in client.search_experiments()]
    (child,) = [r for r in client.search_runs([exp.experiment_id]) if r.data.tags.get("mixup_bench.run_id")]
    values: dict[int, list[float]] = {}
    for m in client.get_metric_history(child.info.run_id, key):
        values.setdefault(int(m.step), []).append(m.value)
    return values


@pytest.mark.slow  # MLflow stores
def test_export_is_keyed_by_the_experiments_identity_not_its_folder_name(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)
    a = hand_made_experiment(tmp_path / "one" / "demo", test_loss=(2.0, 3.0))
    b = hand_made_experiment(tmp_path / "two" / "demo", test_loss=(6.0, 7.0))
    store = tmp_path / "store"
    for exp in (a, b, a):
        res = cli.invoke(app, ["export", str(exp), "--to", "mlflow", "--mlflow", str(store)])
        assert res.exit_code == 0, res.output
    assert "0 epochs sent" in res.output and "(experiment 'demo')" in res.output  # a again: nothing new
    assert mlflow_values(store, "demo", "test_loss") == {1: [2.0], 2: [3.0]}  # a's alone, each epoch once
    from mixup_bench.integrations.identity import experiment_identity

    assert mlflow_values(store, f"demo ({experiment_identity(b)})", "test_loss") == {1: [6.0], 2: [7.0]}


@pytest.mark.slow  # MLflow stores
def test_a_torn_last_row_is_not_exported_and_is_sent_once_repaired(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)
    exp = hand_made_experiment(tmp_path / "exp")
    metrics = exp / RUNS_DIR / "mixup-a0.4-s0" / METRICS_FILE
    whole = metrics.read_text()
    cut = whole.rindex("2.643975") + len("2.64")  # epoch 2's test_loss, cut in mid-value
    metrics.write_text(whole[:cut])
    store = tmp_path / "store"
    res = cli.invoke(app, ["export", str(exp), "--to", "mlflow", "--mlflow", str(store)])
    assert res.exit_code == 0 and "1 epoch sent" in res.output, res.output
    assert mlflow_values(store, "exp", "test_loss") == {1: [2.5]}
    metrics.write_text(whole)  # what `run` does with it: rewritten from the checkpoint
    res = cli.invoke(app, ["export", str(exp), "--to", "mlflow", "--mlflow", str(store)])
    assert res.exit_code == 0 and "1 epoch sent" in res.output, res.output
    assert mlflow_values(store, "exp", "test_loss") == {1: [2.5], 2: [2.643975]}


def test_tensorboard_export_sends_the_tags_an_epoch_lacks(tmp_path):
    """A kill during an export left epoch 2 with some tags only: the next export writes the others."""
    pytest.importorskip("tensorboard")
    from torch.utils.tensorboard import SummaryWriter

    from mixup_bench.integrations.tensorboard_tracker import held_scalars

    exp = hand_made_experiment(tmp_path / "exp")
    logdir = tmp_path / "tb"
    first = cli.invoke(app, ["export", str(exp), "--to", "tensorboard", "--logdir", str(logdir)])
    assert first.exit_code == 0, first.output
    folder = logdir / "mixup-a0.4-s0"
    for f in folder.glob("events.*"):
        f.unlink()
    w = SummaryWriter(log_dir=str(folder))  # as a kill after the first tags of epoch 2 leaves it
    for epoch in (1, 2):
        w.add_scalar("train_loss", 0.5, epoch)
    w.close()
    again = cli.invoke(app, ["export", str(exp), "--to", "tensorboard", "--logdir", str(logdir)])
    assert again.exit_code == 0 and "2 epochs sent" in again.output, again.output
    held = held_scalars(folder)
    assert {tag: sorted(steps) for tag, steps in held.items() if "/" not in tag} == {
        "train_loss": [1, 2], "test_acc": [1, 2], "test_loss": [1, 2]}  # fmt: skip
    assert len([f for f in folder.glob("events.*")]) >= 1


def test_a_shared_tensorboard_logdir_refuses_another_experiment_of_the_same_name(tmp_path):
    pytest.importorskip("tensorboard")
    a = hand_made_experiment(tmp_path / "one" / "demo")
    b = hand_made_experiment(tmp_path / "two" / "demo")
    logdir = tmp_path / "tb"
    assert cli.invoke(app, ["export", str(a), "--to", "tensorboard", "--logdir", str(logdir)]).exit_code == 0
    one_line(cli.invoke(app, ["export", str(b), "--to", "tensorboard", "--logdir", str(logdir)]),
             "holds the TensorBoard events of another experiment named 'demo'")  # fmt: skip
    assert cli.invoke(app, ["export", str(a), "--to", "tensorboard", "--logdir", str(logdir)]).exit_code == 0


@pytest.mark.slow  # every figure rendered
def test_plot_of_an_experiment_named_in_cjk_and_emoji_says_nothing_of_missing_glyphs(tmp_path):
    import warnings

    from tests.plot_fixtures import synthetic_experiment

    exp = synthetic_experiment(tmp_path / "实验🚀", alphas=(0.4,), seeds=(0, 1), epochs=3, steps_per_epoch=4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = cli.invoke(app, ["plot", str(exp)])
    assert res.exit_code == 0, res.output
    assert not [w for w in caught if "Glyph" in str(w.message)], [str(w.message) for w in caught][:3]
    assert "Glyph" not in res.output


# --- the fuzz, extended to TOML files ------------------------------------------------------------------


def _toml(value, depth: int = 0) -> str:
    """TOML text of a generated value (inline tables for dicts; NaN and inf as TOML spells them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return (
            "nan" if value != value else ("inf" if value == float("inf") else "-inf" if value < -1e308 else repr(value))
        )
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v, depth + 1) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v, depth + 1)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def _fuzz_values():
    from hypothesis import strategies as st

    leaves = (
        st.booleans()
        | st.integers()
        | st.integers(min_value=-(10**500), max_value=10**500)
        | st.floats(allow_nan=True, allow_infinity=True)
        | st.text(max_size=30)
    )
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=2),
        max_leaves=8,
    )


def _fuzz_files():
    from hypothesis import strategies as st

    from mixup_bench.settings import SETTING_TYPES

    keys = st.sampled_from(sorted(SETTING_TYPES)) | st.text(min_size=1, max_size=12)
    table = st.dictionaries(keys, _fuzz_values(), max_size=4)
    as_text = table.map(
        lambda t: "\n".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in t.items()).encode("utf-8", "replace")
    )
    deep = st.tuples(st.sampled_from(sorted(SETTING_TYPES)), st.integers(1, 3000), st.sampled_from("[{")).map(
        lambda t: (f"{t[0]} = " + ("[" * t[1] + "1" + "]" * t[1] if t[2] == "[" else "{a = " * t[1] + "1" + "}" * t[1])
                   ).encode()
    )  # fmt: skip
    return as_text | deep | st.binary(max_size=200)


def test_toml_files_of_any_structure_depth_number_or_bytes_give_exit_0_or_one_line(tmp_path_factory, monkeypatch):
    """Hypothesis: random tables (known and unknown keys; booleans, huge integers, NaN, text, lists and
    inline tables nested at random), deep nesting, raw bytes: the dry run exits 0 or gives one line and 2."""
    from hypothesis import HealthCheck, given, settings

    monkeypatch.setattr("mixup_bench.sweep.runner.estimate_event", lambda *a, **k: {"text": "(estimate)"})

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(_fuzz_files())
    def check(content: bytes) -> None:
        root = tmp_path_factory.mktemp("fuzz")
        path = root / "cfg.toml"
        path.write_bytes(content)
        res = cli.invoke(app, ["run", "--dry-run", "--config", str(path), "--out", str(root / "out"),
                               "--data-dir", str(root), "--device", "cpu"])  # fmt: skip
        if res.exit_code != 0:
            one_line(res)
        assert not (root / "out").exists()

    check()


def test_a_dry_run_with_an_out_that_is_not_utf8_prints_a_file_that_reads_back(tmp_path, no_estimate):
    import re

    import tomllib

    out = str(tmp_path / "bad\udcffout")
    res = cli.invoke(app, ["run", "--dry-run", "--out", out, "--data-dir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    lines = []
    for line in res.output.splitlines():
        if not re.match(r"^(#|[a-z_0-9]+ = )", line):
            break
        lines.append(line)
    settings = tomllib.loads("\n".join(lines))
    assert "out" not in settings and settings["epochs"] == 15
    assert any(line.startswith('# out = "') and "\\\\xff" in line and "give it as a flag" in line for line in lines)


def test_export_to_an_unknown_dashboard_names_the_option(tmp_path):
    exp = hand_made_experiment(tmp_path / "exp")
    one_line(cli.invoke(app, ["export", str(exp), "--to", "wandb"]), "--to 'wandb' is not a dashboard", "mlflow")


def test_status_of_a_results_root_names_the_experiment_it_shows(tmp_path):
    hand_made_experiment(tmp_path / "r" / "older")
    exp = hand_made_experiment(tmp_path / "r" / "newer")
    (exp / RUNS_DIR / "mixup-a0.4-s0" / METRICS_FILE).touch()
    res = cli.invoke(app, ["status", str(tmp_path / "r")], env={"COLUMNS": "300"})
    assert res.exit_code == 0, res.output
    first = res.output.splitlines()[0]
    assert first.startswith(str(tmp_path / "r")) and "(the latest under" in first and "1 other experiment" in first


def test_ctrl_c_during_the_shift_evaluation_stops_the_run_and_keeps_the_epoch(tiny_cifar, tmp_path, monkeypatch):
    """A stop asked for while the shift evaluation runs ends it there (exit 130), not after it; the epoch
    is saved, and the same command runs the evaluation again and finishes the run."""
    from mixup_bench.train import loop

    real = loop.shift_for_epoch

    def asked_to_stop(cfg, epoch, model, test, normalize, amp, stop=None):  # Ctrl-C arrives during it
        return real(cfg, epoch, model, test, normalize, amp, lambda: True)

    monkeypatch.setattr(loop, "shift_for_epoch", asked_to_stop)
    stopped = cli.invoke(app, shift_args(tiny_cifar, tmp_path / "r"))
    assert stopped.exit_code == 130, stopped.output
    run_dir = tmp_path / "r" / "default" / "runs" / "mixup-a0.4-s0"
    assert pd.read_csv(run_dir / METRICS_FILE)["epoch"].tolist() == [1, 2]
    assert not (run_dir / DONE_FILE).exists()
    monkeypatch.setattr(loop, "shift_for_epoch", real)
    again = cli.invoke(app, shift_args(tiny_cifar, tmp_path / "r"))
    assert again.exit_code == 0 and (run_dir / DONE_FILE).exists(), again.output
    assert not pd.read_csv(run_dir / METRICS_FILE)["corrupt_acc"].isna().iloc[-1]
