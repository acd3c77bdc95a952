"""Tests of nn.activations: values, derivatives against finite differences, no overflow warnings."""

import warnings

import numpy as np
import pytest

from nn.activations import ACTIVATIONS, OUTPUT_ACTIVATIONS, softmax

EXTREMES = [-1e6, -1000.0, -89.0, -20.0, -1e-3, 0.0, 1e-3, 20.0, 89.0, 1000.0, 1e6]
REFERENCE = {"sigmoid": lambda z: 1 / (1 + np.exp(-np.clip(z, -700, 700))),
             "tanh": np.tanh, "relu": lambda z: np.where(z > 0, z, 0.0)}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_at_extremes_without_warnings(name, dtype):
    f, f_prime = ACTIVATIONS[name]
    z = np.array(EXTREMES, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            a = f(z.copy())
            prime = f_prime(a.copy())
    assert a.dtype == prime.dtype == dtype
    # the sigmoid's tanh form is exact to an absolute, not relative, error near 0
    np.testing.assert_allclose(a, REFERENCE[name](z.astype(np.float64)),
                               rtol=1e-6 if dtype == np.float32 else 1e-14,
                               atol=2e-7 if dtype == np.float32 else 1e-15)
    assert np.all(np.isfinite(prime))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_derivative_from_the_output_matches_finite_differences(name):
    f, f_prime = ACTIVATIONS[name]
    z = np.random.default_rng(0).uniform(-4, 4, (5, 7))
    z[np.abs(z) < 1e-3] = 0.5  # away from relu's kink
    eps = 1e-6
    numeric = (f(z + eps) - f(z - eps)) / (2 * eps)
    np.testing.assert_allclose(f_prime(f(z)), numeric, rtol=1e-7, atol=1e-9)


def test_writes_to_out_and_keeps_any_leading_shape():
    for f, f_prime in ACTIVATIONS.values():
        z = np.random.default_rng(1).standard_normal((3, 4, 5))
        out = np.empty_like(z)
        assert f(z, out=out) is out and out.shape == (3, 4, 5)
        assert f_prime(out, out=np.empty_like(z)).shape == (3, 4, 5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_is_a_distribution_per_row_even_for_huge_inputs(dtype):
    z = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0], [-1e30, -1e30, -1e30]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = softmax(z)
    np.testing.assert_allclose(a.sum(axis=-1), 1.0, rtol=1e-6)
    assert a[0, 0] == 1.0 and a[0, 2] == 0.0
    np.testing.assert_allclose(a[1], np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum(), rtol=1e-6)
    np.testing.assert_allclose(a[2], 1 / 3, rtol=1e-6)
    assert OUTPUT_ACTIVATIONS["softmax"] is softmax
