"""Tests of sweeps on Dask (experiments.sweep.dask_executor) on 127.0.0.1: a LocalCluster, and
`dask scheduler` with two `dask worker` processes, one of them SIGKILLed mid-trial; a lost
scheduler, Ctrl-C, workers of other versions, the data set shipped to a worker that lacks it.

Every trial must end up recorded exactly once, with the rows of -j 1 (timings aside). Tests
that need Dask skip, saying so, without the extra; .ci/run installs it."""

import csv
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import experiments.sweep
from experiments.data.datasets import cache_dir
from experiments.errors import NNSweepError
from experiments.sweep import runner
from experiments.sweep.config import load_sweep
from experiments.sweep.worker import EpochEvent, WorkerSettings
from nn.training import EpochRecord

HAS_DASK = importlib.util.find_spec("distributed") is not None
needs_dask = pytest.mark.skipif(not HAS_DASK, reason='the dask extra is not installed: '
                                                     'pip install ".[dask]"')
MNIST_DIR = os.environ.get("MNIST_DIR") and str(Path(os.environ["MNIST_DIR"]).resolve())
needs_mnist = pytest.mark.skipif(not MNIST_DIR, reason="set MNIST_DIR to a directory with MNIST")
BIN = Path(sys.executable).parent
TIMING = {"train_seconds", "seconds_per_epoch", "started_at", "seconds"}

# Six trials of ~0.2 s: long enough to kill a worker in the middle of one
SIX = """\
name: six
defaults: {epochs: 5, train_size: 4000}
trials:
  - {layers: [784, 30, 10]}
seeds: [0, 1, 2, 3, 4, 5]
"""


def sweep_command(*args, cwd, timeout=180):
    return subprocess.run([str(BIN / "sweep"), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "MNIST_DIR": MNIST_DIR})


def rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def without_timings(directory):
    return {name: [{key: value for key, value in row.items() if key not in TIMING}
                   for row in rows(directory / name)] for name in ("runs.csv", "metrics.csv")}


@pytest.fixture(scope="module")
def six(tmp_path_factory):
    """The sweep file of six trials, and its rows with -j 1, to compare with."""
    directory = tmp_path_factory.mktemp("six")
    (directory / "six.yaml").write_text(SIX)
    result = sweep_command("six.yaml", "--out", "reference", "--no-report", cwd=directory)
    assert result.returncode == 0, result.stderr
    return directory, without_timings(directory / "reference")


# --- without a cluster --------------------------------------------------------------------

def test_without_the_extra_dask_is_one_line_saying_how_to_get_it(tmp_path, monkeypatch,
                                                                 capsys):
    from experiments.sweep.cli import main

    (tmp_path / "a.yaml").write_text("trials:\n  - {layers: [784, 10]}\n")
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    monkeypatch.delitem(sys.modules, "experiments.sweep.dask_executor", raising=False)
    monkeypatch.delattr(experiments.sweep, "dask_executor", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["a.yaml", "--scheduler", "tcp://127.0.0.1:8786"]) == 2
    assert capsys.readouterr().err == ('sweep: --executor dask and --scheduler need Dask: '
                                       'pip install "nn-sweep[dask]"\n')
    assert not (tmp_path / "results").exists()


def test_scheduler_with_the_process_executor_is_a_usage_error(capsys):
    from experiments.sweep.cli import main

    with pytest.raises(SystemExit) as caught:
        main(["a.yaml", "--scheduler", "tcp://x:1", "--executor", "process"])
    assert caught.value.code == 2
    assert capsys.readouterr().err.endswith(
        "error: --scheduler runs the trials on Dask: it cannot go with --executor process\n")


