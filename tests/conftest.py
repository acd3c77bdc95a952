"""Shared test fixtures: where the real MNIST files are, and the bounds of hostile-input tests."""

import faulthandler
import os
import signal
import time
import tracemalloc
from contextlib import contextmanager

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


@pytest.fixture(scope="session")
def mnist_dir():
    """$MNIST_DIR, or a skip that says how to run the test (never a download from a test)."""
    if not os.environ.get("MNIST_DIR"):
        pytest.skip("MNIST_DIR is not set: point it at the four MNIST files to run this test")
    return os.environ["MNIST_DIR"]


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
