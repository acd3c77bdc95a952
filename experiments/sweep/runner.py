"""Runs a sweep's trials through an executor and hands each result to the store; never prints.

A trial runs in a worker (a process of a concurrent.futures executor, or inline for -j 1)
and returns a TrialResult; only the main process writes files. Progress events travel
from workers through a queue-like object (anything with `put`), so that another executor,
a distributed one say, can be plugged in with its own queue or none.
"""

import concurrent.futures
import multiprocessing
import os
import platform
import resource
import signal
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import numpy as np
import yaml
from threadpoolctl import threadpool_limits

from experiments.data.datasets import load_dataset
from experiments.errors import NNSweepError, WorkerLostError
from experiments.store.columns import DIVERGED, FAILED, FINISHED
from nn import SGD, DivergedError, Network
from nn.network import parameter_count

_DATASETS = {}  # (name, data_dir) -> DataSet: each worker reads a data set once, not per trial
_WORKER = {}  # in a worker process: its BLAS limit (kept alive) and its progress queue


@dataclass(frozen=True)
class TrialResult:
    """What a worker sends back: the trial, how it ended, and its per-epoch records."""

    trial: object  # TrialConfig
    status: str
    records: tuple
    error: str
    started_at: str
    wall_seconds: float
    peak_rss_mb: float = 0.0  # the worker process's peak memory so far (resident, MiB)
    host: str = field(default_factory=platform.node)


@dataclass(frozen=True)
class EpochEvent:
    """A progress event: trial `run_id` finished an epoch."""

    run_id: str
    record: object  # EpochRecord


def get_dataset(name, data_dir):
    key = (name, data_dir)
    if key not in _DATASETS:
        _DATASETS[key] = load_dataset(name, data_dir)
    return _DATASETS[key]


def run_trial(trial, data_dir=None, progress=None):
    """Train one trial and return its TrialResult; `progress.put(EpochEvent)` after each epoch.

    A divergence or a known error ends the trial with status diverged or failed; anything
    else (a bug) propagates. In a worker process, progress defaults to the worker's queue.
    """
    progress = progress if progress is not None else _WORKER.get("progress")
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    start = time.perf_counter()
    records, status, error = [], FINISHED, ""
    try:
        dataset = get_dataset(trial.dataset, data_dir)
        X, labels = dataset.training
        training = (X[:trial.train_size], labels[:trial.train_size])  # views, not copies
        rng = np.random.default_rng(trial.seed)
        network = Network(trial.layers, rng, dtype=trial.dtype,
                          activation=trial.activation, cost=trial.cost)
        for record in SGD(network, training, trial.epochs, trial.mini_batch_size, trial.eta,
                          rng, test_data=dataset.test, validation_data=dataset.validation):
            records.append(record)
            if progress is not None:
                progress.put(EpochEvent(trial.run_id, record))
    except DivergedError as exc:
        status, error = DIVERGED, str(exc)
    except (NNSweepError, MemoryError, FloatingPointError) as exc:
        status, error = FAILED, f"{type(exc).__name__}: {exc}"
    return TrialResult(trial, status, tuple(records), error, started_at,
                       time.perf_counter() - start, peak_rss_mb())


def peak_rss_mb():
    """Peak resident memory of this process so far, in MiB (ru_maxrss is KiB on Linux)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def init_worker(progress_queue=None):
    """Set up a worker process: one BLAS thread, its progress queue, Ctrl-C left to the main process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER["limits"] = threadpool_limits(limits=1)
    _WORKER["progress"] = progress_queue


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
    """How worker processes start: forked from a fork server, a clean process (no threads, no
    open results files of ours) started once per sweep that has imported the sweep's modules,
    so that a worker is ready in milliseconds where a spawned one would import NumPy and the
    rest again (~0.2 s each)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", __name__])
    return context


def make_executor(jobs, progress_queue=None):
    """An inline executor for one job, else a pool of `jobs` worker processes.

    A multiprocessing queue (made by worker_context().Queue()) can reach workers only as they
    start, hence initargs.
    """
    if jobs == 1:
        return InlineExecutor()
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=jobs, mp_context=worker_context(),
        initializer=init_worker, initargs=(progress_queue,))


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


def run_trials(trials, executor, jobs, on_result, data_dir=None, progress=None, on_tick=None,
               task=None):
    """Run `trials` with at most `jobs` in flight; call on_result(result) as each completes.

    Each trial runs as task(trial, data_dir, progress) (default: run_trial). `progress` goes
    to the workers, which put EpochEvents in it; on_tick() is called about ten times a second,
    for the caller to drain it. on_result returning False stops submitting new trials
    (--fail-fast); those in flight still complete and are recorded. A trial whose worker died
    (WorkerLostError from the executor) completes as failed, with the error's message.
    """
    task = task or run_trial
    # With several workers, longest first: a long trial started last would leave the other
    # workers idle at the end (rows are written in sweep order whatever the order of runs).
    pending_trials = sorted(trials, key=estimated_cost, reverse=True) if jobs > 1 else list(trials)
    in_flight = {}  # future -> its trial
    keep_going = True
    while pending_trials or in_flight:
        while keep_going and pending_trials and len(in_flight) < jobs:
            trial = pending_trials.pop(0)
            in_flight[executor.submit(task, trial, data_dir, progress)] = trial
        if not in_flight:
            break
        done, _ = concurrent.futures.wait(
            in_flight, timeout=0.1, return_when=concurrent.futures.FIRST_COMPLETED)
        for future in done:
            if on_result(_result(future, in_flight.pop(future))) is False:
                keep_going = False
        if on_tick is not None:
            on_tick()


def _result(future, trial):
    """The TrialResult of a done future; a failed one when its worker was lost."""
    try:
        return future.result()
    except WorkerLostError as error:
        started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return TrialResult(trial, FAILED, (), f"{type(error).__name__}: {error}", started_at,
                           0.0, host="")


def estimated_cost(trial):
    """Relative training time of a trial, to schedule the longest first.

    Steps cost ~25 us of NumPy calls each plus ~0.14 ns per parameter per example, as
    measured with sweep-bench on [784, 30, 10] and [784, 100, 10] (only the order matters).
    """
    examples = trial.epochs * (trial.train_size or 50_000)
    return examples * (25e-6 / trial.mini_batch_size + 0.14e-9 * parameter_count(trial.layers))


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
        "activation": trial.activation, "cost_function": trial.cost,
        "status": result.status,
        "accuracy": records[-1].accuracy if result.status == FINISHED else None,
        "best_accuracy": accuracies[best] if records else None,
        "best_epoch": records[best].epoch if records else None,
        "validation_accuracy": records[-1].validation_accuracy if records else None,
        "train_seconds": round(train_seconds, 4),
        "seconds_per_epoch": round(train_seconds / len(records), 4) if records else None,
        "comment": trial.comment, "started_at": result.started_at, "error": result.error,
    }


def metric_rows(result):
    return [{"run_id": result.trial.run_id, "epoch": r.epoch, "cost": r.cost,
             "accuracy": r.accuracy, "validation_accuracy": r.validation_accuracy,
             "seconds": round(r.seconds, 4)} for r in result.records]


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
        "versions": {"python": platform.python_version(), "numpy": np.__version__},
        "host": result.host, "git_commit": git_commit, "blas_threads": 1,
    }


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
