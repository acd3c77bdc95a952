"""Tests of `python -m experiments train` and `show-data` on real MNIST: tiny runs, exact lines and exit codes."""

import contextlib
import io
import os
import re
import struct
from pathlib import Path

import pytest

from experiments.data.cli import show_data_main
from experiments.train.cli import train_main

MNIST_DIR = os.environ.get("MNIST_DIR", "")
pytestmark = pytest.mark.skipif(not MNIST_DIR, reason="MNIST_DIR is not set: point it at the "
                                                      "four MNIST files to run this test")
TINY = ["--data-dir", MNIST_DIR, "--train-size", "500", "--epochs", "1"]

EPOCH_LINE = re.compile(r"Epoch 1: (\d+) / 10000 \(test (\d+\.\d\d)%, validation (\d+\.\d\d)%, "
                        r"cost (\d+\.\d{4}), (\d+\.\d\d) s\)")
CLASSIFICATION_LINE = re.compile(
    r"classification of first test image: (\d) with confidence (\d\.\d\d); real label 7")


@pytest.fixture(scope="module")
def tiny_run():
    """(exit code, stdout, stderr) of one tiny training run, shared by the tests that read it."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = train_main(TINY)
    return code, out.getvalue(), err.getvalue()


def test_train_exits_0_and_writes_nothing_on_stderr(tiny_run):
    code, _, err = tiny_run
    assert code == 0 and err == ""


def test_train_prints_one_line_per_epoch_as_network_py_does(tiny_run):
    lines = tiny_run[1].splitlines()
    match = EPOCH_LINE.fullmatch(lines[0])
    assert match, lines[0]
    correct, test_percent = int(match[1]), float(match[2])
    assert 0 <= correct <= 10_000 and f"{correct / 100:.2f}" == match[2]
    assert 0 <= test_percent <= 100 and 0 <= float(match[3]) <= 100
    assert sum(line.startswith("Epoch ") for line in lines) == 1


def test_train_ends_with_the_classification_of_the_first_test_image(tiny_run):
    match = CLASSIFICATION_LINE.fullmatch(tiny_run[1].splitlines()[-1])
    assert match, tiny_run[1]
    assert 0 <= float(match[2]) <= 1


@pytest.mark.parametrize("sizes, message", [
    (["784", "30", "9"], "train: --layers: last layer must be 10 (the classes of mnist), got 9"),
    (["785", "30", "10"], "train: --layers: first layer must be 784 (the inputs of mnist), got 785"),
])
def test_train_with_layers_that_do_not_fit_mnist_is_one_line_and_exit_2(capsys, sizes, message):
    assert train_main([*TINY, "--layers", *sizes]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [message]
    assert captured.out == ""


def test_train_with_zero_epochs_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as caught:
        train_main([*TINY[:4], "--epochs", "0"])
    assert caught.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "python -m experiments train: error: argument --epochs: expected a positive integer, got '0'")


def png_size(path):
    """(width, height) from a PNG's IHDR chunk."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_show_data_writes_the_png_and_says_where(capsys, tmp_path):
    path = tmp_path / "x.png"
    assert show_data_main(["--data-dir", MNIST_DIR, "-o", str(path), "--count", "5"]) == 0
    assert capsys.readouterr().out == f"wrote {path}\n"
    assert png_size(path) == (5 * 120, 140)  # 5 images of 1.2 x 1.4 inches at 100 dpi, one row
    assert os.listdir(tmp_path) == ["x.png"]


def test_train_runs_on_one_blas_thread_as_a_sweep_trial_does(monkeypatch):
    """With more, a full batch's products may sum in another order than in the sweep."""
    from threadpoolctl import threadpool_info

    import experiments.train.cli as train_cli
    real_sgd, seen = train_cli.SGD, []

    def spy_sgd(*args, **kwargs):
        for record in real_sgd(*args, **kwargs):  # the threads while it trains
            seen.extend(pool["num_threads"] for pool in threadpool_info()
                        if pool["user_api"] == "blas")
            yield record

    monkeypatch.setattr(train_cli, "SGD", spy_sgd)
    with contextlib.redirect_stdout(io.StringIO()):
        assert train_main(TINY) == 0
    assert seen and set(seen) == {1}


def test_train_full_batch_takes_one_step_on_the_whole_training_slice():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert train_main(["--data-dir", MNIST_DIR, "--train-size", "500", "--epochs", "2",
                           "--mini-batch-size", "full", "--eta", "1"]) == 0
    assert len(EPOCH_LINE.findall(out.getvalue().replace("Epoch 2:", "Epoch 1:"))) == 2
