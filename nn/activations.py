"""Activation functions as a name -> functions registry; not the network that uses them.

Every function works elementwise on arrays of any shape (a batch (m, n), or a stack of
batches (K, m, n)) and writes to `out` when given, so that the training step reuses its
buffers. Each derivative is written in terms of the function's output a = f(z), which is
what the step keeps, not z.
"""

import numpy as np

# A Python float operand costs NumPy a conversion on every call (~0.25 us, a third of a
# ufunc call at the training step's (10, 30) shapes); 0-d arrays of the dtype skip it.
_FLOAT_TYPES = (np.float16, np.float32, np.float64, np.longdouble)
_HALF = {np.dtype(t): np.array(0.5, t) for t in _FLOAT_TYPES}
_ONE = {np.dtype(t): np.array(1.0, t) for t in _FLOAT_TYPES}
_ZERO = {np.dtype(t): np.array(0.0, t) for t in _FLOAT_TYPES}


def sigmoid(z, out=None):
    """The logistic function 1 / (1 + exp(-z)), elementwise, written to `out` if given.

    Computed as 0.5 * tanh(z / 2) + 0.5, the same function without exp(-z): exp overflows
    (and warns) for z < -709 in float64 and z < -88 in float32, tanh never does.
    """
    half = _HALF.get(z.dtype, 0.5)
    out = np.multiply(z, half, out=out)
    np.tanh(out, out=out)
    out *= half
    out += half
    return out


def sigmoid_prime_from_output(a, out=None):
    """sigma'(z) written in terms of a = sigma(z): sigma'(z) = a (1 - a), to `out` if given."""
    out = np.subtract(_ONE.get(a.dtype, 1.0), a, out=out)
    out *= a
    return out


def tanh(z, out=None):
    """The hyperbolic tangent, the book's "tanh neuron": a rescaled sigmoid, 2 sigma(2z) - 1."""
    return np.tanh(z, out=out)


def tanh_prime_from_output(a, out=None):
    """tanh'(z) = 1 - tanh(z)^2 = 1 - a^2."""
    out = np.multiply(a, a, out=out)
    np.subtract(_ONE.get(a.dtype, 1.0), out, out=out)
    return out


def relu(z, out=None):
    """The rectified linear unit max(0, z): no exp, so nothing can overflow."""
    return np.maximum(z, _ZERO.get(z.dtype, 0.0), out=out)


def relu_prime_from_output(a, out=None):
    """relu'(z) = 1 where z > 0, else 0; from a = max(0, z) >= 0 that is sign(a), one call.

    (At z = 0 exactly the derivative is taken as 0, as PyTorch and JAX do.)
    """
    return np.sign(a, out=out)


def softmax(z, out=None):
    """exp(z_j) / sum_k exp(z_k) over the last axis, the output of the log-likelihood cost.

    The row maximum is subtracted first, which changes nothing mathematically and keeps
    exp from overflowing: every exponent is then <= 0.
    """
    out = np.subtract(z, z.max(axis=-1, keepdims=True), out=out)  # (..., m, n)
    np.exp(out, out=out)
    out /= out.sum(axis=-1, keepdims=True)
    return out


# Hidden layers: name -> (function of z, derivative written in terms of its output a).
ACTIVATIONS = {
    "sigmoid": (sigmoid, sigmoid_prime_from_output),
    "tanh": (tanh, tanh_prime_from_output),
    "relu": (relu, relu_prime_from_output),
}
# Output layers, chosen by the cost (nn.costs): their derivative is folded into the cost's
# delta, except the sigmoid's under the quadratic cost, which the cost takes from here.
OUTPUT_ACTIVATIONS = {"sigmoid": sigmoid, "softmax": softmax}
