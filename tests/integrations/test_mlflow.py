"""MLflow against a real `mlflow server` (started on 127.0.0.1 with a temporary store, stopped by the
fixture): live logging of a stopped and resumed sweep continues the same runs, the layout is one
parent run per arm with a nested run per seed, the histories equal metrics.csv; an export of the
committed demo gives its final test accuracy; an unreachable server is one line and exit 2."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("mlflow")

from mlflow.tracking import MlflowClient  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from mixup_bench.cli import app  # noqa: E402
from mixup_bench.integrations.mlflow_tracker import ARM_TAG, PARENT_TAG, RUN_TAG, MlflowTracker  # noqa: E402
from tests.integrations.events import csv_metrics, train_stopped_then_resumed  # noqa: E402
from tests.sweep.synthetic import cli_args  # noqa: E402

DEMO = Path(__file__).resolve().parents[2] / "results" / "demo"
START_TIMEOUT_S = 300  # imports MLflow and creates its SQLite store: 15 s on an idle 2-core CPU, minutes on a busy one


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """The URL of a fresh `mlflow server`; the server and its workers (its own process group) are stopped after."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    store = ["--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}", "--artifacts-destination", str(root / "art")]
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), *store]
    command += ["--workers", "1"]  # one uvicorn worker: the machine is small and the test is serial
    env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")  # no background job workers
    with open(root / "server.log", "wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not start: {(root / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the group this fixture started: the server and its uvicorn worker
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def _runs(client: MlflowClient, experiment: str) -> list:
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None
    return client.search_runs([exp.experiment_id], max_results=1000)


@pytest.mark.slow  # a server process
def test_live_logging_to_a_server_continues_the_same_runs_after_a_stop(mlflow_server, tiny_cifar, tmp_path):
    exp = train_stopped_then_resumed(tiny_cifar, tmp_path, lambda e: MlflowTracker(mlflow_server, e.path), seeds=(0, 1))
    client = MlflowClient(mlflow_server)
    runs = _runs(client, exp.path.name)
    parents = {r.data.tags[ARM_TAG]: r for r in runs if ARM_TAG in r.data.tags}
    children = {r.data.tags[RUN_TAG]: r for r in runs if RUN_TAG in r.data.tags}
    assert sorted(parents) == ["baseline-a0", "mixup-a0.4"] and len(runs) == 2 + 4  # no second run after the resume
    assert sorted(children) == sorted(cfg.run_id for cfg in exp.runs())
    for cfg in exp.runs():
        child = children[cfg.run_id]
        arm = cfg.run_id.rsplit("-s", 1)[0]
        assert child.data.tags[PARENT_TAG] == parents[arm].info.run_id and child.info.status == "FINISHED"
        assert child.data.params["seed"] == str(cfg.seed) and child.data.params["epochs"] == str(exp.training.epochs)
        for column, by_epoch in csv_metrics(exp.path / "runs" / cfg.run_id).items():
            history = client.get_metric_history(child.info.run_id, column)
            assert sorted((m.step, m.value) for m in history) == sorted(by_epoch.items()), column  # once, equal
        artifacts = {a.path for a in client.list_artifacts(child.info.run_id)}
        assert {"config.json", "metrics.csv"} <= artifacts
    assert all(p.info.status == "FINISHED" for p in parents.values())


@pytest.mark.slow  # a server process
def test_export_of_the_committed_demo_gives_its_final_test_accuracy(mlflow_server):
    runner = CliRunner()
    first = runner.invoke(app, ["export", str(DEMO), "--to", "mlflow", "--mlflow", mlflow_server])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["export", str(DEMO), "--to", "mlflow", "--mlflow", mlflow_server])
    n_runs = len(list((DEMO / "runs").iterdir()))  # 10: seeds 0-4 of the sequential demo
    assert again.exit_code == 0 and again.output.count(": 0 epochs sent") == n_runs, again.output
    client = MlflowClient(mlflow_server)
    children = {r.data.tags[RUN_TAG]: r for r in _runs(client, "demo") if RUN_TAG in r.data.tags}
    assert sorted(children) == sorted(p.name for p in (DEMO / "runs").iterdir())
    for run_id, run in children.items():
        by_epoch = csv_metrics(DEMO / "runs" / run_id)["test_acc"]
        assert run.data.metrics["test_acc"] == by_epoch[max(by_epoch)]  # the latest value: the final epoch
        assert len(client.get_metric_history(run.info.run_id, "test_acc")) == len(by_epoch)


