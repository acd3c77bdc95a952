"""Reading, writing and appending the results CSVs: records with their line numbers, cells as
text, one file's header against the columns of this version (CsvFile); not what they mean.

Errors name the file and, where there is one, the line. A kill during an append can leave the
last record of a file cut short (torn): readers leave it out and say on which line it was, and
the store cuts it off before it appends again.
"""

import contextlib
import csv
import gc
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from experiments.errors import ResultsError, WriteError
from experiments.files import write_atomically
from experiments.store.columns import MISSING_MEANS

_LINE_BREAKS = (b"\n", b"\r")
_IN_QUOTES_AT_THE_END = "unexpected end of data"  # csv's strict error for an unclosed quote


@dataclass(frozen=True)
class CsvRecords:
    """A results CSV as read.

    header: its column names, as in the file; records: (line number, fields) of every
    complete record, blank lines left out, each with as many fields as the header;
    torn_line: the line of a last record cut short, left out of `records` (None: none);
    complete_size: the bytes up to the end of the last complete record, where a torn one starts;
    unterminated: the last record is complete but lacks its line break (a hand-edited file).
    """

    path: Path
    header: list
    records: list
    torn_line: Optional[int] = None
    complete_size: int = 0
    unterminated: bool = False

    def rows(self, columns=()):
        """The records as dicts of every header column, plus `columns` the header lacks, as
        their absence meant (MISSING_MEANS: a setting's default), else empty."""
        blank = {column: MISSING_MEANS.get(column, "") for column in columns
                 if column not in self.header}
        with without_gc():
            return [{**dict(zip(self.header, fields)), **blank} for _, fields in self.records]


@contextlib.contextmanager
def without_gc():
    """Python's cyclic garbage collector paused: reading a file makes a million small objects,
    which set off collections that find no garbage and take longer than the reading (3.11)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_csv_records(path, required):
    """A results CSV read whole: CsvRecords.

    Raises FileNotFoundError when there is no file (each reader decides what that means), and
    ResultsError naming the file, and the line where there is one, when it cannot be read, is
    empty, its header lacks one of the `required` columns, or a record other than a torn last
    one has too few or too many fields (an edit gone wrong).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as error:
        raise ResultsError(f"{path}: unreadable: {error}") from None
    with without_gc():
        return _records(path, data, required)


def _records(path, data, required):
    # bytes.splitlines breaks at \n, \r and \r\n only, as csv does in newline="" mode
    lines = data.splitlines(keepends=True)
    text, cut_in_a_character = _decoded(path, data, lines)
    parsed = _parse(path, text, len(lines))  # (index of its first line, line number, fields)
    if not parsed:
        raise ResultsError(f"{path}: empty file, expected a header line")
    header = parsed[0][2]
    missing = [column for column in required if column not in header]
    if missing:
        raise ResultsError(f"{path}: missing columns {', '.join(missing)}")
    torn_line, complete_size = None, len(data)
    unterminated = not data.endswith(_LINE_BREAKS)
    if cut_in_a_character:
        torn_line, complete_size, unterminated = len(lines), len(data) - len(lines[-1]), False
    if len(parsed) > 1 and _cut_short(parsed[-1], lines, len(header), unterminated):
        first, torn_line, _ = parsed.pop()
        complete_size, unterminated = sum(map(len, lines[:first])), False
    records = [(line, fields) for _, line, fields in parsed[1:]]
    for line, fields in records:
        if len(fields) != len(header):
            raise ResultsError(f"{path}: line {line}: expected {len(header)} fields, "
                               f"got {len(fields)}")
    return CsvRecords(path, header, records, torn_line, complete_size, unterminated)


def _decoded(path, data, lines):
    """The file as text, and whether its unterminated last line, cut inside a character, was left out."""
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError as error:
        last_line_start = len(data) - len(lines[-1])
        if data.endswith(_LINE_BREAKS) or error.start < last_line_start:
            raise ResultsError(f"{path}: unreadable: {error}") from None
        return _decoded(path, data[:last_line_start], lines[:-1])[0], True


