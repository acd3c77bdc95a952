"""Tests of experiments.store: the lock, the CSV files, row order and the order of writes on a rerun."""

import csv
import json
import os

import numpy as np
import pytest

import experiments.store.csv_files as csv_files
from experiments import files
from experiments.errors import ResultsError
from experiments.store.columns import (
    ADDED_METRIC_COLUMNS,
    ADDED_RUN_COLUMNS,
    METRIC_COLUMNS,
    RUN_COLUMNS,
    STATUSES,
)
from experiments.store.csv_files import read_csv_rows, write_atomically
from experiments.store.store import ResultsStore


def run_row(run_id, accuracy=0.5, status="finished", **fields):
    """A runs.csv row with every column, as the runner builds it."""
    row = dict.fromkeys(RUN_COLUMNS)
    row.update(run_id=run_id, layers="784-10", epochs=2, mini_batch_size=10, eta=3.0, seed=0,
               dataset="mnist", dtype="float32", activation="sigmoid",
               cost_function="quadratic", status=status, accuracy=accuracy,
               best_accuracy=accuracy, best_epoch=2, validation_accuracy=accuracy,
               train_seconds=2.0, seconds_per_epoch=1.0, comment="", started_at="t", error="",
               init="normal", lmbda=0.0, momentum=0.0, early_stopping=0, eta_schedule="none",
               epochs_run=2, stopped="", source="")
    row.update(fields)
    return row


def metrics(run_id, accuracy=0.5, epochs=2):
    """metrics.csv rows of `run_id`, one per epoch, every accuracy = `accuracy`."""
    return [{"run_id": run_id, "epoch": epoch, "cost": 0.25, "accuracy": accuracy,
             "validation_accuracy": accuracy, "seconds": 1.0, "eta": 3.0}
            for epoch in range(1, epochs + 1)]


def record(store, run_id, accuracy=0.5, epochs=2):
    store.record(run_row(run_id, accuracy), metrics(run_id, accuracy, epochs),
                 f"layers: [784, 10]\n# {run_id}\n", {"run_id": run_id, "accuracy": accuracy})


def csv_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def column(path, name):
    return [row[name] for row in csv_rows(path)]


def test_columns_and_statuses():
    assert RUN_COLUMNS[0] == METRIC_COLUMNS[0] == "run_id"
    assert len(set(RUN_COLUMNS)) == len(RUN_COLUMNS)
    assert {"status", "accuracy", "best_accuracy", "best_epoch", "cost_function"} <= set(RUN_COLUMNS)
    assert METRIC_COLUMNS == ("run_id", "epoch", "cost", "accuracy", "validation_accuracy", "seconds",
                              "eta")
    assert STATUSES == ("finished", "diverged", "failed", "pruned")


def test_lock_file_names_the_holder(tmp_path):
    with ResultsStore(tmp_path / "out"):
        assert (tmp_path / "out" / ".lock").read_text().strip() == f"pid {os.getpid()}"


def test_second_store_on_a_locked_directory_is_refused_until_the_first_exits(tmp_path):
    directory = tmp_path / "out"
    with ResultsStore(directory):
        with pytest.raises(ResultsError) as caught:
            with ResultsStore(directory):
                pass
        assert str(caught.value) == (f"{directory}: another sweep is writing here "
                                     f"(pid {os.getpid()}); wait for it to end or pass --out DIR")
    with ResultsStore(directory) as store:
        record(store, "a")
    assert list(ResultsStore(directory).runs()) == ["a"]


def test_directory_under_a_regular_file_is_one_error(tmp_path):
    (tmp_path / "file").write_text("not a directory\n")
    directory = tmp_path / "file" / "out"
    with pytest.raises(ResultsError) as caught:
        with ResultsStore(directory):
            pass
    assert str(caught.value) == f"{directory}: cannot create: Not a directory"


