"""Running a sweep's trials on Dask: a local cluster, or the scheduler of a cluster you have; not
the runner (runner.py), which drives any concurrent.futures executor.

Dask distributed is an optional extra (pip install "nn-sweep[dask]"); the sweep imports this
module only for --executor dask or --scheduler. start() connects, checks that every worker
would give this machine's rows (check_workers), ships the data set to the workers that lack it
(DataShipment) and returns a DaskExecutor. Only the machine that runs `sweep` writes files; a
trial that a worker does not finish is simply run again, elsewhere or by a rerun.

Facts this relies on (dask/distributed 2026.8, ../shared/notes/dask.md): a worker that dies
while running a task makes the scheduler run it again elsewhere, up to
distributed.scheduler.allowed-failures times (3), then the future raises KilledWorker; when
the scheduler goes away every future is cancelled at once; log_event takes builtin types only;
a nanny starts its worker with OMP/MKL/OPENBLAS_NUM_THREADS=1.
"""

import concurrent.futures
import dataclasses
import functools
import hashlib
import importlib.metadata
import logging
import platform
import queue
import time
import uuid
import warnings
from pathlib import Path

import distributed
import numpy as np
import threadpoolctl
from distributed import KilledWorker, WorkerPlugin, get_worker

import experiments
import nn
from experiments.data.datasets import FILES, cache_dir, find_file, missing_files
from experiments.errors import DataError, NNSweepError, WorkerLostError
from experiments.files import write_atomically
from experiments.sweep.worker import EpochEvent, run_group
from nn.training import EpochRecord

CONNECT_SECONDS = 10  # to reach a scheduler
NO_WORKER_SECONDS = 60  # for a first worker to join; and how long the sweep waits when all are gone
CHECK_SECONDS = 5  # between two looks at the scheduler's workers (a round trip each)
_WORKER_DATA = {}  # in a worker: (data set, the client's directory) -> where this worker has it


def start(scheduler=None, workers=1, jobs=None, dataset="mnist", data_dir=None):
    """A DaskExecutor ready to run trials: on the scheduler at address `scheduler`, or on a new
    local cluster of `workers` worker processes. jobs: trials in flight (default: one per
    worker thread). Raises NNSweepError, one line, when it cannot be."""
    _quiet_logs()
    client, cluster = _connect(scheduler, workers)
    try:
        check_workers(client)
        if data_dir is not None:
            shipment = DataShipment(dataset, data_dir)
            try:
                client.register_plugin(shipment)
            except Exception as error:  # noqa: BLE001 - a worker's setup failed: say which way
                raise NNSweepError(f"a Dask worker could not store the data set {dataset}: "
                                   f"{type(error).__name__}: {error}") from None
        threads = sum(client.nthreads().values())
        where = f"scheduler {scheduler}" if scheduler else "local cluster on 127.0.0.1"
        return DaskExecutor(client, cluster, jobs or threads, where)
    except BaseException:
        client.close()
        if cluster is not None:
            cluster.close()
        raise


