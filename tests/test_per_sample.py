"""Tests of nn.per_sample against nn.network: the same steps, example by example and vectorized."""

import numpy as np
import pytest

from nn import SGD, Network
from nn.activations import ACTIVATIONS
from nn.costs import COSTS
from nn.per_sample import SGD as per_sample_SGD
from nn.per_sample import PerSampleNetwork
from nn.training import one_hot


def assert_same_parameters(net, reference, rtol=1e-10):
    for w, w_ref in zip(net.weights, reference.weights):
        np.testing.assert_allclose(w, w_ref, rtol=rtol, atol=1e-12)
    for b, b_ref in zip(net.biases, reference.biases):
        np.testing.assert_allclose(b, b_ref[:, 0], rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_both_draw_the_same_starting_parameters(dtype):
    net, reference = Network([6, 4, 3], 7, dtype=dtype), PerSampleNetwork([6, 4, 3], 7, dtype=dtype)
    assert_same_parameters(net, reference, rtol=0)
    assert reference.weights[0].dtype == dtype and reference.biases[0].shape == (4, 1)


def test_backprop_is_the_sum_of_the_per_example_backprops():
    rng = np.random.default_rng(2)
    net, reference = Network([5, 4, 3, 2], 3, dtype="float64"), PerSampleNetwork([5, 4, 3, 2], 3)
    X, Y = rng.random((6, 5)), rng.random((6, 2))  # (m, n_0), (m, n_L)
    singles = [reference.backprop(x[:, None], y[:, None]) for x, y in zip(X, Y)]
    for activations in (None, net._activations(X)):  # with and without a forward pass given
        nabla_b, nabla_w = net.backprop(X, Y, activations)
        for l in range(3):
            np.testing.assert_allclose(nabla_w[l], sum(s[1][l] for s in singles), rtol=1e-12)
            np.testing.assert_allclose(nabla_b[l], sum(s[0][l][:, 0] for s in singles), rtol=1e-12)


def test_one_step_gives_the_same_parameters_and_cost():
    rng = np.random.default_rng(4)
    net, reference = Network([8, 5, 3], 1, dtype="float64"), PerSampleNetwork([8, 5, 3], 1)
    X, Y = rng.random((7, 8)), one_hot(rng.integers(0, 3, 7), 3, np.float64)
    cost, reference_cost = net.update_mini_batch(X, Y, 2.5), reference.update_mini_batch(X, Y, 2.5)
    assert cost == pytest.approx(reference_cost, rel=1e-12)
    assert_same_parameters(net, reference)


@pytest.mark.parametrize("activation, cost, lmbda, momentum", [
    (activation, cost, lmbda, momentum)
    for activation in ACTIVATIONS for cost in COSTS for lmbda in (0.0, 5.0) for momentum in (0.0, 0.9)
])
def test_every_combination_takes_the_book_steps(activation, cost, lmbda, momentum):
    """The float64 oracle: three steps of network2.py's update, example by example, against
    the vectorized step, for every activation, cost, L2 and momentum."""
    rng = np.random.default_rng(8)
    settings = {"activation": activation, "cost": cost, "init": "scaled"}
    net = Network([7, 5, 4, 3], 2, dtype="float64", **settings)
    reference = PerSampleNetwork([7, 5, 4, 3], 2, **settings)
    for step in range(3):
        X, Y = rng.random((6, 7)), one_hot(rng.integers(0, 3, 6), 3, np.float64)
        cost_sum = net.update_mini_batch(X, Y, 0.7, lmbda=lmbda, n=30, momentum=momentum)
        reference_sum = reference.update_mini_batch(X, Y, 0.7, lmbda=lmbda, n=30,
                                                    momentum=momentum)
        assert float(cost_sum) == pytest.approx(reference_sum, rel=1e-10)
        assert_same_parameters(net, reference)


def test_sgd_takes_the_same_steps_on_real_mnist(mnist_slice):
    """Same start, same shuffles (the seed's generator), two epochs with a last smaller batch."""
    X, labels = mnist_slice
    runs = []
    for network_class, train in ((Network, SGD), (PerSampleNetwork, per_sample_SGD)):
        rng = np.random.default_rng(0)
        net = network_class([784, 30, 10], rng, dtype="float64")
        records = list(train(net, (X, labels), 2, 10, 3.0, rng, test_data=(X, labels)))
        runs.append((net, records))
    (net, records), (reference, reference_records) = runs
    assert_same_parameters(net, reference, rtol=1e-9)
    for r, r_ref in zip(records, reference_records):
        assert r.cost == pytest.approx(r_ref.cost, rel=1e-10)
        assert r.accuracy == r_ref.accuracy


@pytest.fixture
def mnist_slice(mnist_dir):
    """The first 95 MNIST training images (9 mini-batches of 10 and one of 5)."""
    from experiments.data.datasets import load_dataset

    X, labels = load_dataset("mnist", mnist_dir, train_size=95).training
    return X.astype(np.float64), labels