def _parse(path, text, n_lines):
    """(index of its first line, its line number, fields) of each non-blank record."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        records = list(reader)
        if len(records) == n_lines:  # one line a record: line numbers need no bookkeeping
            return [(i, i + 1, fields) for i, fields in enumerate(records) if fields]
        parsed, first = [], 0
        reader = csv.reader(io.StringIO(text, newline=""))
        for fields in reader:
            if fields:
                parsed.append((first, reader.line_num, fields))
            first = reader.line_num
        return parsed
    except csv.Error as error:
        raise ResultsError(f"{path}: line {reader.line_num}: {error}") from None


def _cut_short(record, lines, n_columns, unterminated):
    """Whether the last record is what a write cut short left: it ends inside a quoted field, or
    lacks its line break and some of its fields. (One that lacks only its line break is kept:
    editors write files so.)"""
    first, line, fields = record
    if unterminated and len(fields) < n_columns:
        return True
    text = b"".join(lines[first:line]).decode("utf-8")
    try:
        list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as error:
        return str(error) == _IN_QUOTES_AT_THE_END
    return False


def write_text(path, text, sync=True):
    """write_atomically, with an OSError (disk full, read-only) as a WriteError naming the file."""
    try:
        write_atomically(path, text, sync)
    except OSError as error:
        raise WriteError(f"{path}: cannot write: {error.strerror or error}") from None


def append_text(path, text, sync=True):
    """Append `text` (whole records) to the file `path` and sync it (unless sync=False: see
    sync_file).

    If the append fails midway (a full disk, or a signal), the file is cut back to where it
    ended, so that no part of a record stays behind when that can be helped; a kill leaves
    a torn last record, which readers skip and the store cuts off. An OSError is a WriteError.
    """
    data = text.encode("utf-8")
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND)
        try:
            end = os.fstat(descriptor).st_size
            try:
                remaining = memoryview(data)
                while remaining:
                    remaining = remaining[os.write(descriptor, remaining):]
                if sync:
                    os.fsync(descriptor)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.ftruncate(descriptor, end)
                raise
        finally:
            os.close(descriptor)
    except OSError as error:
        raise WriteError(f"{path}: cannot write: {error.strerror or error}") from None


def sync_file(path):
    """Have what was written to `path` reach the disk (an OSError is a WriteError); a kill needs
    no sync, what it protects against is losing the last writes to a machine crash."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    except FileNotFoundError:
        pass
    except OSError as error:
        raise WriteError(f"{path}: cannot write: {error.strerror or error}") from None


class CsvFile:
    """One of a results directory's CSV files: the columns this version writes (`required`
    being those every version wrote), the header on disk; appends, rewrites and repairs.

    Columns of the file that `columns` lacks (written by a later version) are kept, after them.
    """

    def __init__(self, path, columns, required):
        self.path = path
        self.columns = tuple(columns)
        self.required = required
        self._header_on_disk = None  # as last read or written; None: not known yet

    def rows(self):
        """Every complete row, as dicts of strings with every column; [] when there is no file."""
        records = self.read()
        return [] if records is None else records.rows(self.columns)

    def read(self):
        """The file's CsvRecords, None when there is no file; ResultsError when malformed."""
        try:
            records = read_csv_records(self.path, self.required)
        except FileNotFoundError:
            return None
        self._know_header(records.header)
        return records

    def repair(self, records):
        """Cut off the torn last record of the file read as `records`, end an unterminated last
        one with its line break; return the rows (as rows() does)."""
        if records is None:
            return []
        try:
            if records.torn_line is not None:
                os.truncate(self.path, records.complete_size)
            elif records.unterminated:
                append_text(self.path, "\n")
        except OSError as error:
            raise WriteError(f"{self.path}: cannot write: {error.strerror or error}") from None
        return records.rows(self.columns)

    def has_current_header(self):
        return self._header_on_disk is None or list(self._header_on_disk) == list(self.columns)

    def append(self, rows):
        """Append rows, creating the file, or rewriting it once when its header is not ours."""
        if self._header_on_disk is None:
            self.rows()  # learns the header, if there is a file
        if not self.path.exists():
            self.rewrite(rows)
        elif not self.has_current_header():  # fewer columns (older) or other columns
            self.rewrite(self.rows() + list(rows))
        elif rows:
            append_text(self.path, csv_text(self.columns, rows, header=False), sync=False)

    def rewrite(self, rows):
        keys = set().union(*map(dict.keys, rows))  # rows of a file with columns we do not know
        self.columns += tuple(sorted(keys.difference(self.columns)))
        write_text(self.path, csv_text(self.columns, rows))
        self._header_on_disk = self.columns

    def remove(self):
        try:
            self.path.unlink(missing_ok=True)
        except OSError as error:
            raise WriteError(f"{self.path}: cannot remove: {error.strerror or error}") from None

    def _know_header(self, header):
        self._header_on_disk = tuple(header)
        unknown = tuple(column for column in header if column not in self.columns)
        self.columns = self.columns + unknown


def csv_text(columns, rows, header=True):
    """CSV text of `rows` (dicts; a missing key is an empty cell), with a header line of `columns`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(columns)
    writer.writerows([_cell(row.get(column)) for column in columns] for row in rows)
    return buffer.getvalue()


def text_row(row, columns):
    """`row` with every cell of `columns` as the text csv_text writes, as it reads back."""
    return {column: str(_cell(row.get(column))) for column in columns}


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float):  # np.float64 too, whose repr is "np.float64(...)"
        return repr(float(value))  # shortest text that reads back as the same float
    return value
