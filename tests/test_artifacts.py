"""Tests of a trial's files beside its rows: saved networks, and checkpoints that a killed
sweep resumes from, ending bit-identical to a run never interrupted."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from experiments.store.artifacts import (
    BEST_EPOCH_NETWORK_FILE,
    CHECKPOINT_FILE,
    NETWORK_FILE,
    Checkpoint,
    read_checkpoint,
    write_checkpoint,
)
from nn import EpochRecord, Member, Network, load_network

SWEEP = Path(sys.executable).parent / "sweep"
MNIST_DIR = os.environ.get("MNIST_DIR") and str(Path(os.environ["MNIST_DIR"]).resolve())
needs_mnist = pytest.mark.skipif(not MNIST_DIR, reason="set MNIST_DIR to a directory with MNIST")
TIMING = ("train_seconds", "seconds_per_epoch", "started_at", "seconds")


def sweep(*args, cwd, timeout=120):
    return subprocess.run([str(SWEEP), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "MNIST_DIR": MNIST_DIR})


def rows(path):
    with open(path, newline="") as handle:
        return [{k: v for k, v in row.items() if k not in TIMING} for row in csv.DictReader(handle)]


def test_a_checkpoint_round_trips_what_a_trial_needs(tmp_path):
    rng = np.random.default_rng(0)
    network = Network([5, 4, 3], rng, dtype="float64", cost="log_likelihood")
    network.update_mini_batch(rng.random((2, 5)), np.eye(3)[[0, 2]], 0.5, momentum=0.9)
    member = Member(rng, 0.5, 10, momentum=0.9, early_stopping=3)
    records = (EpochRecord(1, 0.5, 0.4, 0.45, 0.1, 0.5), EpochRecord(2, 0.4, 0.5, 0.5, 0.1, 0.5))
    path = tmp_path / "run" / CHECKPOINT_FILE
    write_checkpoint(path, "run", Checkpoint(network, member.state(), records, network.copy(),
                                             3.5, "2026-01-01T00:00:00+00:00"))
    back = read_checkpoint(path, "run")
    assert back.records == records and back.wall_seconds == 3.5
    assert Member.from_state(back.member_state) == member
    for a, b in zip(back.network.wb + back.network.velocities, network.wb + network.velocities):
        assert a.tobytes() == b.tobytes()
    assert back.best_network.velocities is not None
    assert read_checkpoint(path, "another run") is None  # someone else's: ignored
    path.write_bytes(b"garbage")
    assert read_checkpoint(path, "run") is None  # unreadable: start again, not an error
    assert read_checkpoint(tmp_path / "none" / CHECKPOINT_FILE, "run") is None


def test_a_truncated_checkpoint_is_ignored_not_an_error(tmp_path):
    network = Network([5, 4, 3], np.random.default_rng(0))
    member = Member(np.random.default_rng(0), 0.5, 10)
    path = tmp_path / "run" / CHECKPOINT_FILE
    write_checkpoint(path, "run", Checkpoint(network, member.state(), (), None, 1.0,
                                             "2026-01-01T00:00:00+00:00"))
    whole = path.read_bytes()
    for cut in (len(whole) // 2, len(whole) - 30):  # a zip with its central directory cut
        path.write_bytes(whole[:cut])
        assert read_checkpoint(path, "run") is None
    damaged = bytearray(whole)  # every entry's compression method 99, which zipfile cannot read
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        start = damaged.find(signature)
        while start >= 0:
            damaged[start + offset:start + offset + 2] = (99).to_bytes(2, "little")
            start = damaged.find(signature, start + 4)
    path.write_bytes(bytes(damaged))
    assert read_checkpoint(path, "run") is None


QUICK = """\
name: nets
save_networks: {keep}
defaults: {{epochs: 3, mini_batch_size: 10, eta: 3.0, train_size: 1000, early_stopping: 0}}
trials:
  - {{layers: [784, 20, 10]}}
  - {{layers: [784, 10], eta: 1.0e+300, dtype: float32}}
"""


@needs_mnist
@pytest.mark.parametrize("keep, files", [("final", {NETWORK_FILE}),
                                         ("final+best", {NETWORK_FILE, BEST_EPOCH_NETWORK_FILE}),
                                         ("none", set())])
def test_a_finished_trial_keeps_the_networks_asked_for(tmp_path, keep, files):
    config = tmp_path / "nets.yaml"
    config.write_text(QUICK.format(keep=keep))
    result = sweep(config, "--no-report", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "results" / "nets"
    finished, diverged = rows(out / "runs.csv")
    assert (finished["status"], diverged["status"]) == ("finished", "diverged")
    folder = out / finished["run_id"]
    assert {p.name for p in folder.glob("*.npz")} == files  # and no checkpoint left behind
    assert not list((out / diverged["run_id"]).glob("*.npz"))  # a diverged network is no result
    if files:
        network = load_network(folder / NETWORK_FILE)
        assert network.sizes == [784, 20, 10] and network.dtype == np.float32


LONG = """\
name: long
defaults: {epochs: 24, mini_batch_size: 10, eta: 0.5, train_size: 10000, cost: cross_entropy,
           init: scaled, lmbda: 1.0, momentum: 0.5}
