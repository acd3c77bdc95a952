"""Tests of sweep.groups (which trials train as one stack) and of stacked sweeps end to end."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.sweep.config import TrialConfig
from experiments.sweep.groups import largest_stack, make_groups

SWEEP = Path(sys.executable).parent / "sweep"
MNIST_DIR = os.environ.get("MNIST_DIR") and str(Path(os.environ["MNIST_DIR"]).resolve())


def trials(**fixed):
    return [TrialConfig(**{"layers": (784, 30, 10), "seed": seed, "eta": eta, **fixed})
            for eta in (0.5, 3.0) for seed in range(8)]


def test_alike_trials_make_one_stack_per_job():
    sweep = trials()
    assert make_groups(sweep, jobs=1) == [tuple(sweep)]
    two = make_groups(sweep, jobs=2)
    assert [len(group) for group in two] == [8, 8]
    assert sorted(sweep.index(trial) for group in two for trial in group) == list(range(16))
    assert all(list(group) == sorted(group, key=sweep.index) for group in two)


def test_what_fixes_shapes_or_data_splits_stacks_and_no_stack_splits_all():
    sweep = (trials() + trials(layers=(784, 20, 10)) + trials(train_size=1000)
             + trials(momentum=0.9) + trials(dtype="float64") + trials(cost="cross_entropy"))
    groups = make_groups(sweep, jobs=1)
    assert len(groups) == 6 and {len(group) for group in groups} == {16}
    for group in groups:
        assert len({(t.layers, t.train_size, t.momentum, t.dtype, t.cost) for t in group}) == 1
    assert make_groups(sweep, stack=False) == [(trial,) for trial in sweep]


def test_only_small_steps_are_stacked():
    assert largest_stack(TrialConfig(layers=(784, 30, 10))) == 16
    assert largest_stack(TrialConfig(layers=(784, 100, 10))) == 8
    assert largest_stack(TrialConfig(layers=(784, 100, 10), mini_batch_size=100)) == 1
    assert largest_stack(TrialConfig(layers=(784, 128, 10), mini_batch_size="full")) == 1
    assert [len(g) for g in make_groups(trials(mini_batch_size=100, layers=(784, 100, 10)))] == \
        [1] * 16


def rows(path):
    timing = ("train_seconds", "seconds_per_epoch", "started_at", "seconds")
    with open(path, newline="") as handle:
        return [{k: v for k, v in row.items() if k not in timing} for row in csv.DictReader(handle)]


@pytest.mark.skipif(not MNIST_DIR, reason="set MNIST_DIR to a directory with MNIST")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_stacked_sweep_writes_what_the_same_sweep_one_by_one_writes(tmp_path, dtype):
    config = tmp_path / "seeds.yaml"
    config.write_text(f"name: seeds\ndefaults: {{layers: [784, 20, 10], epochs: 2, "
                      f"train_size: 1500, dtype: {dtype}, lmbda: 0.5}}\nseeds: [0, 1, 2]\n"
                      f"grid: {{eta: [0.5, 3.0]}}\n")
    for out, mode in (("alone", "--no-stack"), ("stacked", "-j1")):
        result = subprocess.run([str(SWEEP), str(config), "--out", out, "--no-report", mode],
                                cwd=tmp_path, capture_output=True, text=True, timeout=120,
                                env={**os.environ, "MNIST_DIR": MNIST_DIR})
        assert result.returncode == 0, result.stderr
    for name in ("runs.csv", "metrics.csv"):
        assert rows(tmp_path / "stacked" / name) == rows(tmp_path / "alone" / name)
    networks = list((tmp_path / "alone").glob("*/network.npz"))
    assert len(networks) == 6
    for network in networks:
        stacked = tmp_path / "stacked" / network.parent.name / "network.npz"
        assert stacked.read_bytes() == network.read_bytes()
