"""MLflow: `run --mlflow [URI]` and `export --to mlflow`.

Layout: one MLflow experiment per mixup-bench experiment (named after its folder, and tagged
mixup_bench.identity with `identity.experiment_identity`: another experiment of the same name, or
the folder run anew, goes to `<name> (<identity>)` rather than into its runs), a parent run
per arm (`mixup-a0.4`, tagged mixup_bench.arm) and a nested run per seed (`mixup-a0.4-s0`,
tagged mixup_bench.run_id). Params are the resolved config; every metrics.csv metric is logged
per epoch with step = epoch (and `epoch` itself, which marks the epochs a run holds). Artifacts:
config.json, metrics.csv and lam.csv on each seed's run when it finishes; summary.md,
summary.csv and the figures (plots/) on each arm's run, when `plot` has made them.

What a user reads: each arm's run holds the arm's curves (arms.arm_curve, the mean over its finished
seeds, with `seeds`), so MLflow's chart view, which draws the runs its table lists (the parents),
is not empty; every run is tagged with its arm, arm label and data set (labels.run_tags: "Group
by arm"), each seed run with the code that trained it (labels.code_tags); summary.md is the
experiment's description (mlflow.note.content). Times are the recorded ones (integrations.times):
a run starts when it started and each metric is stamped when its epoch ended, not at the export.

A resumed run, or a second export, finds its MLflow runs by those tags and continues them: no new
run, no metric of an epoch twice (what a run holds is read per metric and epoch).

URI: a tracking server (http://host:5000), any store MLflow accepts (sqlite:///x.db, databricks),
or a folder. A folder (the default, ./mlruns) holds a local SQLite store, mlflow.db, and the
artifacts; `mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db` shows it. (MLflow 3 no
longer writes its old plain-file store unless told to.)
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from mixup_bench.catalog import record_title
from mixup_bench.errors import UserError
from mixup_bench.integrations.arms import ArmCurve, arm_curve
from mixup_bench.integrations.identity import experiment_identity
from mixup_bench.integrations.labels import code_tags, run_tags
from mixup_bench.naming import arm_id, plural
from mixup_bench.results.layout import CONFIG_FILE, LAM_FILE, METRICS_FILE, RUNS_DIR
from mixup_bench.results.records import read_experiment
from mixup_bench.results.writable import check_output_dir

DEFAULT_STORE = "mlruns"
INSTALL_HINT = '--mlflow needs MLflow: pip install "mixup-bench[mlflow]"'
ARM_TAG, RUN_TAG, PARENT_TAG = "mixup_bench.arm", "mixup_bench.run_id", "mlflow.parentRunId"
IDENTITY_TAG = "mixup_bench.identity"
MEAN_TAG = "mixup_bench.mean_of_seeds"  # on a parent run: the seeds its curves are the mean of ('0,1,2')
NOTE_TAG = "mlflow.note.content"  # MLflow's description of a run or an experiment
BATCH_METRICS = 1000  # the most metrics MLflow takes in one log_batch
PROBE_TIMEOUT_S = 10  # connecting to a server before training: fail in seconds, not after retries
RUN_ARTIFACTS = (CONFIG_FILE, METRICS_FILE, LAM_FILE)


def store_uri(text: str) -> tuple[str, str | None]:
    """(tracking URI, artifact root for a new experiment or None): a folder becomes a SQLite store in it.
    An empty text is refused: it would be the current folder, which nobody asks for by giving nothing."""
    if not text.strip():
        raise UserError(f"--mlflow needs a URI or a folder, got {text!r}; leave the value out for ./{DEFAULT_STORE}.")
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


def probe_store(text: str) -> None:
    """`run --dry-run --mlflow URI`: the checks MlflowTracker makes, without writing. A folder must be
    one that can be made; a server must answer (one read); a SQLite file is made on first use, so only
    its URI is taken; any other URI must give a client (an unknown scheme or a missing driver fails here)."""
    if not text.strip():
        store_uri(text)  # the same one line
    scheme = text.split(":", 1)[0].lower() if ("://" in text or ":" in text.split("/", 1)[0]) else ""
    if not scheme:
        check_output_dir(Path(text).expanduser())
        return
    if scheme == "sqlite":
        return
    try:
        client = _client(text)
        if scheme in ("http", "https"):
            with _fail_fast():
                client.search_experiments(max_results=1)
    except UserError:
        raise
    except Exception as e:  # noqa: BLE001 - as in MlflowTracker
        raise UserError(
            f"MLflow at {text} cannot be used ({_reason(e)}); start the server or give another --mlflow URI."
        ) from None


class MlflowTracker:
    """Logs runs to one MLflow experiment (see the module docstring). Connects when created."""

    name = "mlflow"

    def __init__(self, uri: str, exp_path: Path):
        self.uri, artifact_root = store_uri(uri)
        self.exp_path = Path(exp_path)
        self.artifact_root = artifact_root
        self._experiment_id: str | None = None
        self.experiment_name = self.exp_path.name
        try:
            self.client = _client(self.uri)  # a URI of an unknown scheme, a bad host, a store without its driver
            with _fail_fast():
                self.client.get_experiment_by_name(self.experiment_name)  # reachable: one read, nothing written
        except UserError:
            raise
        except Exception as e:  # noqa: BLE001 - MLflow raises many kinds; each is one line here
            raise UserError(
                f"MLflow at {self.uri} cannot be used ({_reason(e)}); start the server or give another --mlflow URI."
            ) from None
        self.parents: dict[str, str] = {}  # arm id -> MLflow run id
        self.children: dict[str, str] = {}  # run id -> MLflow run id
        self.done: dict[str, dict[str, bool]] = {}  # arm id -> {run id: finished}
        self.epochs: dict[str, set[int]] = {}  # run id -> epochs whose `epoch` metric the run holds

    @property
    def experiment_id(self) -> str:
        """The MLflow experiment of this experiment's identity, found or made at first use: by then a live
        run has written experiment.json, whose creation time is part of the identity."""
        if self._experiment_id is None:
            self._experiment_id = self._experiment_of(experiment_identity(self.exp_path))
        return self._experiment_id

    def _experiment_of(self, identity: str) -> str:
        """The id of the MLflow experiment tagged `identity`: the folder's name, or `<name> (<identity>)`
        when that name holds another experiment (or one exported before experiments were tagged)."""
        for name in (self.exp_path.name, f"{self.exp_path.name} ({identity})"):
            found = self.client.get_experiment_by_name(name)
            if found is None:
                location = f"{self.artifact_root}/{name}" if self.artifact_root else None
                self.experiment_name = name
                return self.client.create_experiment(name, artifact_location=location, tags={IDENTITY_TAG: identity})
            if found.tags.get(IDENTITY_TAG) == identity:
                if found.lifecycle_stage == "deleted":
                    self.client.restore_experiment(found.experiment_id)
                self.experiment_name = name
                return found.experiment_id
        raise UserError(f"MLflow at {self.uri} holds two other experiments named {self.exp_path.name!r}.")

    def _find(self, tag: str, value: str) -> str | None:
        runs = self.client.search_runs([self.experiment_id], f"tags.`{tag}` = '{value}'", max_results=1)
        return runs[0].info.run_id if runs else None

    def _new_run(self, name: str, tags: dict, params: dict, start: float) -> str:
        from mlflow.entities import Param

        run_id = self.client.create_run(self.experiment_id, start_time=_ms(start), tags=tags, run_name=name).info.run_id
        self.client.log_batch(run_id, params=[Param(k, str(v)) for k, v in params.items()])
        return run_id

    def _tag(self, run_id: str, tags: dict[str, str]) -> None:
        """Set `tags` on an MLflow run found again (one exported by an older version may lack some)."""
        from mlflow.entities import RunTag

        self.client.log_batch(run_id, tags=[RunTag(k, v) for k, v in tags.items()])

    def open_run(self, run: dict, start: float) -> dict[int, set[str]]:
        arm = arm_id(run["method"], float(run["alpha"]))
        params = {"method": run["method"], "alpha": run["alpha"], **(run.get("training") or {})}
        tags = run_tags(run)
        if arm not in self.parents:
            found = self._find(ARM_TAG, arm)
            self.parents[arm] = found or self._new_run(arm, {ARM_TAG: arm, **tags}, params, start)
            if found:
                self._tag(found, tags)
            self.client.update_run(self.parents[arm], status="RUNNING")
        child = self._find(RUN_TAG, run["run_id"])
        if child is None:
            seed_tags = {RUN_TAG: run["run_id"], PARENT_TAG: self.parents[arm], **tags, **code_tags(run)}
            seed_params = {**params, "seed": run["seed"], "device": run.get("device")}
            child = self._new_run(run["run_id"], seed_tags, seed_params, start)
        else:
            self._tag(child, {**tags, **code_tags(run)})
            self.client.update_run(child, status="RUNNING")
        self.children[run["run_id"]] = child
        self.done.setdefault(arm, {})[run["run_id"]] = False
        return self._held(run["run_id"], child)

    def _held(self, run_id: str, child: str) -> dict[int, set[str]]:
        """epoch -> the metrics the MLflow run holds for it (and the epochs its `epoch` metric marks)."""
        held: dict[int, set[str]] = {}
        for key in self.client.get_run(child).data.metrics:
            steps = {int(m.step) for m in self.client.get_metric_history(child, key)}
            if key == "epoch":
                self.epochs[run_id] = steps
                continue
            for step in steps:
                held.setdefault(step, set()).add(key)
        return held

    def log_epoch(self, run: dict, epoch: int, values: dict[str, float], lams: list[float], at: float) -> None:
        from mlflow.entities import Metric

        when = _ms(at)
        metrics = [Metric(k, v, when, epoch) for k, v in values.items()]
        marked = self.epochs.setdefault(run["run_id"], set())
        if epoch not in marked:
            metrics.append(Metric("epoch", float(epoch), when, epoch))
        self.client.log_batch(self.children[run["run_id"]], metrics=metrics)  # one batch: all of it, or none
        marked.add(epoch)

    def finish_run(self, run: dict, final: dict[str, float], done: bool, end: float) -> None:
        child = self.children[run["run_id"]]
        if done:
            rdir = self.exp_path / RUNS_DIR / run["run_id"]
            for name in RUN_ARTIFACTS:
                if (rdir / name).is_file():
                    self.client.log_artifact(child, str(rdir / name))
        self.client.set_terminated(child, "FINISHED" if done else "KILLED", end_time=_ms(end))
        self.done[arm_id(run["method"], float(run["alpha"]))][run["run_id"]] = done

    def close(self) -> None:
        """End each arm's run (FINISHED when all its seeds are) with the arm's curves (arms.arm_curve), the
        experiment's summary and figures; the summary is also the MLflow experiment's description."""
        from mixup_bench.analysis.report import SUMMARY_CSV, SUMMARY_MD
        from mixup_bench.figures.figures import PLOTS_DIR

        if self.parents:
            self._describe_experiment(self.exp_path / SUMMARY_MD)
        for arm in list(self.parents):
            curve = arm_curve(self.exp_path, arm)
            parent = self._log_curve(arm, curve) if curve.seeds else self.parents[arm]
            for name in (SUMMARY_MD, SUMMARY_CSV):
                if (self.exp_path / name).is_file():
                    self.client.log_artifact(parent, str(self.exp_path / name))
            if (self.exp_path / PLOTS_DIR).is_dir():
                self.client.log_artifacts(parent, str(self.exp_path / PLOTS_DIR), PLOTS_DIR)
            status = "FINISHED" if all(self.done.get(arm, {}).values()) else "KILLED"
            self.client.set_terminated(parent, status, end_time=_ms(curve.end) if curve.seeds else None)

    def _describe_experiment(self, summary: Path) -> None:
        """The MLflow experiment's description (summary.md, once `plot` has made it), its data set in words
        and the code version experiment.json records."""
        try:
            record = read_experiment(self.exp_path) or {}
        except UserError:
            record = {}
        tags = {"dataset": record_title(record), **code_tags(record)}
        if summary.is_file():
            tags[NOTE_TAG] = summary.read_text(encoding="utf-8", errors="replace")
        for key, value in tags.items():
            self.client.set_experiment_tag(self.experiment_id, key, value)

    def _log_curve(self, arm: str, curve: ArmCurve) -> str:
        """Give the arm's parent run `curve` (the seed mean); returns the parent's MLflow run id. A parent
        that holds the mean of other seeds (a seed finished since) is replaced by a new one with the new
        mean, its seed runs moved under it: MLflow keeps every value logged, so a second mean on the same
        runs would draw two lines in one."""
        from mlflow.entities import Metric, RunTag

        parent = self.parents[arm]
        held = self.client.get_run(parent).data
        if held.tags.get(MEAN_TAG) == curve.key:
            return parent
        if MEAN_TAG in held.tags or any(k != "epoch" for k in held.metrics):
            parent = self._replace_parent(arm, parent, held, curve.start)
        metrics = [Metric(k, v, _ms(curve.times[e]), e) for e, by_key in curve.means.items() for k, v in by_key.items()]
        for i in range(0, len(metrics), BATCH_METRICS):
            self.client.log_batch(parent, metrics=metrics[i : i + BATCH_METRICS])
        note = f"The mean over {plural(len(curve.seeds), 'finished seed')} ({curve.key}) at each epoch."
        self.client.log_batch(parent, tags=[RunTag(MEAN_TAG, curve.key), RunTag(NOTE_TAG, note)])
        return parent

    def _replace_parent(self, arm: str, old: str, held, start: float) -> str:
        """A new parent run for `arm`, with the old one's params and tags and its seed runs; the old one is
        deleted (MLflow hides it, and `_find` no longer finds it)."""
        tags = {k: v for k, v in held.tags.items() if not k.startswith("mlflow.") and k != MEAN_TAG}
        new = self._new_run(arm, tags, held.params, start)
        for child in self.client.search_runs(
            [self.experiment_id], f"tags.`{PARENT_TAG}` = '{old}'", max_results=10_000
        ):
            self.client.set_tag(child.info.run_id, PARENT_TAG, new)
        self.client.delete_run(old)
        self.parents[arm] = new
        return new


def _ms(seconds: float) -> int:
    """MLflow's times: whole milliseconds since the epoch."""
    return int(round(seconds * 1000))
