"""The results store: one sweep's directory, what a trial's record writes into it, and its lock.

A sweep's directory holds runs.csv (a row per trial), metrics.csv (a row per trial per
epoch) and a folder per trial with its config.yaml and run.json.

Recording a trial appends its rows, metrics first, then its runs row, which is what marks the
trial recorded: a record costs the time of its own rows, however many the files hold. Metrics
rows whose run_id has no runs row are leftovers of an interrupted record, ignored by readers.
A kill during an append can leave a torn last line: readers skip it, and the store cuts it
off when it next opens the directory. finish(), at the end of a sweep, rewrites both files
once, whole, in the sweep's order and without leftovers. A whole file is always written to a
temporary name and renamed over the old one, so that a kill leaves the old file or the new.

A trial recorded again (--force, --retry-failed) must never have its new metrics paired with
its old runs row: set_aside() moves the rows of all such trials, in one rewrite, into
.set-aside-runs.csv and .set-aside-metrics.csv, and finish() (or, after a kill, the next open)
puts back those of trials that were not recorded again.

A file written when there were fewer columns is read with the missing cells empty, and
rewritten with the current header before the store first appends to it; columns it does not
know are kept. A lock file keeps two sweeps from writing one directory.
"""

import contextlib
import fcntl
import json
import os
import time
from pathlib import Path

from experiments.errors import ResultsError, WriteError
from experiments.store.columns import (
    METRIC_COLUMNS,
    METRICS_FILE,
    REQUIRED_METRIC_COLUMNS,
    REQUIRED_RUN_COLUMNS,
    RUN_COLUMNS,
    RUNS_FILE,
)
from experiments.store.csv_files import CsvFile, sync_file, text_row, write_text

LOCK_FILE = ".lock"
# Appended rows are synced to the disk at least this often, and when the sweep ends: an fsync
# per record (~1 ms each, four of them) would cost more than a small trial takes to train.
SYNC_SECONDS = 1.0
SET_ASIDE_RUNS_FILE = ".set-aside-runs.csv"
SET_ASIDE_METRICS_FILE = ".set-aside-metrics.csv"

# The file descriptors of the locks this process holds. A process forked from it (a sweep's
# worker) lets go of them at once: an flock belongs to the open file, which a fork shares,
# so a worker still training after its sweep was killed would keep the directory locked.
# The descriptor is pointed at /dev/null rather than closed, so that the handle the child
# also inherited can never close some other file that reused its number.
_HELD_LOCKS = set()


def _let_go_of_locks():
    if not _HELD_LOCKS:
        return
    try:
        null = os.open(os.devnull, os.O_RDONLY)
    except OSError:  # no /dev/null: closed, then, the lesser risk
        for fd in _HELD_LOCKS:
            os.close(fd)
    else:
        for fd in _HELD_LOCKS:
            os.dup2(null, fd, inheritable=False)
        os.close(null)
    _HELD_LOCKS.clear()


os.register_at_fork(after_in_child=_let_go_of_locks)


