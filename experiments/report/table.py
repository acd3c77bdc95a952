"""A sweep's comparison table and its report.md; not the figures (plots.py), not the command.

From the results read by frames.py, merges the seeds of a configuration (mean ± sample
std), filters, sorts, and renders the table as Markdown, CSV or JSON.
write_report(directory) is what a sweep calls when it ends.
"""

import difflib
import json
import math
import operator
import re
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from experiments.errors import NNSweepError, ResultsError
from experiments.files import write_atomically
from experiments.report.frames import SweepResults, load_results
from experiments.report.labels import network_label, parameter_count
from experiments.store.columns import CONFIG_COLUMNS, STATUSES

REPORT_FILE = "report.md"
FORMATS = ("md", "csv", "json")

_HIDDEN = ("run_ids",)  # table columns for the plots, not shown
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
        best_accuracy=("best_accuracy", "mean"), best_epoch=("best_epoch", "median"),
        validation_accuracy=("validation_accuracy", "mean"),
        train_seconds=("train_seconds", "mean"), seconds_per_epoch=("seconds_per_epoch", "mean"),
        error=("error", "first"), run_ids=("run_id", lambda run_ids: tuple(run_ids)),
    ).reset_index()
    table["parameters"] = table["layers"].map(parameter_count)
    if (table["best_epoch"].dropna() % 1 == 0).all():
        table["best_epoch"] = table["best_epoch"].astype("Int64")
    return table[[*table_columns(aggregate), *_HIDDEN]]


def table_columns(aggregate=True) -> list:
    """The names of the table's columns, in order: those of --format csv, --filter, --sort-by."""
    settings = [column for column in CONFIG_COLUMNS if column != "comment"]
    settings.insert(settings.index("layers") + 1, "parameters")
    seeds = (["n", "status", "accuracy", "accuracy_std"] if aggregate
             else ["seed", "status", "accuracy"])
    return ([] if aggregate else ["run_id"]) + settings + seeds + [
        "best_accuracy", "best_epoch", "validation_accuracy", "train_seconds",
        "seconds_per_epoch", "comment", "error"]


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


def render_table(table, table_format="md") -> str:
    """The table as Markdown, CSV or JSON (a list of row objects, missing values as null)."""
    data = table.drop(columns=list(_HIDDEN))
    if table_format == "csv":
        return data.to_csv(index=False)
    if table_format == "json":
        records = json.loads(data.to_json(orient="records", double_precision=15))  # NA -> null
        return json.dumps(records, indent=2, ensure_ascii=False) + "\n"
    if table_format == "md":
        return markdown_table(table) + "\n"
    raise ResultsError(f"format {table_format!r}: expected one of {', '.join(FORMATS)}")


def markdown_table(table) -> str:
    """The table in the shape of the book's: network | epochs, mini-batch, eta | time |
    accuracy | comment, plus parameters, seeds, seconds per epoch, best epoch and status.

    Accuracies are percentages to 0.01, one test image in 10,000; a merged row shows
    mean ± standard deviation, in percentage points.
    """
    varying = [c for c in ("dataset", "train_size", "dtype") if table[c].nunique(dropna=False) > 1]
    seeds = "n" if "n" in table else "seed"
    headers = ["network", "parameters", "epochs", "mini-batch", "eta", *varying,
               "seeds" if seeds == "n" else "seed", "time", "s/epoch", "accuracy",
               "best (epoch)", "status", "comment"]
    rows = [[network_label(row["layers"]), f"{row['parameters']:,}", row["epochs"],
             row["mini_batch_size"], _eta_text(row["eta"]),
             *(_text(row[c], "{:,}" if c == "train_size" else "{}", "all") for c in varying),
             row[seeds], _duration(row["train_seconds"]),
             _text(row["seconds_per_epoch"], "{:.2f} s"),
             _percent(row["accuracy"], row.get("accuracy_std")),
             _percent(row["best_accuracy"]) + _text(row["best_epoch"], " ({:g})", ""),
             _status(row["status"], row["error"]), _text(row["comment"])]
            for row in table.to_dict("records")]
    left = {"network", "dataset", "dtype", "status", "comment"}
    return tabulate(rows, headers, tablefmt="pipe", disable_numparse=True,
                    colalign=["left" if header in left else "right" for header in headers])


