"""Tests of experiments.store: the lock, appends that cost a trial's own rows, torn lines, row order,
trials recorded again, older headers, and a kill or a failed write at every point of a record."""

import csv
import errno
import json
import os

import numpy as np
import pytest

import experiments.store.csv_files as csv_files
import experiments.store.store as store_module
from experiments import files
from experiments.errors import ResultsError, WriteError
from experiments.store.columns import (
    METRIC_COLUMNS,
    REQUIRED_METRIC_COLUMNS,
    REQUIRED_RUN_COLUMNS,
    RUN_COLUMNS,
    STATUSES,
)
from experiments.store.csv_files import csv_text, read_csv_records, write_atomically
from experiments.store.store import SET_ASIDE_METRICS_FILE, SET_ASIDE_RUNS_FILE, ResultsStore


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


def recorded_state(directory):
    """{run_id: (accuracy of its runs row, [accuracies of its metrics rows])}, as readers pair them;
    the files must read without error, a torn last line left out."""
    runs = read_csv_records(directory / "runs.csv", REQUIRED_RUN_COLUMNS).rows()
    try:
        metric_rows = read_csv_records(directory / "metrics.csv", REQUIRED_METRIC_COLUMNS).rows()
    except FileNotFoundError:
        metric_rows = []
    state = {row["run_id"]: (row["accuracy"], []) for row in runs}
    for row in metric_rows:
        if row["run_id"] in state:
            state[row["run_id"]][1].append(row["accuracy"])
    return state


def test_columns_and_statuses():
    assert RUN_COLUMNS[0] == METRIC_COLUMNS[0] == "run_id"
    assert len(set(RUN_COLUMNS)) == len(RUN_COLUMNS)
    assert {"status", "accuracy", "best_accuracy", "best_epoch", "cost_function"} <= set(RUN_COLUMNS)
    assert METRIC_COLUMNS[:6] == ("run_id", "epoch", "cost", "accuracy", "validation_accuracy", "seconds")
    assert STATUSES[:3] == ("finished", "diverged", "failed")
    # columns are only ever added: every file has at least those of the first release
    assert set(REQUIRED_RUN_COLUMNS) <= set(RUN_COLUMNS)
    assert set(REQUIRED_METRIC_COLUMNS) <= set(METRIC_COLUMNS)


# --- the lock ---------------------------------------------------------------------------

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


def test_a_forked_child_lets_go_of_the_lock(tmp_path):
    # A sweep's workers fork from it: one still training after the sweep process ended must
    # not keep the directory locked (an flock belongs to the open file the fork shares).
    directory = tmp_path / "out"
    read_end, write_end = os.pipe()
    ready_read, ready_write = os.pipe()
    with ResultsStore(directory):
        child = os.fork()
        if child == 0:  # says it runs, then stays alive until the pipe closes
            try:
                os.close(write_end)
                os.write(ready_write, b"!")  # after the fork's handlers, which run first
                os.read(read_end, 1)
            finally:
                os._exit(0)  # never back into pytest
        assert os.read(ready_read, 1) == b"!"
        os.close(ready_read)
        os.close(ready_write)
    try:
        with ResultsStore(directory) as store:  # the child is still running
            record(store, "a")
    finally:
        os.close(write_end)
        os.close(read_end)
        os.waitpid(child, 0)
    assert list(ResultsStore(directory).runs()) == ["a"]


def test_directory_under_a_regular_file_is_one_error(tmp_path):
    (tmp_path / "file").write_text("not a directory\n")
    directory = tmp_path / "file" / "out"
    with pytest.raises(ResultsError) as caught:
        with ResultsStore(directory):
            pass
    assert str(caught.value) == f"{directory}: cannot create: Not a directory"


def test_a_malformed_runs_csv_is_refused_at_open_and_the_lock_is_released(tmp_path):
    (tmp_path / "runs.csv").write_text(",".join(RUN_COLUMNS) + "\na,b\nc,d\n")
    with pytest.raises(ResultsError,
                       match=rf"runs.csv: line 2: expected {len(RUN_COLUMNS)} fields, got 2$"):
        with ResultsStore(tmp_path):
            pass
    (tmp_path / "runs.csv").unlink()
    with ResultsStore(tmp_path):  # not left locked by the failed open
        pass


