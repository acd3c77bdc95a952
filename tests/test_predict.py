"""Tests of sweep-predict: images made from MNIST test digits, --best, --mnist-test, JSON, one line per bad input."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_images import as_written, save
from test_networks import trial, write_sweep

from experiments.predict import cli
from nn import Network, save_network

PREDICT = Path(sys.executable).parent / "sweep-predict"


def confident(network, X, labels, count):
    """Indices of the first `count` test images the network gets right with confidence > 0.9
    (so that a test of the reading of images does not hang on the network's doubts)."""
    outputs = network.feedforward(X[:200])  # (200, 10)
    good = (outputs.argmax(axis=1) == labels[:200]) & (outputs.max(axis=1) > 0.9)
    return [int(index) for index in np.flatnonzero(good)[:count]]


@pytest.fixture
def sweep(tmp_path, trained_network):
    """A results directory: the trained network is the best by validation accuracy, a better
    one on the test set is not (untrained), another has no weights."""
    return write_sweep(tmp_path / "sweep", [
        trial("r-best", 0.91, network=trained_network),
        trial("r-test", 0.50, accuracy=0.99),
        trial("r-none", 0.99, weights=False),
    ])


@pytest.fixture
def digits(tmp_path, mnist, trained_network):
    """Four images of MNIST test digits as a user would bring them: {path: label}."""
    X, labels = mnist.test
    chosen = confident(trained_network, X, labels, 4)
    written = [Image.fromarray(np.uint8(255 * as_written(X[index]))) for index in chosen]
    paths = [save(1 - as_written(X[chosen[0]]), tmp_path / "light-on-dark.png"),
             save(as_written(X[chosen[1]]), tmp_path / "dark-on-light.png"),
             tmp_path / "enlarged.png", tmp_path / "photo.jpg"]
    written[2].resize((200, 200), Image.Resampling.BILINEAR).save(paths[2])
    written[3].resize((300, 300), Image.Resampling.BICUBIC).save(paths[3], quality=85)
    return {path: int(labels[index]) for path, index in zip(paths, chosen)}


def test_the_best_network_tells_the_digits_of_images_of_every_kind(sweep, digits, capsys):
    assert cli.main([str(sweep), "--best", *map(str, digits)]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert err == ""
    assert lines[0] == (f"network: {sweep / 'r-best' / 'network.npz'}, [784, 30, 10]; the best of "
                        "2 trials with saved weights by validation accuracy (91.00%)")
    for (path, label), (line, vector) in zip(digits.items(), zip(lines[1::2], lines[2::2])):
        name, _, rest = line.partition(": ")
        assert name == str(path) and rest.startswith(f"{label} with confidence 0.")
        assert vector.startswith("  output: [") and len(vector.split()) == 11
    assert len(lines) == 1 + 2 * len(digits)


def test_json_has_an_object_per_image_and_a_run_folder_names_the_network(sweep, digits, capsys):
    run_folder = sweep / "r-best"
    assert cli.main([str(run_folder), *map(str, digits), "--format", "json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(record["image"], record["digit"]) for record in records] == [
        (str(path), label) for path, label in digits.items()]
    for record in records:
        assert record["network"] == str(run_folder / "network.npz")
        assert len(record["output"]) == 10
        assert record["confidence"] == max(record["output"]) and 0 < record["confidence"] < 1


def test_mnist_test_images_with_their_labels(sweep, mnist_dir, capsys):
    argv = [str(sweep / "r-best" / "network.npz"), "--mnist-test", "0", "--mnist-test", "1",
            "--data-dir", mnist_dir]
    assert cli.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("mnist test image 0: 7 with confidence 0.")
    assert lines[1].endswith("; real label 7") and lines[3].endswith("; real label 2")
    assert cli.main([*argv[:3], "--format", "json", "--data-dir", mnist_dir]) == 0
    record = json.loads(capsys.readouterr().out)
    assert (record["image"], record["label"]) == ("mnist test image 0", 7)


def test_bad_images_are_one_line_each_and_exit_2_the_others_are_classified(sweep, digits,
                                                                          tmp_path, capsys):
    empty, text = tmp_path / "empty.png", tmp_path / "notes.jpg"
    empty.write_bytes(b"")
    text.write_text("a shopping list")
    good = next(iter(digits))
    assert cli.main([str(sweep), "--best", str(empty), str(good), str(text)]) == 2
    out, err = capsys.readouterr()
    assert err.splitlines() == [f"sweep-predict: {empty}: an empty file",
                                f"sweep-predict: {text}: not a PNG or JPEG image"]
    assert out.splitlines()[1].startswith(f"{good}: {digits[good]} with confidence")


def test_network_errors_are_one_line_and_exit_2(sweep, digits, tmp_path, mnist_dir, capsys):
    image = str(next(iter(digits)))
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    wide = tmp_path / "wide.npz"
    save_network(Network([785, 10], 0), wide)
    no_weights = write_sweep(tmp_path / "bare", [trial("a", 0.9, weights=False)])
    cases = {
        (str(tmp_path / "nowhere"), image): f"{tmp_path / 'nowhere'}: no such file or directory",
        (str(sweep), image): f"{sweep}: a sweep's results directory: add --best, or give one "
                             "of its run folders",
        (str(sweep / "r-none"), image): f"{sweep / 'r-none'}: no network.npz here, expected a "
                                        "trial's run folder or a .npz file",
        (str(no_weights), "--best", image): f"{no_weights}: no finished trial has a network.npz "
                                            "(did the sweep keep no weights?)",
        (str(tmp_path), "--best", image): f"{tmp_path / 'runs.csv'}: no such file; is this a "
                                          "sweep's results directory?",
        (str(corrupt), image): f"{corrupt}: not a saved network (File is not a zip file)",
        (str(wide), image): f"{wide}: a network of 785 inputs, expected 784 (28 x 28 images)",
        (str(sweep / "r-best"), "--mnist-test", "10000", "--data-dir", mnist_dir):
            "--mnist-test 10000: expected an index from 0 to 9999",
    }
    for argv, message in cases.items():
        assert cli.main(list(argv)) == 2, argv
        out, err = capsys.readouterr()
        assert (out, err) == ("", f"sweep-predict: {message}\n"), argv


def test_usage_errors_exit_2(sweep, capsys):
    assert cli.main([str(sweep), "--best"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "sweep-predict: error: give at least one IMAGE or --mnist-test N")


def test_the_installed_command_and_python_m_experiments_predict(sweep, digits):
    path, label = next(iter(digits.items()))
    for command in ([str(PREDICT)], [sys.executable, "-m", "experiments", "predict"]):
        done = subprocess.run([*command, str(sweep / "r-best"), str(path)], capture_output=True,
                              text=True, timeout=60, check=False)
        assert (done.returncode, done.stderr) == (0, "")
        assert done.stdout.splitlines()[1].startswith(f"{path}: {label} with confidence")
