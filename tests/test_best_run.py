"""Tests of experiments.report.best_run: the best run's figures drawn from its weights, or left out (report.md unchanged)."""

import numpy as np
from matplotlib.image import imread
from test_networks import trial, write_sweep
from test_store import metrics

from experiments.report import cli as report_cli
from experiments.report.best_run import (
    CONFUSION_FILE,
    MISTAKES_FILE,
    confusion_figure,
    confusion_matrix,
    mistakes_figure,
    most_confident_mistakes,
)
from experiments.store.networks import network_path
from nn import save_network


def test_confusion_matrix_counts_true_labels_by_row_and_predictions_by_column():
    labels = np.array([0, 0, 1, 2, 2, 2])
    predictions = np.array([0, 1, 1, 2, 0, 2])
    assert confusion_matrix(labels, predictions, 3).tolist() == [[1, 1, 0],
                                                                 [0, 1, 0],
                                                                 [1, 0, 2]]


def test_most_confident_mistakes_come_first():
    outputs = np.array([[0.9, 0.1], [0.2, 0.7], [0.4, 0.6], [0.95, 0.3], [0.1, 0.8]])
    labels = np.array([0, 0, 0, 1, 1])  # wrong: 1 (0.7), 2 (0.6), 3 (0.95)
    assert most_confident_mistakes(outputs, labels, 5).tolist() == [3, 1, 2]
    assert most_confident_mistakes(outputs, labels, 2).tolist() == [3, 1]


def test_the_figures_say_what_they_show():
    matrix = np.array([[90, 10], [0, 100]])
    figure = confusion_figure(matrix, ("cat", "dog"), "[2, 2], seed 0")
    ax = figure.axes[0]
    assert ax.get_title() == ("[2, 2], seed 0: 190 of 200 test images right (95.00%)\n"
                              "green: right; red: mistakes, darkest at 10.0% of a row")
    assert [label.get_text() for label in ax.get_yticklabels()] == ["cat (90.0%)", "dog (100.0%)"]
    assert [text.get_text() for text in ax.texts] == ["90", "10", "0", "100"]
    X = np.zeros((3, 4))
    outputs = np.array([[0.2, 0.9], [0.9, 0.1], [0.3, 0.6]])
    figure = mistakes_figure(X, np.array([0, 0, 0]), outputs, [0, 2], ("cat", "dog"), "net", 2)
    assert [ax.get_title() for ax in figure.axes] == ["true cat\nsaid dog (0.90)",
                                                      "true cat\nsaid dog (0.60)"]


def test_report_of_a_sweep_with_weights_shows_the_best_run_and_without_is_unchanged(
        tmp_path, trained_network, mnist, mnist_dir, capsys):
    rows = [trial("worse", 0.40, weights=False),
            trial("best", 0.91, weights=False, layers="784-30-10"),
            trial("on-test", 0.30, accuracy=0.99, weights=False)]
    directory = write_sweep(tmp_path / "s", rows,
                            [epoch for row in rows for epoch in metrics(row["run_id"])])
    argv = [str(directory), "--data-dir", mnist_dir]
    assert report_cli.main(argv) == 0
    without = (directory / "report.md").read_bytes()
    assert not (directory / CONFUSION_FILE).exists() and "note" not in capsys.readouterr().err

    save_network(trained_network, network_path(directory, "best"))
    save_network(trial("x", 0)["network"], network_path(directory, "on-test"))
    assert report_cli.main(argv) == 0
    err = capsys.readouterr().err
    assert err == (f"sweep-report: wrote {directory / 'report.md'}, "
                   f"{directory / 'learning_curves.png'}, "
                   f"{directory / 'accuracy_vs_parameters.png'}, {directory / CONFUSION_FILE}, "
                   f"{directory / MISTAKES_FILE}\n")
    report = (directory / "report.md").read_text()
    assert report.startswith(without.decode())  # the page as it was, and a section below
    X, labels = mnist.test
    right = trained_network.evaluate(X, labels)
    assert report[len(without.decode()):] == (
        "\n## The best run\n\n"
        "`best` ([784, 30, 10], seed 0) has the highest validation accuracy, 91.00%, of the 2 "
        "trials whose network was saved; the test set played no part in choosing it. On the "
        f"10,000 test images, its network.npz classifies {right:,} right ({right / 100:.2f}%) "
        f"and {10_000 - right:,} wrong:\n\n"
        "![Confusion matrix of the best run on the test set](confusion_matrix.png)\n\n"
        "![The test images the best run gets most confidently wrong](confident_mistakes.png)\n")
    for name in (CONFUSION_FILE, MISTAKES_FILE):
        assert imread(directory / name).shape[2] == 4  # a PNG matplotlib reads back
    assert not list(directory.glob("*.tmp"))

    network_path(directory, "best").unlink()
    network_path(directory, "on-test").unlink()
    assert report_cli.main(argv) == 0
    assert (directory / "report.md").read_bytes() == without


def test_without_the_test_set_or_with_a_damaged_network_the_report_is_written_with_a_note(
        tmp_path, trained_network, capsys):
    directory = write_sweep(tmp_path / "s", [trial("best", 0.9, network=trained_network)],
                            metrics("best"))
    empty = tmp_path / "no-mnist"
    empty.mkdir()
    assert report_cli.main([str(directory), "--data-dir", str(empty)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (f"sweep-report: note: no figures of the best run: {empty}: the data "
                      "directory lacks train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
                      "t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]")
    assert err[1].startswith("sweep-report: wrote ") and len(err) == 2
    assert "## The best run" not in (directory / "report.md").read_text()
    assert not (directory / CONFUSION_FILE).exists()

    network_path(directory, "best").write_bytes(b"PK\x03\x04 not really a zip")
    assert report_cli.main([str(directory)]) == 0
    assert capsys.readouterr().err.splitlines()[0] == (
        f"sweep-report: note: no figures of the best run: {network_path(directory, 'best')}: "
        "not a saved network (File is not a zip file)")
