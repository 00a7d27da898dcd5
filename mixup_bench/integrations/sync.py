"""What every tracker is sent, and when: the one path shared by live logging and `export`.

A tracker (TensorBoard, MLflow) is told about a run when it starts or is found already done
(`open_run`, which answers the epochs it holds already), about each finished epoch
(`log_epoch`), and when the run ends (`finish_run`). `Sync` makes those calls:

- live, from the event stream that `run` already has (`start`, `epoch`, `done`, and the runner's
  `skipped`), whichever backend trained the run: `LiveLogging` wraps the progress reporter, so
  with `--jobs N` or Ray the trackers are fed in the parent process, one writer per run;
- afterwards, from the run folders (`export`).

On `open_run` every epoch metrics.csv holds but the tracker lacks is sent first. So a resumed run
continues where its log stopped with no epoch twice, a run started without a tracker catches up
when the flag is added, and a second export sends nothing new.

What a tracker holds is counted per epoch and per metric (`open_run` answers {epoch: metrics held}):
an epoch cut off in the middle of its tags (a kill during an export) gets the tags it lacks next
time, and so does an epoch whose shift columns came later. Only complete rows of metrics.csv are
sent: a torn last row (cut in mid-value, no end of line) waits until `run` has repaired the file.

A tracker that fails (a server gone away) is dropped with one line; training goes on, and
`mixup-bench export` can send the rest later from the CSVs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from mixup_bench.errors import UserError
from mixup_bench.integrations.rows import metric_values, read_epochs, read_lams
from mixup_bench.integrations.times import RunClock, run_start
from mixup_bench.naming import parse_run_id, plural
from mixup_bench.results.layout import CONFIG_FILE, RUNS_DIR, is_done, run_dirs
from mixup_bench.results.records import read_json


class Tracker(Protocol):
    """One outside tracker. `run` is the run's config.json (run_id, method, alpha, seed, training...). Times
    are Unix seconds, the recorded ones (integrations.times): `start` when the run started, `at` when the
    epoch ended, `end` when the run's latest epoch did."""

    name: str

    def open_run(self, run: dict, start: float) -> dict[int, set[str]] | set[int]: ...  # epoch -> metrics held

    def log_epoch(self, run: dict, epoch: int, values: dict[str, float], lams: list[float], at: float) -> None: ...

    def finish_run(self, run: dict, final: dict[str, float], done: bool, end: float) -> None: ...

    def close(self) -> None: ...