# --- what a record writes ---------------------------------------------------------------

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


def test_a_trial_without_epochs_still_creates_metrics_csv(tmp_path):
    with ResultsStore(tmp_path) as store:
        store.record(run_row("a", None, status="failed"), [], "", {})
    assert (tmp_path / "metrics.csv").read_text() == ",".join(METRIC_COLUMNS) + "\n"


def spy_writes(monkeypatch):
    """Log (file name, how, text) of every write through csv_files: 'whole' or 'append'."""
    calls = []

    def whole(path, text, sync=True):
        calls.append((os.path.basename(path), "whole", text))
        files.write_atomically(path, text, sync)

    real_append = csv_files.append_text

    def append(path, text, sync=True):
        calls.append((os.path.basename(path), "append", text))
        real_append(path, text, sync)

    monkeypatch.setattr(csv_files, "write_atomically", whole)
    monkeypatch.setattr(csv_files, "append_text", append)
    return calls


def test_a_record_writes_only_its_own_rows_however_many_are_recorded(tmp_path, monkeypatch):
    with ResultsStore(tmp_path) as store:
        for i in range(300):
            record(store, f"r{i:04d}", epochs=30)
        calls = spy_writes(monkeypatch)
        record(store, "last", epochs=30)
    # the record itself: its two trial files whole, then its rows appended to the CSVs;
    # finish() then finds the rows already in order and rewrites nothing
    assert [(name, how) for name, how, _ in calls] == [
        ("config.yaml", "whole"), ("run.json", "whole"),
        ("metrics.csv", "append"), ("runs.csv", "append")]
    assert calls[2][2] == csv_text(METRIC_COLUMNS, metrics("last", epochs=30), header=False)
    assert calls[3][2].count("\n") == 1


def test_rows_follow_the_sweep_order_whatever_the_order_of_records(tmp_path):
    with ResultsStore(tmp_path) as store:  # an earlier sweep, whose run_ids are not in `order`
        record(store, "x")
        record(store, "w")
    with ResultsStore(tmp_path, order=("a", "b", "c")) as store:
        for run_id in ("c", "a", "b"):
            record(store, run_id)
        # appended as they come, until finish()
        assert column(tmp_path / "runs.csv", "run_id") == ["x", "w", "c", "a", "b"]
    assert column(tmp_path / "runs.csv", "run_id") == ["a", "b", "c", "x", "w"]
    assert column(tmp_path / "metrics.csv", "run_id") == ["a", "a", "b", "b", "c", "c", "x", "x", "w", "w"]
    assert column(tmp_path / "metrics.csv", "epoch") == ["1", "2"] * 5


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


def test_set_aside_moves_rows_in_one_rewrite_and_finish_puts_back_those_not_recorded_again(
        tmp_path, monkeypatch):
    order = ("a", "b", "c")
    with ResultsStore(tmp_path, order=order) as store:
        for run_id, accuracy in zip(order, (0.5, 0.6, 0.7)):
            record(store, run_id, accuracy)
    with ResultsStore(tmp_path, order=order) as store:
        calls = spy_writes(monkeypatch)
        store.set_aside(["a", "c", "not recorded"])
        assert [name for name, _, _ in calls] == [SET_ASIDE_METRICS_FILE, SET_ASIDE_RUNS_FILE,
                                                  "runs.csv", "metrics.csv"]
        assert recorded_state(tmp_path) == {"b": ("0.6", ["0.6", "0.6"])}
        assert set(store.runs()) == {"b"}
        assert set(ResultsStore(tmp_path).runs()) == {"a", "b", "c"}  # a dry run still counts them
        del calls[:]
        record(store, "c", 0.9, epochs=3)
        assert [how for _, how, _ in calls] == ["whole", "whole", "append", "append"]
    assert recorded_state(tmp_path) == {"a": ("0.5", ["0.5"] * 2), "b": ("0.6", ["0.6"] * 2),
                                        "c": ("0.9", ["0.9"] * 3)}
    assert column(tmp_path / "runs.csv", "run_id") == ["a", "b", "c"]
    assert not (tmp_path / SET_ASIDE_RUNS_FILE).exists()
    assert not (tmp_path / SET_ASIDE_METRICS_FILE).exists()


