"""Shared test fixtures: where the real MNIST files are, for the tests that need them, and a
per-user cache of the test session's own, so that tests never write into the real one."""

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def session_cache(tmp_path_factory):
    """$NN_SWEEP_CACHE for this session (and the commands tests start), unless already set:
    the decoded data sets land there, not in ~/.cache."""
    if not os.environ.get("NN_SWEEP_CACHE"):
        os.environ["NN_SWEEP_CACHE"] = str(tmp_path_factory.mktemp("nn-sweep-cache"))
    return os.environ["NN_SWEEP_CACHE"]


@pytest.fixture(scope="session")
def mnist_dir():
    """$MNIST_DIR, or a skip that says how to run the test (never a download from a test)."""
    if not os.environ.get("MNIST_DIR"):
        pytest.skip("MNIST_DIR is not set: point it at the four MNIST files to run this test")
    return os.environ["MNIST_DIR"]
