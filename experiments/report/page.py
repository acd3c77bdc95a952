"""report.md and the figures beside it, written into a sweep's directory; not the table (table.py, markdown.py)."""

from pathlib import Path

import pandas as pd

from experiments.errors import NNSweepError, ResultsError
from experiments.files import write_atomically
from experiments.report.frames import load_results
from experiments.report.markdown import markdown_table
from experiments.report.table import best_first, comparison_table
from experiments.store.columns import STATUSES

REPORT_FILE = "report.md"


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
             f"{rows}{'; ' + selection if selection else ''}.", "",
             markdown_table(table, validation=bool(results.search)), "",
             "*accuracy*: test accuracy after the last epoch, mean ± sample standard deviation "
             "over the seeds (in percentage points); *best (epoch)*: the highest test accuracy of "
             "any epoch, and that epoch (median over seeds); *time*, *s/epoch*: training time of "
             "a trial and of an epoch, evaluation excluded (means over seeds)." +
             (" *validation*: validation accuracy after the last epoch, what the search "
              "chooses by (never the test accuracy); **in bold**: the best by it."
              if results.search else ""), ""]
    lines += [f"![{title}]({name})\n" for name, title in figures]
    lines += [best_run] if best_run else []
    return "\n".join(lines)


def write_report(directory, data_dir=None) -> tuple[list[Path], list]:
    """Write report.md and the figures into a sweep's directory, with the default options;
    return the paths written (Path) and notes on what was left out (write_report_files).
    Raises ResultsError for bad or unwritable files."""
    results = load_results(directory)
    table = best_first(comparison_table(results), results)
    selection = "sorted by validation accuracy, the best first" if results.search else ""
    return write_report_files(results, table, selection, data_dir=data_dir)


def write_report_files(results, table, selection="", data_dir=None) -> tuple[list[Path], list]:
    """Write report.md, showing `table` (whose rows `selection` describes), and the figures
    of its rows into results.directory, each replaced whole; return their paths, and notes
    on what was left out and why (the best run's figures, when its network or the test set
    cannot be read; data_dir: where the test set is, if not where `sweep` finds it).
    """
    from experiments.report import best_run, plots, search_plots  # matplotlib: when drawing
    page = results.directory / REPORT_FILE
    notes, best = [], None
    try:
        figures = plots.write_figures(results, table) + search_plots.write_figures(results)
        titles = [(path.name, {**plots.FIGURE_TITLES, **search_plots.FIGURE_TITLES}[path.name])
                  for path in figures]
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
