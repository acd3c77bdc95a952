"""report.md and the figures beside it, written into a sweep's directory; not the table (table.py, markdown.py)."""

from pathlib import Path

import pandas as pd

from experiments.errors import ResultsError
from experiments.files import write_atomically
from experiments.report.frames import load_results
from experiments.report.markdown import markdown_table
from experiments.report.table import comparison_table
from experiments.store.columns import STATUSES

REPORT_FILE = "report.md"


def report_markdown(results, table, figures=(), selection="") -> str:
    """The page report.md: what the sweep is, its table, a key to the columns, the figures.

    figures: (file name, title) pairs; selection: how the rows were chosen, if not all.
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
    return "\n".join(lines)


def write_report(directory) -> list[Path]:
    """Write report.md and the figures into a sweep's directory, with the default options;
    return the paths written (Path). Raises ResultsError for bad or unwritable files."""
    results = load_results(directory)
    return write_report_files(results, comparison_table(results))


def write_report_files(results, table, selection="") -> list[Path]:
    """Write report.md, showing `table` (whose rows `selection` describes), and the figures
    of its rows into results.directory, each replaced whole; return their paths."""
    from experiments.report import (
        plots,  # matplotlib takes a while to import; csv and json need none
    )
    page = results.directory / REPORT_FILE
    try:
        figures = plots.write_figures(results, table)
        titles = [(path.name, plots.FIGURE_TITLES[path.name]) for path in figures]
        write_atomically(page, report_markdown(results, table, titles, selection))
    except OSError as error:  # a full disk, a read-only directory
        raise ResultsError(f"{error.filename or page}: cannot write: {error.strerror}") from None
    return [page, *figures]
