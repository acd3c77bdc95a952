"""Initial weights and biases as a name -> function registry; not the network that holds them.

Each function draws from the generator it is given, in float64 (so that float32 and
float64 networks start from the same values for a seed), and returns (weights, biases):
weights[l] (n_out, n_in), biases[l] (n_out,).
"""

import numpy as np


def normal(rng, sizes):
    """Every weight and bias from N(0, 1): the book's large_weight_initializer (chapter 1).

    Biases are drawn first, then weights, as network.py does; changing the order would
    change every recorded run.
    """
    biases = [rng.standard_normal(n) for n in sizes[1:]]
    weights = [rng.standard_normal((n_out, n_in)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    return weights, biases


def scaled(rng, sizes):
    """Weights from N(0, 1/n_in), biases from N(0, 1): network2.py's default_weight_initializer.

    A neuron with n_in inputs then starts with a weighted input of standard deviation
    about 1 instead of sqrt(n_in), so it is not saturated before it learns (chapter 3).
    """
    biases = [rng.standard_normal(n) for n in sizes[1:]]
    weights = [rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
               for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    return weights, biases


def he(rng, sizes):
    """Weights from N(0, 2/n_in), biases 0 (He et al. 2015): the usual start for ReLU layers.

    A ReLU passes half of its inputs on average, so twice the variance keeps the weighted
    inputs' scale from layer to layer; a bias of N(0, 1) would switch off many ReLUs
    (z < 0 for every image) before training starts.
    """
    weights = [rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in)
               for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    return weights, [np.zeros(n) for n in sizes[1:]]


INITIALIZERS = {"normal": normal, "scaled": scaled, "he": he}
