"""The command sweep-export: a sweep's results into another tool (MLflow); not the copying itself (mlflow_runs.py).

It is the only place where the export's errors are caught and printed, as one line.
"""

import argparse
import os
import sys
from pathlib import Path

from experiments.errors import NNSweepError

DESCRIPTION = """\
Copy a sweep's recorded trials into MLflow: an MLflow run per trial, in an experiment named
after the sweep, with its configuration as params, its per-epoch numbers as metrics (the
epoch as step), its outcome as metrics, and run.json, config.yaml and its saved networks as
artifacts. Exporting again changes nothing for the trials already there, and replaces those
whose record changed (a rerun with --force): never two runs for one trial. Needs the
optional extra: pip install ".[mlflow]"."""

EPILOG = """\
examples:
  sweep-export mlflow results/architectures                    # into sqlite:///mlflow.db
  sweep-export mlflow results/architectures --tracking-uri http://localhost:5000
  mlflow ui --backend-store-uri sqlite:///mlflow.db            # then browse (full mlflow)

exit status: 0 on success, 2 for a usage error, unreadable results, MLflow not installed,
or MLflow refusing the export."""


def build_parser():
    parser = argparse.ArgumentParser(
        prog="sweep-export", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    targets = parser.add_subparsers(dest="target", required=True, metavar="TARGET")
    mlflow = targets.add_parser("mlflow", help="an MLflow tracking store or server",
                                description="Copy a sweep's trials into MLflow.")
    mlflow.add_argument("directory", metavar="RESULTS_DIR", type=Path,
                        help="a sweep's results directory, e.g. results/architectures")
    mlflow.add_argument("--tracking-uri", metavar="URI",
                        help="where MLflow keeps runs, e.g. sqlite:///mlflow.db or "
                             "http://localhost:5000 (default: $MLFLOW_TRACKING_URI, else "
                             "MLflow's own default, sqlite:///mlflow.db in the current directory)")
    mlflow.add_argument("--experiment", metavar="NAME",
                        help="the MLflow experiment (default: the results directory's name)")
    return parser


def main(argv=None) -> int:
    """Run sweep-export with `argv` (default: the command line); return the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_request:  # argparse has printed the usage error, or the help
        return exit_request.code
    from experiments.export.mlflow_runs import export_sweep

    # MLflow logs at INFO as it creates its database ("Creating initial MLflow database
    # tables..."), from the level it reads when imported; one line of ours says what happened
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    try:
        summary = export_sweep(args.directory, args.tracking_uri, args.experiment)
    except NNSweepError as error:
        print(f"sweep-export: {error}", file=sys.stderr)
        return 2
    trials = summary.created + summary.replaced + summary.unchanged
    print(f"sweep-export: {trials} trials of {args.directory} in MLflow experiment "
          f"{summary.experiment!r} (id {summary.experiment_id}) at {summary.tracking_uri}: "
          f"{summary.created} created, {summary.replaced} replaced, {summary.unchanged} "
          "unchanged")
    return 0
