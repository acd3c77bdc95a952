"""Tests of experiments.sweep.runner without training: trial selection, scheduling, summaries and the inline executor."""

import concurrent.futures
import os
import subprocess
import sys
import threading
import time

import pytest

from experiments.sweep import runner, start
from experiments.sweep.config import TrialConfig
from experiments.sweep.runner import (
    InlineExecutor,
    estimated_cost,
    metric_rows,
    run_summary,
    run_trials,
    select_trials,
)
from experiments.sweep.worker import TrialResult, WorkerSettings
from nn.training import EpochRecord


def result_of(trial, status="finished", records=(), error=""):
    return TrialResult(trial, status, tuple(records), error, "2024-01-01T00:00:00+00:00", 9.5, 100.0)


def epochs(*accuracies, seconds=(1.0, 2.0, 1.5, 1.5)):
    return [EpochRecord(i + 1, 0.1 * (i + 1), accuracy, accuracy - 0.01, seconds[i])
            for i, accuracy in enumerate(accuracies)]


# select_trials

TRIALS = [TrialConfig(layers=(784, 10), seed=i) for i in range(4)]
RECORDED = {TRIALS[0].run_id: {"status": "finished"}, TRIALS[1].run_id: {"status": "diverged"},
            TRIALS[2].run_id: {"status": "failed"}}


def test_select_trials_runs_those_not_recorded():
    assert select_trials(TRIALS, RECORDED) == [TRIALS[3]]
    assert select_trials(TRIALS, {}) == TRIALS


def test_select_trials_with_retry_failed_adds_the_failed_not_the_diverged():
    assert select_trials(TRIALS, RECORDED, retry_failed=True) == [TRIALS[2], TRIALS[3]]


def test_select_trials_with_force_runs_all_in_sweep_order():
    assert select_trials(TRIALS, RECORDED, force=True) == TRIALS
    assert select_trials(TRIALS, RECORDED, force=True, retry_failed=True) == TRIALS


# estimated_cost

BASE = TrialConfig(layers=(784, 30, 10), epochs=10, mini_batch_size=10, train_size=10_000)


@pytest.mark.parametrize("larger", [
    TrialConfig(layers=(784, 30, 10), epochs=20, mini_batch_size=10, train_size=10_000),
    TrialConfig(layers=(784, 30, 10), epochs=10, mini_batch_size=10, train_size=20_000),
    TrialConfig(layers=(784, 30, 10), epochs=10, mini_batch_size=10),  # all 50,000
    TrialConfig(layers=(784, 100, 10), epochs=10, mini_batch_size=10, train_size=10_000),
    TrialConfig(layers=(784, 30, 30, 10), epochs=10, mini_batch_size=10, train_size=10_000),
    TrialConfig(layers=(784, 30, 10), epochs=10, mini_batch_size=5, train_size=10_000),
], ids=["epochs", "train_size", "all-examples", "wider", "deeper", "smaller-batch"])
def test_estimated_cost_grows_with_the_work(larger):
    assert estimated_cost(larger) > estimated_cost(BASE) > 0


# run_summary and metric_rows

TRIAL = TrialConfig(layers=(784, 30, 10), epochs=4, eta=0.5, seed=7, train_size=1000,
                    cost="cross_entropy", comment="a comment")


def test_run_summary_of_a_finished_trial():
    summary = run_summary(result_of(TRIAL, records=epochs(0.5, 0.8, 0.8, 0.7)))
    assert summary == {
        "run_id": TRIAL.run_id, "layers": "784-30-10", "epochs": 4, "mini_batch_size": 10,
        "eta": 0.5, "seed": 7, "dataset": "mnist", "train_size": 1000, "dtype": "float32",
        "activation": "sigmoid", "cost_function": "cross_entropy", "init": "normal",
        "lmbda": 0.0, "momentum": 0.0, "early_stopping": 0, "eta_schedule": "none",
        "status": "finished", "accuracy": 0.7, "best_accuracy": 0.8, "best_epoch": 2,
        "validation_accuracy": 0.7 - 0.01, "epochs_run": 4, "stopped": "",
        "train_seconds": 6.0, "seconds_per_epoch": 1.5, "comment": "a comment",
        "reference": None, "source": "", "started_at": "2024-01-01T00:00:00+00:00", "error": "",
    }


def test_run_summary_columns_are_the_runs_columns():
    from experiments.store.columns import RUN_COLUMNS
    assert tuple(run_summary(result_of(TRIAL, records=epochs(0.5)))) == RUN_COLUMNS


@pytest.mark.parametrize("status", ["diverged", "failed"])
def test_run_summary_of_a_trial_that_did_not_finish_has_no_accuracy(status):
    summary = run_summary(result_of(TRIAL, status, epochs(0.6, 0.4), error="cost is nan"))
    assert summary["status"] == status and summary["error"] == "cost is nan"
    assert summary["accuracy"] is None
    assert (summary["best_accuracy"], summary["best_epoch"]) == (0.6, 1)
    assert (summary["train_seconds"], summary["seconds_per_epoch"]) == (3.0, 1.5)


