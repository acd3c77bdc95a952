"""Tests of the sweep-bench command: end to end on a tiny slice, peer selection, skipped peers."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.bench import cli as bench
from experiments.bench.peers import PEERS, PeerResult

BENCH = Path(sys.executable).parent / "sweep-bench"
MISSING = ("torch", "jax", "sklearn")


@pytest.fixture
def without_optional_peers(monkeypatch):
    """As if torch, jax and scikit-learn were not installed (and leave the environment as it was)."""
    for module in MISSING:
        monkeypatch.setitem(sys.modules, module, None)  # `import torch` now raises ImportError
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "XLA_FLAGS"):
        monkeypatch.setenv(variable, os.environ.get(variable, ""))  # restored after the test


@pytest.mark.skipif(not os.environ.get("MNIST_DIR"), reason="set MNIST_DIR to a directory with MNIST")
def test_runs_end_to_end_and_reports_missing_peers_as_skipped(capsys, without_optional_peers):
    argv = ["--train-size", "500", "--epochs", "1", "--peers",
            "numpy-float32,per-sample-float32,torch,jax-scan,sklearn"]
    assert bench.main(argv) == 0
    out = capsys.readouterr().out
    assert "ratio to numpy-float32" in out and "threadpool_limits(1)" in out and "CPU:" in out
    rows = {line.split()[0]: line for line in out.splitlines() if line.split()[:1] in ([p] for p in PEERS)}
    assert re.search(r"numpy-float32\s+float32\s+\d+\.\d+\s+1\.0x\s+\d+\.\d+%", rows["numpy-float32"])
    assert re.search(r"float32\s+\d+\.\d+\s+\d+\.\dx\s+\d+\.\d+%", rows["per-sample-float32"])
    for name in ("torch", "torch-manual", "jax-scan", "sklearn"):
        assert "skipped:" in rows[name] and "not installed" in rows[name]
    assert "jax-jit" not in rows  # not asked for
    assert "Arithmetic floor, float32" in out


@pytest.mark.parametrize("text, expected", [
    ("numpy", ["numpy-float32", "numpy-float64", "numpy-stack-1", "numpy-stack-4",
               "numpy-stack-8", "numpy-stack-16"]),
    ("numpy-stack", ["numpy-stack-1", "numpy-stack-4", "numpy-stack-8", "numpy-stack-16"]),
    ("jax-scan, numpy-float32", ["numpy-float32", "jax-scan"]),  # in table order
    ("torch", ["torch", "torch-manual"]),
])
def test_peer_list_takes_names_and_prefixes(text, expected):
    assert bench.peer_list(text) == expected


def test_unknown_peer_is_a_usage_error_with_a_suggestion(capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--peers", "pytorch"])
    assert exit_info.value.code == 2
    assert "unknown peer 'pytorch'" in capsys.readouterr().err


def test_table_divides_by_ours_and_leaves_skipped_rows_blank():
    results = [PeerResult("numpy-float32", "float32", (0.2, 0.1, 0.3), 0.95),
               PeerResult("torch", "float32", (1.6,), 0.9501, "autograd"),
               PeerResult("jax-scan", "-", (), None, "skipped: jax is not installed")]
    lines = bench.results_table(results, epochs=3).splitlines()
    assert re.search(r"numpy-float32\s+float32\s+0\.200\s+1\.0x\s+95\.00%", lines[2])
    assert re.search(r"torch\s+float32\s+1\.600\s+8\.0x\s+95\.01%\s+autograd", lines[3])
    assert re.search(r"jax-scan\s+-\s+-\s+-\s+-\s+skipped: jax is not installed", lines[4])


@pytest.mark.parametrize("command", [[str(BENCH)], [sys.executable, "-m", "experiments.bench"]])
def test_installed_command_and_module_both_work(command):
    done = subprocess.run([*command, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--mini-batch-size" in done.stdout and "--peers" in done.stdout


def test_a_stack_peer_reports_per_network_time_and_member_0_learns_as_the_single_network(
        mnist_dir):
    from experiments.bench.peers import BenchConfig, Problem, run_peer
    from experiments.data.datasets import load_dataset
    data = load_dataset("mnist", mnist_dir, train_size=2000)
    problem = Problem(*data.training, *data.test)
    config = BenchConfig(sizes=(784, 20, 10), mini_batch_size=10, eta=3.0, epochs=2, seed=0,
                         threads=1)
    single, stack = run_peer("numpy-float32", config, problem), run_peer("numpy-stack-4", config,
                                                                          problem)
    assert stack.accuracy == single.accuracy and len(stack.epoch_seconds) == 2


def test_median_of_runs_takes_the_median_run():
    from experiments.bench.peers import PeerResult
    runs = [PeerResult("p", "float32", (seconds,), 0.9) for seconds in (3.0, 1.0, 2.0)]
    assert bench.median_of_runs(runs).epoch_seconds == (2.0,)
    skipped = PeerResult("p", "-", (), None, "skipped: no jax")
    assert bench.median_of_runs([skipped, skipped]) is skipped
