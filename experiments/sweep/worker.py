"""What runs in a worker: trials trained, alone or stacked, from their last checkpoint; never prints.

run_group(trials) trains trials that share everything that fixes their arrays' shapes as
one stack (nn.training.Trainer; a group of one is a single network), and returns a
TrialResult per trial. Each trial's progress is an EpochEvent put in `progress` (any object
with `put`); every `checkpoint_seconds` at most, at the end of an epoch, each trial still
training writes its checkpoint into its folder of the results directory, from which a rerun
goes on. Only these checkpoints are written here: rows and networks are the main process's.
"""

import platform
import resource
import signal
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import numpy as np
from threadpoolctl import threadpool_limits

from experiments.data.datasets import TRAINING_IMAGES, load_dataset
from experiments.errors import NNSweepError, ResultsError
from experiments.store.artifacts import (
    CHECKPOINT_FILE,
    Checkpoint,
    read_checkpoint,
    write_checkpoint,
)
from experiments.store.columns import DIVERGED, FAILED, FINISHED
from experiments.sweep.asha import next_stop
from nn import DivergedError, Member, Network, Trainer

PAUSED = "paused"  # stopped at a rung, for the sweep to decide whether it goes on; not recorded
_DATASETS = {}  # (name, data_dir) -> DataSet: each worker reads a data set once, not per trial
_WORKER = {}  # in a worker process: its BLAS limit (kept alive) and its progress queue


@dataclass(frozen=True)
class WorkerSettings:
    """What every trial of a sweep is trained with, beside its own configuration.

    results_dir: where each trial's folder (and checkpoint) is; None: no checkpoints.
    save_networks: "final", "final+best" or "none": which networks a result carries back.
    checkpoint_seconds: the least time between two checkpoints of a trial; 0: none.
    """

    data_dir: Optional[str] = None
    results_dir: Optional[str] = None
    save_networks: str = "final"
    checkpoint_seconds: float = 2.0


@dataclass(frozen=True)
class TrialResult:
    """What a worker sends back: the trial, how it ended, its per-epoch records, its networks."""

    trial: object  # TrialConfig
    status: str
    records: tuple
    error: str
    started_at: str
    wall_seconds: float
    peak_rss_mb: float = 0.0  # the worker process's peak memory so far (resident, MiB)
    host: str = field(default_factory=platform.node)
    network: Optional[Network] = None  # after the last epoch, if finished and asked for
    best_network: Optional[Network] = None  # after the best epoch by validation accuracy
    resumed_from: int = 0  # the epoch of the checkpoint it went on from (0: none)
    stack_size: int = 1  # how many trials were trained together with it, itself included
    checkpoint: Optional[Checkpoint] = None  # of a PAUSED trial: where it goes on from


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


def run_trial(trial, settings=WorkerSettings(), progress=None):
    """Train one trial alone: run_group of one."""
    return run_group((trial,), settings, progress)[0]


def run_group(trials, settings=WorkerSettings(), progress=None, rungs=(), starts=None):
    """Train `trials` together and return a TrialResult for each, in their order.

    They must agree on everything but seed, eta, lmbda and the labels (sweep.groups makes
    such groups). A divergence ends a trial with status diverged, a known error (a data
    set missing, memory) every trial of the group with status failed; anything else (a
    bug) propagates. In a worker process, progress defaults to the worker's queue.
    rungs: epochs (ASHA's, sweep/asha.py) at which a trial stops with status PAUSED and its
    Checkpoint, for the sweep to decide; each trial stops at the first past where it starts.
    starts: {run_id: Checkpoint} to go on from, rather than from a checkpoint file or anew.
    """
    progress = progress if progress is not None else _WORKER.get("progress")
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    start = time.perf_counter()
    try:
        return _GroupRun(trials, settings, progress, started_at, start, rungs,
                         starts or {}).run()
    except (NNSweepError, MemoryError, FloatingPointError) as exc:
        error = f"{type(exc).__name__}: {exc}"
        return [TrialResult(trial, FAILED, (), error, started_at, time.perf_counter() - start,
                            peak_rss_mb()) for trial in trials]


def checkpoint_fits(checkpoint, trial):
    """Whether a checkpoint read from a trial's folder is one this trial can go on from: its
    networks of the trial's shape and settings, its member state whole, with the trial's
    settings and short of its end. One that is not (edited by hand, say) is ignored like an
    unreadable one: the trial starts again from its first epoch."""
    settings = {"activation": trial.activation, "cost": trial.cost, "init": trial.init}
    shapes = [(n_out, n_in + 1) for n_in, n_out in zip(trial.layers, trial.layers[1:])]
    for network in (checkpoint.network, checkpoint.best_network):
        if network is None:
            continue
        arrays = network.wb + (network.velocities or [])
        if (network.sizes != list(trial.layers) or network.settings != settings
                or [a.shape for a in arrays] != shapes * (1 + bool(network.velocities))
                or any(a.dtype.name != trial.dtype for a in arrays)):
            return False
    try:
        member = Member.from_state(checkpoint.member_state)
    except (TypeError, ValueError, KeyError, AttributeError):
        return False
    same = all(getattr(member, key) == getattr(trial, key)
               for key in ("eta", "lmbda", "momentum", "early_stopping", "eta_schedule"))
    return same and member.epoch == len(checkpoint.records) < trial.epochs


