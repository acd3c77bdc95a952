"""Nielsen's network.py and network2.py, one example at a time: the reference nn.network is checked against; not for use.

This is the book's algorithm as the book writes it (chapter 1's network.py, chapter 3's
network2.py), ported to Python 3 and to this project's data format, and nothing slower:
column vectors (n, 1), a feedforward and a backprop per example, the nablas summed over
the mini-batch in a Python loop, then network2.py's update. NumPy does the work *within*
an example (a matrix-vector product per layer, an outer product per layer for nabla_w),
exactly as in the original. It is the one place in nn/ that loops over samples, on
purpose: tests/test_per_sample.py checks that the vectorized Network takes the same steps
for every activation, cost, L2 and momentum, and experiments/bench/ measures how much
the vectorization buys.

Its formulas are written here again, from the book, rather than taken from nn.activations
and nn.costs, so that it checks them. Derivatives are taken from the activation a (the
book's sigmoid_prime(z) is sigma(z) (1 - sigma(z)) = a (1 - a)), which saves the loop
recomputing sigma(z), so the benchmark does not flatter the vectorized code.

Data and randomness are as in nn.training.SGD, so runs are comparable: X is (n, n_0) with
rows as examples, labels (n,), and each epoch shuffles indices with the run's generator.
"""

import time

import numpy as np

from nn.initializers import INITIALIZERS
from nn.network import DTYPES
from nn.training import EpochRecord, one_hot


def sigmoid(z):
    """The logistic function, elementwise; tanh form, so it never overflows (see nn.activations)."""
    return 0.5 * np.tanh(0.5 * z) + 0.5


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


# name -> (f(z), f'(z) written in terms of a = f(z))
ACTIVATIONS = {
    "sigmoid": (sigmoid, lambda a: a * (1 - a)),
    "tanh": (np.tanh, lambda a: 1 - a * a),
    "relu": (lambda z: np.maximum(z, 0), lambda a: (a > 0).astype(a.dtype)),
}
OUTPUTS = {"quadratic": sigmoid, "cross_entropy": sigmoid, "log_likelihood": softmax}


def cost_of(cost, z, a, y):
    """The cost of one example, as the book writes it (network2.py's fn)."""
    if cost == "quadratic":
        return 0.5 * float(np.vdot(a - y, a - y))
    if cost == "cross_entropy":
        return float(np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a))))
    return float(-np.log(a[int(np.argmax(y)), 0]))  # log-likelihood: -ln a_y


def output_delta(cost, z, a, y):
    """dC/dz of the output layer (network2.py's delta): the quadratic's (a - y) sigma'(z), else a - y."""
    if cost == "quadratic":
        return (a - y) * a * (1 - a)  # sigma'(z) = a (1 - a)
    return a - y


class PerSampleNetwork:
    """Nielsen's Network: biases[l] (n_out, 1) and weights[l] (n_out, n_in), per-example math.

    Draws its initial parameters as nn.Network does (nn.initializers, in float64, then
    cast), so the two start equal for the same seed.
    """

    def __init__(self, sizes, rng, dtype="float64", activation="sigmoid", cost="quadratic",
                 init="normal"):
        self.sizes = [int(n) for n in sizes]
        self.num_layers = len(self.sizes)
        self.dtype = np.dtype(DTYPES.get(dtype, dtype))
        self.activation, self.activation_prime = ACTIVATIONS[activation]
        self.cost, self.output = cost, OUTPUTS[cost]
        weights, biases = INITIALIZERS[init](np.random.default_rng(rng), self.sizes)
        self.biases = [b.astype(self.dtype).reshape(-1, 1) for b in biases]
        self.weights = [w.astype(self.dtype) for w in weights]
        self.velocity_w = [np.zeros_like(w) for w in self.weights]
        self.velocity_b = [np.zeros_like(b) for b in self.biases]

    def feedforward(self, a):
        """Output for one input column a: (n_0, 1) -> (n_L, 1)."""
        for l, (b, w) in enumerate(zip(self.biases, self.weights)):
            z = np.dot(w, a) + b  # (n_out, 1)
            a = self.output(z) if l == self.num_layers - 2 else self.activation(z)
        return a

    def update_mini_batch(self, X, Y, eta, lmbda=0.0, n=1, momentum=0.0):
        """One gradient step on a mini-batch, one example at a time; returns the summed cost.

        X: (m, n_0), Y: (m, n_L), rows are examples; each row becomes a column vector.
        network2.py's update with L2 on a training set of n examples; with momentum mu,
        the book's v <- mu v - eta (nabla C + lmbda/n w), w <- w + v (biases unregularized).
        """
        nabla_b = [np.zeros(b.shape, self.dtype) for b in self.biases]
        nabla_w = [np.zeros(w.shape, self.dtype) for w in self.weights]
        cost = 0.0
        for x, y in zip(X, Y):
            delta_nabla_b, delta_nabla_w, c = self.backprop(x[:, np.newaxis], y[:, np.newaxis])
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
            cost += c
        m = len(X)
        if momentum == 0:
            self.weights = [(1 - eta * (lmbda / n)) * w - (eta / m) * nw
                            for w, nw in zip(self.weights, nabla_w)]
            self.biases = [b - (eta / m) * nb for b, nb in zip(self.biases, nabla_b)]
            return cost
        self.velocity_w = [momentum * v - eta * (nw / m + (lmbda / n) * w)
                           for v, w, nw in zip(self.velocity_w, self.weights, nabla_w)]
        self.velocity_b = [momentum * v - eta * nb / m for v, nb in zip(self.velocity_b, nabla_b)]
        self.weights = [w + v for w, v in zip(self.weights, self.velocity_w)]
        self.biases = [b + v for b, v in zip(self.biases, self.velocity_b)]
        return cost

    def backprop(self, x, y):
        """(nabla_b, nabla_w, cost) for one example: x (n_0, 1), y (n_L, 1), the book's backprop.

        The cost is taken from the forward pass, as nn.Network does, so the two
        implementations do the same work per step.
        """
        nabla_b = [None] * len(self.biases)
        nabla_w = [None] * len(self.weights)
        activation = x
        activations, zs = [x], []  # (n_l, 1) each
        for l, (b, w) in enumerate(zip(self.biases, self.weights)):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = self.output(z) if l == self.num_layers - 2 else self.activation(z)
            activations.append(activation)
        delta = output_delta(self.cost, zs[-1], activations[-1], y)
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].T)  # (n_L, n_{L-1}) outer product
        for l in range(2, self.num_layers):
            delta = np.dot(self.weights[-l + 1].T, delta) * self.activation_prime(activations[-l])
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, activations[-l - 1].T)
        return nabla_b, nabla_w, cost_of(self.cost, zs[-1], activations[-1], y)

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
                          validation_accuracy=None, seconds=seconds, eta=eta)
