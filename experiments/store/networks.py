"""Where a sweep's trained networks lie, and which is the best; not how a network is saved (nn.saving).

A trial that kept its weights has `<run_id>/network.npz`, the network after its last epoch,
and may have `<run_id>/network_best.npz`, the epoch of best validation accuracy.
"""

import math
from dataclasses import dataclass
from pathlib import Path

from experiments.errors import ResultsError
from experiments.store.columns import FINISHED, REQUIRED_RUN_COLUMNS, RUN_COLUMNS, RUNS_FILE
from experiments.store.csv_files import read_csv_records

NETWORK_FILE = "network.npz"
BEST_EPOCH_NETWORK_FILE = "network_best.npz"


def network_path(directory, run_id, best_epoch=False) -> Path:
    """Where trial `run_id` of the sweep in `directory` keeps its network (it may not exist)."""
    return Path(directory) / run_id / (BEST_EPOCH_NETWORK_FILE if best_epoch else NETWORK_FILE)


@dataclass(frozen=True)
class TrainedRun:
    """A recorded trial whose network was saved.

    validation_accuracy: after its last epoch, the accuracy of network.npz (a fraction).
    candidates: how many finished trials with saved weights it was chosen among.
    """

    run_id: str
    layers: str
    seed: str
    dataset: str
    validation_accuracy: float
    network: Path
    candidates: int


def best_trained_run(directory, run_ids=None) -> TrainedRun | None:
    """The finished trial of the sweep in `directory` with the highest final validation
    accuracy among those that have a network.npz; the first in runs.csv on a tie. None when
    no trial qualifies. run_ids: choose among these trials only (None: all of them).

    Never chosen by test accuracy: a network picked for its score on the test set would
    make that score, and every figure drawn from the test set, look better than it is.
    Raises ResultsError when runs.csv is missing or unreadable.
    """
    directory = Path(directory)
    runs_path = directory / RUNS_FILE
    if not runs_path.is_file():
        raise ResultsError(f"{runs_path}: no such file; is this a sweep's results directory?")
    wanted = None if run_ids is None else set(run_ids)
    candidates = []
    for row in read_csv_records(runs_path, REQUIRED_RUN_COLUMNS).rows(RUN_COLUMNS):
        path = network_path(directory, row["run_id"])
        if (row["status"] != FINISHED or (wanted is not None and row["run_id"] not in wanted)
                or not path.is_file()):
            continue
        accuracy = _fraction(runs_path, row)
        if accuracy is not None:
            candidates.append((accuracy, row, path))
    if not candidates:
        return None
    accuracy, row, path = max(candidates, key=lambda candidate: candidate[0])  # first of ties
    return TrainedRun(row["run_id"], row["layers"], row["seed"], row["dataset"], accuracy, path,
                      len(candidates))


def _fraction(runs_path, row):
    """The row's validation accuracy as a float, None when empty or NaN."""
    text = row["validation_accuracy"].strip()
    try:
        value = float(text) if text else math.nan
    except ValueError:
        raise ResultsError(f"{runs_path}: run {row['run_id']}: validation_accuracy: expected a "
                           f"number, got {text!r}") from None
    return None if math.isnan(value) else value
