"""Tests of experiments.store.networks: where a trial's network lies; the best trial, by validation accuracy only."""

import pytest
from test_store import run_row

from experiments.errors import ResultsError
from experiments.store.columns import METRIC_COLUMNS, METRICS_FILE, RUN_COLUMNS, RUNS_FILE
from experiments.store.csv_files import csv_text
from experiments.store.networks import best_trained_run, network_path
from nn import Network, save_network


def write_sweep(directory, trials, metrics=()):
    """A sweep's results directory as the runner leaves it: runs.csv with `trials`, rows of
    RUN_COLUMNS, metrics.csv with `metrics`, a folder per trial, and in it network.npz when
    the row's "network" is a Network (saved with nn.save_network, as the runner saves it).
    Returns the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / RUNS_FILE).write_text(csv_text(RUN_COLUMNS, trials))
    (directory / METRICS_FILE).write_text(csv_text(METRIC_COLUMNS, metrics))
    for row in trials:
        path = network_path(directory, row["run_id"])
        path.parent.mkdir(exist_ok=True)
        if row.get("network") is not None:
            save_network(row["network"], path)
    return directory


def trial(run_id, validation_accuracy, accuracy=0.5, status="finished", weights=True,
          network=None, **fields):
    """A runs.csv row of a trial with `network`, by default an untrained [784, 10]; with none
    if weights=False."""
    network = network or (Network([784, 10], 0) if weights else None)
    return run_row(run_id, accuracy, status, validation_accuracy=validation_accuracy,
                   network=network, **fields)


def test_network_path_is_the_trials_folder():
    assert network_path("results/x", "r1").as_posix() == "results/x/r1/network.npz"
    assert network_path("results/x", "r1", best_epoch=True).name == "network_best.npz"


def test_the_best_is_by_validation_accuracy_among_finished_trials_with_weights(tmp_path):
    directory = write_sweep(tmp_path / "s", [
        trial("low", 0.80),
        trial("best", 0.90),
        trial("tie", 0.90),  # a tie goes to the first in runs.csv
        trial("no-weights", 0.99, weights=False),
        trial("diverged", 0.98, status="diverged"),
        trial("best-on-test", 0.85, accuracy=0.99),  # the test set never chooses
        trial("no-validation", None),
    ])
    best = best_trained_run(directory)
    assert (best.run_id, best.validation_accuracy, best.candidates) == ("best", 0.90, 4)
    assert best.network == directory / "best" / "network.npz"
    assert (best.layers, best.seed, best.dataset) == ("784-10", "0", "mnist")


def test_the_best_among_some_trials_only(tmp_path):
    directory = write_sweep(tmp_path / "s", [trial("a", 0.9), trial("b", 0.8), trial("c", 0.7)])
    assert best_trained_run(directory, run_ids=("b", "c")).run_id == "b"
    assert best_trained_run(directory, run_ids=()) is None


def test_no_trial_with_weights_is_none(tmp_path):
    directory = write_sweep(tmp_path / "s", [trial("a", 0.9, weights=False)])
    assert best_trained_run(directory) is None


def test_a_directory_without_runs_csv_or_with_a_bad_accuracy_is_an_error(tmp_path):
    with pytest.raises(ResultsError) as caught:
        best_trained_run(tmp_path)
    assert str(caught.value) == (f"{tmp_path / 'runs.csv'}: no such file; is this a sweep's "
                                 "results directory?")
    directory = write_sweep(tmp_path / "s", [trial("a", "high")])
    with pytest.raises(ResultsError) as caught:
        best_trained_run(directory)
    assert str(caught.value) == (f"{directory / 'runs.csv'}: run a: validation_accuracy: "
                                 "expected a number, got 'high'")