class Sync:
    """Feeds `trackers` the runs of the experiment at `exp_path`; see the module docstring."""

    def __init__(
        self, exp_path: Path, trackers: list[Tracker], say: Callable[[str], None] = print, strict: bool = False
    ):
        self.exp_path = Path(exp_path)
        self.trackers = list(trackers)
        self.say = say
        self.strict = strict  # export: a failing tracker is an error (exit 2); live: it is dropped
        self.held: dict[tuple[str, str], dict[int, set[str] | None]] = {}  # (tracker, run id) -> epoch -> metrics
        # it holds (None: all of them)
        self.configs: dict[str, dict] = {}  # run id -> config.json of the runs opened
        self.finished: set[str] = set()
        self.sent: dict[str, int] = {}  # run id -> epochs sent by this Sync, over all trackers
        self.clocks: dict[str, RunClock] = {}  # run id -> when its epochs ended

    def run_dir(self, run_id: str) -> Path:
        return self.exp_path / RUNS_DIR / run_id

    def on_event(self, e: dict) -> None:
        """One event of `run` (see sweep.progress): start/skipped open and catch up, epoch logs, done ends."""
        kind, run_id = e.get("type"), e.get("run_id")
        if not run_id or kind not in ("start", "skipped", "epoch", "done"):
            return
        if run_id not in self.configs:
            self.open(run_id)
        if kind == "epoch":
            self._log(run_id, int(e["epoch"]), metric_values(e))
        elif kind in ("done", "skipped"):
            self.finish(run_id, done=True)

    def open(self, run_id: str) -> None:
        """Tell every tracker about the run and send the epochs metrics.csv holds that it lacks."""
        self.configs[run_id] = config = _run_config(self.run_dir(run_id), run_id)
        self.finished.discard(run_id)
        clock = self.clocks[run_id] = RunClock(run_start(self.exp_path, config))
        epochs = sorted(read_epochs(self.run_dir(run_id)).items())
        for epoch, row in epochs:
            clock.end_of(epoch, metric_values(row))  # every epoch's time, whichever a tracker lacks
        for tracker in list(self.trackers):
            held = self._call(tracker, tracker.open_run, config, clock.start)
            self.held[tracker.name, run_id] = _held_metrics(held)
        for epoch, row in epochs:
            self._log(run_id, epoch, metric_values(row))

    def finish(self, run_id: str, done: bool) -> None:
        if run_id in self.finished:
            return
        self.finished.add(run_id)
        epochs = read_epochs(self.run_dir(run_id))
        final = metric_values(epochs[max(epochs)]) if epochs else {}
        for tracker in list(self.trackers):
            self._call(tracker, tracker.finish_run, self.configs[run_id], final, done, self.clocks[run_id].last)

    def export(self) -> list[str]:
        """Send every run folder of the experiment; one line per run saying what was sent."""
        lines = []
        for rdir in run_dirs(self.exp_path):
            self.open(rdir.name)
            self.finish(rdir.name, done=is_done(rdir))
            state = "" if is_done(rdir) else " (not finished)"
            lines.append(f"{rdir.name}: {plural(self.sent.get(rdir.name, 0), 'epoch')} sent{state}")
        return lines

    def close(self) -> None:
        """End the runs left open (a stopped command: not finished) and close the trackers."""
        for run_id in list(self.configs):
            self.finish(run_id, done=False)
        for tracker in list(self.trackers):
            self._call(tracker, tracker.close)

    def _log(self, run_id: str, epoch: int, values: dict[str, float]) -> None:
        """Send each tracker the metrics of `epoch` it lacks (with the epoch's lams, the first time)."""
        lams = None
        at = self.clocks[run_id].end_of(epoch, values)
        for tracker in list(self.trackers):
            held = self.held.setdefault((tracker.name, run_id), {})
            have = held.get(epoch, set())
            if have is None:
                continue
            missing = {k: v for k, v in values.items() if k not in have}
            if not missing:
                continue
            if not have:  # the epoch's first send
                lams = read_lams(self.run_dir(run_id), epoch) if lams is None else lams
            self._call(tracker, tracker.log_epoch, self.configs[run_id], epoch, missing, lams if not have else [], at)
            held[epoch] = have | set(missing)
            self.sent[run_id] = self.sent.get(run_id, 0) + 1

    def _call(self, tracker: Tracker, method: Callable, *args):
        """`method(*args)`; a tracker that fails is dropped with one line (live) or raised (export)."""
        try:
            return method(*args)
        except Exception as e:  # noqa: BLE001 - a tracker must never stop the training
            reason = " ".join(str(e).split()) or type(e).__name__
            if self.strict:
                raise UserError(f"{tracker.name}: {reason}") from None
            self.trackers.remove(tracker)
            self.say(
                f"{tracker.name}: {reason}; logging to it stopped (the CSVs are complete: "
                f"`mixup-bench export {self.exp_path} --to {tracker.name}` sends the rest later)."
            )
            return None


def _held_metrics(held: Any) -> dict[int, set[str] | None]:
    """What `open_run` answered, as epoch -> metrics held: a dict as it is; a set of epochs (a tracker
    that cannot tell its metrics apart) as those epochs whole."""
    if isinstance(held, dict):
        return {int(epoch): set(metrics) for epoch, metrics in held.items()}
    return {int(epoch): None for epoch in held or ()}


def _run_config(run_dir: Path, run_id: str) -> dict[str, Any]:
    """The run's config.json; a run folder without a readable one gets its id's parts alone."""
    try:
        return read_json(run_dir / CONFIG_FILE)
    except UserError:
        parsed = parse_run_id(run_id)
        if parsed is None:
            raise UserError(f"{run_dir} has no readable {CONFIG_FILE} and is not a run folder.") from None
        method, alpha, seed = parsed
        return {"run_id": run_id, "method": method, "alpha": alpha, "seed": seed, "training": {}}


class LiveLogging:
    """A progress reporter that also feeds `sync` every event: `run --tensorboard/--mlflow`.

    It stands in for the reporter it wraps (the runner calls say, handle and console on it); the
    wrapped reporter is entered and left by its owner. Leaving this one closes the trackers.
    """

    def __init__(self, reporter, sync: Sync):
        self.reporter = reporter
        self.sync = sync

    def __getattr__(self, name: str):
        return getattr(self.reporter, name)

    def __enter__(self) -> LiveLogging:
        return self

    def __exit__(self, *exc) -> None:
        self.sync.close()

    def handle(self, e: dict) -> None:
        self.reporter.handle(e)
        self.sync.on_event(e)


def make_trackers(exp_path: Path, tensorboard: bool = False, mlflow: str | None = None) -> list[Tracker]:
    """The trackers a command asked for, connected now: a missing package or an MLflow server that
    cannot be reached is a UserError before anything is trained or written to the results."""
    trackers: list[Tracker] = []
    if tensorboard:
        from mixup_bench.integrations.tensorboard_tracker import TENSORBOARD_DIR, TensorBoardTracker

        trackers.append(TensorBoardTracker(Path(exp_path) / TENSORBOARD_DIR, Path(exp_path)))
    if mlflow is not None:
        from mixup_bench.integrations.mlflow_tracker import MlflowTracker

        trackers.append(MlflowTracker(mlflow, Path(exp_path)))
    return trackers
