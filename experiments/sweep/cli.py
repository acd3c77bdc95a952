"""The `sweep` command (and `python -m experiments`): the only place that catches and prints errors."""

import argparse
import concurrent.futures
import dataclasses
import signal
import sys
from pathlib import Path

import yaml

from experiments.argtypes import non_negative_float, positive_int
from experiments.data.datasets import locate
from experiments.errors import ConfigError, DataError, NNSweepError, ResultsError, WriteError
from experiments.store.columns import FAILED, FINISHED, PRUNED, SEARCH_FILE
from experiments.store.csv_files import write_text
from experiments.store.store import ResultsStore
from experiments.sweep import memory, runner
from experiments.sweep.config import TrialConfig, load_sweep
from experiments.sweep.groups import make_groups
from experiments.sweep.limits import MAX_TRIALS
from experiments.sweep.progress import Display
from experiments.sweep.worker import WorkerSettings

EXIT_OK, EXIT_TRIALS_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


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
                        help="trials (or stacks of trials) run at once, each in a worker process "
                             "with one BLAS thread (default: 1; with --scheduler, one per "
                             "thread of the cluster's workers)")
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
    parser.add_argument("--no-stack", action="store_true",
                        help="train every trial alone; by default trials that differ only in "
                             "seed, eta, lmbda or early stopping, with small steps, are trained "
                             "together as one stack of networks (the same results, faster)")
    parser.add_argument("--no-early-termination", action="store_true",
                        help="run every trial to its last epoch, whatever early_terminate says "
                             "(to see what early termination saves)")
    parser.add_argument("--checkpoint-every", type=non_negative_float, default=2.0,
                        metavar="SECONDS",
                        help="save each running trial's state at the end of an epoch at most "
                             "this often, so that a killed sweep resumes mid-trial "
                             "(default: 2; 0: never)")
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
    if args.no_early_termination:
        sweep = dataclasses.replace(sweep, early_terminate=None)
    out = Path(args.out) if args.out else Path("results") / sweep.name
    if args.dry_run:
        print_dry_run(sweep, out)
        return EXIT_OK
    jobs = args.jobs or 1
    # Before the lock, so that a sweep refused for its memory writes nothing; the selection
    # is made again under the lock, where it counts.
    memory.check_fits(make_groups(runner.select_trials(sweep.trials, ResultsStore(out).runs(),
                                                       args.force, args.retry_failed),
                                  jobs, stack=not args.no_stack), jobs)
    dask_executor = import_dask_executor() if args.executor == "dask" else None
    with ResultsStore(out, order=[trial.run_id for trial in sweep.trials]) as store:
        recorded = store.runs()
        plan, trials, total = plan_of(sweep, store, recorded, args)
        to_run = len(trials) if trials is not None else max(total - len(recorded), 0)
        display = Display(to_run)
        display.expect(trials or ())  # a TPE plan tells of its trials as it makes them
        how = "Dask" if dask_executor else f"{jobs} job(s)"
        display.line(f"{sweep.name}: {to_run} of {total} trials to run "
                     f"on {sweep.dataset} with {how}; results in {out}")
        if sweep.search is not None:  # what the report draws a search's figures by
            write_text(out / SEARCH_FILE, yaml.safe_dump(sweep.search.as_dict(), sort_keys=False))
        relabelled = store.relabel({trial.run_id: runner.labels(trial) for trial in sweep.trials})
        if relabelled:  # an edited comment or reference: the trial's results still stand
            display.line(f"updated the comment, reference or source of {len(relabelled)} "
                         f"recorded trial(s) from {sweep.path}")
        unfinished = []
        if to_run:
            if hasattr(plan, "on_new_trials"):
                plan.on_new_trials = display.expect
            # Located (and downloaded, if need be) once here, so that workers only read.
            data_dir = str(locate(sweep.dataset, args.data_dir or sweep.data_dir).resolve())
            if dask_executor:
                backend = dask_backend(dask_executor, args, sweep.dataset, data_dir, display)
            else:
                backend = process_backend(jobs, display)
            settings = WorkerSettings(data_dir, str(out.resolve()), sweep.save_networks,
                                      args.checkpoint_every)
            metric, goal = metric_of(sweep)
            # trials that go on from their checkpoints (none with --checkpoint-every 0)
            resumes = sweep.early_terminate is not None and args.checkpoint_every > 0
            going_on = runner.going_on_of(trials or (), out) if resumes else ()
            rungs = runner.rungs_of(sweep.early_terminate, recorded, store.metrics(), metric,
                                    goal, going_on)
            # rows of trials run again leave the files in one rewrite, not one per trial
            store.set_aside([trial.run_id for trial in trials or () if trial.run_id in recorded])
            unfinished = execute(plan, store, display, backend, settings, args.fail_fast,
                                 rungs, metric)
        store.finish()  # rows in sweep order before the report reads them
        display.summary(total - to_run, out, interrupted=unfinished is None)
        if unfinished is None:
            display.line("rerun the same command to resume: recorded trials are skipped")
            return EXIT_INTERRUPTED
        if not args.no_report and store.runs():  # under the lock: one writer of report files
            write_report(out, display, args.data_dir or sweep.data_dir)
    # A diverged trial is a result (eta too large, say); a failed one, or a stop, is not.
    stopped = args.fail_fast and unfinished
    failed = any(result.status == FAILED for result in unfinished)
    return EXIT_TRIALS_FAILED if failed or stopped else EXIT_OK


