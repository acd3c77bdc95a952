"""Nielsen's network.py, one example at a time: the reference nn.network is checked against; not for use.

This is the book's algorithm as the book writes it (chapter 1, network.py), ported to
Python 3 and to this project's data format, and nothing slower: column vectors (n, 1), a
feedforward and a backprop per example, the nablas summed over the mini-batch in a Python
loop, then w <- w - (eta / m) * nabla_w. NumPy does the work *within* an example (a
matrix-vector product per layer, an outer product per layer for nabla_w), exactly as in
the original. It is the one place in nn/ that loops over samples, on purpose:
tests/test_per_sample.py checks that the vectorized Network takes the same steps, and
experiments/bench/ measures how much the vectorization buys.

Data and randomness are as in nn.training.SGD, so runs are comparable: X is (n, n_0) with
rows as examples, labels (n,), and each epoch shuffles indices with the run's generator.
"""

import time

import numpy as np

from nn.network import DTYPES
from nn.training import EpochRecord, one_hot


def sigmoid(z):
    """The logistic function, elementwise; tanh form, so it never overflows (see nn.activations)."""
    return 0.5 * np.tanh(0.5 * z) + 0.5


class PerSampleNetwork:
    """Nielsen's Network: biases[l] (n_out, 1) and weights[l] (n_out, n_in), per-example math.

    Draws its initial parameters exactly as nn.Network does (biases, then weights, N(0, 1)
    in float64, then cast), so the two start equal for the same seed.
    """

    def __init__(self, sizes, rng, dtype="float64"):
        rng = np.random.default_rng(rng)
        self.sizes = [int(n) for n in sizes]
        self.num_layers = len(self.sizes)
        self.dtype = np.dtype(DTYPES.get(dtype, dtype))
        self.biases = [rng.standard_normal(n).astype(self.dtype).reshape(n, 1) for n in self.sizes[1:]]
        self.weights = [rng.standard_normal((n_out, n_in)).astype(self.dtype)
                        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:])]

    def feedforward(self, a):
        """Output for one input column a: (n_0, 1) -> (n_L, 1)."""
        for b, w in zip(self.biases, self.weights):
            a = sigmoid(np.dot(w, a) + b)  # (n_out, 1)
        return a

    def update_mini_batch(self, X, Y, eta):
        """One gradient step on a mini-batch, one example at a time; returns the summed cost.

        X: (m, n_0), Y: (m, n_L), rows are examples; each row becomes a column vector.
        """
        nabla_b = [np.zeros(b.shape, self.dtype) for b in self.biases]
        nabla_w = [np.zeros(w.shape, self.dtype) for w in self.weights]
        cost = 0.0
        for x, y in zip(X, Y):
            delta_nabla_b, delta_nabla_w, c = self.backprop(x[:, np.newaxis], y[:, np.newaxis])
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
            cost += c
        step = eta / len(X)
        self.weights = [w - step * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - step * nb for b, nb in zip(self.biases, nabla_b)]
        return cost

    def backprop(self, x, y):
        """(nabla_b, nabla_w, cost) for one example: x (n_0, 1), y (n_L, 1), the book's backprop.

        The cost 1/2 ||a - y||^2 is taken from the forward pass, as nn.Network does, so the
        two implementations do the same work per step.
        """
        nabla_b = [None] * len(self.biases)
        nabla_w = [None] * len(self.weights)
        activation = x
        activations = [x]  # (n_l, 1) each
        for b, w in zip(self.biases, self.weights):
            activation = sigmoid(np.dot(w, activation) + b)
            activations.append(activation)
        diff = activations[-1] - y  # (n_L, 1), the quadratic cost's derivative
        delta = diff * activations[-1] * (1 - activations[-1])  # sigma'(z) = a (1 - a)
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].T)  # (n_L, n_{L-1}) outer product
        for l in range(2, self.num_layers):
            a = activations[-l]
            delta = np.dot(self.weights[-l + 1].T, delta) * a * (1 - a)
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, activations[-l - 1].T)
        return nabla_b, nabla_w, 0.5 * float(np.vdot(diff, diff))

    def evaluate(self, X, labels):
        """How many inputs (rows of X) the network classifies right, one at a time."""
        return sum(int(np.argmax(self.feedforward(x[:, np.newaxis])) == label)
                   for x, label in zip(X, labels))


def SGD(network, training_data, epochs, mini_batch_size, eta, rng, test_data=None):
    """nn.training.SGD's loop around PerSampleNetwork: same shuffles, same records.

    Yields an EpochRecord per epoch (validation_accuracy is always None).
    """
    X = np.asarray(training_data[0], dtype=network.dtype)  # (n, n_0)
    Y = one_hot(training_data[1], network.sizes[-1], network.dtype)  # (n, n_L)
    n = len(X)
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = rng.permutation(n)  # shuffle indices, not data, as nn.training does
        cost_sum = 0.0
        for k in range(0, n, mini_batch_size):
            batch = order[k:k + mini_batch_size]
            cost_sum += network.update_mini_batch(X.take(batch, axis=0), Y.take(batch, axis=0), eta)
        seconds = time.perf_counter() - start
        accuracy = None
        if test_data is not None and len(test_data[0]):
            X_test = np.asarray(test_data[0], network.dtype)
            accuracy = network.evaluate(X_test, test_data[1]) / len(X_test)
        yield EpochRecord(epoch=epoch, cost=cost_sum / n, accuracy=accuracy,
                          validation_accuracy=None, seconds=seconds)
