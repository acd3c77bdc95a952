"""Shared test fixtures: where the real MNIST files are, a network trained on them, a
per-user cache of the test session's own (tests never write into the real one), and the
bounds of hostile-input tests."""

import faulthandler
import os
import signal
import time
import tracemalloc
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# The property tests (test_hostile_*.py) must be reproducible in CI and bounded in time:
# derandomized (a fixed seed per test), no example database, and no per-example deadline
# from hypothesis (a loaded 2-core machine makes timing flaky); `bounded` below catches the
# slow and the greedy instead. `pytest --hypothesis-profile=hunt` searches longer, at random.
settings.register_profile("ci", derandomize=True, database=None, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("hunt", max_examples=5000, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")

from experiments.data.datasets import load_dataset
from nn import SGD, Network


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


@pytest.fixture(scope="session")
def within_bounds():
    """`bounded`, for tests (session-scoped: hypothesis runs many examples per test call)."""
    return bounded


class TookTooLong(AssertionError):
    """Raised by `bounded` when the code under test runs past its time limit."""


@contextmanager
def bounded(seconds=5.0, megabytes=64):
    """Fail the test when the block takes more than `seconds` or allocates more than `megabytes`.

    SIGALRM stops a Python loop that runs too long; a C loop (repr of a huge list, say)
    cannot be interrupted, so faulthandler ends the whole run, with every thread's
    traceback, well after the limit rather than letting CI hang. The memory bound is the
    peak that tracemalloc sees (Python objects and NumPy arrays alike) within the block.
    """
    def interrupt(signum, frame):
        raise TookTooLong(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    faulthandler.dump_traceback_later(max(60, 10 * seconds), exit=True)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        faulthandler.cancel_dump_traceback_later()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert elapsed < seconds, f"took {elapsed:.1f} s"
    assert peak < megabytes * 2**20, f"allocated {peak / 2**20:.0f} MiB at its peak"
