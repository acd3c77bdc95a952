"""Reading and writing the results CSVs: records with their line numbers, cells as text; not what the columns mean.

Errors name the file and, where there is one, the line.
"""

import csv
import io

from experiments.errors import ResultsError
from experiments.files import write_atomically
from experiments.store.columns import added_columns


def read_csv_records(path, columns):
    """The header of a results CSV and its records, (line number, fields), blank lines left out.

    Raises FileNotFoundError when there is no file (each reader decides what that means),
    ResultsError naming the file, and the line where there is one, when it cannot be read,
    is empty or its header lacks one of `columns` (but those added after the first release:
    see row_of). The number of fields of a record is not checked: the report forgives a
    short last line, the store does not.
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
    missing = [column for column in columns
               if column not in header and column not in added_columns(columns)]
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
    return [row_of(header, fields, columns) for _, fields in records]


def row_of(header, fields, columns):
    """A record as a dict of strings; a column of `columns` added since the file was written
    gets the value that its absence meant (columns.added_columns)."""
    return {**added_columns(columns), **dict(zip(header, fields))}


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
        writer.writerow({column: csv_cell(row.get(column)) for column in columns})
    return buffer.getvalue()


def csv_cell(value):
    """A value as the CSV files hold it: None empty, floats in their shortest exact form."""
    if value is None:
        return ""
    if isinstance(value, float):  # np.float64 too, whose repr is "np.float64(...)"
        return repr(float(value))  # shortest text that reads back as the same float
    return value
