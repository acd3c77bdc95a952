"""Activation functions as a name -> function registry; not the network that uses them."""

import numpy as np


def sigmoid(z, out=None):
    """The logistic function 1 / (1 + exp(-z)), elementwise, written to `out` if given.

    Computed as 0.5 * tanh(z / 2) + 0.5, the same function without exp(-z): exp overflows
    (and warns) for z < -709 in float64 and z < -88 in float32, tanh never does.
    """
    out = np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def sigmoid_prime_from_output(a):
    """sigma'(z) written in terms of a = sigma(z): sigma'(z) = a (1 - a)."""
    return a * (1.0 - a)


# name -> (function of z, derivative written in terms of the function's output a)
ACTIVATIONS = {"sigmoid": (sigmoid, sigmoid_prime_from_output)}
