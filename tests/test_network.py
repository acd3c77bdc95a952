"""Tests of nn.network: gradients against finite differences, hand-worked values, determinism."""

import warnings

import numpy as np
import pytest

from nn import Network
from nn.activations import sigmoid


def summed_cost(net, X, Y):
    return 0.5 * float(((net.feedforward(X) - Y) ** 2).sum())


@pytest.mark.parametrize("sizes", [[5, 4, 3, 2], [6, 3, 4, 2, 3], [4, 2]])
def test_backprop_matches_finite_differences(sizes):
    rng = np.random.default_rng(1)
    net = Network(sizes, rng, dtype="float64")
    X = rng.random((7, sizes[0]))  # (m, n_0)
    Y = rng.random((7, sizes[-1]))  # (m, n_L)
    nabla_b, nabla_w = net.backprop(X, Y)
    eps = 1e-6
    for params, grads in ((net.weights, nabla_w), (net.biases, nabla_b)):
        for p, g in zip(params, grads):
            assert g.shape == p.shape
            numeric = np.zeros_like(p)
            for index in np.ndindex(p.shape):
                saved = p[index]
                p[index] = saved + eps
                plus = summed_cost(net, X, Y)
                p[index] = saved - eps
                minus = summed_cost(net, X, Y)
                p[index] = saved
                numeric[index] = (plus - minus) / (2 * eps)
            np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-8)


def test_shapes_follow_nielsen():
    net = Network([784, 30, 10], 0)
    assert [w.shape for w in net.weights] == [(30, 784), (10, 30)]
    assert [b.shape for b in net.biases] == [(30,), (10,)]
    assert net.feedforward(np.zeros((3, 784), dtype=np.float32)).shape == (3, 10)


def test_hand_worked_network():
    # One neuron, one input: a = sigma(w x + b) = sigma(2 * 1 - 1) = sigma(1).
    net = Network([1, 1], 0, dtype="float64")
    net.weights[0][...] = 2.0
    net.biases[0][...] = -1.0
    a = 1 / (1 + np.exp(-1.0))
    assert net.feedforward(np.array([[1.0]]))[0, 0] == pytest.approx(a, rel=1e-12)
    # Quadratic cost with y = 0: dC/dz = (a - 0) * a (1 - a); dC/dw = dC/dz * x.
    nabla_b, nabla_w = net.backprop(np.array([[1.0]]), np.array([[0.0]]))
    assert nabla_b[0][0] == pytest.approx(a * a * (1 - a), rel=1e-12)
    assert nabla_w[0][0, 0] == pytest.approx(a * a * (1 - a), rel=1e-12)
    # One step with eta = 0.5 on a batch of that example twice: w <- w - (eta/m) * sum.
    net.update_mini_batch(np.array([[1.0], [1.0]]), np.array([[0.0], [0.0]]), 0.5)
    assert net.weights[0][0, 0] == pytest.approx(2.0 - 0.5 * a * a * (1 - a), rel=1e-12)


def test_batch_gradient_is_sum_of_per_example_gradients():
    rng = np.random.default_rng(3)
    net = Network([6, 5, 4], rng, dtype="float64")
    X, Y = rng.random((4, 6)), rng.random((4, 4))
    nabla_b, nabla_w = net.backprop(X, Y)
    singles = [net.backprop(X[i:i + 1], Y[i:i + 1]) for i in range(4)]
    for layer in range(2):
        np.testing.assert_allclose(nabla_w[layer], sum(s[1][layer] for s in singles), rtol=1e-12)
        np.testing.assert_allclose(nabla_b[layer], sum(s[0][layer] for s in singles), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_never_overflows_or_warns(dtype):
    z = np.array([-1e6, -1000.0, -89.0, -20.0, 0.0, 20.0, 89.0, 1000.0, 1e6], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            a = sigmoid(z.copy())
    assert a.dtype == dtype
    assert np.all((a >= 0) & (a <= 1))
    assert a[0] == 0.0 and a[-1] == 1.0 and a[4] == 0.5
    exact = 1 / (1 + np.exp(-np.clip(z.astype(np.float64), -700, 700)))
    np.testing.assert_allclose(a, exact, atol=2e-7 if dtype == np.float32 else 1e-15)


def test_same_seed_same_parameters_and_different_seed_differs():
    a, b, c = Network([8, 4, 2], 5), Network([8, 4, 2], 5), Network([8, 4, 2], 6)
    for wa, wb, wc in zip(a.weights, b.weights, c.weights):
        assert np.array_equal(wa, wb)
        assert not np.array_equal(wa, wc)


def test_float32_and_float64_start_from_the_same_draw():
    n32, n64 = Network([8, 4, 2], 9, dtype="float32"), Network([8, 4, 2], 9, dtype="float64")
    assert n32.weights[0].dtype == np.float32 and n64.weights[0].dtype == np.float64
    np.testing.assert_allclose(n32.weights[0], n64.weights[0], rtol=1e-7)


def test_classify_gives_output_digit_and_confidence():
    net = Network([4, 3], 0, dtype="float64")
    result = net.classify(np.array([0.1, 0.2, 0.3, 0.4]))
    assert result.output.shape == (3,)
    assert result.digit == int(np.argmax(result.output))
    assert result.confidence == result.output[result.digit]


def test_evaluate_counts_correct_predictions():
    net = Network([2, 2], 0, dtype="float64")
    net.weights[0][...] = [[10.0, 0.0], [0.0, 10.0]]
    net.biases[0][...] = 0.0
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    assert net.evaluate(X, np.array([0, 1, 1])) == 2


@pytest.mark.parametrize("sizes", [[], [784], [784, 0, 10]])
def test_invalid_sizes_are_rejected(sizes):
    with pytest.raises(ValueError, match="sizes"):
        Network(sizes, 0)
