"""A sweep's comparison table: its rows and columns as data; not its Markdown (markdown.py), nor report.md (page.py).

From the results read by frames.py, merges the seeds of a configuration (mean ± sample
std), filters, sorts, and renders the table as Markdown, CSV or JSON.
"""

import difflib
import json
import math
import operator
import re

import pandas as pd

from experiments.errors import ResultsError
from experiments.report.frames import SweepResults
from experiments.report.labels import parameter_count
from experiments.report.markdown import markdown_table
from experiments.store.columns import CONFIG_COLUMNS

FORMATS = ("md", "csv", "json")

_HIDDEN = ("run_ids", "accuracy_min", "accuracy_max")  # for the plots and the marks, not shown
_FILTER = re.compile(r"\s*([A-Za-z_]\w*)\s*(==|!=|>=|<=|>|<)\s*(.*?)\s*")
_OPERATORS = {"==": operator.eq, "!=": operator.ne, ">=": operator.ge, "<=": operator.le,
              ">": operator.gt, "<": operator.lt}


def comparison_table(results: SweepResults, aggregate=True) -> pd.DataFrame:
    """The table: a row per configuration and status with its seeds merged, or a row per trial.

    Merged seeds: n counts them; accuracy, best_accuracy, validation_accuracy and the times
    are means, accuracy_std the sample standard deviation (ddof=1, missing for one seed),
    best_epoch the median. A configuration whose seeds ended differently (two finished,
    one diverged) gets a row per status, so that no average hides a failure. Rows keep
    the order of runs.csv; the hidden column run_ids lists each row's trials.
    """
    keys = list(CONFIG_COLUMNS) + ["status"] + ([] if aggregate else ["run_id", "seed"])
    table = results.runs.groupby(keys, dropna=False, sort=False).agg(
        n=("run_id", "size"), accuracy=("accuracy", "mean"), accuracy_std=("accuracy", "std"),
        accuracy_min=("accuracy", "min"), accuracy_max=("accuracy", "max"),
        best_accuracy=("best_accuracy", "mean"), best_epoch=("best_epoch", "median"),
        validation_accuracy=("validation_accuracy", "mean"), epochs_run=("epochs_run", "mean"),
        train_seconds=("train_seconds", "mean"), seconds_per_epoch=("seconds_per_epoch", "mean"),
        error=("error", "first"), reference=("reference", "first"), source=("source", "first"),
        run_ids=("run_id", lambda run_ids: tuple(run_ids)),
    ).reset_index()
    table["parameters"] = table["layers"].map(parameter_count)
    if (table["best_epoch"].dropna() % 1 == 0).all():
        table["best_epoch"] = table["best_epoch"].astype("Int64")
    return table[[*table_columns(aggregate), *_HIDDEN]]


def best_first(table, results) -> pd.DataFrame:
    """A search's table sorted by its metric, the best configuration first (validation
    accuracy, never the test's: choosing by it would leak the test set); a grid's as is."""
    if not results.search:
        return table
    return table.sort_values("validation_accuracy", ascending=False, na_position="last",
                             kind="stable")


def table_columns(aggregate=True) -> list:
    """The names of the table's columns, in order: those of --format csv, --filter, --sort-by."""
    settings = [column for column in CONFIG_COLUMNS if column != "comment"]
    settings.insert(settings.index("layers") + 1, "parameters")
    seeds = (["n", "status", "accuracy", "accuracy_std"] if aggregate
             else ["seed", "status", "accuracy"])
    return ([] if aggregate else ["run_id"]) + settings + seeds + [
        "best_accuracy", "best_epoch", "validation_accuracy", "epochs_run", "train_seconds",
        "seconds_per_epoch", "reference", "source", "comment", "error"]


def filter_table(table, expression: str) -> pd.DataFrame:
    """Rows where `expression` ("eta>=1", "layers==784-30-10", "accuracy>95%") holds.

    Operators: == != >= <= > <. A missing value (no accuracy for a failed trial) satisfies
    only !=. On number columns a value may end in % (95% is 0.95).
    """
    what = f"filter {expression!r}"
    match = _FILTER.fullmatch(expression)
    if not match or not match.group(3):
        raise ResultsError(f"{what}: expected COLUMN OP VALUE, OP one of "
                           f"{' '.join(_OPERATORS)}, e.g. eta>=1")
    name, symbol, text = match.groups()
    _check_column(table, name, what)
    if pd.api.types.is_numeric_dtype(table[name]):
        value = _filter_number(text, what, name)
    elif symbol in ("==", "!="):
        value = "-".join(re.findall(r"\d+", text)) if name == "layers" else text
    else:
        raise ResultsError(f"{what}: {name} is text, it takes == or != only")
    compare = _OPERATORS[symbol]
    keep = [symbol == "!=" if pd.isna(cell) else compare(_near(cell, value), value)
            for cell in table[name]]
    return table[keep]


def _near(cell, value):
    """`value` itself when the number `cell` is within rounding of it: the mean of 0.94, 0.95
    and 0.96 is 0.9499999999999998, and must pass accuracy>=0.95."""
    if isinstance(value, float) and math.isclose(cell, value, rel_tol=1e-9, abs_tol=1e-12):
        return value
    return cell


def _filter_number(text, what, name):
    try:
        return float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ResultsError(f"{what}: {name} is a number, got {text!r}") from None


def sort_table(table, keys: str) -> pd.DataFrame:
    """Rows sorted by comma-separated column names, each ascending or, after a '-', descending.

    The sort is stable and puts missing values last; layers sort by their sizes.
    """
    names = [key.strip().lstrip("-") for key in keys.split(",")]
    for name, key in zip(names, keys.split(",")):
        _check_column(table, name, f"sort key {key.strip()!r}")
    ascending = [not key.strip().startswith("-") for key in keys.split(",")]
    return table.sort_values(names, ascending=ascending, na_position="last", kind="stable",
                             key=_sort_key)


def _sort_key(column):
    if column.name == "layers":  # "784-100-10" after "784-30-10", as numbers
        return column.map(lambda layers: tuple(int(size) for size in layers.split("-")))
    if column.name == "mini_batch_size" and column.dtype == object:  # "full" after any number
        return column.map(lambda size: math.inf if size == "full" else size)
    return column


def _check_column(table, name, what):
    columns = [column for column in table.columns if column not in _HIDDEN]
    if name in columns:
        return
    close = difflib.get_close_matches(name, columns, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    if name in ("seed", "run_id") and "n" in columns:
        hint = " (seeds are merged into one row; use --no-aggregate)"
    raise ResultsError(f"{what}: unknown column {name!r}{hint}; columns: {', '.join(columns)}")


def render_table(table, table_format="md", validation=False) -> str:
    """The table as Markdown, CSV or JSON (a list of row objects, missing values as null)."""
    data = table.drop(columns=list(_HIDDEN))
    if table_format == "csv":
        return data.to_csv(index=False)
    if table_format == "json":
        records = json.loads(data.to_json(orient="records", double_precision=15))  # NA -> null
        return json.dumps(records, indent=2, ensure_ascii=False) + "\n"
    if table_format == "md":
        return markdown_table(table, validation) + "\n"
    raise ResultsError(f"format {table_format!r}: expected one of {', '.join(FORMATS)}")
