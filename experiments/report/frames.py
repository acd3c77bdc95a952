"""Reading a sweep's runs.csv and metrics.csv into checked DataFrames; not the table or plots.

Errors name the file and the line. An incomplete last line (a write cut short) is skipped
with a note; metrics of trials without a runs row are ignored. A file written when there were
fewer columns reads with the cells of the missing ones as their absence meant (a setting's
default, else empty). Cells are read a column at a
time (300,000 metrics rows in well under a second); a bad cell is then found again, in file
order, by the same checks one cell at a time, for its message.
"""

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
import yaml

from experiments.errors import ResultsError
from experiments.store.columns import (
    FINISHED,
    METRIC_COLUMNS,
    METRICS_FILE,
    MISSING_MEANS,
    REQUIRED_METRIC_COLUMNS,
    REQUIRED_RUN_COLUMNS,
    RUN_COLUMNS,
    RUNS_FILE,
    SEARCH_FILE,
    STATUSES,
)
from experiments.store.csv_files import read_csv_records, without_gc

# How cells are read, by column name (runs.csv and metrics.csv share "accuracy"); columns
# named nowhere here are text, so a config column added to RUN_COLUMNS needs no change here.
_INTEGERS = {"epochs", "mini_batch_size", "seed", "train_size", "best_epoch", "epoch",
             "early_stopping", "epochs_run"}
_FRACTIONS = {"accuracy", "best_accuracy", "validation_accuracy", "reference"}
_NUMBERS = _INTEGERS | _FRACTIONS | {"eta", "train_seconds", "seconds_per_epoch", "cost", "seconds",
                                     "lmbda", "momentum"}
# never empty, where the file has the column since the first release (metrics' eta is newer)
_REQUIRED = {"run_id", "layers", "epochs", "mini_batch_size", "eta", "seed", "status", "epoch"}
_WORDS = {"mini_batch_size": "full"}  # a number column that may also hold this word
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
    runs, runs_skipped = _read_table(runs_path, RUN_COLUMNS, REQUIRED_RUN_COLUMNS)
    if runs.frame.empty:
        raise ResultsError(f"{runs_path}: no trials recorded")
    _check_runs(runs_path, runs)
    metrics, metrics_skipped = _read_table(directory / METRICS_FILE, METRIC_COLUMNS,
                                           REQUIRED_METRIC_COLUMNS)
    metrics = metrics.frame[metrics.frame["run_id"].isin(set(runs.frame["run_id"]))]
    return SweepResults(directory, runs.frame, metrics.reset_index(drop=True),
                        runs_skipped + metrics_skipped, _search(directory / SEARCH_FILE))


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


@dataclass(frozen=True)
class _Table:
    """A results CSV read into a frame, with each row's line and the cells that were empty."""

    frame: pd.DataFrame
    lines: list
    empty: dict  # column -> list of bool, one per row


def _read_table(path, columns, required):
    """The typed _Table of a results CSV, and a note if its last line was skipped."""
    with without_gc():
        return _typed_table(path, columns, required)


def _typed_table(path, columns, required):
    try:
        records = read_csv_records(path, required)
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such file; is this a sweep's results directory?") from None
    skipped = () if records.torn_line is None else (
        f"{path}: line {records.torn_line}: incomplete last line skipped",)
    lines = [line for line, _ in records.records]
    by_column = dict(zip(records.header, zip(*(fields for _, fields in records.records))))
    # a column the file lacks (written before it was added) reads as what its absence meant
    texts = {column: by_column.get(column, (MISSING_MEANS.get(column, ""),) * len(lines))
             for column in columns}
    empty = {column: [not text.strip() for text in texts[column]] for column in columns}
    must = _REQUIRED & set(required)
    data, bad = {}, []  # bad: (row, column's place) of a cell that may be wrong
    for place, column in enumerate(columns):
        data[column], first_bad = _typed_column(column, texts[column], empty[column], must)
        if first_bad is not None:
            bad.append((first_bad, place))
    for row, place in sorted(bad):  # the first in file order raises, as cell by cell would
        _cell(path, lines[row], columns[place], texts[columns[place]][row], must)
    return _Table(pd.DataFrame(data, columns=list(columns)), lines, empty), skipped


def _typed_column(column, texts, empty, must):
    """A column's cells as an array (Int64, float64) or a list of text, and the first row whose
    cell _cell refuses (None: none), found by the same checks on the whole column at once."""
    if column not in _NUMBERS:
        first_bad = empty.index(True) if column in must and any(empty) else None
        return list(texts), first_bad
    if _WORDS.get(column) in texts:  # numbers and the word side by side, as Python objects
        cells = [text if text == _WORDS[column] else _number_or_none(text) for text in texts]
        bad = [i for i, cell in enumerate(cells) if cell is None or
               (not isinstance(cell, str) and (column in _INTEGERS and not cell.is_integer()))]
        return ([int(c) if isinstance(c, float) and c.is_integer() else c for c in cells],
                bad[0] if bad else None)
    blank = np.array(empty, dtype=bool)
    try:  # numpy parses text as float() does, to the same float
        values = np.array(["nan" if is_empty else text for text, is_empty in zip(texts, empty)],
                          dtype=np.float64)
        wrong = np.zeros(len(texts), dtype=bool)
    except ValueError:  # some text is not a number
        numbers = [_number_or_none(text) for text in texts]
        wrong = np.array([number is None for number in numbers], dtype=bool) & ~blank
        values = np.array([math.nan if number is None else number for number in numbers])
    if column in must:
        wrong |= blank
    with np.errstate(invalid="ignore"):
        if column in _INTEGERS:
            wrong |= ~blank & ~(np.isfinite(values) & (values == np.floor(values)))
        elif column in _FRACTIONS:
            wrong |= ~blank & ((values < 0) | (values > 1))
    if column in _INTEGERS:
        values = pd.arrays.IntegerArray(np.where(blank | wrong, 0, values).astype(np.int64),
                                        blank | wrong)
    positions = np.flatnonzero(wrong)
    return values, (int(positions[0]) if positions.size else None)


def _number_or_none(text):
    try:
        return float(text)
    except ValueError:
        return None


def _cell(path, line, column, text, must):
    """A cell as int, float, None (empty) or str, by its column; ResultsError if it is wrong."""
    where = f"{path}: line {line}: {column}"
    if column in must and not text.strip():
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


def _check_runs(path, runs):
    first_line = {}
    frame = runs.frame
    for line, run_id, status, layers, accuracy_empty in zip(
            runs.lines, frame["run_id"], frame["status"], frame["layers"], runs.empty["accuracy"]):
        where = f"{path}: line {line}"
        if status not in STATUSES:
            raise ResultsError(f"{where}: status: expected one of {', '.join(STATUSES)}, "
                               f"got {status!r}")
        if not _LAYERS.fullmatch(layers):
            raise ResultsError(f"{where}: layers: expected sizes like 784-30-10, "
                               f"got {layers!r}")
        if status == FINISHED and accuracy_empty:
            raise ResultsError(f"{where}: accuracy: empty for a finished trial")
        if run_id in first_line:
            raise ResultsError(f"{where}: run_id: {run_id!r} is also on line "
                               f"{first_line[run_id]}")
        first_line[run_id] = line