def _quiet_logs():
    """Silence distributed's loggers in this process: its warnings and tracebacks (a lost
    scheduler logs a page of them) would break the sweep's lines, which say what happened."""
    names = [name for name in logging.root.manager.loggerDict if name.startswith("distributed.")]
    for name in ["distributed", *names]:
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _connect(scheduler, workers):
    """(client, cluster or None)."""
    if scheduler is None:
        cluster = distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
            # on loopback only; its workers' logs are silenced as this process's are: at
            # Ctrl-C a worker's heartbeat can meet the closing scheduler and log an ERROR
            # with a traceback, which the sweep's own lines already say in one
            dashboard_address="127.0.0.1:0", silence_logs=logging.CRITICAL)
        return distributed.Client(cluster), cluster
    try:
        with warnings.catch_warnings():  # dask's version warnings: check_workers says it in a line
            warnings.simplefilter("ignore")
            client = distributed.Client(scheduler, timeout=f"{CONNECT_SECONDS}s")
    except (OSError, TimeoutError, ValueError) as error:
        raise NNSweepError(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None
    try:
        client.wait_for_workers(1, timeout=NO_WORKER_SECONDS)
    except TimeoutError:
        client.close()
        raise NNSweepError(f"no Dask worker joined the scheduler at {scheduler} within "
                           f"{NO_WORKER_SECONDS} s") from None
    return client, None


def environment():
    """What must be the same here and on every worker for a worker's rows to be ours."""
    blas = [f"{library['internal_api']} {library['version']}"
            for library in threadpoolctl.threadpool_info() if library["user_api"] == "blas"]
    return {"Python": ".".join(platform.python_version_tuple()[:2]), "NumPy": np.__version__,
            "BLAS": ", ".join(blas), "distributed": importlib.metadata.version("distributed"),
            "nn-sweep": importlib.metadata.version("nn-sweep"), "nn-sweep code": code_digest()}


@functools.cache
def code_digest():
    """A digest of the source of nn and experiments: one edited file changes the results."""
    digest = hashlib.sha256()
    for package in (nn, experiments):
        root = Path(package.__file__).parent
        for path in sorted(root.rglob("*.py")):
            digest.update(str(path.relative_to(root.parent)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def check_workers(client, ours=None):
    """Refuse, in one line, workers whose Python, NumPy, BLAS, distributed or nn-sweep differ
    from this machine's (`ours`, default environment()): their rows would not be ours, or
    would not reach us (pickles)."""
    ours = ours or environment()
    try:
        theirs = client.run(environment)
    except Exception as error:  # noqa: BLE001 - e.g. a worker without nn-sweep cannot unpickle it
        raise NNSweepError(f"the Dask workers cannot run nn-sweep ({type(error).__name__}: "
                           f"{error}); install nn-sweep[dask] on every worker") from None
    for worker, versions in sorted(theirs.items()):
        for what, value in ours.items():
            if versions.get(what) != value:
                raise NNSweepError(
                    f"Dask worker {worker} has {what} {versions.get(what)}, this machine "
                    f"{value}: every machine needs the same Python, NumPy, BLAS, distributed "
                    f"and nn-sweep (the same checkout), or its rows would not be this one's")


class DataShipment(WorkerPlugin):
    """A data set's files (11 MB for MNIST, gzipped), carried by the scheduler to every worker,
    those that join later too. A worker that sees the files at the client's path (the same
    machine, a shared filesystem) uses them; any other stores them, once per machine, in its
    per-user cache under shipped/<name>-<digest of the files>/, where later trials find them.
    (Not scatter(broadcast=True): Dask's memory manager drops the copies it deems extra.)"""

    def __init__(self, dataset, directory):
        self.dataset, self.directory = dataset, str(directory)
        self.files = {path.name: path.read_bytes()
                      for path in (find_file(directory, stem) for stem in FILES)}
        self.digest = _digest(self.files)
        self.name = f"nn-sweep-data-{dataset}-{self.digest[:12]}"  # register_plugin's key

    def setup(self, worker):
        _WORKER_DATA[(self.dataset, self.directory)] = str(self.local_directory())

    def local_directory(self):
        if not missing_files(self.directory):
            return Path(self.directory)
        target = cache_dir() / "shipped" / f"{self.dataset}-{self.digest[:16]}"
        if missing_files(target):
            if _digest(self.files) != self.digest:
                raise DataError(f"{self.dataset}: the files reached this worker damaged")
            target.mkdir(parents=True, exist_ok=True)
            for name, data in self.files.items():
                write_atomically(target / name, data)  # workers of one machine may race
        return target


def _digest(files):
    digest = hashlib.sha256()
    for name, data in sorted(files.items()):
        digest.update(name.encode() + b"\0" + data)
    return digest.hexdigest()


def run_group_on_worker(group, settings, progress, rungs=(), starts=None):
    """run_group as a Dask task: one BLAS thread (threadpoolctl's limits hold in the
    thread that sets them, the task's), the data set where this worker has it, and no
    checkpoint files: only the machine that runs `sweep` writes files (a trial paused at a
    rung comes back with its checkpoint, which the sweep keeps)."""
    with threadpoolctl.threadpool_limits(limits=1):
        local = _WORKER_DATA.get((group[0].dataset, settings.data_dir), settings.data_dir)
        settings = dataclasses.replace(settings, data_dir=local, results_dir=None)
        return run_group(group, settings, progress, rungs, starts)


class EventProgress:
    """What workers put a trial's EpochEvents in: each goes to the scheduler as an event of
    `topic`, in builtin types (all log_event takes), for the client's Inbox."""

    def __init__(self, topic):
        self.topic = topic

    def put(self, event):
        fields = {field.name: _plain(getattr(event.record, field.name))
                  for field in dataclasses.fields(event.record)}
        get_worker().log_event(self.topic, {"run_id": str(event.run_id), "record": fields})


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


class DaskExecutor(concurrent.futures.Executor):
    """client.submit as a concurrent.futures executor, for runner.run_trials.

    A future whose worker died too often raises WorkerLostError (the runner records the trial
    as failed); when the scheduler is lost every future raises one NNSweepError. progress and
    events(): per-epoch progress of the trials. jobs: the trials to keep in flight."""

    def __init__(self, client, cluster, jobs, where):
        self.client, self.cluster, self.jobs, self.where = client, cluster, jobs, where
        self.progress = EventProgress(f"nn-sweep-progress-{uuid.uuid4().hex}")
        self._inbox = queue.SimpleQueue()  # filled on the client's event-loop thread
        client.subscribe_topic(self.progress.topic, self._inbox.put)
        self._in_flight = set()  # Dask futures, to cancel on stop()
        self._workers_seen = self._checked = time.monotonic()

    def describe(self):
        workers = self.client.nthreads()
        return (f"Dask: {self.where}, {len(workers)} worker(s) with {sum(workers.values())} "
                f"thread(s); {self.jobs} trial(s) at once")

    def submit(self, fn, /, *args, **kwargs):
        result = concurrent.futures.Future()
        future = self.client.submit(fn, *args, pure=False, **kwargs)  # impure: a trial is timed
        self._in_flight.add(future)
        future.add_done_callback(functools.partial(self._settle, result))
        return result

    def _settle(self, result, future):
        """On Dask's callback thread: hand the task's outcome to the runner's future."""
        self._in_flight.discard(future)
        try:
            result.set_result(future.result())
        except KilledWorker as error:
            worker = getattr(error.last_worker, "address", error.last_worker)
            deaths = error.allowed_failures + 1
            result.set_exception(WorkerLostError(
                f"the Dask worker running it died {'once' if deaths == 1 else f'{deaths} times'} "
                f"(killed, or out of memory?); the last one was {worker}"))
        except concurrent.futures.CancelledError as error:
            reason = getattr(error, "reason", "cancelled")
            result.set_exception(NNSweepError(
                f"lost the Dask {self.where} ({reason}); the finished trials are recorded: "
                f"rerun the same command to resume"))
        except BaseException as error:  # noqa: BLE001 - the task's own error, for the runner
            result.set_exception(error)

    def events(self):
        """The EpochEvents received since the last call."""
        while True:
            try:
                _, message = self._inbox.get_nowait()
            except queue.Empty:
                return
            yield EpochEvent(message["run_id"], EpochRecord(**message["record"]))

    def check(self):
        """Raise NNSweepError when no worker has been connected for NO_WORKER_SECONDS: the
        trials would wait for ever."""
        if time.monotonic() - self._checked < CHECK_SECONDS:
            return
        self._checked = time.monotonic()
        try:
            workers = self.client.scheduler_info()["workers"]
        except Exception:  # noqa: BLE001 - a lost scheduler: the futures say so
            return
        if workers:
            self._workers_seen = time.monotonic()
        elif time.monotonic() - self._workers_seen > NO_WORKER_SECONDS:
            raise NNSweepError(f"no Dask worker has been connected to the {self.where} for "
                               f"{NO_WORKER_SECONDS} s; the finished trials are recorded: "
                               f"rerun the same command to resume")

    def shutdown(self, wait=True, *, cancel_futures=False):
        if cancel_futures:
            self.client.cancel(list(self._in_flight))
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def stop(self):
        """Ctrl-C or an error: drop what is queued and close; a trial running on a remote worker
        goes on to its end there (a thread cannot be interrupted), and is not recorded."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                self.shutdown(wait=False, cancel_futures=True)
            except Exception:  # noqa: BLE001 - the scheduler may be gone already
                pass
