"""The `sweep` command (and `python -m experiments`): the only place that catches and prints errors."""

import argparse
import signal
import sys
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from tabulate import tabulate

from experiments.argtypes import positive_int
from experiments.data.datasets import locate
from experiments.errors import ConfigError, DataError, NNSweepError, ResultsError, WriteError
from experiments.store.columns import FAILED, FINISHED
from experiments.store.store import ResultsStore
from experiments.sweep import runner
from experiments.sweep.config import load_sweep
from experiments.sweep.progress import Display

EXIT_OK, EXIT_TRIALS_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
MAX_TRIALS = 10_000


def build_parser():
    parser = argparse.ArgumentParser(
        prog="sweep",
        description="Train every trial of a sweep and record accuracy and timing to CSV. "
                    "Rerunning the same command skips trials already recorded.")
    parser.add_argument("config", help="sweep file (YAML), e.g. configs/architectures.yaml")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="override config keys, Hydra style: epochs=1 eta=0.5,3.0 "
                             "layers=[784,100,10] (a comma makes a sweep)")
    parser.add_argument("-j", "--jobs", type=positive_int,
                        help="trials run at once, each in a worker process with one BLAS thread "
                             "(default: 1; with --scheduler, one per thread of the cluster's "
                             "workers)")
    parser.add_argument("--executor", choices=("process", "dask"),
                        help="process: worker processes of this machine (the default); dask: a "
                             "local Dask cluster of -j worker processes, or with --scheduler an "
                             "existing Dask cluster (pip install \"nn-sweep[dask]\")")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run the trials on the Dask cluster of the scheduler at ADDRESS, "
                             "e.g. tcp://10.0.0.5:8786 (implies --executor dask)")
    parser.add_argument("--out", help="results directory (default: results/<sweep name>)")
    parser.add_argument("--data-dir", help="directory with the data set files "
                                           "(default: $MNIST_DIR, then the per-user cache)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the expanded trials and their count; train nothing")
    parser.add_argument("--max-trials", type=positive_int, default=MAX_TRIALS, metavar="N",
                        help="refuse a sweep of more than N trials, counted before they are "
                             f"expanded (default: {MAX_TRIALS:,}; a grid is a typo away from "
                             "a million)")
    parser.add_argument("--force", action="store_true", help="rerun trials already recorded")
    parser.add_argument("--retry-failed", action="store_true",
                        help="rerun trials recorded as failed (not diverged: those would again)")
    parser.add_argument("--fail-fast", action="store_true",
                        help="stop at the first trial that fails or diverges")
    parser.add_argument("--no-report", action="store_true",
                        help="do not regenerate report.md and the plots at the end")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_intermixed_args(argv)  # options may follow key=value items
    if args.scheduler and args.executor == "process":
        parser.error("--scheduler runs the trials on Dask: it cannot go with --executor process")
    args.executor = "dask" if args.scheduler else args.executor or "process"
    try:
        return run_sweep(args)
    except WriteError as error:  # a full disk, a read-only directory: the finished trials are kept
        print(f"sweep: {error}", file=sys.stderr)
        return EXIT_TRIALS_FAILED
    except (ConfigError, DataError, ResultsError) as error:  # bad input: nothing was run
        print(f"sweep: {error}", file=sys.stderr)
        return EXIT_USAGE
    except NNSweepError as error:
        print(f"sweep: {error}", file=sys.stderr)
        return EXIT_TRIALS_FAILED
    except KeyboardInterrupt:  # outside the trials: while downloading, or drawing the report
        print("sweep: interrupted; rerun the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED


def run_sweep(args):
    sweep = load_sweep(args.config, args.overrides, args.max_trials)
    out = Path(args.out) if args.out else Path("results") / sweep.name
    if args.dry_run:
        print_dry_run(sweep, out)
        return EXIT_OK
    dask_executor = import_dask_executor() if args.executor == "dask" else None
    with ResultsStore(out, order=[trial.run_id for trial in sweep.trials]) as store:
        recorded = store.runs()
        trials = runner.select_trials(sweep.trials, recorded, args.force, args.retry_failed)
        display = Display(len(trials))
        display.expect(trials)
        how = "Dask" if dask_executor else f"{args.jobs or 1} job(s)"
        display.line(f"{sweep.name}: {len(trials)} of {len(sweep.trials)} trials to run "
                     f"on {sweep.dataset} with {how}; results in {out}")
        unfinished = []
        if trials:
            # Located (and downloaded, if need be) once here, so that workers only read.
            data_dir = str(locate(sweep.dataset, args.data_dir or sweep.data_dir).resolve())
            if dask_executor:
                backend = dask_backend(dask_executor, args, sweep.dataset, data_dir, display)
            else:
                backend = process_backend(args.jobs or 1, display)
            # rows of trials run again leave the files in one rewrite, not one per trial
            store.set_aside([trial.run_id for trial in trials if trial.run_id in recorded])
            unfinished = execute(trials, store, display, backend, data_dir, args.fail_fast)
        store.finish()  # rows in sweep order before the report reads them
        display.summary(len(sweep.trials) - len(trials), out, interrupted=unfinished is None)
        if unfinished is None:
            display.line("rerun the same command to resume: recorded trials are skipped")
            return EXIT_INTERRUPTED
        if not args.no_report and store.runs():  # under the lock: one writer of report files
            write_report(out, display)
    # A diverged trial is a result (eta too large, say); a failed one, or a stop, is not.
    stopped = args.fail_fast and unfinished
    failed = any(result.status == FAILED for result in unfinished)
    return EXIT_TRIALS_FAILED if failed or stopped else EXIT_OK


def import_dask_executor():
    """The Dask executor module; ConfigError when the dask extra is not installed."""
    try:
        from experiments.sweep import dask_executor
    except ImportError as error:
        if (error.name or "").split(".")[0] not in ("dask", "distributed"):
            raise
        raise ConfigError("--executor dask and --scheduler need Dask: "
                          "pip install \"nn-sweep[dask]\"") from None
    return dask_executor


def process_backend(jobs, display):
    """(executor, jobs, arguments of run_trials) for the trials run by this machine's processes."""
    queue = runner.worker_context().Queue() if jobs > 1 else None
    return runner.make_executor(jobs, queue), jobs, {
        "progress": display if queue is None else None, "on_tick": lambda: _drain(queue, display)}


def dask_backend(dask_executor, args, dataset, data_dir, display):
    """The same for Dask: connected, the workers checked and given the data set."""
    executor = dask_executor.start(args.scheduler, args.jobs or 1, args.jobs, dataset, data_dir)
    display.line(executor.describe())

    def on_tick():
        for event in executor.events():
            display.put(event)
        executor.check()

    return executor, executor.jobs, {"progress": executor.progress, "on_tick": on_tick,
                                     "task": dask_executor.run_trial_on_worker}


def execute(trials, store, display, backend, data_dir, fail_fast):
    """Run the trials, recording each as it completes. backend: (executor, jobs, keyword
    arguments of run_trials), see process_backend.

    Returns the results that did not finish (failed or diverged), or None when interrupted
    (Ctrl-C or SIGTERM): the trials that were running are then not recorded.
    """
    commit = runner.git_commit()
    unfinished = []

    def on_result(result):
        store.record(runner.run_summary(result), runner.metric_rows(result),
                     runner.config_text(result.trial), runner.run_info(result, commit))
        display.result(result)
        if result.status != FINISHED:
            unfinished.append(result)
        return not (fail_fast and unfinished)

    executor, jobs, options = backend
    previous_term = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        runner.run_trials(trials, executor, jobs, on_result, data_dir, **options)
        executor.shutdown(wait=True)
    except KeyboardInterrupt:
        runner.stop_workers(executor)
        return None
    except BrokenProcessPool:
        runner.stop_workers(executor)
        raise NNSweepError("a worker process died (killed, or out of memory?); the trials it "
                           "ran are not recorded, the finished ones are: rerun to resume") from None
    except BaseException:  # a write that failed, or a bug: leave no worker training behind
        runner.stop_workers(executor)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous_term)
    return unfinished


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _drain(queue, display):
    while queue is not None and not queue.empty():
        try:
            display.put(queue.get_nowait())
        except Exception:  # noqa: BLE001 - queue.Empty, or a worker killed mid-put
            return


def print_dry_run(sweep, out):
    recorded = ResultsStore(out).runs()
    rows = [(i + 1, t.run_id, t.layers_label, t.epochs, t.mini_batch_size, f"{t.eta:g}", t.seed,
             t.train_size or "all", t.comment, recorded.get(t.run_id, {}).get("status", "to run"))
            for i, t in enumerate(sweep.trials)]
    # run_id, layers and status are never numbers: not parsing them as such saves 40% of the
    # time of 10,000 rows, for the same table
    print(tabulate(rows, headers=["#", "run_id", "layers", "epochs", "batch", "eta", "seed",
                                  "train_size", "comment", "status"], disable_numparse=[1, 2, 9]))
    to_run = sum(1 for row in rows if row[-1] == "to run")
    print(f"{sweep.name}: {len(rows)} trials on {sweep.dataset}, {to_run} to run; "
          f"results in {out}")


def write_report(out, display):
    # Imported here: pandas and matplotlib take a second to import, which --dry-run,
    # bad-config errors and workers need not pay.
    from experiments.report.table import write_report as write

    try:
        paths = write(out)
    except NNSweepError as error:
        display.line(f"sweep: report not written: {error}")
        return
    display.line("report: " + ", ".join(str(path) for path in paths))
