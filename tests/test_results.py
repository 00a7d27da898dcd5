"""results: atomic writes, the metrics.csv contract (full float precision, schema errors), finding experiments."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import pytest

from mixup_bench.errors import UserError
from mixup_bench.metrics import LOGGED, METRICS
from mixup_bench.results.atomic import atomic_write_json, atomic_write_text
from mixup_bench.results.discovery import find_experiment
from mixup_bench.results.layout import EXPERIMENT_FILE, LAM_FILE, METRICS_FILE, RUNS_DIR, is_done, run_dirs
from mixup_bench.results.records import read_experiment, read_json
from mixup_bench.results.schema import (
    METRICS_COLUMNS,
    OPTIONAL_COLUMNS,
    csv_text,
    read_metrics,
    write_lam_log,
    write_metrics,
)
from tests.plot_fixtures import metrics_row, write_final_values

COMMITTED = Path(__file__).resolve().parents[1] / "results"


def test_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "sub" / "f.json"
    atomic_write_json(path, {"b": 1, "a": [1.5, "x"]})
    assert path.read_text() == '{\n  "a": [\n    1.5,\n    "x"\n  ],\n  "b": 1\n}\n'  # sorted keys, indented
    atomic_write_text(path, "new")
    assert path.read_text() == "new"
    assert sorted(p.name for p in path.parent.iterdir()) == ["f.json"]


def test_atomic_write_respects_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "f", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o640  # not mkstemp's 0600


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "metrics.csv"
    path.write_text("old\n")

    def no_rename(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", no_rename)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(path, "new\n")
    monkeypatch.undo()
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.csv"]  # the temporary file is removed


def test_metrics_round_trip_keeps_every_float_exactly(tmp_path):
    values = {"test_acc": 0.1 + 0.2, "test_loss": 1 / 3, "lr": 1e-17, "clean_train_loss": 12345.678901234567}
    rows = [metrics_row(0.4, 1, 1), metrics_row(0.4, 1, 2, **values)]
    write_metrics(tmp_path, rows)
    df = read_metrics(tmp_path / METRICS_FILE)
    assert tuple(df.columns[: len(METRICS_COLUMNS)]) == METRICS_COLUMNS
    assert df["epoch"].tolist() == [1, 2] and df["run_id"].tolist() == ["mixup-a0.4-s1"] * 2
    for key, value in values.items():
        assert df[key].iloc[1] == value, key  # exact: repr keeps 17 significant digits


def test_the_schema_built_from_metrics_is_the_header_of_every_committed_run():
    """METRICS_COLUMNS comes from the Metric records (`column`, `required`): every metrics.csv committed
    under results/, from the first release on, holds the required columns, and its header is
    METRICS_COLUMNS in that order with only optional columns left out; the newest ones hold all of it."""
    headers = {tuple(p.read_text().splitlines()[0].split(",")) for p in COMMITTED.rglob(METRICS_FILE)}
    assert len(headers) >= 2  # old and new files: the check below is not about one header only
    required = [c for c in METRICS_COLUMNS if c not in OPTIONAL_COLUMNS]
    for header in headers:
        assert set(required) <= set(header), header
        assert header == tuple(c for c in METRICS_COLUMNS if c in header), header
    assert METRICS_COLUMNS in headers


def test_every_measure_but_a_derived_one_has_its_own_column():
    ranks = [m.column for m in METRICS.values() if m.column]
    assert len(ranks) == len(set(ranks))  # two measures cannot claim one place
    assert set(LOGGED) == {n for n, m in METRICS.items() if m.column} <= set(METRICS_COLUMNS)
    derived = [n for n, m in METRICS.items() if not m.column]
    assert derived and not set(derived) & set(METRICS_COLUMNS)  # gap is computed when loading
    assert all(METRICS[n].required for n in LOGGED if n not in OPTIONAL_COLUMNS)


def test_a_file_from_before_the_optional_columns_loads_them_as_nan(tmp_path):
    old = [c for c in METRICS_COLUMNS if c not in OPTIONAL_COLUMNS]
    row = metrics_row(0.4, 1, 1)
    (tmp_path / METRICS_FILE).write_text(csv_text(old, [{c: row[c] for c in old}]))
    df = read_metrics(tmp_path / METRICS_FILE)
    assert set(METRICS_COLUMNS) <= set(df.columns)
    assert all(math.isnan(df[c].iloc[0]) for c in OPTIONAL_COLUMNS)
    assert df["test_acc"].iloc[0] == row["test_acc"]


def test_lam_log_columns(tmp_path):
    write_lam_log(tmp_path, [{"epoch": 1, "step": 0, "lam": 0.25}, {"epoch": 1, "step": 1, "lam": 1.0}])
    assert (tmp_path / LAM_FILE).read_text() == "epoch,step,lam\n1,0,0.25\n1,1,1.0\n"


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "is missing"),
        ("", "is empty"),
        ("epoch,test_acc\n1,0.5\n", "lacks the column"),
        (",".join(METRICS_COLUMNS) + "\n", "no epochs yet"),
    ],
)
def test_read_metrics_errors_are_one_line(tmp_path, content, message):
    path = tmp_path / METRICS_FILE
    if content is not None:
        path.write_text(content)
    with pytest.raises(UserError, match=message) as err:
        read_metrics(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_read_metrics_names_the_missing_columns(tmp_path):
    path = tmp_path / METRICS_FILE
    path.write_text("experiment,run_id,epoch\nx,baseline-a0-s0,1\n")
    with pytest.raises(UserError) as err:
        read_metrics(path)
    assert "test_acc" in str(err.value) and "train_loss" in str(err.value) and "run_id," not in str(err.value)


def test_read_json_errors_are_one_line(tmp_path):
    with pytest.raises(UserError, match="is missing"):
        read_json(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON") as err:
        read_json(tmp_path / "bad.json")
    assert "\n" not in str(err.value)


def test_run_dirs_and_done(tmp_path):
    exp = tmp_path / "exp"
    assert run_dirs(exp) == []
    write_final_values(exp, 0.4, 1, done=False)
    write_final_values(exp, 0, 0)
    (exp / RUNS_DIR / "stray.txt").write_text("")
    dirs = run_dirs(exp)
    assert [d.name for d in dirs] == ["baseline-a0-s0", "mixup-a0.4-s1"]
    assert [is_done(d) for d in dirs] == [True, False]


def test_find_experiment_takes_the_folder_or_the_latest_under_a_root(tmp_path):
    root = tmp_path / "results"
    older, newer = root / "older", root / "newer"
    write_final_values(older, 0, 0)
    write_final_values(newer, 0, 0)
    (root / "not-an-experiment").mkdir()
    past = time.time() - 3600
    os.utime(newer / "runs" / "baseline-a0-s0" / "metrics.csv", (past - 60, past - 60))
    os.utime(older / "runs" / "baseline-a0-s0" / "metrics.csv", (past, past))
    assert find_experiment(root) == older  # the one whose metrics.csv was written last
    assert find_experiment(newer) == newer
    (root / "just-a-record").mkdir()
    atomic_write_json(root / "just-a-record" / EXPERIMENT_FILE, {})
    assert find_experiment(root / "just-a-record") == root / "just-a-record"


@pytest.mark.parametrize(
    "setup, message", [("missing", "does not exist"), ("file", "is not a folder"), ("empty", "holds no experiment")]
)
def test_find_experiment_errors(tmp_path, setup, message):
    path = tmp_path / "x"
    if setup == "file":
        path.write_text("")
    elif setup == "empty":
        path.mkdir()
    with pytest.raises(UserError, match=message):
        find_experiment(path)


def test_read_experiment(tmp_path):
    assert read_experiment(tmp_path) is None
    atomic_write_json(tmp_path / EXPERIMENT_FILE, {"config": {"seeds": [0]}})
    assert read_experiment(tmp_path) == {"config": {"seeds": [0]}}


@pytest.mark.parametrize(("content", "message"), [("{not json", "not readable JSON"), ("[1, 2]", "holds an array")])
def test_read_experiment_errors_are_one_line(tmp_path, content, message):
    (tmp_path / EXPERIMENT_FILE).write_text(content)
    with pytest.raises(UserError, match=message) as err:
        read_experiment(tmp_path)
    assert "\n" not in str(err.value)
