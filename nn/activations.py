"""Activation functions as a name -> function registry; not the network that uses them."""

import numpy as np

# A Python float operand costs NumPy a conversion on every call (~0.25 us, a third of a
# ufunc call at the training step's (10, 30) shapes); 0-d arrays of the dtype skip it.
_FLOAT_TYPES = (np.float16, np.float32, np.float64, np.longdouble)
_HALF = {np.dtype(t): np.array(0.5, t) for t in _FLOAT_TYPES}
_ONE = {np.dtype(t): np.array(1.0, t) for t in _FLOAT_TYPES}


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


# name -> (function of z, derivative written in terms of the function's output a);
# both take an optional `out` array so the training step can reuse its buffers.
ACTIVATIONS = {"sigmoid": (sigmoid, sigmoid_prime_from_output)}