def test_record_writes_config_run_json_and_both_csv_files(tmp_path):
    info = {"run_id": "a", "wall_seconds": 1.5, "git_commit": None}
    with ResultsStore(tmp_path) as store:
        store.record(run_row("a", 0.9), metrics("a", 0.9), "layers: [784, 10]\n", info)
        runs = store.runs()
    assert (tmp_path / "a" / "config.yaml").read_text() == "layers: [784, 10]\n"
    assert json.loads((tmp_path / "a" / "run.json").read_text()) == info
    assert list(runs) == ["a"]
    assert runs["a"]["status"] == "finished" and runs["a"]["accuracy"] == "0.9"
    assert all(isinstance(value, str) for value in runs["a"].values())
    assert (tmp_path / "runs.csv").read_text().splitlines()[0] == ",".join(RUN_COLUMNS)
    assert (tmp_path / "metrics.csv").read_text().splitlines() == [
        ",".join(METRIC_COLUMNS), "a,1,0.25,0.9,0.9,1.0,3.0", "a,2,0.25,0.9,0.9,1.0,3.0"]


def test_rerecording_replaces_the_metrics_rows_never_duplicates_them(tmp_path):
    with ResultsStore(tmp_path, order=("a", "b")) as store:
        record(store, "a", 0.5, epochs=3)
        record(store, "b", 0.6)
        record(store, "a", 0.9, epochs=2)
        record(store, "a", 0.8, epochs=2)
    assert column(tmp_path / "runs.csv", "run_id") == ["a", "b"]
    assert column(tmp_path / "runs.csv", "accuracy") == ["0.8", "0.6"]
    assert [(row["run_id"], row["epoch"], row["accuracy"]) for row in csv_rows(tmp_path / "metrics.csv")] == [
        ("a", "1", "0.8"), ("a", "2", "0.8"), ("b", "1", "0.6"), ("b", "2", "0.6")]


def test_rows_follow_the_sweep_order_whatever_the_order_of_records(tmp_path):
    with ResultsStore(tmp_path) as store:  # an earlier sweep, whose run_ids are not in `order`
        record(store, "x")
        record(store, "w")
    with ResultsStore(tmp_path, order=("a", "b", "c")) as store:
        for run_id in ("c", "a", "b"):
            record(store, run_id)
    assert column(tmp_path / "runs.csv", "run_id") == ["a", "b", "c", "x", "w"]
    assert column(tmp_path / "metrics.csv", "run_id") == ["a", "a", "b", "b", "c", "c", "x", "x", "w", "w"]
    assert column(tmp_path / "metrics.csv", "epoch") == ["1", "2"] * 5


def test_leftover_metrics_rows_are_dropped_at_the_next_record(tmp_path):
    with ResultsStore(tmp_path) as store:
        record(store, "a")
        with open(tmp_path / "metrics.csv", "a") as handle:  # a kill between metrics and runs
            handle.write("ghost,1,0.1,0.2,0.3,1.0,3.0\n")
        assert len(read_csv_rows(store.metrics_path, METRIC_COLUMNS)) == 3
        record(store, "b")
    assert column(tmp_path / "metrics.csv", "run_id") == ["a", "a", "b", "b"]


def spy_writes(monkeypatch, fail_after=None):
    """Replace csv_files.write_atomically: log (file name, content); raise Killed after `fail_after` writes."""
    calls = []

    def spy(path, data):
        if fail_after is not None and len(calls) >= fail_after:
            raise Killed(f"killed before writing {path}")
        calls.append((os.path.basename(path), data))
        files.write_atomically(path, data)

    monkeypatch.setattr(csv_files, "write_atomically", spy)
    return calls


class Killed(Exception):
    """Stands for a SIGKILL at a point of record()."""


def test_first_record_writes_metrics_before_the_runs_row(tmp_path, monkeypatch):
    with ResultsStore(tmp_path) as store:
        calls = spy_writes(monkeypatch)
        record(store, "a")
    assert [name for name, _ in calls] == ["config.yaml", "run.json", "metrics.csv", "runs.csv"]