@needs_dask
def test_progress_goes_to_the_scheduler_in_builtin_types_only(monkeypatch):
    from experiments.sweep import dask_executor

    logged = []

    class Worker:
        def log_event(self, topic, message):
            logged.append((topic, message))

    monkeypatch.setattr(dask_executor, "get_worker", Worker)
    record = EpochRecord(3, np.float64(0.25), np.float32(0.5), None, np.float64(1.5))
    dask_executor.EventProgress("topic").put(EpochEvent("r", record))
    [(topic, message)] = logged
    assert topic == "topic" and message == {"run_id": "r", "record": {
        "epoch": 3, "cost": 0.25, "accuracy": 0.5, "validation_accuracy": None, "seconds": 1.5,
        "eta": 0.0, "stopped": ""}}
    assert {type(value) for value in message["record"].values()} <= {int, float, str, type(None)}
    assert EpochRecord(**message["record"]) == record


@needs_dask
def test_an_unreachable_scheduler_is_one_error(monkeypatch):
    from experiments.sweep import dask_executor

    monkeypatch.setattr(dask_executor, "CONNECT_SECONDS", 1)
    with pytest.raises(NNSweepError, match=r"^cannot reach the Dask scheduler at "
                                           r"tcp://127.0.0.1:9: "):
        dask_executor.start("tcp://127.0.0.1:9")


# --- a LocalCluster, in this process ------------------------------------------------------

@pytest.fixture(scope="module")
def local_dask():
    """A DaskExecutor on a LocalCluster of 2 single-threaded workers, with MNIST shipped."""
    if not (HAS_DASK and MNIST_DIR):
        pytest.skip("needs the dask extra and MNIST_DIR")
    from experiments.sweep import dask_executor

    saved = dict(os.environ)  # a LocalCluster leaves its workers' BLAS settings in os.environ
    executor = dask_executor.start(None, 2, None, "mnist", MNIST_DIR)
    yield executor
    executor.shutdown()
    os.environ.clear()
    os.environ.update(saved)


def test_local_cluster_rows_and_every_epochs_progress(local_dask, six):
    from experiments.sweep import dask_executor

    directory, reference = six
    trials = load_sweep(directory / "six.yaml").trials[:2]
    results, events = [], []
    runner.run_trials([(trial,) for trial in trials], local_dask, local_dask.jobs,
                      results.append, WorkerSettings(MNIST_DIR), progress=local_dask.progress,
                      on_tick=lambda: events.extend(local_dask.events()),
                      task=dask_executor.run_group_on_worker)
    deadline = time.monotonic() + 10  # events are fire-and-forget: they may trail the results
    while len(events) < 2 * 5 and time.monotonic() < deadline:
        time.sleep(0.05)
        events.extend(local_dask.events())
    metrics = [{key: str(value) for key, value in row.items() if key not in TIMING}
               for result in sorted(results, key=lambda result: result.trial.seed)
               for row in runner.metric_rows(result)]
    assert metrics == reference["metrics.csv"][:10]  # the rows of -j 1, bit for bit
    assert sorted((event.run_id, event.record.epoch) for event in events) == sorted(
        (trial.run_id, epoch) for trial in trials for epoch in range(1, 6))
    by_epoch = {(event.run_id, event.record.epoch): event.record for event in events}
    assert all(by_epoch[result.trial.run_id, record.epoch] == record
               for result in results for record in result.records)
    assert "local cluster on 127.0.0.1, 2 worker(s) with 2 thread(s)" in local_dask.describe()


def test_workers_of_other_versions_are_refused_in_one_line(local_dask):
    from experiments.sweep import dask_executor

    ours = {**dask_executor.environment(), "NumPy": "0.0.1"}
    with pytest.raises(NNSweepError) as caught:
        dask_executor.check_workers(local_dask.client, ours)
    assert str(caught.value).startswith("Dask worker tcp://127.0.0.1:")
    assert f"has NumPy {np.__version__}, this machine 0.0.1: every machine needs the same" in str(
        caught.value)
    dask_executor.check_workers(local_dask.client)  # the same versions pass