_MISSING = "—"


def _text(value, template="{}", missing=_MISSING):
    if pd.isna(value) or value == "":
        return missing
    return template.format(value).replace("|", "\\|")  # a | would end the Markdown cell


def _eta_text(eta):
    return str(round(float(eta), 10))  # 3.0 as the book writes it, 0.1 not 0.1000000000000001


def _percent(fraction, std=None):
    if pd.isna(fraction):
        return _MISSING
    text = f"{100 * fraction:.2f}%"
    return text if std is None or pd.isna(std) else f"{text} ± {100 * std:.2f}"


def _duration(seconds):
    if pd.isna(seconds):
        return _MISSING
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _status(status, error, width=60):
    """The status, with the error that ended the trial, shortened to one line of `width`."""
    if not error:
        return status
    text = " ".join((error if error.startswith(status) else f"{status}: {error}").split())
    return _text(text if len(text) <= width else text[:width - 1] + "…")


def report_markdown(results, table, figures=(), selection="", best_run="") -> str:
    """The page report.md: what the sweep is, its table, a key to the columns, the figures.

    figures: (file name, title) pairs; selection: how the rows were chosen, if not all;
    best_run: the section on the best run's figures (best_run.best_run_markdown), if drawn.
    """
    runs = results.runs
    counts = runs["status"].value_counts()
    ended = ", ".join(f"{counts[status]} {status}" for status in STATUSES if status in counts)
    sizes = runs["train_size"].unique()
    trained = ("training sets of several sizes" if len(sizes) > 1 else
               "the full training set" if pd.isna(sizes[0]) else f"{sizes[0]:,} training images")
    rows = "a row per trial" if "seed" in table else "a row per configuration, seeds merged"
    lines = [f"# Sweep {results.name}", "",
             f"{len(runs)} trials on {', '.join(runs['dataset'].unique())}, {trained} ({ended}); "
             f"{rows}{'; ' + selection if selection else ''}.", "", markdown_table(table), "",
             "*accuracy*: test accuracy after the last epoch, mean ± sample standard deviation "
             "over the seeds (in percentage points); *best (epoch)*: the highest test accuracy of "
             "any epoch, and that epoch (median over seeds); *time*, *s/epoch*: training time of "
             "a trial and of an epoch, evaluation excluded (means over seeds).", ""]
    lines += [f"![{title}]({name})\n" for name, title in figures]
    lines += [best_run] if best_run else []
    return "\n".join(lines)


def write_report(directory) -> list[Path]:
    """Write report.md and the figures into a sweep's directory, with the default options;
    return the paths written (Path). Raises ResultsError for bad or unwritable files."""
    results = load_results(directory)
    return write_report_files(results, comparison_table(results))[0]


def write_report_files(results, table, selection="", data_dir=None) -> tuple[list[Path], list]:
    """Write report.md, showing `table` (whose rows `selection` describes), and the figures
    of its rows into results.directory, each replaced whole; return their paths, and notes
    on what was left out and why (the best run's figures, when its network or the test set
    cannot be read; data_dir: where the test set is, if not where `sweep` finds it).
    """
    from experiments.report import (  # matplotlib takes a while to import; csv and json need none
        best_run,
        plots,
    )
    page = results.directory / REPORT_FILE
    notes, best = [], None
    try:
        figures = plots.write_figures(results, table)
        titles = [(path.name, plots.FIGURE_TITLES[path.name]) for path in figures]
        try:
            best = best_run.write_best_run_figures(results, table, data_dir)
        except NNSweepError as error:  # the report is written all the same
            notes.append(f"no figures of the best run: {error}")
        section = best_run.best_run_markdown(best) if best else ""
        write_atomically(page, report_markdown(results, table, titles, selection, section))
    except OSError as error:  # a full disk, a read-only directory
        raise ResultsError(f"{error.filename or page}: cannot write: {error.strerror}") from None
    drawn = [results.directory / name for name, _ in best.files] if best else []
    return [page, *figures, *drawn], notes
