"""The command sweep-report: options in, table and files out; not the report's content (table.py, plots.py).

It is the only place where the report's errors are caught and printed, as one line.
"""

import argparse
import sys
import textwrap
from pathlib import Path

from experiments.argtypes import positive_int
from experiments.errors import NNSweepError
from experiments.report.frames import load_results
from experiments.report.page import REPORT_FILE, write_report_files
from experiments.report.table import (
    FORMATS,
    best_first,
    comparison_table,
    filter_table,
    render_table,
    sort_table,
    table_columns,
)

DESCRIPTION = f"""\
Compare the trials of a sweep: read DIRECTORY/runs.csv and DIRECTORY/metrics.csv, print
the comparison table and, with the default --format md and no -o, regenerate
DIRECTORY/{REPORT_FILE}, learning_curves.png and accuracy_vs_parameters.png from the same
rows (filters, sort and --top apply to the figures too). When some of those trials saved
their network, the best of them by validation accuracy is also shown on the test set:
confusion_matrix.png and confident_mistakes.png, drawn from its network.npz."""

EPILOG = f"""\
columns (of --filter, --sort-by and the header of --format csv):
{textwrap.fill(" ".join(table_columns()), 80, initial_indent="  ", subsequent_indent="  ")}
  without aggregation, run_id and seed replace n and accuracy_std.
  Accuracies are fractions (0.9507); a filter value may be a percentage (95.07%).

examples:
  sweep-report results/architectures
  sweep-report results/architectures --sort-by=-accuracy --top 3
  sweep-report results/eta --filter 'eta>=1' --filter 'status!=failed' --format csv
  sweep-report results/eta --no-aggregate --format json -o eta.json

exit status: 0 on success, 2 for a usage error or unreadable or malformed results."""


def build_parser():
    parser = argparse.ArgumentParser(
        prog="sweep-report", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", metavar="DIRECTORY", type=Path,
                        help="a sweep's results directory, e.g. results/architectures")
    parser.add_argument(
        "--filter", action="append", default=[], metavar="EXPR",
        help="keep the rows where COLUMN OP VALUE holds, OP one of == != >= <= > <, e.g. "
             "'eta>=1', 'layers==784-30-10', 'status!=failed'; repeat to require all "
             "(a row without the value, like the accuracy of a failed trial, satisfies only !=)")
    parser.add_argument(
        "--sort-by", metavar="COLUMN[,COLUMN...]",
        help="sort the rows by these columns, ascending; a leading '-' sorts that column "
             "descending (write --sort-by=-accuracy, with '='); missing values go last "
             "(default: the order of runs.csv)")
    parser.add_argument("--top", type=positive_int, metavar="N",
                        help="keep the first N rows (after --filter and --sort-by)")
    parser.add_argument("--format", choices=FORMATS, default="md",
                        help="md: the Markdown table of report.md (default); csv, json: the "
                             "table's data, accuracies as fractions, missing values empty/null")
    parser.add_argument("-o", "--output", metavar="FILE", type=Path,
                        help="write the table to FILE ('-' for stdout) and nothing else: "
                             f"no {REPORT_FILE}, no figures")
    parser.add_argument("--no-aggregate", action="store_true",
                        help="a row (and a line) per trial; by default trials that differ only "
                             "in their seed are merged: n seeds, mean ± sample standard deviation")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="where the test set is, for the best run's confusion matrix and "
                             "mistakes (default: $MNIST_DIR, else the cache; never downloaded)")
    return parser


def main(argv=None) -> int:
    """Run sweep-report with `argv` (default: the command line); return the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_request:  # argparse has printed the usage error, or the help
        return exit_request.code
    try:
        results = load_results(args.directory)
        for note in results.skipped:
            print(f"sweep-report: warning: {note} (a write cut short?)", file=sys.stderr)
        table = comparison_table(results, aggregate=not args.no_aggregate)
        for expression in args.filter:
            table = filter_table(table, expression)
        if args.sort_by:
            table = sort_table(table, args.sort_by)
        else:  # a search: the best configuration by its metric first
            table = best_first(table, results)
        if args.top:
            table = table.head(args.top)
        text = render_table(table, args.format, validation=bool(results.search))
        if args.output is not None and str(args.output) != "-":
            args.output.write_text(text, encoding="utf-8")
            return 0
        sys.stdout.write(text)
        if args.output is None and args.format == "md":
            written, notes = write_report_files(results, table,
                                                _selection(args, bool(results.search)),
                                                args.data_dir)
            for note in notes:
                print(f"sweep-report: note: {note}", file=sys.stderr)
            print(f"sweep-report: wrote {', '.join(map(str, written))}", file=sys.stderr)
    except NNSweepError as error:
        print(f"sweep-report: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # -o FILE in a missing directory, a full disk
        print(f"sweep-report: {error.filename or 'output'}: {error.strerror}", file=sys.stderr)
        return 2
    return 0


def _selection(args, searched=False):
    """How the rows were chosen, for the header of report.md; empty for all rows."""
    parts = [f"filter {' and '.join(args.filter)}" if args.filter else "",
             f"sorted by {args.sort_by}" if args.sort_by else
             "sorted by validation accuracy, the best first" if searched else "",
             f"top {args.top}" if args.top else ""]
    return ", ".join(part for part in parts if part)
