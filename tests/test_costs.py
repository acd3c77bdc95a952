"""Tests of nn.costs: the book's formulas, stability where log(a) would be -inf, deltas = dC/dz."""

import warnings

import numpy as np
import pytest

from nn.activations import OUTPUT_ACTIVATIONS
from nn.costs import COSTS, CrossEntropyCost, LogLikelihoodCost, QuadraticCost, dot, total


def batch(seed=0, m=6, n=4):
    rng = np.random.default_rng(seed)
    z = rng.uniform(-3, 3, (m, n))
    y = np.eye(n)[rng.integers(0, n, m)]
    return z, y


def test_quadratic_is_half_the_squared_distance():
    z, y = batch()
    a = OUTPUT_ACTIVATIONS["sigmoid"](z.copy())
    assert QuadraticCost.fn(z, a, y) == pytest.approx(0.5 * ((a - y) ** 2).sum(), rel=1e-12)


def test_cross_entropy_is_the_book_formula_where_that_is_finite():
    z, y = batch()
    a = OUTPUT_ACTIVATIONS["sigmoid"](z.copy())
    book = np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)))  # network2.py
    assert CrossEntropyCost.fn(z, a, y) == pytest.approx(book, rel=1e-12)


def test_log_likelihood_is_minus_ln_a_y():
    z, y = batch()
    a = OUTPUT_ACTIVATIONS["softmax"](z.copy())
    book = -np.log(a[y.astype(bool)]).sum()
    assert LogLikelihoodCost.fn(z, a, y) == pytest.approx(book, rel=1e-12)


@pytest.mark.parametrize("name", ["cross_entropy", "log_likelihood"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_saturated_outputs_give_finite_costs_without_warnings(name, dtype):
    """a rounds to exactly 0 or 1 here, where the book's log(a) needs nan_to_num."""
    cost = COSTS[name]
    z = np.array([[60.0, -60.0, 0.0], [-1e4, 1e4, 3.0]], dtype=dtype)
    y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dtype=dtype)  # confidently wrong
    a = OUTPUT_ACTIVATIONS[cost.output](z.copy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow is harmless
            value = float(cost.fn(z, a, y))
    assert np.isfinite(value) and value > 1e4  # wrong by 1e4 in z costs about that much


@pytest.mark.parametrize("name", sorted(COSTS))
def test_delta_is_the_derivative_of_the_cost_in_z(name):
    cost = COSTS[name]
    z, y = batch(1)
    f = OUTPUT_ACTIVATIONS[cost.output]
    eps = 1e-6
    numeric = np.zeros_like(z)
    for index in np.ndindex(z.shape):
        plus, minus = z.copy(), z.copy()
        plus[index] += eps
        minus[index] -= eps
        numeric[index] = (cost.fn(plus, f(plus.copy()), y) - cost.fn(minus, f(minus.copy()), y)) / (2 * eps)
    delta = cost.delta(z, f(z.copy()), y)
    np.testing.assert_allclose(delta, numeric, rtol=1e-6, atol=1e-9)
    value, delta_too = cost.sum_and_delta(z, f(z.copy()), y)
    assert value == pytest.approx(cost.fn(z, f(z.copy()), y), rel=1e-12)
    np.testing.assert_array_equal(delta, delta_too)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_per_member_sums_have_the_bits_of_each_batch_alone(dtype):
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((5, 7, 3)).astype(dtype), rng.standard_normal((5, 7, 3)).astype(dtype)
    stacked_dot, stacked_total = dot(a, b), total(a)
    assert stacked_dot.shape == stacked_total.shape == (5,)
    for k in range(5):
        assert stacked_dot[k] == np.vdot(a[k], b[k]) == dot(a[k], b[k])
        assert stacked_total[k] == total(a[k])
    shared = dot(b[0], a)  # a batch shared by every member, as full-batch training's y
    assert [shared[k] for k in range(5)] == [np.vdot(b[0], a[k]) for k in range(5)]
    # members of a (2, 5) lead, each batch of (1, 5) shared by the two members along axis 0
    pairs = rng.standard_normal((2, 5, 7, 3)).astype(dtype)
    across = dot(a[np.newaxis], pairs)
    assert across.shape == (2, 5)
    assert across.tolist() == [[np.vdot(a[k], pairs[i, k]) for k in range(5)] for i in (0, 1)]
