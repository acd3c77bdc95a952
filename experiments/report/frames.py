"""Reading a sweep's runs.csv and metrics.csv into checked DataFrames; not the table or plots.

Errors name the file and the line. An incomplete last line (a write cut short by some
other tool) is skipped with a note; metrics of trials without a runs row are ignored.
"""

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pandas as pd
import yaml

from experiments.errors import ResultsError
from experiments.store.columns import (
    FINISHED,
    METRIC_COLUMNS,
    METRICS_FILE,
    RUN_COLUMNS,
    RUNS_FILE,
    SEARCH_FILE,
    STATUSES,
    added_columns,
)
from experiments.store.csv_files import check_field_count, read_csv_records, row_of

# How cells are read, by column name (runs.csv and metrics.csv share "accuracy"); columns
# named nowhere here are text, so a config column added to RUN_COLUMNS needs no change here.
_INTEGERS = {"epochs", "mini_batch_size", "seed", "train_size", "best_epoch", "epoch",
             "early_stopping", "epochs_run"}
_FRACTIONS = {"accuracy", "best_accuracy", "validation_accuracy", "reference"}
_NUMBERS = _INTEGERS | _FRACTIONS | {"eta", "train_seconds", "seconds_per_epoch", "cost", "seconds",
                                     "lmbda", "momentum"}
_WORDS = {"mini_batch_size": "full"}  # a number column that may also hold this word
_REQUIRED = {"run_id", "layers", "epochs", "mini_batch_size", "eta", "seed", "status", "epoch"}
_LAYERS = re.compile(r"\d+(-\d+)+")


@dataclass(frozen=True)
class SweepResults:
    """A sweep's recorded trials, read and checked.

    runs: a row per trial, columns RUN_COLUMNS, in the order of runs.csv.
    metrics: a row per epoch of a recorded trial, columns METRIC_COLUMNS.
    skipped: a note per incomplete last line that was left out.
    """

    directory: Path
    runs: pd.DataFrame
    metrics: pd.DataFrame
    skipped: tuple = ()
    search: Optional[dict] = None  # the search: block of a searching sweep (search.yaml)

    @property
    def name(self):
        return self.directory.resolve().name


def load_results(directory) -> SweepResults:
    """Read a sweep's runs.csv and metrics.csv; ResultsError naming the file when they are bad.

    An incomplete last line (a write cut short) is skipped and noted in `skipped`: such a
    trial is not recorded, as the store itself treats it. Metrics rows of trials that have
    no runs row are leftovers of an interrupted write, and are ignored.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ResultsError(f"{directory}: no such directory")
    runs_path = directory / RUNS_FILE
    runs, runs_skipped = _read_rows(runs_path, RUN_COLUMNS)
    if not runs:
        raise ResultsError(f"{runs_path}: no trials recorded")
    _check_runs(runs_path, runs)
    metrics, metrics_skipped = _read_rows(directory / METRICS_FILE, METRIC_COLUMNS)
    recorded = {row["run_id"] for _, row in runs}
    metrics = [row for _, row in metrics if row["run_id"] in recorded]
    return SweepResults(directory, _frame([row for _, row in runs], RUN_COLUMNS),
                        _frame(metrics, METRIC_COLUMNS), runs_skipped + metrics_skipped,
                        _search(directory / SEARCH_FILE))


def _search(path):
    """The search: block that a searching sweep wrote, None for a grid; ResultsError if bad."""
    if not path.is_file():
        return None
    try:
        search = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ResultsError(f"{path}: unreadable: {' '.join(str(error).split())}") from None
    if not (isinstance(search, dict) and isinstance(search.get("parameters"), dict)
            and isinstance(search.get("metric"), dict)):
        raise ResultsError(f"{path}: expected a search with metric and parameters")
    return search


def _read_rows(path, columns):
    """(line number, typed row) pairs of a results CSV, and a note if its last line was skipped."""
    try:
        header, records = read_csv_records(path, columns)
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such file; is this a sweep's results directory?") from None
    skipped = ()
    if records and len(records[-1][1]) < len(header):
        skipped = (f"{path}: line {records[-1][0]}: incomplete last line skipped",)
        records = records[:-1]
    required = _REQUIRED - set(added_columns(columns))  # metrics' eta may be empty, runs' not
    rows = []
    for line, fields in records:
        check_field_count(path, header, line, fields)
        row = row_of(header, fields, columns)
        rows.append((line, {column: _cell(path, line, column, row[column], required)
                            for column in columns}))
    return rows, skipped


def _cell(path, line, column, text, required):
    """A cell as int, float, None (empty) or str, by its column."""
    where = f"{path}: line {line}: {column}"
    if column in required and not text.strip():
        raise ResultsError(f"{where}: empty, expected a value")
    if column not in _NUMBERS or text == _WORDS.get(column):
        return text
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise ResultsError(f"{where}: expected a number, got {text!r}") from None
    if column in _INTEGERS:
        if not value.is_integer():
            raise ResultsError(f"{where}: expected a whole number, got {text!r}")
        return int(value)
    if column in _FRACTIONS and not (0 <= value <= 1 or math.isnan(value)):
        raise ResultsError(f"{where}: expected a fraction between 0 and 1, got {text!r}")
    return value


def _check_runs(path, rows):
    first_line = {}
    for line, row in rows:
        where = f"{path}: line {line}"
        if row["status"] not in STATUSES:
            raise ResultsError(f"{where}: status: expected one of {', '.join(STATUSES)}, "
                               f"got {row['status']!r}")
        if not _LAYERS.fullmatch(row["layers"]):
            raise ResultsError(f"{where}: layers: expected sizes like 784-30-10, "
                               f"got {row['layers']!r}")
        if row["status"] == FINISHED and row["accuracy"] is None:
            raise ResultsError(f"{where}: accuracy: empty for a finished trial")
        if row["run_id"] in first_line:
            raise ResultsError(f"{where}: run_id: {row['run_id']!r} is also on line "
                               f"{first_line[row['run_id']]}")
        first_line[row["run_id"]] = line


def _frame(rows, columns):
    frame = pd.DataFrame(rows, columns=list(columns))
    for column in columns:
        if column in _WORDS and (frame[column] == _WORDS[column]).any():
            frame[column] = frame[column].astype(object)  # numbers and the word, side by side
        elif column in _INTEGERS:
            frame[column] = frame[column].astype("Int64")  # an empty train_size stays missing
        elif column in _NUMBERS:
            frame[column] = frame[column].astype("float64")
    return frame