def test_the_data_set_is_shipped_to_a_worker_that_lacks_it(local_dask, tmp_path):
    from experiments.sweep import dask_executor

    elsewhere = "/nowhere/on/this/worker/mnist"  # the client's path, not seen by the workers
    shipment = dask_executor.DataShipment("mnist", MNIST_DIR)
    shipment.directory = elsewhere
    local_dask.client.register_plugin(shipment)
    trial = six_trials(tmp_path)[0]
    (result,) = local_dask.client.submit(dask_executor.run_group_on_worker, (trial,),
                                         WorkerSettings(elsewhere), None, pure=False).result()
    assert result.status == "finished" and len(result.records) == 5
    shipped = cache_dir() / "shipped" / f"mnist-{shipment.digest[:16]}"
    assert sorted(path.name for path in shipped.iterdir()) == sorted(shipment.files)


def test_a_worker_that_dies_too_often_fails_its_trial_and_the_sweep_goes_on(tmp_path):
    if not (HAS_DASK and MNIST_DIR):
        pytest.skip("needs the dask extra and MNIST_DIR")
    import dask

    from experiments.sweep import dask_executor

    saved = dict(os.environ)
    trials = six_trials(tmp_path)[:2]
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        executor = dask_executor.start(None, 1, None, "mnist", MNIST_DIR)
    results = []
    try:
        def task(group, settings, progress, rungs, starts):  # the first kills its worker, as
            if group[0].seed == 0:  # an out-of-memory kill would
                os.kill(os.getpid(), signal.SIGKILL)
            return dask_executor.run_group_on_worker(group, settings, progress, rungs, starts)

        runner.run_trials([(trial,) for trial in trials], executor, 1, results.append,
                          WorkerSettings(MNIST_DIR), task=task)
    finally:
        executor.shutdown()
        os.environ.clear()
        os.environ.update(saved)
    killed, survivor = results
    assert killed.status == "failed" and killed.trial == trials[0]
    assert killed.error.startswith("WorkerLostError: the Dask worker running it died once "
                                   "(killed, or out of memory?); the last one was tcp://127.0.0.1:")
    assert survivor.status == "finished" and survivor.trial == trials[1]


def six_trials(directory):
    (directory / "six.yaml").write_text(SIX)
    return load_sweep(directory / "six.yaml").trials


# --- the sweep command on Dask ------------------------------------------------------------

