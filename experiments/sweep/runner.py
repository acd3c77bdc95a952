"""Runs a sweep's trials through an executor and hands each result to the store; never prints.

A group of trials (one, or several trained as a stack) runs in a worker (a process of a
concurrent.futures executor, or inline for -j 1: worker.py) and returns a TrialResult per
trial; only the main process writes rows and networks. Progress events travel from
workers through a queue-like object (anything with `put`), so that another executor, a
distributed one say, can be plugged in with its own queue or none.
"""

import concurrent.futures
import gc
import multiprocessing
import os
import platform
import signal
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import numpy as np
import yaml
from threadpoolctl import threadpool_limits

from experiments.data.datasets import TRAINING_IMAGES
from experiments.errors import NNSweepError, WorkerLostError
from experiments.store.artifacts import (
    CHECKPOINT_FILE,
    NETWORK_FILES,
    read_checkpoint,
    remove_files,
    write_checkpoint,
    write_network,
)
from experiments.store.columns import FAILED, FINISHED, PRUNED
from experiments.sweep.asha import Rungs
from experiments.sweep.config import LABELS
from experiments.sweep.worker import (
    PAUSED,
    TrialResult,
    WorkerSettings,
    checkpoint_fits,
    init_worker,
    mini_batch_size,
    run_group,
)
from nn.network import parameter_count


class InlineExecutor(concurrent.futures.Executor):
    """A concurrent.futures executor that runs each call at submit time, in this process."""

    def submit(self, fn, /, *args, **kwargs):
        future = concurrent.futures.Future()
        with threadpool_limits(limits=1):  # as in a worker, so -j 1 and -j N give equal rows
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller via the future
                future.set_exception(exc)
        return future


def worker_context():
    """How worker processes start: forked from this process where that is safe, else from a
    fork server.

    Forked from here, a worker has every module imported and is ready in milliseconds. That
    is safe on Linux in a process of one thread (no lock another thread could hold at the
    fork); the `sweep` command keeps its process so (sweep/start.py: one BLAS thread), and a
    worker lets go of the results lock (store.store) and of the command's signal handlers
    (worker.init_worker). Elsewhere (another thread running, as in a test process that ran
    Dask; macOS) workers fork from a fork server: a clean process started once per sweep
    that imports the sweep's modules (~0.2 s) before it forks the first.
    """
    if sys.platform == "linux" and threads_running() == 1:
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", __name__])
    return context