trials:
  - {layers: [784, 30, 10]}
"""


@needs_mnist
def test_a_trial_killed_mid_way_resumes_from_its_checkpoint_and_ends_as_if_never_killed(tmp_path):
    config = tmp_path / "long.yaml"
    config.write_text(LONG)
    assert sweep(config, "--out", "whole", "--no-report", "--checkpoint-every", "0",
                 cwd=tmp_path).returncode == 0
    command = [str(SWEEP), str(config), "--out", "killed", "--no-report", "--checkpoint-every",
               "0.3"]
    process = subprocess.Popen(command, cwd=tmp_path, env={**os.environ, "MNIST_DIR": MNIST_DIR},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoints = list((tmp_path / "killed").glob(f"*/{CHECKPOINT_FILE}"))
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        checkpoints = list((tmp_path / "killed").glob(f"*/{CHECKPOINT_FILE}"))
        if checkpoints and read_checkpoint(checkpoints[0], checkpoints[0].parent.name) and \
                len(read_checkpoint(checkpoints[0], checkpoints[0].parent.name).records) >= 4:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert checkpoints, "no checkpoint was written before the kill"
    assert not (tmp_path / "killed" / "runs.csv").exists()  # killed before the trial ended
    result = sweep(config, "--out", "killed", "--no-report", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run_id = checkpoints[0].parent.name
    import json
    info = json.loads((tmp_path / "killed" / run_id / "run.json").read_text())
    assert 4 <= info["resumed_from_epoch"] < 24  # so fewer epochs trained: faster than anew
    assert rows(tmp_path / "killed" / "runs.csv") == rows(tmp_path / "whole" / "runs.csv")
    assert rows(tmp_path / "killed" / "metrics.csv") == rows(tmp_path / "whole" / "metrics.csv")
    assert (tmp_path / "killed" / run_id / NETWORK_FILE).read_bytes() == \
        (tmp_path / "whole" / run_id / NETWORK_FILE).read_bytes()
    assert not (tmp_path / "killed" / run_id / CHECKPOINT_FILE).exists()


def test_a_checkpoint_that_does_not_fit_its_trial_is_ignored(tmp_path):
    # edited by hand, or left by another configuration under this name: the trial starts again
    from experiments.sweep.config import TrialConfig
    from experiments.sweep.worker import checkpoint_fits
    trial = TrialConfig(layers=(5, 4, 3), epochs=10, eta=0.5, seed=0, dtype="float64")
    rng = np.random.default_rng(0)
    network = Network([5, 4, 3], rng, dtype="float64")
    member = Member(rng, 0.5, 10)
    member.epoch = 2
    records = (EpochRecord(1, 0.5, 0.4, 0.4, 0.1, 0.5), EpochRecord(2, 0.4, 0.5, 0.5, 0.1, 0.5))

    def checkpoint(network=network, state=None, records=records):
        return Checkpoint(network, state or member.state(), records, None, 1.0,
                          "2026-01-01T00:00:00+00:00")

    assert checkpoint_fits(checkpoint(), trial)
    assert not checkpoint_fits(checkpoint(network=Network([5, 6, 3], 0, "float64")), trial)
    assert not checkpoint_fits(checkpoint(network=Network([5, 4, 3], 0, dtype="float32")), trial)
    assert not checkpoint_fits(checkpoint(network=Network([5, 4, 3], 0, "float64", "relu")), trial)
    assert not checkpoint_fits(checkpoint(records=records[:1]), trial)  # its epoch and its records
    assert not checkpoint_fits(checkpoint(state={**member.state(), "epoch": 10}), trial)  # at its end
    assert not checkpoint_fits(checkpoint(state={**member.state(), "eta": 3.0}), trial)
    assert not checkpoint_fits(checkpoint(state={**member.state(), "eta_schedule": "bogus"}), trial)
    assert not checkpoint_fits(checkpoint(state={**member.state(), "surprise": 1}), trial)
    other_dtype = network.copy()
    other_dtype.wb[1] = other_dtype.wb[1].astype(np.float32)  # its last layer only
    assert not checkpoint_fits(checkpoint(network=other_dtype), trial)
    moving = network.copy()
    moving.velocities = [np.zeros((4, 6)), np.zeros((3, 5))]  # as momentum leaves them
    assert checkpoint_fits(checkpoint(network=moving), trial)
    moving.velocities[0] = np.zeros((4, 5))  # of another shape
    assert not checkpoint_fits(checkpoint(network=moving), trial)
    broken = member.state()
    broken["rng"] = {**broken["rng"], "bit_generator": "Nope"}
    assert not checkpoint_fits(checkpoint(state=broken), trial)
