"""What the user sees while `run` works: a rich progress display on a terminal,
plain lines when stdout is not a TTY, nothing but the end with --quiet.

Reporters consume the event dicts that `train.train_run` emits (start, step,
epoch, done, message) plus the runner's own (skipped, estimate) and `execute_run`'s
(message: a run left to the process that holds its lock). Lines that no event carries
(a failed run, a stop) come through `say`.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from mixup_bench.metrics import M
from mixup_bench.naming import METHOD_NAMES, arm_label, arm_order, method_for

# The closing table's measures, with headings narrower than `Metric.short`: the training objective, then the
# parts of the claim a run's final row holds (gap is derived when loading, so not there).
FINAL_TABLE = (
    (M.train_loss, "train obj"),
    (M.clean_train_loss, "clean train loss"),
    (M.test_loss, "test loss"),
    (M.test_acc, "test acc"),
    (M.test_ece, "test ECE"),
)


def epoch_line(e: dict) -> str:
    """One line per finished epoch: the numbers that show MixUp's effect as it trains."""
    return (
        f"{e['run_id']:<18} epoch {e['epoch']:>3}  train obj {e[M.train_loss.name]:.3f}  "
        f"clean train loss {e[M.clean_train_loss.name]:.3f}  test loss {e[M.test_loss.name]:.3f}  "
        f"test acc {100 * e[M.test_acc.name]:5.2f}%  {e['epoch_seconds']:5.1f} s  {e['images_per_second']:,.0f} img/s"
    )


class Reporter:
    """Plain reporter: one line per run start, epoch and end. Also the base class."""

    def __init__(self, console: Console, total_runs: int, quiet: bool = False):
        self.console = console
        self.total_runs = total_runs
        self.quiet = quiet

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def say(self, message: str) -> None:
        if not self.quiet:
            self.console.print(message, markup=False, highlight=False, soft_wrap=True)  # paths are not markup

    def handle(self, e: dict) -> None:
        kind = e["type"]
        if kind == "start":
            resumed = f", resuming after epoch {e['start_epoch']}" if e["start_epoch"] else ""
            self.say(f"{e['run_id']}: {e['epochs']} epochs on {e['device']} ({e['precision']}){resumed}")
        elif kind == "epoch":
            self.say(epoch_line(e))
        elif kind == "done":
            self.say(f"{e['run_id']}: done")
        elif kind in ("message", "estimate"):
            self.say(e["text"])


def remaining_seconds(estimate: dict, epochs_done: int, since_estimate: float) -> float:
    """Seconds left, from the estimate's parts and the pace so far: the workers' start and the finish are
    fixed; the epochs still to come take what the model says, scaled by how the epochs done so far compare
    with it (clamped to 0.5x-2x, so one odd epoch cannot throw the ETA far)."""
    lead, finish = float(estimate.get("lead", 0.0)), float(estimate.get("finish", 0.0))
    body = max(0.0, float(estimate["seconds"]) - lead - finish)
    total = max(1, int(estimate["epochs"]))
    if epochs_done <= 0:
        return max(0.0, float(estimate["seconds"]) - since_estimate)
    expected_by_now = lead + body * epochs_done / total
    pace = min(2.0, max(0.5, since_estimate / expected_by_now)) if expected_by_now > 0 else 1.0
    return body * (total - epochs_done) / total * pace + finish


class EstimateColumn(TimeRemainingColumn):
    """The overall bar's ETA from the estimate (fixed costs included), counted down between epochs; other
    bars keep rich's own, from their speed."""

    def render(self, task) -> Text:
        deadline = task.fields.get("deadline")
        if deadline is None:
            return super().render(task)
        left = max(0, round(deadline - time.perf_counter()))
        minutes, seconds = divmod(left, 60)
        hours, minutes = divmod(minutes, 60)
        text = f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"
        return Text(text, style="progress.remaining")