def test_rerecord_unrecords_the_old_row_before_writing_new_metrics(tmp_path, monkeypatch):
    with ResultsStore(tmp_path) as store:
        record(store, "a", 0.5)
        record(store, "b", 0.6)
        calls = spy_writes(monkeypatch)
        record(store, "a", 0.9)
    assert [name for name, _ in calls] == ["config.yaml", "run.json", "runs.csv", "metrics.csv", "runs.csv"]
    unrecorded, new_metrics, recorded = (text for _, text in calls[2:])
    assert [line.split(",")[0] for line in unrecorded.splitlines()[1:]] == ["b"]
    assert [line.split(",")[:4] for line in new_metrics.splitlines()[1:]] == [
        ["b", "1", "0.25", "0.6"], ["b", "2", "0.25", "0.6"],
        ["a", "1", "0.25", "0.9"], ["a", "2", "0.25", "0.9"]]
    assert [line.split(",")[0] for line in recorded.splitlines()[1:]] == ["b", "a"]
    assert recorded == (tmp_path / "runs.csv").read_text()


@pytest.mark.parametrize("fail_after", range(5))
def test_a_kill_during_a_rerecord_never_pairs_new_metrics_with_the_old_row(tmp_path, monkeypatch, fail_after):
    with ResultsStore(tmp_path, order=("a", "b")) as store:
        record(store, "a", 0.5)
        record(store, "b", 0.6)
        spy_writes(monkeypatch, fail_after)
        with pytest.raises(Killed):
            record(store, "a", 0.9)
        runs = store.runs()
        metric_accuracies = {}
        for row in read_csv_rows(store.metrics_path, METRIC_COLUMNS):
            metric_accuracies.setdefault(row["run_id"], set()).add(row["accuracy"])
    assert runs["b"]["accuracy"] == "0.6" and metric_accuracies["b"] == {"0.6"}
    if "a" in runs:  # the old row, with its metrics: the kill came before the first runs.csv write
        assert fail_after <= 2
        assert runs["a"]["accuracy"] == "0.5" and metric_accuracies["a"] == {"0.5"}
    else:  # unrecorded: leftover metrics (old or new) are allowed, readers ignore them
        assert fail_after in (3, 4)
        assert metric_accuracies.get("a", {"0.5"}) in ({"0.5"}, {"0.9"})
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]


def test_a_kill_after_the_new_metrics_leaves_leftovers_that_the_next_record_drops(tmp_path, monkeypatch):
    with ResultsStore(tmp_path) as store:
        record(store, "a", 0.5)
        spy_writes(monkeypatch, fail_after=4)  # config, run.json, runs without a, metrics
        with pytest.raises(Killed):
            record(store, "a", 0.9)
        assert store.runs() == {}
        assert column(store.metrics_path, "accuracy") == ["0.9", "0.9"]
        monkeypatch.setattr(csv_files, "write_atomically", files.write_atomically)
        record(store, "b", 0.6)
    assert column(tmp_path / "runs.csv", "run_id") == ["b"]
    assert column(tmp_path / "metrics.csv", "run_id") == ["b", "b"]


def test_read_csv_rows_of_a_missing_file_is_empty(tmp_path):
    assert read_csv_rows(tmp_path / "nothing.csv", RUN_COLUMNS) == []