def test_run_summary_of_a_trial_that_failed_before_any_epoch():
    summary = run_summary(result_of(TRIAL, "failed", (), error="DataError: no files"))
    assert [summary[key] for key in ("accuracy", "best_accuracy", "best_epoch",
                                     "validation_accuracy", "seconds_per_epoch")] == [None] * 5
    assert summary["train_seconds"] == 0


def test_metric_rows_one_per_epoch():
    records = [EpochRecord(1, 0.25, 0.5, 0.55, 1.234567, 3.0),
               EpochRecord(2, 0.125, 0.75, None, 2.0, 1.5)]
    assert metric_rows(result_of(TRIAL, records=records)) == [
        {"run_id": TRIAL.run_id, "epoch": 1, "cost": 0.25, "accuracy": 0.5,
         "validation_accuracy": 0.55, "seconds": 1.2346, "eta": 3.0},
        {"run_id": TRIAL.run_id, "epoch": 2, "cost": 0.125, "accuracy": 0.75,
         "validation_accuracy": None, "seconds": 2.0, "eta": 1.5},
    ]
    assert metric_rows(result_of(TRIAL, "failed")) == []


# InlineExecutor

def test_inline_executor_returns_a_done_future_with_the_result():
    future = InlineExecutor().submit(divmod, 7, 2)
    assert future.done() and future.result() == (3, 1)


def test_inline_executor_returns_a_done_future_with_the_exception():
    future = InlineExecutor().submit(divmod, 7, 0)
    assert future.done()
    assert isinstance(future.exception(), ZeroDivisionError)
    with pytest.raises(ZeroDivisionError):
        future.result()


# run_trials, with run_group replaced by a quick fake

SWEEP = [TrialConfig(layers=(784, 10), epochs=epochs, seed=i)
         for i, epochs in enumerate([1, 5, 2, 4, 3, 5])]
GROUPS = [(trial,) for trial in SWEEP]


class Tracker:
    """A fake run_group and an on_result that count the trials in flight (submitted, result not yet handed back)."""

    def __init__(self, stop_after=None, sleep=0.0):
        self.started, self.results = [], []
        self.max_in_flight = 0
        self.stop_after = stop_after
        self.sleep = sleep
        self.lock = threading.Lock()

    def run_group(self, group, settings=None, progress=None, rungs=(), starts=None):
        with self.lock:
            self.started.extend(group)
            self.max_in_flight = max(self.max_in_flight, len(self.started) - len(self.results))
        time.sleep(self.sleep)
        return [result_of(trial, records=epochs(0.5)) for trial in group]

    def on_result(self, result):
        with self.lock:
            self.results.append(result.trial)
        return self.stop_after is None or len(self.results) < self.stop_after


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_run_trials_keeps_at_most_jobs_in_flight_and_hands_back_every_result(monkeypatch, jobs):
    tracker = Tracker()
    monkeypatch.setattr(runner, "run_group", tracker.run_group)
    run_trials(GROUPS, InlineExecutor(), jobs, tracker.on_result)
    assert tracker.max_in_flight == jobs
    assert sorted(tracker.results, key=SWEEP.index) == SWEEP


def test_run_trials_in_a_thread_pool_keeps_at_most_jobs_in_flight(monkeypatch):
    tracker = Tracker(sleep=0.01)
    monkeypatch.setattr(runner, "run_group", tracker.run_group)
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as executor:
        run_trials(GROUPS, executor, 2, tracker.on_result)
    assert tracker.max_in_flight <= 2
    assert sorted(tracker.results, key=SWEEP.index) == SWEEP


def test_run_trials_with_one_job_runs_in_sweep_order(monkeypatch):
    tracker = Tracker()
    monkeypatch.setattr(runner, "run_group", tracker.run_group)
    run_trials(GROUPS, InlineExecutor(), 1, tracker.on_result)
    assert tracker.started == SWEEP


def test_run_trials_with_several_jobs_submits_the_longest_first(monkeypatch):
    tracker = Tracker()
    monkeypatch.setattr(runner, "run_group", tracker.run_group)
    run_trials(GROUPS, InlineExecutor(), 2, tracker.on_result)
    # by epochs 5, 5, 4, 3, 2, 1; the two 5-epoch trials in sweep order
    assert tracker.started == [SWEEP[i] for i in (1, 5, 3, 4, 2, 0)]


def test_on_result_false_stops_submitting_with_one_job(monkeypatch):
    tracker = Tracker(stop_after=2)
    monkeypatch.setattr(runner, "run_group", tracker.run_group)
    run_trials(GROUPS, InlineExecutor(), 1, tracker.on_result)
    assert tracker.started == tracker.results == SWEEP[:2]


def test_on_result_false_lets_the_trials_in_flight_complete(monkeypatch):
    tracker = Tracker(stop_after=1)
    monkeypatch.setattr(runner, "run_group", tracker.run_group)
    run_trials(GROUPS, InlineExecutor(), 3, tracker.on_result)
    assert len(tracker.started) == 3  # the first three were in flight when the first result came
    assert sorted(tracker.results, key=SWEEP.index) == sorted(tracker.started, key=SWEEP.index)


