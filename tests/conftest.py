"""Shared test fixtures: where the real MNIST files are, for the tests that need them."""

import os

import pytest


@pytest.fixture(scope="session")
def mnist_dir():
    """$MNIST_DIR, or a skip that says how to run the test (never a download from a test)."""
    if not os.environ.get("MNIST_DIR"):
        pytest.skip("MNIST_DIR is not set: point it at the four MNIST files to run this test")
    return os.environ["MNIST_DIR"]