class _GroupRun:
    """One call of run_group: the trainer of the group, and what each trial has done so far."""

    def __init__(self, trials, settings, progress, started_at, start, rungs, starts):
        self.trials, self.settings, self.progress = list(trials), settings, progress
        self.started_at, self.start, self.starts = started_at, start, starts
        first = self.trials[0]
        dataset = get_dataset(first.dataset, settings.data_dir)
        X, labels = dataset.training
        training = (X[:first.train_size], labels[:first.train_size])  # views, not copies
        self.checkpoints = [self._checkpoint(trial) for trial in self.trials]
        networks, members = zip(*(self._start(trial, checkpoint)
                                  for trial, checkpoint in zip(self.trials, self.checkpoints)))
        for member in members:  # stop at the next rung past where it starts, or at the end
            member.epochs = next_stop(rungs, member.epoch, member.epochs)
        network = networks[0] if len(networks) == 1 else Network.stack(networks)
        self.trainer = Trainer(network, members, training, mini_batch_size(first),
                               dataset.test, dataset.validation,
                               keep_best=settings.save_networks == "final+best")
        for index, checkpoint in enumerate(self.checkpoints):
            if checkpoint is not None and checkpoint.best_network is not None:
                self.trainer.best_networks[index] = checkpoint.best_network
        self.records = [list(c.records) if c else [] for c in self.checkpoints]
        self.results = {}
        self.last_checkpoint = time.monotonic()

    def _checkpoint(self, trial):
        if trial.run_id in self.starts:
            return self.starts[trial.run_id]
        folder = self._folder(trial)
        checkpoint = None if folder is None else read_checkpoint(folder / CHECKPOINT_FILE,
                                                                 trial.run_id)
        fits = checkpoint is not None and checkpoint_fits(checkpoint, trial)
        return checkpoint if fits else None

    def _folder(self, trial):
        if self.settings.results_dir is None or self.settings.checkpoint_seconds <= 0:
            return None
        return Path(self.settings.results_dir) / trial.run_id

    @staticmethod
    def _start(trial, checkpoint):
        """(network, member) of a trial: from its checkpoint, or drawn from its seed."""
        if checkpoint is not None:
            member = Member.from_state(checkpoint.member_state)
            member.epochs = trial.epochs  # not the rung it was paused at
            return checkpoint.network, member
        rng = np.random.default_rng(trial.seed)
        network = Network(trial.layers, rng, dtype=trial.dtype, activation=trial.activation,
                          cost=trial.cost, init=trial.init)
        return network, Member(rng, trial.eta, trial.epochs, lmbda=trial.lmbda,
                               momentum=trial.momentum, early_stopping=trial.early_stopping,
                               eta_schedule=trial.eta_schedule)

    def run(self):
        while self.trainer.active:
            for index, outcome in self.trainer.run_epoch():
                trial = self.trials[index]
                if isinstance(outcome, DivergedError):
                    self._finish(index, DIVERGED, str(outcome))
                    continue
                self.records[index].append(outcome)
                if self.progress is not None:
                    self.progress.put(EpochEvent(trial.run_id, outcome))
                if index in self.trainer.networks:
                    paused = not outcome.stopped and len(self.records[index]) < trial.epochs
                    self._finish(index, PAUSED if paused else FINISHED, "")
            if time.monotonic() - self.last_checkpoint >= self.settings.checkpoint_seconds:
                self._write_checkpoints()
        return [self.results[index] for index in range(len(self.trials))]

    def _checkpoint_of(self, index, network, member_state):
        """A Checkpoint of trial `index` now: its times count those before its own checkpoint."""
        checkpoint = self.checkpoints[index]
        started_at = checkpoint.started_at if checkpoint else self.started_at
        wall_seconds = time.perf_counter() - self.start + (checkpoint.wall_seconds
                                                           if checkpoint else 0.0)
        return Checkpoint(network, member_state, tuple(self.records[index]),
                          self.trainer.best_networks.get(index), wall_seconds, started_at)

    def _finish(self, index, status, error):
        keep = self.settings.save_networks
        finished = status == FINISHED and keep != "none"
        now = self._checkpoint_of(index, self.trainer.networks.get(index),
                                  self.trainer.members[index].state())
        checkpoint = self.checkpoints[index]
        self.results[index] = TrialResult(
            self.trials[index], status, now.records, error, now.started_at,
            now.wall_seconds, peak_rss_mb(),
            network=self.trainer.networks.get(index) if finished else None,
            best_network=self.trainer.best_networks.get(index) if finished else None,
            resumed_from=len(checkpoint.records) if checkpoint else 0,
            stack_size=len(self.trials), checkpoint=now if status == PAUSED else None)

    def _write_checkpoints(self):
        """A checkpoint of every trial still training. One that cannot be written (a full
        disk) ends the checkpoints of this group, not its training: they only save time."""
        if self._folder(self.trials[0]) is None:
            return
        for index in self.trainer.active:
            try:
                write_checkpoint(self._folder(self.trials[index]) / CHECKPOINT_FILE,
                                 self.trials[index].run_id,
                                 self._checkpoint_of(index, *self.trainer.snapshot(index)))
            except ResultsError:
                self.settings = replace(self.settings, checkpoint_seconds=0)
                return
        self.last_checkpoint = time.monotonic()


def mini_batch_size(trial):
    """The trial's mini-batch size as a number: "full" is the whole training set."""
    if trial.mini_batch_size == "full":
        return trial.train_size or TRAINING_IMAGES
    return trial.mini_batch_size


def peak_rss_mb():
    """Peak resident memory of this process so far, in MiB (ru_maxrss is KiB on Linux)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def init_worker(progress_queue=None):
    """Set up a worker process: one BLAS thread, its progress queue, Ctrl-C left to the main
    process, and SIGTERM (which ends a worker) not handled as the `sweep` command handles it.
    A worker forked from the sweep process (runner.worker_context) starts with its handlers,
    and with SIGINT and SIGTERM held until they are replaced here."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    _WORKER["limits"] = threadpool_limits(limits=1)
    _WORKER["progress"] = progress_queue