def test_leftover_metrics_rows_are_dropped_when_the_sweep_finishes(tmp_path):
    with ResultsStore(tmp_path) as store:
        record(store, "a")
        with open(tmp_path / "metrics.csv", "a") as handle:  # a kill between metrics and runs
            handle.write("ghost,1,0.1,0.2,0.3,1.0,3.0\n")
        record(store, "b")
        assert column(tmp_path / "metrics.csv", "run_id") == ["a", "a", "ghost", "b", "b"]
    assert column(tmp_path / "metrics.csv", "run_id") == ["a", "a", "b", "b"]


def test_an_interrupt_after_the_runs_row_went_in_leaves_the_files_agreeing(tmp_path,
                                                                           monkeypatch):
    # Ctrl-C (a KeyboardInterrupt the sweep catches) after b's runs row was appended but
    # before the store counted it: finish() must not keep b's runs row without its metrics
    # (seen once in CI: a rerun then skipped b, whose metrics rows were gone)
    with ResultsStore(tmp_path) as store:
        record(store, "a")
        real = store_module.text_row
        monkeypatch.setattr(store_module, "text_row", lambda *args: (_ for _ in ()).throw(
            KeyboardInterrupt()) if args[0]["run_id"] == "b" else real(*args))
        with pytest.raises(KeyboardInterrupt):
            record(store, "b")
        monkeypatch.setattr(store_module, "text_row", real)
        store.finish()
        runs, metric_runs = column(tmp_path / "runs.csv", "run_id"), column(
            tmp_path / "metrics.csv", "run_id")
    assert runs == ["a"] and metric_runs == ["a", "a"]  # b not recorded: a rerun trains it


# --- torn lines -------------------------------------------------------------------------

@pytest.mark.parametrize("cut", [1, 10, 60, -3])
def test_a_torn_last_line_is_left_out_by_readers_and_cut_off_at_the_next_open(tmp_path, cut):
    with ResultsStore(tmp_path) as store:
        record(store, "a")
    line = csv_text(RUN_COLUMNS, [run_row("b", 0.7)], header=False)
    with open(tmp_path / "runs.csv", "a") as handle:  # a kill during the append of b's row
        handle.write(line[:cut])
    assert list(ResultsStore(tmp_path).runs()) == ["a"]  # read without the lock: left out
    with ResultsStore(tmp_path) as store:
        assert list(store.runs()) == ["a"]
        assert (tmp_path / "runs.csv").read_text().count("b,") == 0  # cut off
        record(store, "c")
    assert column(tmp_path / "runs.csv", "run_id") == ["a", "c"]


def test_a_record_cut_inside_a_quoted_field_is_torn_even_at_a_line_break(tmp_path):
    with ResultsStore(tmp_path) as store:
        store.record(run_row("a", error="two\nlines"), metrics("a"), "", {})
    text = (tmp_path / "runs.csv").read_text()
    (tmp_path / "runs.csv").write_text(text[:text.index("two\n") + 4])  # cut after "two\n"
    with ResultsStore(tmp_path) as store:
        assert store.runs() == {}
    assert (tmp_path / "runs.csv").read_text() == ",".join(RUN_COLUMNS) + "\n"


def test_a_complete_last_line_without_its_line_break_is_kept_and_ended(tmp_path):
    with ResultsStore(tmp_path) as store:
        record(store, "a")
    path = tmp_path / "runs.csv"
    path.write_text(path.read_text().rstrip("\n"))  # as some editors save
    with ResultsStore(tmp_path) as store:
        assert list(store.runs()) == ["a"]
        record(store, "b")
    assert column(path, "run_id") == ["a", "b"]


