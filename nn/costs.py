"""Cost functions as a name -> functions registry; not the training loop that reports them."""

import numpy as np


class QuadraticCost:
    """C = 1/2 ||a - y||^2 per example, as in Nielsen's network.py."""

    @staticmethod
    def sum(a, y):
        """Sum over the batch of 1/2 ||a - y||^2. a, y: (m, n_L) -> float."""
        d = (a - y).ravel()
        return 0.5 * float(d @ d)

    @staticmethod
    def delta(a, y, activation_prime):
        """dC/dz of the output layer: (a - y) * sigma'(z), with sigma' given from a. (m, n_L)"""
        return (a - y) * activation_prime(a)


COSTS = {"quadratic": QuadraticCost}
