"""Tests of nn.network: gradients against finite differences, hand-worked values, determinism."""

import itertools
import warnings

import numpy as np
import pytest

from nn import Network
from nn.activations import ACTIVATIONS, sigmoid
from nn.costs import COSTS
from nn.training import one_hot


def summed_cost(net, X, Y):
    return 0.5 * float(((net.feedforward(X) - Y) ** 2).sum())


def numeric_gradients(net, cost):
    """(nabla_b, nabla_w) of cost() by central differences, one parameter at a time."""
    eps = 1e-6
    gradients = []
    for params in (net.biases, net.weights):
        layer_gradients = []
        for p in params:
            numeric = np.zeros_like(p)
            for index in np.ndindex(p.shape):
                saved = p[index]
                p[index] = saved + eps
                plus = cost()
                p[index] = saved - eps
                minus = cost()
                p[index] = saved
                numeric[index] = (plus - minus) / (2 * eps)
            layer_gradients.append(numeric)
        gradients.append(layer_gradients)
    return gradients


@pytest.mark.parametrize("sizes", [[5, 4, 3, 2], [6, 3, 4, 2, 3], [4, 2]])
def test_backprop_matches_finite_differences(sizes):
    rng = np.random.default_rng(1)
    net = Network(sizes, rng, dtype="float64")
    X = rng.random((7, sizes[0]))  # (m, n_0)
    Y = rng.random((7, sizes[-1]))  # (m, n_L)
    nabla_b, nabla_w = net.backprop(X, Y)
    numeric_b, numeric_w = numeric_gradients(net, lambda: summed_cost(net, X, Y))
    for grads, numeric in ((nabla_w, numeric_w), (nabla_b, numeric_b)):
        for g, n in zip(grads, numeric):
            assert g.shape == n.shape
            np.testing.assert_allclose(g, n, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("activation, cost", list(itertools.product(ACTIVATIONS, COSTS)))
def test_backprop_of_every_cost_and_activation_matches_finite_differences(activation, cost):
    """float64, three layers, one-hot targets; the cost is cost.fn on a forward pass."""
    rng = np.random.default_rng(5)
    net = Network([6, 5, 4, 3], rng, dtype="float64", activation=activation, cost=cost,
                  init="scaled")
    X = rng.random((8, 6))
    Y = one_hot(rng.integers(0, 3, 8), 3, np.float64)
    nabla_b, nabla_w = net.backprop(X, Y)
    numeric_b, numeric_w = numeric_gradients(net, lambda: float(net.cost_of(X, Y)))
    for grads, numeric in ((nabla_w, numeric_w), (nabla_b, numeric_b)):
        for g, n in zip(grads, numeric):
            np.testing.assert_allclose(g, n, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("cost", sorted(COSTS))
def test_the_l2_step_follows_the_gradient_of_the_regularized_cost(cost):
    """w <- w - eta * dC/dw, C = sum of the batch's costs / m + lmbda/(2n) sum w^2: checked
    against finite differences of that C, for weights (decayed) and biases (not)."""
    rng = np.random.default_rng(6)
    net = Network([5, 4, 3], rng, dtype="float64", cost=cost)
    X, Y = rng.random((4, 5)), one_hot(rng.integers(0, 3, 4), 3, np.float64)
    eta, lmbda, n = 0.5, 3.0, 20

    def regularized():
        return float(net.cost_of(X, Y)) / len(X) + lmbda / (2 * n) * sum(
            float((w ** 2).sum()) for w in net.weights)

    numeric_b, numeric_w = numeric_gradients(net, regularized)
    before = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
    net.update_mini_batch(X, Y, eta, lmbda=lmbda, n=n)
    for w, w0, g in zip(net.weights, before[0], numeric_w):
        np.testing.assert_allclose(w, w0 - eta * g, rtol=1e-7, atol=1e-9)
    for b, b0, g in zip(net.biases, before[1], numeric_b):
        np.testing.assert_allclose(b, b0 - eta * g, rtol=1e-7, atol=1e-9)


def test_a_momentum_step_by_hand():
    """One weight, one input, quadratic cost, y = 0: two steps of v <- mu v - eta grad, w <- w + v,
    with L2, computed here by hand."""
    net = Network([1, 1], 0, dtype="float64")
    net.weights[0][...], net.biases[0][...] = 2.0, -1.0
    x, y, eta, mu, lmbda, n = 1.0, 0.0, 0.5, 0.9, 0.2, 10
    w, b, v_w, v_b = 2.0, -1.0, 0.0, 0.0
    for _ in range(2):
        a = 1 / (1 + np.exp(-(w * x + b)))
        delta = (a - y) * a * (1 - a)  # dC/dz of 1/2 (a - y)^2
        v_w = mu * v_w - eta * (delta * x + lmbda / n * w)
        v_b = mu * v_b - eta * delta
        w, b = w + v_w, b + v_b
        net.update_mini_batch(np.array([[x]]), np.array([[y]]), eta, lmbda=lmbda, n=n, momentum=mu)
        assert net.weights[0][0, 0] == pytest.approx(w, rel=1e-12)
        assert net.biases[0][0] == pytest.approx(b, rel=1e-12)
    assert net.velocities[0][0, 0] == pytest.approx(v_w, rel=1e-12)


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


def test_initializations_have_the_book_scales():
    normal = Network([784, 100, 10], 0, dtype="float64")
    scaled = Network([784, 100, 10], 0, dtype="float64", init="scaled")
    he = Network([784, 100, 10], 0, dtype="float64", init="he")
    assert np.std(normal.weights[0]) == pytest.approx(1.0, rel=0.02)
    assert np.std(scaled.weights[0]) == pytest.approx(1 / np.sqrt(784), rel=0.02)
    assert np.std(he.weights[0]) == pytest.approx(np.sqrt(2 / 784), rel=0.02)
    assert np.std(scaled.biases[0]) == pytest.approx(1.0, rel=0.2)
    assert not he.biases[0].any()
    # scaled is normal's draw divided by sqrt(n_in): same generator, same order
    np.testing.assert_allclose(scaled.weights[0] * np.sqrt(784), normal.weights[0], rtol=1e-12)
    np.testing.assert_array_equal(scaled.biases[0], normal.biases[0])


@pytest.mark.parametrize("activation, cost", list(itertools.product(ACTIVATIONS, COSTS)))
def test_feedforward_outputs_what_the_cost_needs(activation, cost):
    net = Network([6, 5, 3], 0, dtype="float64", activation=activation, cost=cost)
    a = net.feedforward(np.random.default_rng(0).random((4, 6)))
    assert np.all((a > 0) & (a < 1))
    if cost == "log_likelihood":  # softmax: a distribution over the classes
        np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("sizes", [[], [784], [784, 0, 10]])
def test_invalid_sizes_are_rejected(sizes):
    with pytest.raises(ValueError, match="sizes"):
        Network(sizes, 0)