def plan_of(sweep, store, recorded, args):
    """(what to train: groups, or a TPE plan that asks for them; the trials to train, None
    for a TPE plan, which chooses them as it goes; how many the sweep has in all)."""
    def groups(trials):
        return make_groups(trials, args.jobs or 1, stack=not args.no_stack)

    if sweep.search is None or sweep.search.method != "tpe":
        trials = runner.select_trials(sweep.trials, recorded, args.force, args.retry_failed)
        return groups(trials), trials, len(sweep.trials)
    from experiments.sweep.tpe import TpePlan  # Optuna: imported only for a TPE search
    metric = metric_of(sweep)[0]
    values = runner.recorded_values(recorded, store, metric)
    outcomes = {run_id: (row["status"], values[run_id]) for run_id, row in recorded.items()}

    def checked_groups(trials):  # a TPE search's trials exist only once asked for: check them then
        made = groups(trials)
        memory.check_fits(made, args.jobs or 1)
        return made

    plan = TpePlan(sweep, store.directory, outcomes, checked_groups)
    total = sweep.search.count * len(sweep.expansion.trials(sweep.search.configurations(0, 1)))
    return plan, None, total


def metric_of(sweep):
    """(metric, goal) by which a sweep's trials are compared: its search's, else validation."""
    return (sweep.search.metric, sweep.search.goal) if sweep.search else \
        ("validation_accuracy", "maximize")


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
    context = runner.worker_context() if jobs > 1 else None
    queue = context.Queue() if context else None
    return runner.make_executor(jobs, queue, context), jobs, {
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
                                     "task": dask_executor.run_group_on_worker}


def execute(plan, store, display, backend, settings, fail_fast, rungs=None,
            metric="validation_accuracy"):
    """Run the groups of trials of `plan` (runner.run_trials), recording each trial as its
    group completes. backend: (executor, jobs, keyword arguments of run_trials), see
    process_backend.

    Returns the results that did not finish (failed or diverged), or None when interrupted
    (Ctrl-C or SIGTERM): the trials that were running are then not recorded.
    """
    commit = runner.git_commit()
    unfinished = []

    def on_result(result):
        runner.record(store, result, commit)
        display.result(result)
        if result.status not in (FINISHED, PRUNED):
            unfinished.append(result)
        return not (fail_fast and unfinished)

    executor, jobs, options = backend
    previous_term = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        runner.run_trials(plan, executor, jobs, on_result, settings, rungs=rungs, metric=metric,
                          on_pause=lambda result: runner.keep_checkpoint(store, result),
                          **options)
        executor.shutdown(wait=True)
    except KeyboardInterrupt:
        runner.stop_workers(executor)
        return None
    except concurrent.futures.BrokenExecutor:  # the process pool's BrokenProcessPool
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


# settings the dry run shows only where some trial does not leave them at their default
_DRY_RUN_SETTINGS = ("dtype", "activation", "cost", "init", "lmbda", "momentum",
                     "early_stopping", "eta_schedule")


def print_dry_run(sweep, out):
    recorded = ResultsStore(out).runs()
    defaults = TrialConfig(layers=(784, 10))
    shown = [key for key in _DRY_RUN_SETTINGS
             if any(getattr(t, key) != getattr(defaults, key) for t in sweep.trials)]
    rows = [(i + 1, t.run_id, t.layers_label, t.epochs, t.mini_batch_size, f"{t.eta:g}", t.seed,
             t.train_size or "all", *(getattr(t, key) for key in shown), t.comment,
             recorded.get(t.run_id, {}).get("status", "to run"))
            for i, t in enumerate(sweep.trials)]
    if rows:
        headers = ["#", "run_id", "layers", "epochs", "batch", "eta", "seed", "train_size",
                   *shown, "comment", "status"]
        # run_id, layers and status are never numbers: not parsing them as such saves 40% of
        # the time of 10,000 rows, for the same table
        from tabulate import tabulate  # here: only --dry-run needs it (~20 ms to import)

        print(tabulate(rows, headers=headers, disable_numparse=[1, 2, len(headers) - 1]))
    to_run = sum(1 for row in rows if row[-1] == "to run")
    search = sweep.search
    if search is not None and search.method == "tpe":
        print(f"{sweep.name}: a TPE search of {search.count} configurations, each chosen from "
              f"the results so far ({len(recorded)} trials recorded); results in {out}")
        return
    what = f"{search.count} sampled configurations, " if search is not None else ""
    print(f"{sweep.name}: {what}{len(rows)} trials on {sweep.dataset}, {to_run} to run; "
          f"results in {out}")


def write_report(out, display, data_dir=None):
    # Imported here: pandas and matplotlib take a second to import, which --dry-run,
    # bad-config errors and workers need not pay.
    from experiments.report.page import write_report as write

    try:
        paths, notes = write(out, data_dir)
    except NNSweepError as error:
        display.line(f"sweep: report not written: {error}")
        return
    for note in notes:
        display.line(f"report: note: {note}")
    display.line("report: " + ", ".join(str(path) for path in paths))