def test_export_to_a_local_folder_store(tmp_path):
    """No server: a folder holds a SQLite store and the artifacts, as `run --mlflow` alone uses ./mlruns.
    What a user reads there: the arm runs hold the arms' curves (the seed mean, so the default chart view
    draws them), the seed runs are tagged with their arm, the times are the recorded ones, the code version
    is a tag, and summary.md is the experiment's description."""
    result = CliRunner().invoke(app, ["export", str(DEMO), "--to", "mlflow", "--mlflow", str(tmp_path / "store")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "store" / "mlflow.db").is_file() and "mlflow ui --backend-store-uri sqlite:" in result.output
    client = MlflowClient(f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("demo")
    page = f"http://127.0.0.1:5000/#/experiments/{experiment.experiment_id}?workflowType=machine_learning"
    assert page in result.output  # `mlflow ui`'s address, on the classic runs view (not MLflow 3's GenAI overview)
    assert experiment.tags["mlflow.note.content"] == (DEMO / "summary.md").read_text(encoding="utf-8")
    assert experiment.tags["dataset"] == "CIFAR-10"
    assert experiment.tags["mlflow.source.git.commit"] == "a2925234be56553a7fa91cedbd0a6e66f5e1b79b"
    runs = _runs(client, "demo")
    parents = {r.data.tags[ARM_TAG]: r for r in runs if ARM_TAG in r.data.tags}
    children = {r.data.tags[RUN_TAG]: r for r in runs if RUN_TAG in r.data.tags}
    summary = {a.path for a in client.list_artifacts(parents["mixup-a0.4"].info.run_id)}
    assert "summary.md" in summary and "plots" in summary
    created_ms = 1796266130 * 1000  # experiment.json's created, 2026-12-03T02:48:50+0000: the demo records no start
    for arm, parent in parents.items():
        seeds = {run_id: csv_metrics(DEMO / "runs" / run_id) for run_id in children if run_id.startswith(arm + "-")}
        assert len(seeds) == 5
        for key in ("test_acc", "train_loss"):  # the seed mean at every epoch, once
            history = sorted((m.step, m.value) for m in client.get_metric_history(parent.info.run_id, key))
            epochs = sorted(next(iter(seeds.values()))[key])
            mean = [(e, sum(s[key][e] for s in seeds.values()) / 5) for e in epochs]
            assert [s for s, _ in history] == epochs and [v for _, v in history] == pytest.approx([v for _, v in mean])
        assert {m.value for m in client.get_metric_history(parent.info.run_id, "seeds")} == {5.0}
        assert parent.data.tags["mixup_bench.mean_of_seeds"] == "0,1,2,3,4"
        assert parent.info.start_time == created_ms and parent.info.status == "FINISHED"
    for run_id, child in children.items():
        arm = run_id.rsplit("-s", 1)[0]
        tags = child.data.tags
        assert tags["arm"] == arm and tags[PARENT_TAG] == parents[arm].info.run_id
        assert tags["arm_label"] == ("baseline" if arm == "baseline-a0" else "MixUp alpha=0.4")
        assert tags["dataset"] == "cifar10"
        assert tags["mlflow.source.git.commit"] == "a2925234be56553a7fa91cedbd0a6e66f5e1b79b"
        assert tags["mixup_bench.git_dirty"] == "false" and tags["mixup_bench.source_hash"] == "947176dd315942b3"
        seconds = csv_metrics(DEMO / "runs" / run_id)["epoch_seconds"]
        ends = {e: created_ms + round(1000 * sum(seconds[k] for k in seconds if k <= e)) for e in seconds}
        history = client.get_metric_history(child.info.run_id, "test_acc")
        assert {m.step: m.timestamp for m in history} == pytest.approx(ends, abs=1)  # each epoch when it ended
        assert child.info.start_time == created_ms and child.info.end_time == pytest.approx(ends[max(ends)], abs=1)


def test_an_unreachable_server_is_one_line_before_any_training(tiny_cifar, tmp_path):
    result = CliRunner().invoke(app, [*cli_args(tiny_cifar, tmp_path / "r"), "--mlflow", "http://127.0.0.1:9"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: MLflow at http://127.0.0.1:9 cannot be used (Connection refused); start the server or give "
        "another --mlflow URI."
    ]
    assert not (tmp_path / "r").exists()  # no run folder, no experiment folder


def test_an_arm_run_whose_seeds_grew_is_replaced_by_one_with_the_new_mean(tmp_path):
    """MLflow keeps every value logged: when a seed finishes after an export, the arm's parent run would
    hold two means per epoch. It is replaced by a new parent with the new mean and the seed runs under it."""
    import shutil

    exp = tmp_path / "demo"
    for run_id in ("mixup-a0.4-s0", "mixup-a0.4-s1"):
        shutil.copytree(DEMO / "runs" / run_id, exp / "runs" / run_id)
    shutil.copy(DEMO / "experiment.json", exp / "experiment.json")
    done = (exp / "runs" / "mixup-a0.4-s1" / "DONE").read_text()
    (exp / "runs" / "mixup-a0.4-s1" / "DONE").unlink()  # seed 1 still training
    store = ["--to", "mlflow", "--mlflow", str(tmp_path / "store")]
    assert CliRunner().invoke(app, ["export", str(exp), *store]).exit_code == 0
    client = MlflowClient(f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}")
    (first,) = [r for r in _runs(client, "demo") if ARM_TAG in r.data.tags]
    s0, s1 = (csv_metrics(exp / "runs" / f"mixup-a0.4-s{s}")["test_acc"] for s in (0, 1))
    assert first.data.tags["mixup_bench.mean_of_seeds"] == "0"  # finished seeds only
    assert {m.step: m.value for m in client.get_metric_history(first.info.run_id, "test_acc")} == s0
    (exp / "runs" / "mixup-a0.4-s1" / "DONE").write_text(done)
    again = CliRunner().invoke(app, ["export", str(exp), *store])
    assert again.exit_code == 0, again.output
    (parent,) = [r for r in _runs(client, "demo") if ARM_TAG in r.data.tags]  # the first one is deleted
    assert parent.info.run_id != first.info.run_id
    assert client.get_run(first.info.run_id).info.lifecycle_stage == "deleted"
    assert parent.data.tags["mixup_bench.mean_of_seeds"] == "0,1" and parent.data.tags["arm"] == "mixup-a0.4"
    history = client.get_metric_history(parent.info.run_id, "test_acc")
    assert sorted(m.step for m in history) == sorted(s0)  # one mean per epoch
    assert {m.step: m.value for m in history} == pytest.approx({e: (s0[e] + s1[e]) / 2 for e in s0})
    children = [r for r in _runs(client, "demo") if RUN_TAG in r.data.tags]
    assert len(children) == 2 and {c.data.tags[PARENT_TAG] for c in children} == {parent.info.run_id}
    assert parent.data.params["alpha"] == "0.4"  # the params go with it
