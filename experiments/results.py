"""The results store: the only code that knows the CSV columns and how files are written.

A sweep's directory holds runs.csv (a row per trial), metrics.csv (a row per trial per
epoch) and a folder per trial with its config.yaml and run.json. Every file is written
whole to a temporary name and renamed over the old one, so a crash at any moment leaves
the previous or the new version, each parseable. A trial's metrics are written before its
runs row: the runs row is what marks a trial recorded, and metrics rows whose run_id has
no runs row are leftovers of an interrupted write, ignored by readers and replaced when
the trial is recorded again. A lock file keeps two sweeps from writing one directory.
"""

import csv
import fcntl
import io
import json
import os
from pathlib import Path

from experiments.errors import ResultsError
from experiments.files import write_atomically

RUNS_FILE = "runs.csv"
METRICS_FILE = "metrics.csv"
LOCK_FILE = ".lock"

RUN_COLUMNS = (
    "run_id", "layers", "epochs", "mini_batch_size", "eta", "seed", "dataset", "train_size",
    "dtype", "activation", "cost_function", "status", "accuracy", "best_accuracy", "best_epoch", "validation_accuracy",
    "train_seconds", "seconds_per_epoch", "comment", "started_at", "error",
)
METRIC_COLUMNS = ("run_id", "epoch", "cost", "accuracy", "validation_accuracy", "seconds")
# runs.csv's cost_function is the config key `cost` (e.g. quadratic), named apart from
# metrics.csv's cost, the value of that function on the training data.

# status of a recorded trial
FINISHED, DIVERGED, FAILED = "finished", "diverged", "failed"
STATUSES = (FINISHED, DIVERGED, FAILED)


def read_csv_records(path, columns):
    """The header of a results CSV and its records, (line number, fields), blank lines left out.

    Raises FileNotFoundError when there is no file (each reader decides what that means),
    ResultsError naming the file, and the line where there is one, when it cannot be read,
    is empty or its header lacks one of `columns`. The number of fields of a record is not
    checked: the report forgives a short last line, the store does not.
    """
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            try:
                records = [(reader.line_num, fields) for fields in reader if fields]
            except csv.Error as error:
                raise ResultsError(f"{path}: line {reader.line_num}: {error}") from None
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as error:
        raise ResultsError(f"{path}: unreadable: {error}") from None
    if not records:
        raise ResultsError(f"{path}: empty file, expected a header line")
    (_, header), records = records[0], records[1:]
    missing = [column for column in columns if column not in header]
    if missing:
        raise ResultsError(f"{path}: missing columns {', '.join(missing)}")
    return header, records


def check_field_count(path, header, line, fields):
    """A record with too few or too many fields (an edit gone wrong) is an error naming its line."""
    if len(fields) != len(header):
        raise ResultsError(f"{path}: line {line}: expected {len(header)} fields, "
                           f"got {len(fields)}")


def read_csv_rows(path, columns):
    """Rows of a results CSV as dicts of strings; [] when the file does not exist.

    Any malformed row is an error (see read_csv_records), never skipped: dropping it
    would lose it for good at the next write.
    """
    try:
        header, records = read_csv_records(path, columns)
    except FileNotFoundError:
        return []
    for line, fields in records:
        check_field_count(path, header, line, fields)
    return [dict(zip(header, fields)) for _, fields in records]


def write_text(path, text):
    """write_atomically, with an OSError (disk full, read-only) as a ResultsError naming the file."""
    try:
        write_atomically(path, text)
    except OSError as error:
        raise ResultsError(f"{path}: cannot write: {error.strerror or error}") from None


def csv_text(columns, rows):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: _cell(row.get(column)) for column in columns})
    return buffer.getvalue()


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float):  # np.float64 too, whose repr is "np.float64(...)"
        return repr(float(value))  # shortest text that reads back as the same float
    return value


class ResultsStore:
    """Reads and writes one sweep's results directory; use as a context manager to lock it.

    order: run_ids in the sweep's order; rows are kept in that order whatever order the
    trials complete in (so -j 1 and -j N write the same files), rows of other run_ids
    (recorded by an earlier version of the sweep) after them.
    """

    def __init__(self, directory, order=()):
        self.directory = Path(directory)
        self._position = {run_id: i for i, run_id in enumerate(order)}
        self._lock_handle = None

    def __enter__(self):
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle = open(self.directory / LOCK_FILE, "a+")
        except OSError as error:
            raise ResultsError(f"{self.directory}: cannot create: "
                               f"{error.strerror or error}") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise ResultsError(f"{self.directory}: another sweep is writing here ({holder}); "
                               f"wait for it to end or pass --out DIR") from None
        handle.truncate(0)
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        self._lock_handle = handle
        return self

    def __exit__(self, *exc_info):
        if self._lock_handle is not None:
            self._lock_handle.close()  # closing releases the lock
            self._lock_handle = None

    @property
    def runs_path(self):
        return self.directory / RUNS_FILE

    @property
    def metrics_path(self):
        return self.directory / METRICS_FILE

    def runs(self):
        """Recorded trials: run_id -> runs row (dict of strings)."""
        return {row["run_id"]: row for row in read_csv_rows(self.runs_path, RUN_COLUMNS)}

    def record(self, run_row, metric_rows, config_text, run_info):
        """Record one completed (finished, diverged or failed) trial, replacing an older record."""
        run_id = run_row["run_id"]
        trial_dir = self.directory / run_id
        try:
            trial_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ResultsError(f"{trial_dir}: cannot create: {error.strerror or error}") from None
        write_text(trial_dir / "config.yaml", config_text)
        write_text(trial_dir / "run.json", json.dumps(run_info, indent=2, default=str) + "\n")
        recorded = self.runs()
        if recorded.pop(run_id, None) is not None:
            # Rerun (--force, --retry-failed): unrecord the old row first, so that a kill
            # after the metrics below never pairs them with it; the trial would rerun.
            write_text(self.runs_path, csv_text(RUN_COLUMNS, self._ordered(recorded.values())))
        metrics = [row for row in read_csv_rows(self.metrics_path, METRIC_COLUMNS)
                   if row["run_id"] in recorded]  # also drops leftovers of a kill
        write_text(self.metrics_path,
                   csv_text(METRIC_COLUMNS, self._ordered(metrics + list(metric_rows))))
        recorded[run_id] = run_row
        write_text(self.runs_path, csv_text(RUN_COLUMNS, self._ordered(recorded.values())))

    def _ordered(self, rows):
        """Rows sorted by their run's place in the sweep; a stable sort keeps epochs in order."""
        last = len(self._position)
        return sorted(rows, key=lambda row: self._position.get(row["run_id"], last))
