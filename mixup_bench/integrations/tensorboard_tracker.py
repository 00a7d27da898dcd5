"""TensorBoard event files: `run --tensorboard` and `export --to tensorboard`.

    <experiment>/tensorboard/<run_id>/events.out.tfevents.*

One folder per run, so `tensorboard --logdir <experiment>/tensorboard` lists every run, by its id.
Every run holds the same tags, so every chart holds every run, and TensorBoard, which colours a
line by its run's name, gives a run one colour on every chart (per-seed tags, `test_acc/s0`, put
each seed's runs on charts of their own, where the same arm got another colour on each):

- `<column>`: every metrics.csv metric at step = epoch, at the time the epoch ended
  (integrations.times: the recorded times, so the "Relative" axis is the real training time).
- `lam`: a histogram of the lams drawn in each epoch (arms that mix).
- HParams: the run's settings (arm, data set, code version included), with its final metrics as
  `hparams/<column>`, written once when the run finishes, for the HParams dashboard's table and
  parallel coordinates.

Resume: the scalars already in the folder are read back, per epoch and tag, and only the others are
written, so a resumed or re-exported run holds every epoch once, and an epoch cut off in the middle
of its tags (a kill) gets the rest.

Identity: each run folder holds IDENTITY_FILE, the identity of the experiment it was written for
(`identity.experiment_identity`); a folder of another experiment (a --logdir shared by two
experiments of one name) is refused rather than written into.
"""

from __future__ import annotations

from pathlib import Path

from mixup_bench.errors import UserError
from mixup_bench.integrations.identity import experiment_identity
from mixup_bench.integrations.labels import SOURCE_NAME_TAG, SOURCE_TYPE_TAG, code_tags, run_tags
from mixup_bench.metrics import M

TENSORBOARD_DIR = "tensorboard"
IDENTITY_FILE = "mixup_bench_identity.txt"  # beside the event files; TensorBoard reads only those
INSTALL_HINT = '--tensorboard needs TensorBoard: pip install "mixup-bench[tensorboard]"'
_MARKER = M.train_loss.name  # written first in every epoch: its steps are the epochs a folder holds
_HPARAMS_PREFIX = "hparams/"
LAM_TAG = "lam"
SOURCE_TAGS = (SOURCE_NAME_TAG, SOURCE_TYPE_TAG)  # MLflow's alone: the HParams table gets the code version


def _summary_writer():
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise UserError(INSTALL_HINT) from None
    return SummaryWriter


def held_scalars(run_logdir: Path) -> dict[str, dict[int, float]]:
    """Every scalar a run's event folder holds: tag -> {step: value} ({} for a new folder)."""
    if not run_logdir.is_dir():
        return {}
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_logdir), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: {e.step: e.value for e in acc.Scalars(tag)} for tag in acc.Tags().get("scalars", [])}


class TensorBoardTracker:
    """Writes each run to its own event folder under `logdir` (see the module docstring)."""

    name = "tensorboard"

    def __init__(self, logdir: Path, exp_path: Path | None = None):
        self.SummaryWriter = _summary_writer()  # fail before training when TensorBoard is missing
        self.logdir = Path(logdir)
        self.exp_path = Path(exp_path) if exp_path is not None else self.logdir.parent
        self.writers: dict = {}
        self.has_hparams: set[str] = set()

    def open_run(self, run: dict, start: float) -> dict[int, set[str]]:
        """The metrics the run's folder holds per epoch. Tags with a `/` (`hparams/...`, and the per-seed
        `<column>/s<seed>` an earlier version wrote) are not metrics of this layout: a folder of that
        version gets the tags of this one beside them."""
        run_id = run["run_id"]
        folder = self.logdir / run_id
        self._claim(folder)
        held = held_scalars(folder)
        if any(tag.startswith(_HPARAMS_PREFIX) for tag in held):
            self.has_hparams.add(run_id)
        by_epoch: dict[int, set[str]] = {}
        for tag, steps in held.items():
            if "/" not in tag:
                for step in steps:
                    by_epoch.setdefault(int(step), set()).add(tag)
        return by_epoch

    def _claim(self, folder: Path) -> None:
        """Mark `folder` as this experiment's; refuse it when it is another one's."""
        identity = experiment_identity(self.exp_path)
        marker = folder / IDENTITY_FILE
        try:
            found = marker.read_text().strip()
        except FileNotFoundError:
            found = None
        except (OSError, UnicodeDecodeError):
            found = ""
        if found is not None and found != identity:
            raise UserError(
                f"{folder} holds the TensorBoard events of another experiment named {self.exp_path.name!r}; "
                "give another --logdir (or delete that folder)."
            )
        if found is None:
            from mixup_bench.results.atomic import atomic_write_text

            folder.mkdir(parents=True, exist_ok=True)
            atomic_write_text(marker, identity + "\n")

    def _writer(self, run_id: str):
        """The run's writer, made at its first write: a run with nothing new gets no new event file."""
        if run_id not in self.writers:
            self.writers[run_id] = self.SummaryWriter(log_dir=str(self.logdir / run_id))
        return self.writers[run_id]

    def log_epoch(self, run: dict, epoch: int, values: dict[str, float], lams: list[float], at: float) -> None:
        import numpy as np

        writer = self._writer(run["run_id"])
        for column in sorted(values, key=lambda c: c != _MARKER):  # the marker first
            writer.add_scalar(column, values[column], epoch, walltime=at)
        if lams:
            writer.add_histogram(LAM_TAG, np.asarray(lams), epoch, bins="auto", walltime=at)
        writer.flush()  # live: visible at once; a kill loses nothing already logged

    def finish_run(self, run: dict, final: dict[str, float], done: bool, end: float) -> None:
        run_id = run["run_id"]
        if done and final and run_id not in self.has_hparams:
            self._write_hparams(self._writer(run_id), run, final, end)
            self.has_hparams.add(run_id)
        writer = self.writers.pop(run_id, None)
        if writer is not None:
            writer.close()

    def _write_hparams(self, writer, run: dict, final: dict[str, float], end: float) -> None:
        from torch.utils.tensorboard.summary import hparams

        settings = {"method": run.get("method"), "alpha": run.get("alpha"), "seed": run.get("seed")}
        settings.update(run_tags(run))
        code = {k.rsplit(".", 1)[-1]: v for k, v in code_tags(run).items() if k not in SOURCE_TAGS}
        settings.update(code)  # commit, git_dirty, source_hash
        settings.update(run.get("training") or {})
        hparam_dict = {k: v if isinstance(v, (bool, int, float, str)) else str(v) for k, v in settings.items()}
        metric_dict = {f"{_HPARAMS_PREFIX}{k}": v for k, v in final.items()}
        file_writer = writer._get_file_writer()
        for summary in hparams(hparam_dict, metric_dict):
            file_writer.add_summary(summary, walltime=end)
        epoch = int(run.get("training", {}).get("epochs") or 0)
        for tag, value in metric_dict.items():
            writer.add_scalar(tag, value, epoch, walltime=end)

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()
        self.writers.clear()
