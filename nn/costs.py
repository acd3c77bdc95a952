"""Cost functions as a name -> class registry, in the vocabulary of Nielsen's network2.py; not the training loop.

Each cost names the output activation it goes with and gives, for a batch, its value
summed over the examples (`fn`) and the output error delta = dC/dz of the last layer
(`delta`). Arrays are batches (m, n_L), or stacks of batches (K, m, n_L) for K networks
trained together; sums are then one per network, shape (K,). z is the output layer's
weighted input and a = f(z) its activation; y is the desired output (one-hot).

Both the cross-entropy and the log-likelihood are computed from z, never as log(a):
a rounds to exactly 0 or 1 once |z| passes ~17 in float32 (~37 in float64), where log(a)
would be -inf; the forms below stay finite for every finite z.
"""

import numpy as np

from nn.activations import sigmoid_prime_from_output


def total(x):
    """Sum of all of each batch's elements: (m, n) -> (), (K, m, n) -> (K,).

    One pairwise reduction along a contiguous row per network, so a network's sum is the
    same bits whether it is trained alone or stacked with others.
    """
    return np.add.reduce(x.reshape(*x.shape[:-2], -1), axis=-1)


def dot(a, b):
    """sum(a * b) per batch, a BLAS dot: (m, n) -> (), (K, m, n) -> (K,).

    vdot for one batch; for a stack, a (1, mn) @ (mn, 1) product per batch, which BLAS
    computes as the same dot (tests/test_population.py checks that the bits agree). A batch
    shared by several networks (full-batch training's y, (m, n), or (1, U, m, n) for a lead
    (r, U)) is paired with each of theirs by matmul's broadcasting, not copied.
    """
    if a.ndim == 2 == b.ndim:
        return np.vdot(a, b)
    return np.matmul(a.reshape(*a.shape[:-2], 1, -1), b.reshape(*b.shape[:-2], -1, 1))[..., 0, 0]


class QuadraticCost:
    """C = 1/2 ||a - y||^2 per example, with sigmoid outputs (network.py, chapter 1)."""

    output = "sigmoid"
    needs_z = False  # its delta comes from a alone

    @staticmethod
    def fn(z, a, y):
        d = a - y
        return 0.5 * dot(d, d)

    @staticmethod
    def delta(z, a, y, out=None):
        """(a - y) * sigma'(z), sigma'(z) = a (1 - a)."""
        return QuadraticCost.sum_and_delta(z, a, y, out)[1]

    @staticmethod
    def sum_and_delta(z, a, y, out=None):
        """fn and delta from one a - y, as the training step needs both."""
        d = a - y  # (..., m, n_L)
        delta = sigmoid_prime_from_output(a, out=out)
        delta *= d
        return 0.5 * (np.vdot(d, d) if d.ndim == 2 else dot(d, d)), delta


class CrossEntropyCost:
    """C = -sum_j [y_j ln a_j + (1 - y_j) ln(1 - a_j)], sigmoid outputs (network2.py).

    With a = sigma(z) that is sum_j [softplus(z_j) - y_j z_j], softplus(z) = ln(1 + e^z),
    which np.logaddexp(0, z) computes without overflow. Its delta is a - y: the sigma'(z)
    that slows a saturated quadratic neuron cancels out (chapter 3).
    """

    output = "sigmoid"
    needs_z = True

    @staticmethod
    def fn(z, a, y):
        return total(np.logaddexp(0, z)) - dot(y, z)

    @staticmethod
    def delta(z, a, y, out=None):
        return np.subtract(a, y, out=out)

    @classmethod
    def sum_and_delta(cls, z, a, y, out=None):
        return cls.fn(z, a, y), cls.delta(z, a, y, out)


class LogLikelihoodCost(CrossEntropyCost):
    """C = -ln a_y with a softmax output layer (chapter 3's log-likelihood cost).

    -ln a_y = ln sum_k e^{z_k} - z_y; the log-sum-exp is np.logaddexp reduced over the
    outputs, finite for every finite z. Its delta is also a - y.
    """

    output = "softmax"

    @staticmethod
    def fn(z, a, y):
        return total(np.logaddexp.reduce(z, axis=-1)[..., None]) - dot(y, z)


COSTS = {"quadratic": QuadraticCost, "cross_entropy": CrossEntropyCost,
         "log_likelihood": LogLikelihoodCost}
