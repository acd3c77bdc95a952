"""A trial's files beside its rows: its trained networks (.npz) and its checkpoint; not the CSVs.

<results>/<run_id>/network.npz holds the network after its last epoch, network_best.npz
(when the sweep asks for it) the network after its best epoch by validation accuracy, in
nn.saving's format. checkpoint.npz holds a trial's state at the end of an epoch while it
trains (its network and momentum, its Member state with the generator's, the epochs so far
and, if kept, its best network so far), so that a trial killed mid-way resumes there; it
is removed once the trial is recorded. Every file is written whole and renamed into place.
"""

import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from experiments.errors import ResultsError
from experiments.files import write_atomically
from experiments.store.networks import BEST_EPOCH_NETWORK_FILE, NETWORK_FILE
from nn import EpochRecord, Network, save_network
from nn.saving import read_arrays

CHECKPOINT_FILE = "checkpoint.npz"
NETWORK_FILES = (NETWORK_FILE, BEST_EPOCH_NETWORK_FILE)  # what TrialResult.network, best_network go to
_CHECKPOINT_FORMAT = "nn-sweep checkpoint 1"


def write_network(path, network):
    """Save `network` to `path` (nn.saving's .npz) atomically; ResultsError if it cannot."""
    buffer = io.BytesIO()
    save_network(network, buffer)
    _write(path, buffer.getvalue())


def remove_files(trial_dir, names):
    """Remove these files of a trial's folder where they exist (stale weights, a checkpoint)."""
    for name in names:
        try:
            (Path(trial_dir) / name).unlink(missing_ok=True)
        except OSError as error:
            raise ResultsError(f"{Path(trial_dir) / name}: cannot remove: "
                               f"{error.strerror or error}") from None


@dataclass(frozen=True)
class Checkpoint:
    """A trial's state at the end of its epoch len(records)."""

    network: Network  # velocities included
    member_state: dict  # nn.Member.state()
    records: tuple  # of EpochRecord
    best_network: Optional[Network]
    wall_seconds: float  # spent on the trial before the checkpoint
    started_at: str


def write_checkpoint(path, run_id, checkpoint):
    """Save `checkpoint` of trial `run_id` to `path` atomically."""
    meta = {"format": _CHECKPOINT_FORMAT, "run_id": run_id,
            "member": checkpoint.member_state,
            "records": [asdict(record) for record in checkpoint.records],
            "wall_seconds": checkpoint.wall_seconds, "started_at": checkpoint.started_at,
            "networks": {}}
    arrays = {}
    for name, network in (("network", checkpoint.network), ("best", checkpoint.best_network)):
        if network is None:
            continue
        meta["networks"][name] = {"sizes": network.sizes, **network.settings,
                                  "velocities": network.velocities is not None}
        for l, wb in enumerate(network.wb):
            arrays[f"{name}_wb{l}"] = wb
        for l, v in enumerate(network.velocities or ()):
            arrays[f"{name}_v{l}"] = v
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.array(json.dumps(meta)), **arrays)
    _write(path, buffer.getvalue())


def read_checkpoint(path, run_id):
    """The Checkpoint in `path` if it is one of trial `run_id`; None if there is none.

    A checkpoint that cannot be read (another version's, a damaged disk) is not an error:
    the trial starts again from its first epoch, as it would have without one.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        arrays = read_arrays(path.read_bytes())
        meta = json.loads(str(arrays.pop("meta")))
        if meta.get("format") != _CHECKPOINT_FORMAT or meta.get("run_id") != run_id:
            return None
        networks = {name: _network(name, spec, arrays) for name, spec in meta["networks"].items()}
        return Checkpoint(networks["network"], meta["member"],
                          tuple(EpochRecord(**record) for record in meta["records"]),
                          networks.get("best"), meta["wall_seconds"], meta["started_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a truncated zip (a kill mid-write of a file not yet renamed, a bad disk)


def _network(name, spec, arrays):
    layers = len(spec["sizes"]) - 1
    wb = [arrays[f"{name}_wb{l}"] for l in range(layers)]
    velocities = [arrays[f"{name}_v{l}"] for l in range(layers)] if spec["velocities"] else None
    return Network.from_parameters(spec["sizes"], wb, spec["activation"], spec["cost"],
                                   spec["init"], velocities=velocities)


def _write(path, data):
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, data)
    except OSError as error:
        raise ResultsError(f"{path}: cannot write: {error.strerror or error}") from None
