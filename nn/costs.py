"""Cost functions as a name -> functions registry; not the training loop that reports them."""

import numpy as np


class QuadraticCost:
    """C = 1/2 ||a - y||^2 per example, as in Nielsen's network.py."""

    @staticmethod
    def delta(a, y, activation_prime, out=None):
        """dC/dz of the output layer: (a - y) * sigma'(z), with sigma' given from a. (m, n_L)"""
        return QuadraticCost.sum_and_delta(a, y, activation_prime, out)[1]

    @staticmethod
    def sum_and_delta(a, y, activation_prime, out=None):
        """The batch's summed cost 1/2 ||a - y||^2 and delta, from one a - y, as the training
        step needs both: (float, (m, n_L))."""
        d = a - y  # (m, n_L)
        delta = activation_prime(a, out=out)
        delta *= d
        return 0.5 * float(np.vdot(d, d)), delta


COSTS = {"quadratic": QuadraticCost}
