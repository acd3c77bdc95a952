"""Shared test fixtures: where the real MNIST files are, and a network trained on them."""

import os

import numpy as np
import pytest

from experiments.data.datasets import load_dataset
from nn import SGD, Network


@pytest.fixture(scope="session")
def mnist_dir():
    """$MNIST_DIR, or a skip that says how to run the test (never a download from a test)."""
    if not os.environ.get("MNIST_DIR"):
        pytest.skip("MNIST_DIR is not set: point it at the four MNIST files to run this test")
    return os.environ["MNIST_DIR"]


@pytest.fixture(scope="session")
def mnist(mnist_dir):
    """MNIST, split as a sweep splits it, its training part cut to the first 10,000 images."""
    return load_dataset("mnist", mnist_dir, train_size=10_000)


@pytest.fixture(scope="session")
def trained_network(mnist):
    """[784, 30, 10] trained for 3 epochs on 10,000 images: about 90% right on the test set,
    in well under a second."""
    rng = np.random.default_rng(0)
    network = Network([784, 30, 10], rng)
    for _ in SGD(network, mnist.training, 3, 10, 3.0, rng):
        pass
    return network