class Cluster:
    """`dask scheduler` and `dask worker` processes on 127.0.0.1, torn down whatever happens."""

    def __init__(self, directory, workers):
        self.directory, self.processes = directory, []
        scheduler_file = directory / "scheduler.json"
        self.scheduler = self._start("scheduler", "--host", "127.0.0.1", "--port", "0",
                                     "--scheduler-file", scheduler_file)
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.address = json.loads(scheduler_file.read_text())["address"]
        self.nannies = [self._start("worker", "--scheduler-file", scheduler_file, "--host",
                                    "127.0.0.1", "--nworkers", "1", "--nthreads", "1",
                                    "--memory-limit", "2GB") for _ in range(workers)]

    def _start(self, *args):
        process = subprocess.Popen([str(BIN / "dask"), *map(str, args), "--dashboard-address",
                                    "127.0.0.1:0"], cwd=self.directory, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        self.processes.append(process)
        return process

    def client(self):
        import distributed

        client = distributed.Client(self.address, timeout="20s")
        client.wait_for_workers(len(self.nannies), timeout=60)
        return client

    def close(self):
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def kill_a_worker_in_a_trial(client, deadline):
    """SIGKILL the process of a worker while it runs a trial; its address."""
    while time.monotonic() < deadline:
        busy = [worker for worker, keys in client.processing().items() if keys]
        if busy:
            pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
            os.kill(pid, signal.SIGKILL)
            return busy[0]
        time.sleep(0.02)
    pytest.fail("no worker was running a trial")


@needs_dask
@needs_mnist
def test_a_worker_killed_mid_trial_on_a_cluster_loses_no_trial(six, tmp_path):
    directory, reference = six
    cluster = Cluster(tmp_path, workers=2)
    try:
        client = cluster.client()
        sweep = subprocess.Popen([str(BIN / "sweep"), "six.yaml", "--out", tmp_path / "cluster",
                                  "--scheduler", cluster.address, "--no-report", "--no-stack"],
                                 cwd=directory,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env={**os.environ, "MNIST_DIR": MNIST_DIR})
        deadline = time.monotonic() + 120
        while not (tmp_path / "cluster" / "runs.csv").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        killed = kill_a_worker_in_a_trial(client, deadline)
        stdout, stderr = sweep.communicate(timeout=180)
        client.close()
    finally:
        cluster.close()
    assert sweep.returncode == 0, stderr
    assert stderr == "" and "6 finished" in stdout, stdout
    assert killed.startswith("tcp://127.0.0.1:")
    recorded = rows(tmp_path / "cluster" / "runs.csv")
    assert len({row["run_id"] for row in recorded}) == len(recorded) == 6  # each exactly once
    assert without_timings(tmp_path / "cluster") == reference


@needs_dask
@needs_mnist
def test_a_lost_scheduler_ends_the_sweep_in_one_line_and_a_rerun_completes(six, tmp_path):
    directory, reference = six
    cluster = Cluster(tmp_path, workers=1)
    out = tmp_path / "lost"
    try:
        cluster.client().close()  # its worker is in
        sweep = subprocess.Popen([str(BIN / "sweep"), "six.yaml", "--out", out, "--scheduler",
                                  cluster.address, "--no-report", "--no-stack"], cwd=directory,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env={**os.environ, "MNIST_DIR": MNIST_DIR})
        deadline = time.monotonic() + 120
        while not (out / "runs.csv").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        cluster.scheduler.kill()
        stdout, stderr = sweep.communicate(timeout=60)
    finally:
        cluster.close()
    assert sweep.returncode == 1, stdout
    assert stderr == (f"sweep: lost the Dask scheduler {cluster.address} "
                      f"(scheduler-connection-lost); the finished trials are recorded: "
                      f"rerun the same command to resume\n")
    recorded = rows(out / "runs.csv")
    assert 1 <= len(recorded) < 6 and {row["status"] for row in recorded} == {"finished"}
    rerun = sweep_command("six.yaml", "--out", out, "-j", "2", "--no-report", cwd=directory)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{6 - len(recorded)} of 6 trials to run" in rerun.stdout
    assert without_timings(out) == reference


@needs_dask
@needs_mnist
def test_a_sweep_on_a_local_cluster_stops_at_ctrl_c_and_resumes_with_the_rows_of_jobs_1(
        six, tmp_path):
    directory, reference = six
    out = tmp_path / "local"
    command = [str(BIN / "sweep"), "six.yaml", "--out", out, "--executor", "dask", "-j", "2",
               "--no-report", "--no-stack"]
    sweep = subprocess.Popen(command, cwd=directory, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "MNIST_DIR": MNIST_DIR})
    deadline = time.monotonic() + 120
    while not (out / "runs.csv").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    sweep.send_signal(signal.SIGINT)
    interrupted_at = time.monotonic()
    stdout, stderr = sweep.communicate(timeout=60)
    assert sweep.returncode == 130, stderr
    assert time.monotonic() - interrupted_at < 10
    assert "rerun the same command to resume" in stdout and stderr == ""
    recorded = rows(out / "runs.csv")
    rerun = sweep_command(*command[1:], cwd=directory)
    assert rerun.returncode == 0 and rerun.stderr == "", rerun.stderr
    assert rerun.stdout.splitlines()[:2] == [
        f"six: {6 - len(recorded)} of 6 trials to run on mnist with Dask; results in {out}",
        "Dask: local cluster on 127.0.0.1, 2 worker(s) with 2 thread(s); 2 trial(s) at once"]
    assert without_timings(out) == reference