class LiveReporter(Reporter):
    """Rich progress: one bar for the experiment and one per active run, with ETAs."""

    def __init__(self, console: Console, total_runs: int, quiet: bool = False):
        super().__init__(console, total_runs, quiet)
        self.progress = Progress(
            TextColumn("{task.description:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            EstimateColumn(),
            console=console,
        )
        self.overall = self.progress.add_task("runs", total=total_runs, info="", deadline=None)
        self.estimate: dict | None = None  # the last "estimate" event, and when it came
        self.estimated_at = 0.0
        self.epochs_done = 0
        self.tasks: dict[str, int] = {}
        self.steps_per_epoch: dict[str, int] = {}
        self.counts_epochs = False  # True once an "estimate" event has set the total in epochs
        self.started = time.perf_counter()

    def __enter__(self) -> LiveReporter:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def say(self, message: str) -> None:
        self.progress.console.print(message, markup=False, highlight=False, soft_wrap=True)

    def handle(self, e: dict) -> None:
        kind = e["type"]
        rid = e.get("run_id", "")
        if kind == "start":
            total = e["epochs"] * e["steps_per_epoch"]
            done = e["start_epoch"] * e["steps_per_epoch"]
            self.tasks[rid] = self.progress.add_task(
                rid, total=total, completed=done, info=f"epoch {e['start_epoch'] + 1}"
            )
            self.steps_per_epoch[rid] = e["steps_per_epoch"]
            super().handle(e)
        elif kind == "step" and rid in self.tasks:
            spe = self.steps_per_epoch[rid]
            self.progress.update(
                self.tasks[rid],
                completed=(e["epoch"] - 1) * spe + e["step"],
                info=f"epoch {e['epoch']}",
            )
        elif kind == "estimate":  # from here on the overall bar counts epochs; its ETA is the estimate's
            self.estimate, self.estimated_at, self.epochs_done = e, time.perf_counter(), 0
            deadline = self.estimated_at + e["seconds"] if "seconds" in e else None
            self.progress.update(
                self.overall, total=e["epochs"], completed=0, description="epochs (all runs)", deadline=deadline
            )
            self.counts_epochs = True
            super().handle(e)
        elif kind == "epoch" and self.counts_epochs:
            self.progress.advance(self.overall)
            self.epochs_done += 1
            if self.estimate is not None and "seconds" in self.estimate:
                now = time.perf_counter()
                left = remaining_seconds(self.estimate, self.epochs_done, now - self.estimated_at)
                self.progress.update(self.overall, deadline=now + left)
            super().handle(e)
        elif kind == "done":
            if rid in self.tasks:
                self.progress.remove_task(self.tasks.pop(rid))
            if not self.counts_epochs:
                self.progress.advance(self.overall)
            super().handle(e)
        elif kind in ("skipped",):
            if not self.counts_epochs:
                self.progress.advance(self.overall)
        else:
            super().handle(e)


def make_reporter(console: Console, total_runs: int, quiet: bool) -> Reporter:
    """Live progress on a terminal, plain lines otherwise."""
    if console.is_terminal and not quiet:
        return LiveReporter(console, total_runs)
    return Reporter(console, total_runs, quiet)


def final_table(rows: list[dict]) -> Table:
    """Final metrics per arm, the mean over the seeds that finished."""
    arms: dict[tuple[str, float], list[dict]] = {}
    for r in rows:
        alpha = float(r["alpha"])
        method = r.get("method")
        if not (isinstance(method, str) and method in METHOD_NAMES):  # older DONE files lack it
            method = method_for(alpha)
        arms.setdefault((method, alpha), []).append(r)
    table = Table(title="Final epoch, mean over seeds")
    for col in ("arm", "seeds", *(heading for _, heading in FINAL_TABLE)):
        table.add_column(col, justify="left" if col == "arm" else "right")
    for arm in sorted(arms, key=arm_order):
        rs = arms[arm]
        means = ((m, sum(float(r[m.name]) for r in rs) / len(rs)) for m, _ in FINAL_TABLE)
        cells = (m.value_text(v) + ("%" if m.fraction else "") for m, v in means)
        table.add_row(arm_label(*arm), str(len(rs)), *cells)
    return table
