"""The peers sweep-bench trains side by side, and what they share; not the CLI (bench/cli.py).

A peer is a module with `run(config, problem) -> PeerResult` that trains the same network
on the same data for config.epochs epochs and times each epoch's gradient steps only
(no data loading, compilation or evaluation). Peers whose library is not installed raise
PeerUnavailable, which the benchmark reports as skipped.
"""

import importlib
import inspect
from dataclasses import dataclass
from typing import Optional

import numpy as np

from nn import Network
from nn.training import one_hot  # noqa: F401  (re-exported for the peers)

# peer name -> (module in this package, keyword arguments of its run function)
DEFAULT_DTYPE = inspect.signature(Network).parameters["dtype"].default
OTHER_DTYPE = "float64" if DEFAULT_DTYPE == "float32" else "float32"
PEERS = {
    f"numpy-{DEFAULT_DTYPE}": ("ours", {"dtype": DEFAULT_DTYPE}),
    f"numpy-{OTHER_DTYPE}": ("ours", {"dtype": OTHER_DTYPE}),
    f"per-sample-{DEFAULT_DTYPE}": ("ours", {"dtype": DEFAULT_DTYPE, "per_sample": True}),
    f"per-sample-{OTHER_DTYPE}": ("ours", {"dtype": OTHER_DTYPE, "per_sample": True}),
    "sklearn": ("sklearn_mlp", {}),
    "torch": ("torch_eager", {"autograd": True}),
    "torch-manual": ("torch_eager", {"autograd": False}),
    "jax-jit": ("jax_xla", {"scan": False}),
    "jax-scan": ("jax_xla", {"scan": True}),
    **{f"numpy-stack-{k}": ("population", {"members": k}) for k in (1, 4, 8, 16)},
    **{f"jax-vmap-{k}": ("population", {"members": k, "jax": True}) for k in (4, 8, 16)},
}
REFERENCE = f"numpy-{DEFAULT_DTYPE}"  # "ours": the row every ratio divides by


class PeerUnavailable(Exception):
    """The peer's library is not installed."""


@dataclass(frozen=True)
class BenchConfig:
    """One benchmarked configuration; every peer trains exactly this."""

    sizes: tuple  # e.g. (784, 30, 10)
    mini_batch_size: int
    eta: float
    epochs: int
    seed: int
    threads: int


@dataclass(frozen=True)
class Problem:
    """The data every peer sees: rows are examples, X float32 in [0, 1], labels int64."""

    X_train: np.ndarray  # (n, 784)
    labels_train: np.ndarray  # (n,)
    X_test: np.ndarray  # (n_test, 784)
    labels_test: np.ndarray  # (n_test,)


@dataclass(frozen=True)
class PeerResult:
    """What one peer did: epoch_seconds is empty when it was skipped."""

    name: str
    dtype: str
    epoch_seconds: tuple
    accuracy: Optional[float]
    note: str = ""

    @property
    def median_seconds(self):
        return float(np.median(self.epoch_seconds)) if self.epoch_seconds else None


def run_peer(name, config, problem):
    """Train peer `name` on `problem`; a missing library gives a skipped PeerResult."""
    module_name, options = PEERS[name]
    try:
        module = importlib.import_module(f"experiments.bench.peers.{module_name}")
        return module.run(config, problem, name=name, **options)
    except PeerUnavailable as missing:
        return PeerResult(name=name, dtype="-", epoch_seconds=(), accuracy=None,
                          note=f"skipped: {missing}")


def require(module_name):
    """Import a peer's library, or raise PeerUnavailable saying how to install it."""
    try:
        return importlib.import_module(module_name)
    except ImportError as error:
        raise PeerUnavailable(f"{module_name} is not installed ({error}); "
                              f"pip install 'nn-sweep[bench]'") from None


def starting_point(config, dtype):
    """The parameters nn.Network draws for config.seed, and the generator after the draw.

    Every peer that can start from given parameters starts from these, and shuffles
    with the returned generator as nn.training.SGD does, so the runs are comparable.
    Returns (weights [(n_out, n_in)], biases [(n_out,)], rng).
    """
    rng = np.random.default_rng(config.seed)
    net = Network(config.sizes, rng, dtype=dtype)
    return [w.copy() for w in net.weights], [b.copy() for b in net.biases], rng


def accuracy(weights, biases, X, labels):
    """Test accuracy of a sigmoid network given as NumPy arrays, whatever trained it."""
    a = X
    for w, b in zip(weights, biases):
        a = 0.5 * np.tanh(0.5 * (a @ w.T + b)) + 0.5  # (n, n_out), sigma(w a + b)
    return float(np.mean(a.argmax(axis=1) == labels))