def test_run_trials_passes_the_settings_and_progress_to_each_group(monkeypatch):
    seen = []
    monkeypatch.setattr(runner, "run_group", lambda group, settings, progress, rungs, starts:
                        seen.append((settings, progress)) or [result_of(t) for t in group])
    queue, settings = object(), WorkerSettings(data_dir="/data")
    run_trials(GROUPS[:2], InlineExecutor(), 1, lambda result: None, settings, progress=queue)
    assert seen == [(settings, queue)] * 2


def test_a_group_of_several_trials_hands_back_a_result_per_trial_in_its_order(monkeypatch):
    tracker = Tracker()
    monkeypatch.setattr(runner, "run_group", tracker.run_group)
    run_trials([tuple(SWEEP[:3]), tuple(SWEEP[3:])], InlineExecutor(), 1, tracker.on_result)
    assert tracker.results == SWEEP


# --- how workers start --------------------------------------------------------------------

def fresh_python(code, **environment):
    """stdout of `code` run by a new interpreter, without the BLAS thread variables unless
    given (this process has BLAS threads and maybe others; a fresh one has only its own)."""
    clean = {k: v for k, v in os.environ.items() if k not in start.BLAS_THREADS}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**clean, **environment}, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


ONE_BLAS_THREAD = dict.fromkeys(start.BLAS_THREADS, "1")


def test_workers_fork_from_a_fork_server_while_another_thread_runs():
    # a thread could hold a lock at the moment of a fork, and the child would wait on it forever
    code = ("import threading; from experiments.sweep import runner; "
            "print(runner.threads_running(), runner.worker_context().get_start_method()); "
            "stop = threading.Event(); thread = threading.Thread(target=stop.wait); "
            "thread.start(); "
            "print(runner.threads_running(), runner.worker_context().get_start_method()); "
            "stop.set(); thread.join()")
    alone, with_a_thread = fresh_python(code, **ONE_BLAS_THREAD).splitlines()
    assert alone == ("1 fork" if sys.platform == "linux" else "1 forkserver")
    assert with_a_thread == "2 forkserver"


def test_the_sweep_command_keeps_one_thread_so_that_its_workers_fork_from_it():
    # what sweep/start.py does before NumPy loads: without it, OpenBLAS starts a thread per core
    code = ("import os; from experiments.sweep import start; start.one_blas_thread(); "
            "from experiments.sweep import runner; "
            "print(runner.threads_running(), runner.worker_context().get_start_method(), "
            "*(os.environ[v] for v in start.BLAS_THREADS))")
    expected = ["1", "fork" if sys.platform == "linux" else "forkserver", "1", "1", "1"]
    assert fresh_python(code).split() == expected
    # a user's own setting stands
    assert fresh_python(code, OMP_NUM_THREADS="3").split()[2:] == ["1", "3", "1"]


@pytest.mark.skipif(sys.platform != "linux", reason="workers fork from the sweep on Linux only")
def test_a_forked_workers_garbage_collector_does_not_copy_the_sweeps_objects():
    # two million small lists in the sweep process (~190 MiB): a worker whose garbage
    # collector went through them would write to each, and their pages would become its own
    # (measured: 3 MiB of the worker's own with gc.freeze, 194 MiB without)
    code = ("import gc; from experiments.sweep import runner\n"
            "def private_mib():\n"
            "    gc.collect()\n"
            "    for line in open('/proc/self/smaps_rollup'):\n"
            "        if line.startswith('Private_Dirty:'):\n"
            "            return int(line.split()[1]) / 1024\n"
            "rows = [[str(i), [i / 7]] for i in range(10**6)]\n"
            "executor = runner.make_executor(2)\n"
            "print(executor.submit(private_mib).result())\n"
            "executor.shutdown()\n")
    assert float(fresh_python(code, **ONE_BLAS_THREAD)) < 60


@pytest.mark.skipif(sys.platform != "linux", reason="workers fork from the sweep on Linux only")
def test_workers_that_die_as_they_start_are_one_error_not_a_traceback():
    code = ("import os; from experiments.errors import NNSweepError; "
            "from experiments.sweep import runner; "
            "runner.init_worker = lambda queue: os._exit(3); "
            "exec('try:\\n    runner.make_executor(2)\\nexcept NNSweepError as e:\\n    print(e)')")
    assert fresh_python(code, **ONE_BLAS_THREAD) == (
        "the worker processes could not start (one died as it was set up); nothing was run: "
        "rerun, or run with -j 1\n")


def test_a_worker_is_stopped_by_sigterm_whatever_the_process_it_forked_from_did():
    # as a worker forked from the sweep starts: its handler, SIGINT and SIGTERM held
    code = ("import signal; signal.signal(signal.SIGTERM, lambda *args: None); "
            "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM}); "
            "from experiments.sweep.worker import init_worker; init_worker(); "
            "held = signal.pthread_sigmask(signal.SIG_BLOCK, set()); "
            "print(signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, "
            "signal.getsignal(signal.SIGINT) is signal.SIG_IGN, "
            "signal.SIGINT in held or signal.SIGTERM in held)")
    assert fresh_python(code).split() == ["True", "True", "False"]
