"""MLflow: `run --mlflow [URI]` and `export --to mlflow`.

Layout: one MLflow experiment per mixup-bench experiment (named after its folder), a parent run
per arm (`mixup-a0.4`, tagged mixup_bench.arm) and a nested run per seed (`mixup-a0.4-s0`,
tagged mixup_bench.run_id). Params are the resolved config; every metrics.csv metric is logged
per epoch with step = epoch (and `epoch` itself, which marks the epochs a run holds). Artifacts:
config.json, metrics.csv and lam.csv on each seed's run when it finishes; summary.md,
summary.csv and the figures (plots/) on each arm's run, when `plot` has made them.

A resumed run, or a second export, finds its MLflow runs by those tags and continues them: no new
run, no epoch twice.

URI: a tracking server (http://host:5000), any store MLflow accepts (sqlite:///x.db, databricks),
or a folder. A folder (the default, ./mlruns) holds a local SQLite store, mlflow.db, and the
artifacts; `mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db` shows it. (MLflow 3 no
longer writes its old plain-file store unless told to.)
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from mixup_bench import results
from mixup_bench.errors import UserError
from mixup_bench.naming import arm_id

DEFAULT_STORE = "mlruns"
INSTALL_HINT = '--mlflow needs MLflow: pip install "mixup-bench[mlflow]"'
ARM_TAG, RUN_TAG, PARENT_TAG = "mixup_bench.arm", "mixup_bench.run_id", "mlflow.parentRunId"
PROBE_TIMEOUT_S = 10  # connecting to a server before training: fail in seconds, not after retries
RUN_ARTIFACTS = (results.CONFIG_FILE, results.METRICS_FILE, results.LAM_FILE)


def store_uri(text: str) -> tuple[str, str | None]:
    """(tracking URI, artifact root for a new experiment or None): a folder becomes a SQLite store in it."""
    if "://" in text or text.split(":", 1)[0] in ("sqlite", "file", "databricks", "postgresql", "mysql"):
        return text, None
    folder = Path(text).expanduser().resolve()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"--mlflow {text}: cannot create the folder ({e.strerror or e}).") from None
    return f"sqlite:///{folder / 'mlflow.db'}", (folder / "artifacts").as_uri()


@contextlib.contextmanager
def _fail_fast() -> Iterator[None]:
    """No retries and a short timeout while connecting: an unreachable server is one line in seconds."""
    saved = {k: os.environ.get(k) for k in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT")}
    os.environ.update(MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT=str(PROBE_TIMEOUT_S))
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _client(uri: str):
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise UserError(INSTALL_HINT) from None
    for name in ("mlflow", "alembic"):  # their INFO lines (creating a store's tables) are noise here
        logging.getLogger(name).setLevel(logging.WARNING)
    return MlflowClient(tracking_uri=uri)


def _reason(e: Exception) -> str:
    text = str(e)
    for marker in ("Connection refused", "Name or service not known", "timed out", "No route to host"):
        if marker in text:
            return marker
    return " ".join(text.split())[:300] or type(e).__name__


class MlflowTracker:
    """Logs runs to one MLflow experiment (see the module docstring). Connects when created."""

    name = "mlflow"

    def __init__(self, uri: str, exp_path: Path):
        self.uri, artifact_root = store_uri(uri)
        self.exp_path = Path(exp_path)
        self.client = _client(self.uri)
        name = self.exp_path.name
        try:
            with _fail_fast():
                found = self.client.get_experiment_by_name(name)
                if found is None:
                    location = f"{artifact_root}/{name}" if artifact_root else None
                    self.experiment_id = self.client.create_experiment(name, artifact_location=location)
                else:
                    self.experiment_id = found.experiment_id
                    if found.lifecycle_stage == "deleted":
                        self.client.restore_experiment(self.experiment_id)
        except Exception as e:  # noqa: BLE001 - MLflow raises many kinds; each is one line here
            raise UserError(
                f"MLflow at {self.uri} cannot be used ({_reason(e)}); start the server or give another --mlflow URI."
            ) from None
        self.parents: dict[str, str] = {}  # arm id -> MLflow run id
        self.children: dict[str, str] = {}  # run id -> MLflow run id
        self.done: dict[str, dict[str, bool]] = {}  # arm id -> {run id: finished}

    def _find(self, tag: str, value: str) -> str | None:
        runs = self.client.search_runs([self.experiment_id], f"tags.`{tag}` = '{value}'", max_results=1)
        return runs[0].info.run_id if runs else None

    def _new_run(self, name: str, tags: dict, params: dict) -> str:
        from mlflow.entities import Param

        run_id = self.client.create_run(self.experiment_id, tags=tags, run_name=name).info.run_id
        self.client.log_batch(run_id, params=[Param(k, str(v)) for k, v in params.items()])
        return run_id

    def open_run(self, run: dict) -> set[int]:
        arm = arm_id(run["method"], float(run["alpha"]))
        params = {"method": run["method"], "alpha": run["alpha"], **(run.get("training") or {})}
        if arm not in self.parents:
            self.parents[arm] = self._find(ARM_TAG, arm) or self._new_run(arm, {ARM_TAG: arm}, params)
            self.client.update_run(self.parents[arm], status="RUNNING")
        child = self._find(RUN_TAG, run["run_id"])
        if child is None:
            tags = {RUN_TAG: run["run_id"], PARENT_TAG: self.parents[arm]}
            child = self._new_run(run["run_id"], tags, {**params, "seed": run["seed"], "device": run.get("device")})
        else:
            self.client.update_run(child, status="RUNNING")
        self.children[run["run_id"]] = child
        self.done.setdefault(arm, {})[run["run_id"]] = False
        return {int(m.step) for m in self.client.get_metric_history(child, "epoch")}

    def log_epoch(self, run: dict, epoch: int, values: dict[str, float], lams: list[float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(k, v, now, epoch) for k, v in values.items()] + [Metric("epoch", float(epoch), now, epoch)]
        self.client.log_batch(self.children[run["run_id"]], metrics=metrics)

    def finish_run(self, run: dict, final: dict[str, float], done: bool) -> None:
        child = self.children[run["run_id"]]
        if done:
            rdir = self.exp_path / results.RUNS_DIR / run["run_id"]
            for name in RUN_ARTIFACTS:
                if (rdir / name).is_file():
                    self.client.log_artifact(child, str(rdir / name))
        self.client.set_terminated(child, "FINISHED" if done else "KILLED")
        self.done[arm_id(run["method"], float(run["alpha"]))][run["run_id"]] = done

    def close(self) -> None:
        """End each arm's run (FINISHED when all its seeds are) with the experiment's summary and figures."""
        from mixup_bench.analysis.report import SUMMARY_CSV, SUMMARY_MD
        from mixup_bench.figures.figures import PLOTS_DIR

        for arm, parent in self.parents.items():
            for name in (SUMMARY_MD, SUMMARY_CSV):
                if (self.exp_path / name).is_file():
                    self.client.log_artifact(parent, str(self.exp_path / name))
            if (self.exp_path / PLOTS_DIR).is_dir():
                self.client.log_artifacts(parent, str(self.exp_path / PLOTS_DIR), PLOTS_DIR)
            self.client.set_terminated(parent, "FINISHED" if all(self.done.get(arm, {}).values()) else "KILLED")