def test_read_csv_rows_names_the_missing_columns(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("run_id,b_col,x\nr,1,2\n")
    with pytest.raises(ResultsError) as caught:
        read_csv_rows(path, ("run_id", "a", "b"))
    assert str(caught.value) == f"{path}: missing columns a, b"


def test_read_csv_rows_names_the_line_with_the_wrong_number_of_fields(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text(",".join(METRIC_COLUMNS) + "\na,1,0.1,0.9,0.9,1.0,3.0\na,2,0.1,0.9,1.0,3.0\n")
    with pytest.raises(ResultsError) as caught:
        read_csv_rows(path, METRIC_COLUMNS)
    assert str(caught.value) == f"{path}: line 3: expected 7 fields, got 6"
    path.write_text(",".join(METRIC_COLUMNS) + "\na,1,0.1,0.9,0.9,1.0,3.0,extra\n")
    with pytest.raises(ResultsError) as caught:
        read_csv_rows(path, METRIC_COLUMNS)
    assert str(caught.value) == f"{path}: line 2: expected 7 fields, got 8"


def test_floats_round_trip_and_numpy_floats_are_written_plain(tmp_path):
    with ResultsStore(tmp_path) as store:
        store.record(run_row("a", np.float64(0.95), eta=0.1, train_seconds=0.1 + 0.2),
                     [{"run_id": "a", "epoch": 1, "cost": np.float64(1 / 3), "accuracy": np.float64(0.95),
                       "validation_accuracy": None, "seconds": 0.1, "eta": 0.1}], "", {})
        row = store.runs()["a"]
    assert row["accuracy"] == "0.95" and row["eta"] == "0.1"
    assert float(row["eta"]) == 0.1 and float(row["train_seconds"]) == 0.1 + 0.2
    assert "np.float64" not in (tmp_path / "runs.csv").read_text()
    assert (tmp_path / "metrics.csv").read_text().splitlines()[1] == f"a,1,{1 / 3!r},0.95,,0.1,0.1"


def test_write_atomically_is_the_one_in_files():
    assert write_atomically is files.write_atomically


@pytest.mark.parametrize("first, second", [("a long first text\n" * 100, "short\n"),
                                           (b"\x00\x01" * 500, b"\xff")])
def test_write_atomically_replaces_the_whole_content_and_leaves_no_temporary_file(tmp_path, first, second):
    path = tmp_path / "file"
    write_atomically(path, first)
    write_atomically(path, second)
    assert path.read_bytes() == (second if isinstance(second, bytes) else second.encode())
    assert os.listdir(tmp_path) == ["file"]


def test_write_atomically_that_fails_keeps_the_old_content_and_no_temporary_file(tmp_path):
    path = tmp_path / "file"
    write_atomically(path, "old\n")
    with pytest.raises(TypeError):
        write_atomically(path, 12345)  # neither str nor bytes: fails while writing the temporary
    assert path.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["file"]


def test_files_written_before_a_column_was_added_are_read_and_upgraded(tmp_path):
    """runs.csv and metrics.csv of an earlier release lack the columns added since: their
    rows read as the defaults those columns had, and the next record rewrites the files
    with the current header, keeping every earlier row."""
    old_runs = [column for column in RUN_COLUMNS if column not in ADDED_RUN_COLUMNS]
    old_metrics = [column for column in METRIC_COLUMNS if column not in ADDED_METRIC_COLUMNS]
    row = run_row("old")
    (tmp_path / "runs.csv").write_text(
        ",".join(old_runs) + "\n" + ",".join(str(row[c] or "") for c in old_runs) + "\n")
    (tmp_path / "metrics.csv").write_text(",".join(old_metrics) + "\nold,1,0.25,0.5,0.5,1.0\n")
    with ResultsStore(tmp_path, order=["old", "new"]) as store:
        assert store.runs()["old"]["init"] == "normal" and store.runs()["old"]["lmbda"] == "0.0"
        record(store, "new")
    assert (tmp_path / "runs.csv").read_text().splitlines()[0] == ",".join(RUN_COLUMNS)
    assert column(tmp_path / "runs.csv", "run_id") == ["old", "new"]
    assert column(tmp_path / "runs.csv", "momentum") == ["0.0", "0.0"]
    assert (tmp_path / "metrics.csv").read_text().splitlines()[:2] == [
        ",".join(METRIC_COLUMNS), "old,1,0.25,0.5,0.5,1.0,"]


def test_relabel_changes_only_labels_that_differ_and_rewrites_once(tmp_path):
    with ResultsStore(tmp_path, order=["a", "b"]) as store:
        record(store, "a")
        record(store, "b")
        before = (tmp_path / "runs.csv").stat().st_mtime_ns
        assert store.relabel({"a": {"comment": "", "reference": None, "source": ""}}) == []
        assert (tmp_path / "runs.csv").stat().st_mtime_ns == before  # nothing changed: no write
        assert store.relabel({"b": {"comment": "new", "reference": 0.9507, "source": "book"},
                              "zz": {"comment": "not recorded"}}) == ["b"]
        rows = store.runs()
    assert (rows["b"]["comment"], rows["b"]["reference"], rows["b"]["source"]) == \
        ("new", "0.9507", "book")
    assert rows["b"]["accuracy"] == rows["a"]["accuracy"] == "0.5"  # results untouched
