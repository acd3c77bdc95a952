"""The results store: one sweep's directory, what a trial's record writes into it, and its lock.

A sweep's directory holds runs.csv (a row per trial), metrics.csv (a row per trial per
epoch) and a folder per trial with its config.yaml and run.json. Every file is written
whole to a temporary name and renamed over the old one, so a crash at any moment leaves
the previous or the new version, each parseable. A trial's metrics are written before its
runs row: the runs row is what marks a trial recorded, and metrics rows whose run_id has
no runs row are leftovers of an interrupted write, ignored by readers and replaced when
the trial is recorded again. A lock file keeps two sweeps from writing one directory.
"""

import fcntl
import json
import os
from pathlib import Path

from experiments.errors import ResultsError
from experiments.store.columns import METRIC_COLUMNS, METRICS_FILE, RUN_COLUMNS, RUNS_FILE
from experiments.store.csv_files import csv_cell, csv_text, read_csv_rows, write_text

LOCK_FILE = ".lock"


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

    def metrics(self):
        """The metrics rows of recorded trials (dicts of strings), in the file's order."""
        recorded = self.runs()
        return [row for row in read_csv_rows(self.metrics_path, METRIC_COLUMNS)
                if row["run_id"] in recorded]

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

    def relabel(self, labels):
        """Set label fields (comment, reference, source: what names a trial, not what it
        trained) of recorded trials: {run_id: {column: value}}. Rewrites runs.csv once, and
        only when some value changed; returns the run_ids changed."""
        recorded = self.runs()
        changed = []
        for run_id, fields in labels.items():
            row = recorded.get(run_id)
            new = {column: str(csv_cell(value)) for column, value in fields.items()}
            if row is not None and any(row[column] != text for column, text in new.items()):
                row.update(new)
                changed.append(run_id)
        if changed:
            write_text(self.runs_path, csv_text(RUN_COLUMNS, self._ordered(recorded.values())))
        return changed

    def _ordered(self, rows):
        """Rows sorted by their run's place in the sweep; a stable sort keeps epochs in order."""
        last = len(self._position)
        return sorted(rows, key=lambda row: self._position.get(row["run_id"], last))
