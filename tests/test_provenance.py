"""Which code produced a run (mixup_bench/provenance.py): the identity, the dirty tree, the source hash, the
code keys of config.json on start and resume, and the warnings of `plot` and `status` when runs differ."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mixup_bench import provenance
from mixup_bench.cli import app
from mixup_bench.provenance import code_fields, code_identity, code_warnings, describe_code, read_identities
from mixup_bench.results.atomic import atomic_write_json
from mixup_bench.results.layout import CHECKPOINT_FILE, CONFIG_FILE, run_dirs
from mixup_bench.results.records import read_json
from mixup_bench.sweep import execute
from mixup_bench.sweep.driver import RunOutcome
from tests.plot_fixtures import write_final_values
from tests.sweep.synthetic import experiment

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

A = {"git_sha": "a" * 40, "git_dirty": False, "source_hash": "1111111111111111"}
B = {"git_sha": "b" * 40, "git_dirty": False, "source_hash": "2222222222222222"}
A_DIRTY = {**A, "git_dirty": True}
A_NEW_COMMIT = {**A, "git_sha": "c" * 40}  # a commit that changed no source of the package


def flat(text: str) -> str:
    return " ".join(text.split())


# --- the identity ------------------------------------------------------------------------------------------------


def test_code_identity_of_this_checkout_is_typed_and_stable():
    first, second = code_identity(), code_identity()
    assert first == second and first is not second  # cached, yet a fresh dict each call
    assert set(first) == {"git_sha", "git_dirty", "source_hash"}
    assert isinstance(first["source_hash"], str) and len(first["source_hash"]) == provenance.HASH_DIGITS
    int(first["source_hash"], 16)
    assert first["source_hash"] == provenance.source_hash(provenance.PACKAGE_DIR)
    assert first["git_sha"] is None or len(first["git_sha"]) == 40
    assert (first["git_dirty"] is None) == (first["git_sha"] is None)


def git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    env = {**os.environ, **env, "GIT_CONFIG_GLOBAL": os.devnull}  # no user config (hooks, signing) in the way
    out = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True, env=env)
    return out.stdout.strip()


@pytest.fixture
def checkout(tmp_path) -> tuple[Path, Path]:
    """A git repository holding a committed fake package (pkg/), pyproject.toml, a .gitignore and docs."""
    repo = tmp_path / "repo"
    pkg = repo / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("X = 1\n")
    (pkg / "sub" / "mod.py").write_text("Y = 2\n")
    (repo / "pyproject.toml").write_text("[project]\nname = 'pkg'\n")
    (repo / ".gitignore").write_text("__pycache__/\n")
    (repo / "README.md").write_text("hi\n")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    return repo, pkg


@needs_git
def test_a_committed_package_is_clean_and_names_its_commit(checkout):
    repo, pkg = checkout
    sha, dirty = provenance.git_state(pkg)
    assert sha == git(repo, "rev-parse", "HEAD") and dirty is False


@needs_git
@pytest.mark.parametrize(
    "change",
    ["modified", "deleted", "staged", "untracked .py", "untracked .py in a new folder", "pyproject.toml", "renamed"],
)
def test_a_change_to_the_package_makes_the_tree_dirty(checkout, change):
    repo, pkg = checkout
    if change == "modified":
        (pkg / "sub" / "mod.py").write_text("Y = 3\n")
    elif change == "deleted":
        (pkg / "sub" / "mod.py").unlink()
    elif change == "staged":
        (pkg / "__init__.py").write_text("X = 2\n")
        git(repo, "add", "pkg/__init__.py")
    elif change == "untracked .py":
        (pkg / "new.py").write_text("")
    elif change == "untracked .py in a new folder":
        (pkg / "extra").mkdir()
        (pkg / "extra" / "deep.py").write_text("")
    elif change == "pyproject.toml":
        (repo / "pyproject.toml").write_text("[project]\nname = 'other'\n")
    else:
        git(repo, "mv", "pkg/sub/mod.py", "pkg/sub/moved.py")
    assert provenance.tree_dirty(repo, pkg) is True
    assert provenance.git_state(pkg)[1] is True


@needs_git
def test_results_and_files_outside_the_package_leave_the_tree_clean(checkout):
    repo, pkg = checkout
    run_dir = repo / "results" / "exp" / "runs" / "baseline-a0-s0"
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.csv").write_text("epoch\n1\n")
    (run_dir / "config.json").write_text("{}")
    (repo / "scratch.py").write_text("")  # a .py outside the package
    (repo / "README.md").write_text("changed\n")  # a tracked file outside the package
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "mod.cpython-312.pyc").write_bytes(b"\0")  # ignored by git
    (pkg / "notes.txt").write_text("")  # untracked, but no code
    assert provenance.tree_dirty(repo, pkg) is False


@needs_git
def test_a_package_not_tracked_by_the_repository_around_it_has_no_git_identity(checkout):
    """A wheel installed into a .venv inside some checkout: that checkout's commit is not the package's."""
    repo, _ = checkout
    installed = repo / ".venv" / "site-packages" / "pkg"
    installed.mkdir(parents=True)
    (installed / "__init__.py").write_text("X = 1\n")
    (repo / ".gitignore").write_text("__pycache__/\n.venv/\n")
    assert provenance.git_state(installed) == (None, None)


def test_outside_any_checkout_there_is_no_git_identity(tmp_path):
    (tmp_path / "__init__.py").write_text("")
    assert provenance.git_state(tmp_path) == (None, None)


def test_the_source_hash_follows_the_sources_only(checkout):
    _, pkg = checkout
    before = provenance.source_hash(pkg)
    assert before == provenance.source_hash(pkg) and len(before) == provenance.HASH_DIGITS
    (pkg / "notes.txt").write_text("not code")
    assert provenance.source_hash(pkg) == before
    (pkg / "sub" / "mod.py").write_text("Y = 3\n")
    changed = provenance.source_hash(pkg)
    assert changed != before
    (pkg / "sub" / "mod.py").rename(pkg / "mod.py")  # the same bytes under another path
    assert provenance.source_hash(pkg) not in (before, changed)


# --- config.json's code keys and the warnings ----------------------------------------------------------------------


def test_code_fields_keep_the_starting_code_and_list_each_resuming_one_once():
    assert code_fields(None, A) == {"code": A}
    assert code_fields({"code": A}, A) == {"code": A}  # resumed by the same code: nothing added
    once = code_fields({"code": A}, B)
    assert once == {"code": A, "code_resumed": [B]}
    assert code_fields(once, B) == once  # deduplicated
    assert code_fields(once, A) == once  # back to the starting code
    assert code_fields({"code": A, "code_resumed": [B]}, A_DIRTY) == {"code": A, "code_resumed": [B, A_DIRTY]}
    assert code_fields({"alpha": 0.4}, B) == {"code": {}, "code_resumed": [B]}  # started by older code


def test_describe_code():
    assert describe_code(A_DIRTY) == "aaaaaaa (dirty), sources 11111111…"
    assert describe_code({**A, "git_sha": None, "git_dirty": None}) == "no git commit, sources 11111111…"
    assert describe_code({}) == "no code recorded"


def test_one_clean_version_gives_no_warning():
    assert code_warnings({"baseline-a0-s0": A, "mixup-a0.4-s0": A_NEW_COMMIT}) == []  # same sources
    assert code_warnings({"baseline-a0-s0": {}, "mixup-a0.4-s0": {}}) == []  # nothing recorded at all
    assert code_warnings({}) == []


def test_two_versions_are_named_with_their_runs():
    (warning,) = code_warnings({"baseline-a0-s0": A, "mixup-a0.4-s0": A, "baseline-a0-s1": B})
    assert "2 versions of the code" in warning
    assert "aaaaaaa, sources 11111111…: baseline-a0-s0, mixup-a0.4-s0" in warning
    assert "bbbbbbb, sources 22222222…: baseline-a0-s1" in warning


def test_many_runs_are_named_compactly():
    runs = {f"mixup-a0.4-s{i}": A for i in range(10)} | {"baseline-a0-s0": B}
    (warning,) = code_warnings(runs)
    assert "+4 more" in warning and "mixup-a0.4-s9" not in warning


def test_a_dirty_tree_is_named():
    (warning,) = code_warnings({"baseline-a0-s0": A, "mixup-a0.4-s0": A_DIRTY})
    assert warning.startswith("Run mixup-a0.4-s0 was trained from a working tree with uncommitted changes")


def test_runs_that_recorded_nothing_cannot_be_told():
    (warning,) = code_warnings({"baseline-a0-s0": A, "mixup-a0.4-s0": {}, "mixup-a0.4-s1": {}})
    assert "2 runs (mixup-a0.4-s0, mixup-a0.4-s1) recorded no code identity" in warning
    assert "cannot be told" in warning


def test_a_run_resumed_by_other_code_was_trained_by_two_versions(tmp_path):
    config = tmp_path / "mixup-a0.4-s0" / "config.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"alpha": 0.4, **code_fields({"code": A}, B)}))
    identities = {"baseline-a0-s0": A} | read_identities([config])
    (warning,) = code_warnings(identities)
    assert warning.startswith("Run mixup-a0.4-s0 was trained by more than one version of the code")
    # resumed by a new commit of the same sources: one version, no warning
    config.write_text(json.dumps({"alpha": 0.4, **code_fields({"code": A}, A_NEW_COMMIT)}))
    assert code_warnings({"baseline-a0-s0": A} | read_identities([config])) == []


def test_an_unreadable_config_reads_as_no_identity(tmp_path):
    config = tmp_path / "baseline-a0-s0" / "config.json"
    config.parent.mkdir()
    config.write_bytes(b"\xff{")
    assert read_identities([config, tmp_path / "gone" / "config.json"]) == {"baseline-a0-s0": {}, "gone": {}}


# --- execute_run writes them --------------------------------------------------------------------------------------


def test_execute_run_records_the_starting_code_and_the_resuming_one(tmp_path, monkeypatch):
    """train_run stubbed: what is checked is config.json as execute_run writes it, on start and on resume."""
    monkeypatch.setattr(execute, "train_run", lambda cfg, data, rdir, emit, stop: None)
    exp = experiment(tmp_path / "data", tmp_path / "results")
    cfg = exp.runs()[0]
    config = tmp_path / "results" / exp.name / "runs" / cfg.run_id / CONFIG_FILE

    def start(identity: dict) -> dict:
        monkeypatch.setattr(execute, "code_identity", lambda: identity)
        assert execute.execute_run(cfg, None, exp.path, lambda e: None, lambda: False) is RunOutcome.DONE
        return json.loads(config.read_text())

    first = start(A)
    started = first.pop("started")  # when it first started: kept by a resume, new when it starts over
    assert first == {**cfg.to_dict(), "code": A}
    (config.parent / CHECKPOINT_FILE).write_bytes(b"")  # an epoch finished: the next command resumes
    assert start(B) == {**cfg.to_dict(), "code": A, "code_resumed": [B], "started": started}
    assert start(B)["code_resumed"] == [B]
    (config.parent / CHECKPOINT_FILE).unlink()  # no checkpoint: the run starts over, with this code
    again = start(B)
    assert again.pop("started") >= started and again == {**cfg.to_dict(), "code": B}


# --- end to end: `plot` and `status` -----------------------------------------------------------------------------


@pytest.mark.usefixtures("no_drawing")
def test_plot_and_status_warn_when_runs_came_from_different_code(tmp_path):
    exp = tmp_path / "exp"
    codes = {(0, 0): A, (0.4, 0): A, (0, 1): A, (0.4, 1): B}
    for (alpha, seed), code in codes.items():
        run_dir = write_final_values(exp, alpha, seed, test_acc=0.8 + alpha / 10)
        config = read_json(run_dir / CONFIG_FILE)
        resumed = {"code_resumed": [A_DIRTY]} if (alpha, seed) == (0, 1) else {}
        atomic_write_json(run_dir / CONFIG_FILE, {**config, "code": code, **resumed})
    cli = CliRunner()
    plot = cli.invoke(app, ["plot", str(exp)], env={"COLUMNS": "300"})
    status = cli.invoke(app, ["status", str(exp)], env={"COLUMNS": "300"})
    for result in (plot, status):
        assert result.exit_code == 0, result.output
        text = flat(result.output)
        assert "Warning: The runs came from 2 versions of the code" in text
        assert "bbbbbbb, sources 22222222…: mixup-a0.4-s1" in text
        assert "Warning: Run baseline-a0-s1 was trained from a working tree with uncommitted changes" in text
    assert flat(status.output).index("Warning:") > flat(status.output).index("4 done")  # under the table
    assert "2 versions of the code" in (exp / "summary.md").read_text()

    for run_dir in run_dirs(exp):  # one clean version: not a word
        config = read_json(run_dir / CONFIG_FILE)
        atomic_write_json(run_dir / CONFIG_FILE, {**config, "code": A, "code_resumed": []})
    for command in ("plot", "status"):
        result = cli.invoke(app, [command, str(exp)], env={"COLUMNS": "300"})
        assert result.exit_code == 0 and "Warning" not in result.output, result.output


def test_a_run_records_when_it_first_started_and_a_resume_keeps_it():
    from datetime import datetime, timezone

    from mixup_bench.provenance import started_field

    before = datetime.now(timezone.utc).replace(microsecond=0)  # `started` is to the millisecond
    started = started_field(None)["started"]
    assert before <= datetime.fromisoformat(started) <= datetime.now(timezone.utc) and started.endswith("+00:00")
    assert started_field({"started": "2026-01-02T03:04:05.000+00:00"}) == {"started": "2026-01-02T03:04:05.000+00:00"}
    assert started_field({"code": {}}) == {}  # a run from before the time was kept: no made-up start
