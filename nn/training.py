"""Mini-batch stochastic gradient descent that yields a record per epoch; it never prints."""

import math
import time
from dataclasses import dataclass
from typing import Iterator, Optional

import numpy as np

from nn.errors import DivergedError


@dataclass(frozen=True)
class EpochRecord:
    """What one epoch of training did.

    epoch: 1 for the first pass over the training data.
    cost: mean over the epoch's examples of 1/2 ||a - y||^2, each taken in the forward pass
        of its mini-batch (the weights move during the epoch, as in the training loss
        frameworks report).
    accuracy: fraction of the test set classified right after the epoch, None without one.
    validation_accuracy: the same on the validation set.
    seconds: wall time of the epoch's gradient steps (evaluation not included).
    """

    epoch: int
    cost: float
    accuracy: Optional[float]
    validation_accuracy: Optional[float]
    seconds: float


def one_hot(labels, n_classes, dtype):
    """Desired output vectors for integer labels. labels: (n,) -> (n, n_classes)."""
    Y = np.zeros((len(labels), n_classes), dtype=dtype)
    Y[np.arange(len(labels)), labels] = 1.0
    return Y


def with_ones_column(X, dtype):
    """X with a last column of ones, the input the biases multiply. (n, n_0) -> (n, n_0 + 1)

    Made once per training run, so that every mini-batch arrives with its ones column
    (see Network.update_mini_batch) instead of being copied into a buffer that has one.
    """
    Xa = np.empty((len(X), X.shape[1] + 1), dtype=dtype)
    Xa[:, :-1] = X
    Xa[:, -1] = 1.0
    return Xa


def SGD(network, training_data, epochs, mini_batch_size, eta, rng,
        test_data=None, validation_data=None) -> Iterator[EpochRecord]:
    """Train `network` in place with mini-batch SGD, yielding an EpochRecord after each epoch.

    training_data, test_data, validation_data: (X, labels) with X (n, sizes[0]) and
    labels (n,) integers. rng: the np.random.Generator that shuffles the training set
    at the start of every epoch. The last mini-batch of an epoch holds what is left
    (n mod mini_batch_size examples) and is stepped with its own size m.
    Raises DivergedError when the cost or a parameter stops being finite.
    """
    X = with_ones_column(training_data[0], network.dtype)  # (n, n_0 + 1)
    Y = one_hot(training_data[1], network.sizes[-1], network.dtype)  # (n, n_L)
    n = len(X)
    test_data = _in_dtype(network, test_data)  # converted once, not every epoch
    validation_data = _in_dtype(network, validation_data)
    update_mini_batch = network.update_mini_batch  # looked up once, not 5,000 times an epoch
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = rng.permutation(n)  # shuffle indices, not data
        cost_sum = 0.0
        # A diverging run overflows; it is told by the checks below, not by NumPy warnings.
        with np.errstate(over="ignore", invalid="ignore"):
            for k in range(0, n, mini_batch_size):
                batch = order[k:k + mini_batch_size]
                # X.take(batch, axis=0) is X[batch], ~1.5 us faster per step: fancy
                # indexing has more per-call machinery, and a step is only ~35 us
                cost_sum += update_mini_batch(X.take(batch, axis=0), Y.take(batch, axis=0),
                                              eta)
        seconds = time.perf_counter() - start
        cost = cost_sum / n
        if not math.isfinite(cost):
            raise DivergedError(epoch, "the training cost")
        if not network.parameters_finite():
            raise DivergedError(epoch, "a weight or bias")
        yield EpochRecord(
            epoch=epoch,
            cost=cost,
            accuracy=_accuracy(network, test_data),
            validation_accuracy=_accuracy(network, validation_data),
            seconds=seconds,
        )


def _in_dtype(network, data):
    """(X in the network's dtype, labels), or None when there is nothing to evaluate."""
    if data is None or len(data[0]) == 0:
        return None
    return np.asarray(data[0], dtype=network.dtype), data[1]


def _accuracy(network, data):
    return None if data is None else network.evaluate(*data) / len(data[0])