def test_an_unterminated_last_line_cut_inside_a_character_is_torn(tmp_path):
    with ResultsStore(tmp_path) as store:
        store.record(run_row("a", comment="é"), metrics("a"), "", {})
    path = tmp_path / "runs.csv"
    with open(path, "ab") as handle:
        handle.write(csv_text(RUN_COLUMNS, [run_row("b", comment="é")], header=False)
                     .encode()[:-8] + "é".encode()[:1])
    with ResultsStore(tmp_path) as store:
        assert list(store.runs()) == ["a"]
    assert column(path, "comment") == ["é"]


# --- a kill or a failed write at any point ----------------------------------------------

class Killed(BaseException):
    """Stands for a SIGKILL at a point of a record: nothing after it runs, no handler either."""


class KillSwitch:
    """Kill at the `at`-th write of a store file: a whole write does not happen (the rename is
    atomic), an append leaves the first `torn` bytes of its text behind (a torn line)."""

    def __init__(self, monkeypatch, at, torn=7):
        self.at, self.torn, self.count = at, torn, 0
        self.killed = False
        real_append = csv_files.append_text

        def whole(path, text, sync=True):
            self._tick(path)
            files.write_atomically(path, text, sync)

        def append(path, text, sync=True):
            if self.count == self.at:
                with open(path, "a", encoding="utf-8", newline="") as handle:
                    handle.write(text[:self.torn])
            self._tick(path)
            real_append(path, text, sync)

        def truncate(path, size):
            self._tick(path)
            os.truncate(path, size)

        monkeypatch.setattr(csv_files, "write_atomically", whole)
        monkeypatch.setattr(csv_files, "append_text", append)
        monkeypatch.setattr(os, "truncate", truncate)
        self.undo = monkeypatch.undo

    def _tick(self, path):
        self.count += 1
        if self.count > self.at:
            self.killed = True
            raise Killed(f"killed before writing {path}")


def run_until_killed(directory, monkeypatch, at, steps):
    switch = KillSwitch(monkeypatch, at)
    try:
        steps()
    except Killed:
        pass
    switch.undo()
    return switch.killed


@pytest.mark.parametrize("torn", [0, 7])
def test_a_kill_at_any_write_of_a_first_record_loses_nothing_recorded(tmp_path, monkeypatch, torn):
    for at in range(20):
        directory = tmp_path / f"at{at}"
        with ResultsStore(directory, order=("a", "b")) as store:
            record(store, "a", 0.5)

        def steps():
            with ResultsStore(directory, order=("a", "b")) as store:
                record(store, "b", 0.6, epochs=3)

        killed = run_until_killed(directory, monkeypatch, at, steps)
        with ResultsStore(directory, order=("a", "b")) as store:  # the rerun
            assert store.runs()["a"]["accuracy"] == "0.5"
            if "b" not in store.runs():
                record(store, "b", 0.6, epochs=3)
        assert recorded_state(directory) == {"a": ("0.5", ["0.5"] * 2), "b": ("0.6", ["0.6"] * 3)}
        if not killed:
            assert at >= 4  # config, run.json, metrics, runs: each a place to be killed
            break