def threads_running():
    """Threads of this process, those Python does not know of (BLAS's) included (Linux)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count() + 1  # unknown: not 1, so not safe to fork


def make_executor(jobs, progress_queue=None, context=None):
    """An inline executor for one job, else a pool of `jobs` worker processes started by
    `context` (default: worker_context()).

    A multiprocessing queue (made by the same context's Queue()) can reach workers only as
    they start, hence initargs.
    """
    if jobs == 1:
        return InlineExecutor()
    context = context or worker_context()
    executor = concurrent.futures.ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=init_worker,
        initargs=(progress_queue,))
    if context.get_start_method() == "fork":
        _fork_workers(executor)
    return executor


def _fork_workers(executor):
    """Fork the pool's workers now, right after worker_context() found this process with one
    thread (a pool that forks starts every worker at its first task), with Ctrl-C and SIGTERM
    held until init_worker has replaced the handlers each worker inherits from the sweep.

    The sweep's objects are frozen for the fork (gc.freeze): a worker's garbage collector
    then leaves them alone, where it would write to every one of them and so copy every page
    that holds one (the rows of a results directory of thousands of trials, say) into the
    worker's own memory.
    """
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    gc.freeze()
    try:
        executor.submit(int).result()
    except concurrent.futures.BrokenExecutor:
        executor.shutdown(wait=False)
        raise NNSweepError("the worker processes could not start (one died as it was set "
                           "up); nothing was run: rerun, or run with -j 1") from None
    finally:
        gc.unfreeze()  # in this process only: each worker keeps its own copy frozen
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def stop_workers(executor):
    """Stop the executor's workers now, running trials included (Ctrl-C, an error): their rows
    are not written. An executor with a stop() of its own (Dask) is asked to stop."""
    if hasattr(executor, "stop"):
        executor.stop()
        return
    # The pool keeps no public handle on its processes; shutdown() drops the private one.
    processes = list((getattr(executor, "_processes", None) or {}).values())
    for process in processes:
        process.terminate()
    executor.shutdown(wait=False, cancel_futures=True)


def select_trials(trials, recorded, force=False, retry_failed=False):
    """The trials to run: those not yet recorded, the failed ones with retry_failed, all with force."""
    selected = []
    for trial in trials:
        row = recorded.get(trial.run_id)
        if row is None or force or (retry_failed and row["status"] == FAILED):
            selected.append(trial)
    return selected


class GroupList:
    """A plan of groups known from the start: a sweep's grid or random search."""

    def __init__(self, groups, jobs):
        # With several workers, longest first: a long group started last would leave the
        # others idle at the end (rows are written in sweep order whatever the order of runs).
        self.groups = sorted(groups, key=group_cost, reverse=True) if jobs > 1 else list(groups)
        self.exhausted = not self.groups

    def next_groups(self, slots):
        taken, self.groups = self.groups[:slots], self.groups[slots:]
        self.exhausted = not self.groups
        return taken

    def told(self, result, value):
        pass


def run_trials(plan, executor, jobs, on_result, settings=WorkerSettings(), progress=None,
               on_tick=None, rungs=None, metric="validation_accuracy", on_pause=None,
               task=None):
    """Run groups of trials (tuples, each trained together) with at most `jobs` groups in
    flight; call on_result(result) for each trial's TrialResult as its group completes.

    plan: a list of groups, or an object that gives them as workers free up
    (next_groups(slots), told(result, metric value), exhausted: tpe.TpePlan).
    Each group runs as task(group, settings, progress, rungs' epochs, starts) (default:
    worker.run_group). `progress` goes to the workers, which put EpochEvents in it;
    on_tick() is called about ten times a second, for the caller to drain it. on_result
    returning False stops submitting new groups (--fail-fast); those in flight still
    complete and are recorded. A group whose worker died (WorkerLostError from the
    executor) completes as failed, each trial with the error's message.
    rungs (asha.Rungs): early termination. A trial pauses at each rung, on_pause(result)
    sees it (to keep its checkpoint), and the rungs decide on its `metric` there: it goes
    on from where it paused, with the others of its group that go on (ahead of the groups
    not started yet), or its result is handed on as pruned.
    """
    plan = GroupList(plan, jobs) if isinstance(plan, (list, tuple)) else plan
    task = task or run_group
    going_on = []  # (trials, {run_id: Checkpoint}) promoted at a rung, to submit first
    in_flight = {}  # future -> its group
    keep_going = True

    def submit(group, starts):
        stops = tuple(rungs.rungs_below(group[0].epochs)) if rungs else ()
        group = tuple(group)
        in_flight[executor.submit(task, group, settings, progress, stops, starts)] = group

    while True:
        while keep_going and going_on and len(in_flight) < jobs:
            submit(*going_on.pop(0))
        if keep_going and len(in_flight) < jobs and not plan.exhausted:
            for group in plan.next_groups(jobs - len(in_flight)):
                submit(group, {})
        if not in_flight:
            break
        done, _ = concurrent.futures.wait(
            in_flight, timeout=0.1, return_when=concurrent.futures.FIRST_COMPLETED)
        for future in done:
            promoted = {}
            for result in _results(future, in_flight.pop(future)):
                if result.status == PAUSED:
                    if on_pause is not None:
                        on_pause(result)
                    if rungs.promote(len(result.records), metric_value(result.records, metric)):
                        promoted[result.trial] = result.checkpoint
                        continue
                    result = replace(result, status=PRUNED, checkpoint=None)
                plan.told(result, metric_value(result.records, metric))
                if on_result(result) is False:
                    keep_going = False
            if promoted:
                going_on.append((tuple(promoted), {t.run_id: c for t, c in promoted.items()}))
        if on_tick is not None:
            on_tick()


def _results(future, group):
    """The TrialResults of a done future; failed ones when its worker was lost."""
    try:
        return future.result()
    except WorkerLostError as error:
        started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return [TrialResult(trial, FAILED, (), f"{type(error).__name__}: {error}", started_at,
                            0.0, host="") for trial in group]


def metric_value(records, metric):
    """A trial's `metric` after its last epoch (validation_accuracy or cost); None counts as
    the worst."""
    value = getattr(records[-1], metric) if records else None
    if value is None:
        return float("-inf") if metric == "validation_accuracy" else float("inf")
    return value


def rungs_of(early_terminate, recorded_runs, recorded_metrics, metric, goal, going_on=()):
    """asha.Rungs holding the values that the trials of an earlier run of the same sweep
    reached at each rung: the recorded ones ({run_id: runs row}, in runs.csv's order), then
    those it had sent on past a rung and that stopped before their end (going_on: each
    one's (epochs, EpochRecords from its checkpoint)), so that a rerun judges the trials
    still to come as the uninterrupted sweep would have. None without early termination.

    A checkpoint that stands at a rung is counted as sent on: the sweep writes it as the
    trial pauses there and, in the same moment, records the trial if it prunes it.
    """
    if early_terminate is None:
        return None
    rungs = Rungs(early_terminate.min_epochs, early_terminate.reduction_factor,
                  maximize=goal == "maximize")
    by_epoch = {(row["run_id"], int(row["epoch"])): row for row in recorded_metrics}
    for run_id, row in recorded_runs.items():
        for rung in rungs.rungs_below(int(row["epochs"])):
            metrics = by_epoch.get((run_id, rung))
            if metrics is not None and metrics.get(metric) not in (None, ""):
                rungs.record(rung, float(metrics[metric]))
    for epochs, records in going_on:
        for rung in rungs.rungs_below(epochs):
            if rung <= len(records) and getattr(records[rung - 1], metric) is not None:
                rungs.record(rung, getattr(records[rung - 1], metric))
    return rungs


def going_on_of(trials, directory):
    """(epochs, EpochRecords) of each of `trials` that has a checkpoint in its folder of
    `directory` that it will go on from: where an earlier run of the sweep left it."""
    going_on = []
    for trial in trials:
        checkpoint = read_checkpoint(Path(directory) / trial.run_id / CHECKPOINT_FILE,
                                     trial.run_id)
        if checkpoint is not None and checkpoint_fits(checkpoint, trial):
            going_on.append((trial.epochs, checkpoint.records))
    return going_on


def recorded_values(recorded_runs, store, metric):
    """{run_id: its metric after its last epoch, or None} of the recorded trials ({run_id:
    runs row}): runs.csv's validation accuracy, or metrics.csv's last cost (read once)."""
    if metric == "validation_accuracy":
        return {run_id: float(row["validation_accuracy"]) if row["validation_accuracy"] else None
                for run_id, row in recorded_runs.items()}
    last_cost = {m["run_id"]: float(m["cost"]) for m in store.metrics() if m["cost"]}
    return {run_id: last_cost.get(run_id) for run_id in recorded_runs}


def group_cost(group):
    return sum(estimated_cost(trial) for trial in group)


def estimated_cost(trial):
    """Relative training time of a trial, to schedule the longest first.

    Steps cost ~25 us of NumPy calls each plus ~0.14 ns per parameter per example, as
    measured with sweep-bench on [784, 30, 10] and [784, 100, 10] (only the order matters).
    """
    examples = trial.epochs * (trial.train_size or TRAINING_IMAGES)
    return examples * (25e-6 / mini_batch_size(trial) + 0.14e-9 * parameter_count(trial.layers))


def run_summary(result):
    """The runs.csv row (as a dict) of a TrialResult."""
    trial, records = result.trial, result.records
    accuracies = [r.accuracy for r in records]
    best = int(np.argmax(accuracies)) if records else None
    train_seconds = sum(r.seconds for r in records)
    return {
        "run_id": trial.run_id, "layers": trial.layers_label, "epochs": trial.epochs,
        "mini_batch_size": trial.mini_batch_size, "eta": trial.eta, "seed": trial.seed,
        "dataset": trial.dataset, "train_size": trial.train_size, "dtype": trial.dtype,
        "activation": trial.activation, "cost_function": trial.cost, "init": trial.init,
        "lmbda": trial.lmbda, "momentum": trial.momentum,
        "early_stopping": trial.early_stopping, "eta_schedule": trial.eta_schedule,
        "status": result.status,
        "accuracy": records[-1].accuracy if result.status == FINISHED else None,
        "best_accuracy": accuracies[best] if records else None,
        "best_epoch": records[best].epoch if records else None,
        "validation_accuracy": records[-1].validation_accuracy if records else None,
        "epochs_run": len(records),
        "stopped": (f"pruned by ASHA at epoch {len(records)}" if result.status == PRUNED
                    else records[-1].stopped if records else ""),
        "train_seconds": round(train_seconds, 4),
        "seconds_per_epoch": round(train_seconds / len(records), 4) if records else None,
        "comment": trial.comment, "reference": trial.reference, "source": trial.source,
        "started_at": result.started_at, "error": result.error,
    }


def metric_rows(result):
    return [{"run_id": result.trial.run_id, "epoch": r.epoch, "cost": r.cost,
             "accuracy": r.accuracy, "validation_accuracy": r.validation_accuracy,
             "seconds": round(r.seconds, 4), "eta": r.eta} for r in result.records]


def labels(trial):
    """The runs.csv fields of a trial that name it without changing what it trains."""
    return {key: getattr(trial, key) for key in LABELS}


def run_info(result, git_commit):
    """The content of a trial's run.json: everything needed to tell how its row came to be."""
    summary = run_summary(result)
    return {
        "run_id": result.trial.run_id, "config": result.trial.as_dict(),
        "status": result.status, "error": result.error or None,
        "started_at": result.started_at, "wall_seconds": round(result.wall_seconds, 3),
        "worker_peak_rss_mb": result.peak_rss_mb,
        "train_seconds": summary["train_seconds"],
        "seconds_per_epoch": summary["seconds_per_epoch"],
        "epochs_completed": len(result.records), "seed": result.trial.seed,
        "resumed_from_epoch": result.resumed_from, "stack_size": result.stack_size,
        "networks": [name for name, network in zip(NETWORK_FILES, (result.network,
                                                                   result.best_network))
                     if network is not None],
        "versions": {"python": platform.python_version(), "numpy": np.__version__},
        "host": result.host, "git_commit": git_commit, "blas_threads": 1,
    }


def record(store, result, git_commit):
    """Write one result: its networks (removing stale ones), then its rows, which mark it
    recorded, then remove its checkpoint, which it no longer needs."""
    trial_dir = store.directory / result.trial.run_id
    for name, network in zip(NETWORK_FILES, (result.network, result.best_network)):
        if network is not None:
            write_network(trial_dir / name, network)
        else:
            remove_files(trial_dir, [name])
    store.record(run_summary(result), metric_rows(result), config_text(result.trial),
                 run_info(result, git_commit))
    remove_files(trial_dir, [CHECKPOINT_FILE])


def keep_checkpoint(store, result):
    """Write a paused trial's checkpoint, so that a rerun goes on from its rung."""
    if result.checkpoint is not None:
        write_checkpoint(store.directory / result.trial.run_id / CHECKPOINT_FILE,
                         result.trial.run_id, result.checkpoint)


def config_text(trial):
    return yaml.safe_dump(trial.as_dict(), sort_keys=False)


def git_commit(directory=Path(__file__).parent) -> Optional[str]:
    """The commit of the code that runs, when it runs from a git checkout; else None."""
    try:
        out = subprocess.run(["git", "-C", str(directory), "rev-parse", "HEAD"],
                             capture_output=True, text=True, timeout=5,
                             env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