class ResultsStore:
    """Reads and writes one sweep's results directory; use as a context manager to lock it.

    order: run_ids in the sweep's order; finish() puts the rows in that order whatever order
    the trials completed in (so -j 1 and -j N write the same files), rows of other run_ids
    (recorded by an earlier version of the sweep) after them. Leaving the context without an
    exception calls finish().
    """

    def __init__(self, directory, order=()):
        self.directory = Path(directory)
        self._position = {run_id: i for i, run_id in enumerate(order)}
        self._lock_handle = None
        self._runs_file = CsvFile(self.directory / RUNS_FILE, RUN_COLUMNS, REQUIRED_RUN_COLUMNS)
        self._metrics_file = CsvFile(self.directory / METRICS_FILE, METRIC_COLUMNS,
                                      REQUIRED_METRIC_COLUMNS)
        self._aside_runs = CsvFile(self.directory / SET_ASIDE_RUNS_FILE, RUN_COLUMNS,
                                    REQUIRED_RUN_COLUMNS)
        self._aside_metrics = CsvFile(self.directory / SET_ASIDE_METRICS_FILE, METRIC_COLUMNS,
                                       REQUIRED_METRIC_COLUMNS)
        self._recorded = None  # while locked: run_id -> runs row (dict of strings), file order
        self._unfinished = False  # rows appended or put back since the last finish()
        self._leftovers = set()  # run_ids whose record failed after its metrics went in
        self._synced_at = time.monotonic()

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
        _HELD_LOCKS.add(handle.fileno())
        try:
            self._open()
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, exc_type, *exc_info):
        if self._lock_handle is None:
            return
        try:
            if exc_type is None:
                self.finish()
            else:  # rows set aside go back now if they can, else at the next open
                with contextlib.suppress(ResultsError, OSError):
                    self._put_back()
        finally:
            self._release()
            self._recorded = None

    def _release(self):
        _HELD_LOCKS.discard(self._lock_handle.fileno())
        self._lock_handle.close()  # closing releases the lock
        self._lock_handle = None

    def _open(self):
        """Under the lock: read both files (a ResultsError before anything is touched), cut off
        torn last lines, put back rows set aside, and drop leftover metrics (after a kill), so
        that a trial recorded again has no others."""
        runs, metrics = self._runs_file.read(), self._metrics_file.read()
        if runs is not None:
            _check_unique(self.runs_path, runs)
        self._recorded = _by_run_id(self._runs_file.repair(runs))
        metric_rows = self._metrics_file.repair(metrics)
        if self._put_back():  # metrics.csv rewritten: its rows as they are now
            metric_rows = self._metrics_file.rows()
        self._drop_leftovers(metric_rows)

    @property
    def runs_path(self):
        return self._runs_file.path

    @property
    def metrics_path(self):
        return self._metrics_file.path

    def runs(self):
        """Recorded trials: run_id -> runs row (dict of strings, every column of RUN_COLUMNS).

        Without the lock (a dry run) it reads the files as they are: a torn last line is
        left out, and rows set aside by a sweep that is running, or was killed, count.
        """
        if self._recorded is not None:
            return dict(self._recorded)
        recorded = _by_run_id(self._runs_file.rows())
        for run_id, row in _by_run_id(self._aside_runs.rows()).items():
            recorded.setdefault(run_id, row)
        return recorded

    def metrics(self):
        """The metrics rows of recorded trials (dicts of strings), in the file's order."""
        recorded = self.runs()
        return [row for row in self._metrics_file.rows() if row["run_id"] in recorded]

    def relabel(self, labels):
        """Set label fields (comment, reference, source: what names a trial, not what it
        trained) of recorded trials: {run_id: {column: value}}. Rewrites runs.csv once, and
        only when some value changed; returns the run_ids changed."""
        changed = []
        for run_id, fields in labels.items():
            row = self._recorded.get(run_id)
            new = text_row(fields, fields)
            if row is not None and any(row.get(column) != text for column, text in new.items()):
                row.update(new)
                changed.append(run_id)
        if changed:
            self._runs_file.rewrite(list(self._recorded.values()))
        return changed

    def record(self, run_row, metric_rows, config_text, run_info):
        """Record one completed (finished, diverged or failed) trial, replacing an older record."""
        run_id = run_row["run_id"]
        if run_id in self._recorded:  # recorded again without set_aside(): one rewrite for it
            self.set_aside([run_id])
        elif run_id in self._leftovers:
            self._drop_leftovers(self._metrics_file.rows())
        trial_dir = self.directory / run_id
        try:
            trial_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise WriteError(f"{trial_dir}: cannot create: {error.strerror or error}") from None
        # Not synced one by one (see SYNC_SECONDS): a kill leaves them whole all the same.
        write_text(trial_dir / "config.yaml", config_text, sync=False)
        write_text(trial_dir / "run.json", json.dumps(run_info, indent=2, default=str) + "\n",
                   sync=False)
        self._unfinished = True
        self._leftovers.add(run_id)  # until its runs row is in
        self._metrics_file.append(metric_rows)
        self._runs_file.append([run_row])
        self._leftovers.discard(run_id)
        self._recorded[run_id] = text_row(run_row, self._runs_file.columns)
        if time.monotonic() - self._synced_at >= SYNC_SECONDS:
            self.sync()

    def sync(self):
        """Have the rows appended so far reach the disk, metrics.csv's before runs.csv's."""
        sync_file(self.metrics_path)
        sync_file(self.runs_path)
        self._synced_at = time.monotonic()

    def set_aside(self, run_ids):
        """Unrecord trials about to be recorded again, in one rewrite of each file.

        Their rows go to the set-aside files first (metrics, then runs, which mark them set
        aside), then out of runs.csv, then out of metrics.csv: at no moment can a later record
        pair new metrics with an old runs row, and until they are recorded again they can be
        put back (finish(), or the next open after a kill).
        """
        leaving = {run_id for run_id in run_ids if run_id in self._recorded}
        if not leaving:
            return
        self._unfinished = True
        metrics = self._metrics_file.rows()
        self._aside_metrics.rewrite(self._aside_metrics.rows() +
                                    [row for row in metrics if row["run_id"] in leaving])
        self._aside_runs.rewrite(self._aside_runs.rows() +
                                 [row for row in self._recorded.values()
                                  if row["run_id"] in leaving])
        for run_id in leaving:
            del self._recorded[run_id]
        self._runs_file.rewrite(list(self._recorded.values()))
        self._metrics_file.rewrite([row for row in metrics if row["run_id"] in self._recorded])

    def finish(self):
        """Put back the rows set aside of trials not recorded again, then, if anything changed,
        rewrite metrics.csv and runs.csv whole, in the sweep's order, without leftovers."""
        self._put_back()
        if not self._unfinished:
            return
        metrics = self._metrics_file.rows()
        ordered = self._ordered([row for row in metrics if row["run_id"] in self._recorded])
        if ordered != metrics or not self._metrics_file.has_current_header():
            self._metrics_file.rewrite(ordered)
        ordered = self._ordered(list(self._recorded.values()))
        # against the file, not the rows in memory: an interrupt between a record's runs row
        # and its counting leaves a row there that has its metrics rows dropped just above
        on_disk = [row["run_id"] for row in self._runs_file.rows()]
        if on_disk != [row["run_id"] for row in ordered] or \
                not self._runs_file.has_current_header():
            self._runs_file.rewrite(ordered)
        self._recorded = _by_run_id(ordered)
        self._unfinished = False
        self.sync()

    def _put_back(self):
        """Return the set-aside rows of trials not recorded since to the files; drop the rest.
        Whether it rewrote the files."""
        if not self._aside_runs.path.exists():
            self._aside_metrics.remove()  # set aside no further than its metrics: nothing to do
            return False
        back = [row for row in self._aside_runs.rows() if row["run_id"] not in self._recorded]
        if back:
            self._unfinished = True
            back_ids = {row["run_id"] for row in back}
            # leftovers go too: the rows put back must be their trials' only metrics rows
            self._metrics_file.rewrite(
                [row for row in self._metrics_file.rows() if row["run_id"] in self._recorded] +
                [row for row in self._aside_metrics.rows() if row["run_id"] in back_ids])
            self._recorded.update(_by_run_id(back))
            self._runs_file.rewrite(list(self._recorded.values()))
        self._aside_runs.remove()
        self._aside_metrics.remove()
        return bool(back)

    def _drop_leftovers(self, metrics):
        """Rewrite metrics.csv without the rows (`metrics`, as read) of trials not recorded."""
        kept = [row for row in metrics if row["run_id"] in self._recorded]
        if len(kept) != len(metrics):
            self._metrics_file.rewrite(kept)
        self._leftovers.clear()

    def _ordered(self, rows):
        """Rows sorted by their run's place in the sweep; a stable sort keeps epochs in order."""
        last = len(self._position)
        return sorted(rows, key=lambda row: self._position.get(row["run_id"], last))


def _by_run_id(rows):
    return {row["run_id"]: row for row in rows}


def _check_unique(path, records):
    """Two runs rows of one run_id (an edit gone wrong): an error, as the report says it, rather
    than one of them dropped at the next rewrite."""
    first_line, column = {}, records.header.index("run_id")
    for line, fields in records.records:
        run_id = fields[column]
        if run_id in first_line:
            raise ResultsError(f"{path}: line {line}: run_id: {run_id!r} is also on line "
                               f"{first_line[run_id]}")
        first_line[run_id] = line