def test_a_kill_at_any_write_of_a_rerun_never_pairs_new_metrics_with_an_old_row(tmp_path,
                                                                                 monkeypatch):
    order = ("a", "b", "c")
    for at in range(40):
        directory = tmp_path / f"at{at}"
        with ResultsStore(directory, order=order) as store:
            for run_id, accuracy in zip(order, (0.5, 0.6, 0.7)):
                record(store, run_id, accuracy, epochs=2)

        def steps():
            with ResultsStore(directory, order=order) as store:
                store.set_aside(["a", "c"])
                record(store, "c", 0.9, epochs=3)  # and a is never recorded again

        killed = run_until_killed(directory, monkeypatch, at, steps)
        ResultsStore(directory).runs()  # a reader meanwhile: never an error
        state = recorded_state(directory)
        for run_id, (accuracy, metric_accuracies) in state.items():  # as a reader pairs them
            assert set(metric_accuracies) <= {accuracy}, (at, state)
        with ResultsStore(directory, order=order):  # the next open puts back what was set aside
            pass
        state = recorded_state(directory)
        assert state["a"] == ("0.5", ["0.5"] * 2) and state["b"] == ("0.6", ["0.6"] * 2)
        assert state["c"] in (("0.7", ["0.7"] * 2), ("0.9", ["0.9"] * 3)), (at, state)
        assert not list(directory.glob("*.tmp"))
        if not killed:
            assert state["c"] == ("0.9", ["0.9"] * 3)
            assert at >= 9
            break


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
@pytest.mark.parametrize("failing", ["config.yaml", "metrics.csv", "runs.csv"])
def test_a_failed_write_is_one_error_and_leaves_the_files_as_they_were(tmp_path, monkeypatch,
                                                                       code, failing):
    with ResultsStore(tmp_path, order=("a", "b")) as store:
        record(store, "a")
    before = {name: (tmp_path / name).read_bytes() for name in ("runs.csv", "metrics.csv")}
    real_write = os.write

    def write(descriptor, data):  # the disk fills up (or turns read-only) halfway through
        if os.readlink(f"/proc/self/fd/{descriptor}").endswith(failing):
            real_write(descriptor, bytes(data[:len(data) // 2]))
            raise OSError(code, os.strerror(code))
        return real_write(descriptor, data)

    def whole(path, text, sync=True):
        if os.path.basename(path) == failing:
            raise OSError(code, os.strerror(code))
        files.write_atomically(path, text, sync)

    monkeypatch.setattr(os, "write", write)  # the appends' path
    monkeypatch.setattr(csv_files, "write_atomically", whole)  # whole files' path
    with pytest.raises(WriteError) as caught:
        with ResultsStore(tmp_path, order=("a", "b")) as store:
            record(store, "b")
    assert str(caught.value).endswith(f": cannot write: {os.strerror(code)}")
    assert failing.split(".")[0] in str(caught.value)
    monkeypatch.undo()
    after = {name: (tmp_path / name).read_bytes() for name in ("runs.csv", "metrics.csv")}
    if failing == "runs.csv":  # b's metrics went in: a leftover, which finish() drops
        assert after["runs.csv"] == before["runs.csv"]
    else:
        assert after == before
    with ResultsStore(tmp_path, order=("a", "b")) as store:  # the rerun completes
        assert list(store.runs()) == ["a"]
        record(store, "b")
    assert recorded_state(tmp_path) == {"a": ("0.5", ["0.5"] * 2), "b": ("0.5", ["0.5"] * 2)}



# --- files written when there were fewer columns ----------------------------------------

def test_files_written_before_a_column_was_added_are_read_and_upgraded(tmp_path):
    """runs.csv and metrics.csv of the first release lack the columns added since: their
    rows read as those columns' defaults (a setting's, else empty), and the first append
    rewrites the files with the current header, keeping every earlier row."""
    old_runs = {k: v for k, v in run_row("old").items() if k in REQUIRED_RUN_COLUMNS}
    (tmp_path / "runs.csv").write_text(csv_text(REQUIRED_RUN_COLUMNS, [old_runs]))
    (tmp_path / "metrics.csv").write_text(csv_text(REQUIRED_METRIC_COLUMNS, metrics("old")))
    assert ResultsStore(tmp_path).runs()["old"]["init"] == "normal"
    with ResultsStore(tmp_path, order=["old", "new"]) as store:
        assert store.runs()["old"]["lmbda"] == "0.0" and store.runs()["old"]["stopped"] == ""
        record(store, "new")
    assert (tmp_path / "runs.csv").read_text().splitlines()[0] == ",".join(RUN_COLUMNS)
    runs = csv_rows(tmp_path / "runs.csv")
    assert [(row["run_id"], row["momentum"], row["accuracy"]) for row in runs] == [
        ("old", "0.0", "0.5"), ("new", "0.0", "0.5")]
    metric_rows = csv_rows(tmp_path / "metrics.csv")
    assert list(metric_rows[0]) == list(METRIC_COLUMNS)
    assert [row["eta"] for row in metric_rows] == ["", "", "3.0", "3.0"]


def test_columns_of_a_later_version_are_kept(tmp_path):
    header = RUN_COLUMNS[:3] + ("dropout",) + RUN_COLUMNS[3:]
    row = {**run_row("later"), "dropout": 0.1}
    (tmp_path / "runs.csv").write_text(csv_text(header, [row]))
    (tmp_path / "metrics.csv").write_text(csv_text(METRIC_COLUMNS, metrics("later")))
    with ResultsStore(tmp_path) as store:
        record(store, "ours")
    runs = csv_rows(tmp_path / "runs.csv")
    assert list(runs[0]) == list(RUN_COLUMNS) + ["dropout"]
    assert [(row["run_id"], row["dropout"]) for row in runs] == [("later", "0.1"), ("ours", "")]


# --- the CSV layer ----------------------------------------------------------------------

def test_read_csv_records_names_the_missing_columns(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("run_id,b_col,x\nr,1,2\n")
    with pytest.raises(ResultsError) as caught:
        read_csv_records(path, ("run_id", "a", "b"))
    assert str(caught.value) == f"{path}: missing columns a, b"


def test_read_csv_records_names_the_line_with_the_wrong_number_of_fields(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text(",".join(METRIC_COLUMNS) + "\na,1,0.1,0.9,1.0,3.0\na,2,0.1,0.9,0.9,1.0,3.0\n")
    with pytest.raises(ResultsError) as caught:
        read_csv_records(path, METRIC_COLUMNS)
    assert str(caught.value) == f"{path}: line 2: expected 7 fields, got 6"
    path.write_text(",".join(METRIC_COLUMNS) + "\na,1,0.1,0.9,0.9,1.0,3.0,extra\n")
    with pytest.raises(ResultsError) as caught:
        read_csv_records(path, METRIC_COLUMNS)
    assert str(caught.value) == f"{path}: line 2: expected 7 fields, got 8"


def test_line_numbers_count_the_lines_of_quoted_line_breaks(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text('run_id,comment\na,"one\ntwo"\n\nb,x,y\n')
    with pytest.raises(ResultsError, match="line 5: expected 2 fields, got 3$"):
        read_csv_records(path, ("run_id",))


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


def test_rows_set_aside_go_back_when_the_sweep_ends_in_an_error(tmp_path):
    with ResultsStore(tmp_path, order=("a", "b")) as store:
        record(store, "a", 0.5)
        record(store, "b", 0.6)
    with pytest.raises(RuntimeError):  # the executor could not start, say
        with ResultsStore(tmp_path, order=("a", "b")) as store:
            store.set_aside(["a", "b"])
            assert ResultsStore(tmp_path).runs().keys() == {"a", "b"}  # still counted
            raise RuntimeError("no Dask scheduler")
    assert recorded_state(tmp_path) == {"b": ("0.6", ["0.6"] * 2), "a": ("0.5", ["0.5"] * 2)}
    assert not (tmp_path / SET_ASIDE_RUNS_FILE).exists()


def test_relabel_changes_only_labels_that_differ_and_rewrites_once(tmp_path):
    with ResultsStore(tmp_path, order=["a", "b"]) as store:
        record(store, "a")
        record(store, "b")
        store.finish()
        before = (tmp_path / "runs.csv").stat().st_mtime_ns
        assert store.relabel({"a": {"comment": "", "reference": None, "source": ""}}) == []
        assert (tmp_path / "runs.csv").stat().st_mtime_ns == before  # nothing changed: no write
        assert store.relabel({"b": {"comment": "new", "reference": 0.9507, "source": "book"},
                              "zz": {"comment": "not recorded"}}) == ["b"]
        rows = store.runs()
    assert (rows["b"]["comment"], rows["b"]["reference"], rows["b"]["source"]) == \
        ("new", "0.9507", "book")
    assert rows["b"]["accuracy"] == rows["a"]["accuracy"] == "0.5"  # results untouched
    assert [row["comment"] for row in csv_rows(tmp_path / "runs.csv")] == ["", "new"]
