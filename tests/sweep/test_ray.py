"""`--backend ray` against a real local Ray (ray.init(num_cpus=2)): the same layout and exactly the same
numbers as the local backend, events forwarded to the reporter, Ctrl-C that stops the tasks at their next
step and resumes exactly. Skipped when Ray is not installed; a clear error when it is asked for without Ray."""

from __future__ import annotations

import dataclasses
import sys

import pytest

from mixup_bench.errors import UserError
from mixup_bench.sweep.runner import run_experiment
from tests.sweep.synthetic import RecordingReporter, experiment, resume_equals_reference, stop_at_first_epoch


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[ray]')")
    # Workers at nice 0, as the backend does for the local Ray it starts itself: at Ray's default nice 15 every
    # task (and the control actor) gets only the CPU that nothing else wants, and on a shared 2-core machine the
    # interrupted-then-resumed test took ~200 s of wall time for ~16 s of driver CPU.
    # One OMP thread through the environment that the raylet, and so every worker, inherits. Not a job
    # runtime_env: with one, Ray starts its workers again through setup_worker.py and leaves the prestarted
    # ones idle, seconds more on 2 busy cores.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OMP_NUM_THREADS", "1")
        ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING", _system_config={"worker_niceness": 0})
    yield ray
    ray.shutdown()


def max_active(events: list[dict]) -> int:
    active, most = set(), 0
    for e in events:
        if e["type"] == "start":
            active.add(e["run_id"])
        elif e["type"] in ("done", "stopped"):
            active.discard(e["run_id"])
        most = max(most, len(active))
    return most


def test_missing_ray_is_a_one_line_user_error(tiny_cifar, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    exp = experiment(tiny_cifar, tmp_path / "results", epochs=1, backend="ray")
    with pytest.raises(UserError, match=r'--backend ray needs Ray: pip install -e "\.\[ray\]"'):
        run_experiment(exp, RecordingReporter())


@pytest.mark.slow
def test_ray_interrupted_then_resumed_equals_local(local_ray, tiny_cifar, tmp_path, reference):
    exp = experiment(tiny_cifar, tmp_path / "results", seeds=(0, 1), backend="ray")

    stopped, _, partial = stop_at_first_epoch(exp, rerun_command="mixup-bench run --backend ray")
    assert "Ray: 4 runs as tasks of 1 CPU(s) each, on a cluster of 2 CPU(s)" in stopped.text
    assert local_ray.is_initialized()  # a Ray that the caller started is left running
    # Which runs were cut after an epoch depends on timing under load; each of them resumes, never restarts.
    resumed = resume_equals_reference(exp, reference, partial)

    # Never more runs at once than the cluster's 2 CPUs allow with 1 CPU per run (a task that blocked in
    # ray.get would lend its CPU to the next task and let it start early).
    assert max_active(stopped.events) <= 2 and max_active(resumed.events) <= 2


@pytest.mark.slow
@pytest.mark.usefixtures("local_ray")
def test_ray_task_error_is_the_tasks_own_one_line_error(tiny_cifar, tmp_path):
    """A UserError raised inside a task (here: the run diverges, lr 10 with weight decay 1 on the tiny
    set) reaches the user as itself, not as a Ray traceback."""
    exp = experiment(tiny_cifar, tmp_path / "results", epochs=3, backend="ray")
    training = dataclasses.replace(exp.training, lr=10.0, weight_decay=1.0, batch_size=8)
    exp = dataclasses.replace(exp, training=training)
    reporter = RecordingReporter()
    # Both arms diverge; which task's error arrives first depends on timing, and that one is raised.
    with pytest.raises(
        UserError, match=r"^(baseline-a0|mixup-a0\.4)-s0 diverged at epoch \d+, step \d+; lower --lr"
    ) as e:
        run_experiment(exp, reporter)
    first = str(e.value).split(" ", 1)[0]
    assert f"{first}: failed: {first} diverged at epoch" in reporter.text
