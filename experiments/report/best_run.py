"""The best run on the test set, from its saved weights: confusion matrix, most confident mistakes; not the table or curves.

The best run is the finished trial with the highest validation accuracy among those that
saved their network (experiments.store.networks): chosen without the test set, then shown
on it. Both figures are drawn again from network.npz whenever the report is, so results
copied from another machine get them too, wherever MNIST is found there.
"""

import math
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from experiments.data.datasets import SOURCES, load_test_set
from experiments.errors import ResultsError
from experiments.files import figure_png, write_atomically
from experiments.report.labels import network_label
from experiments.store.networks import NETWORK_FILE, TrainedRun, best_trained_run
from nn import load_network

CONFUSION_FILE = "confusion_matrix.png"
MISTAKES_FILE = "confident_mistakes.png"
FIGURE_TITLES = {CONFUSION_FILE: "Confusion matrix of the best run on the test set",
                 MISTAKES_FILE: "The test images the best run gets most confidently wrong"}
MISTAKES_SHOWN = 24  # 3 rows of 8
MISTAKES_PER_ROW = 8
DPI = 120


@dataclass(frozen=True)
class BestRun:
    """The best run's figures, written, and what its network did on the test set."""

    run: TrainedRun
    images: int  # in the test set
    right: int  # classified right
    files: tuple  # (file name, title) of each figure, in results.directory


def write_best_run_figures(results, table, data_dir=None) -> BestRun | None:
    """Draw the confusion matrix and the most confident mistakes of the best of `table`'s
    trials into results.directory. None when none of them saved its network (nothing to
    draw); NNSweepError (DataError, NetworkFileError, ResultsError) when they cannot be
    drawn: the test set is not found (never downloaded here) or the network does not fit it.
    """
    run_ids = [run_id for run_ids in table["run_ids"] for run_id in run_ids]
    run = best_trained_run(results.directory, run_ids)
    if run is None:
        return None
    network = load_network(run.network, name=str(run.network))
    X, labels = load_test_set(run.dataset, data_dir, download=False)  # (n, 784), (n,)
    classes = SOURCES[run.dataset].classes
    if (network.sizes[0], network.sizes[-1]) != (X.shape[1], len(classes)):
        raise ResultsError(f"{run.network}: a network of {network.sizes[0]} inputs and "
                           f"{network.sizes[-1]} outputs, expected {X.shape[1]} and "
                           f"{len(classes)} for {run.dataset}")
    outputs = network.feedforward(X)  # (n, n_classes)
    predictions = outputs.argmax(axis=1)  # (n,)
    matrix = confusion_matrix(labels, predictions, len(classes))
    mistakes = most_confident_mistakes(outputs, labels, MISTAKES_SHOWN)
    right = int(np.trace(matrix))
    who = f"{network_label(run.layers)}, seed {run.seed}"
    figures = {CONFUSION_FILE: confusion_figure(matrix, classes, who),
               MISTAKES_FILE: mistakes_figure(X, labels, outputs, mistakes, classes, who,
                                              len(labels) - right)}
    for name, figure in figures.items():
        write_atomically(results.directory / name, figure_png(figure))
    return BestRun(run, len(labels), right,
                   tuple((name, FIGURE_TITLES[name]) for name in figures))


def best_run_markdown(best: BestRun) -> str:
    """report.md's section on the best run: which it is, how it was chosen, its figures."""
    run, wrong = best.run, best.images - best.right
    about = (f"`{run.run_id}` ({network_label(run.layers)}, seed {run.seed}) has the highest "
             f"validation accuracy, {100 * run.validation_accuracy:.2f}%, of the "
             f"{run.candidates} trial{'s' * (run.candidates != 1)} whose network was saved; "
             f"the test set played no part in choosing it. On the {best.images:,} test images, "
             f"its {NETWORK_FILE} classifies {best.right:,} right "
             f"({100 * best.right / best.images:.2f}%) and {wrong:,} wrong:")
    figures = [f"![{title}]({name})\n" for name, title in best.files]
    return "\n".join(["## The best run", "", about, "", *figures])


def confusion_matrix(labels, predictions, n_classes) -> np.ndarray:
    """Counts of (true label, prediction) pairs: (n_classes, n_classes) int64, a row per
    true label, a column per prediction; the diagonal is what was classified right."""
    pairs = np.asarray(labels) * n_classes + np.asarray(predictions)  # (n,)
    return np.bincount(pairs, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def most_confident_mistakes(outputs, labels, count) -> np.ndarray:
    """Indices of at most `count` wrongly classified examples, the most confident first
    (the highest activation of the winning output neuron). outputs: (n, n_classes)."""
    predictions = outputs.argmax(axis=1)
    wrong = np.flatnonzero(predictions != labels)  # (k,)
    confidence = outputs[wrong, predictions[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")[:count]]


def confusion_figure(matrix, classes, who) -> Figure:
    """The confusion matrix with its counts written in; the diagonal in green by the share
    of the row classified right, the mistakes in red by their share of the row, on a scale
    of their own (up to the largest), so that 1% of errors still shows beside 99% right."""
    figure = _figure((8.5, 7.5))
    ax = figure.add_subplot()
    n = len(classes)
    share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)  # of each true label
    diagonal = np.eye(n, dtype=bool)
    worst = max(share[~diagonal].max(initial=0.0), 1e-9)
    ax.imshow(np.ma.masked_where(~diagonal, share), cmap="Greens", vmin=0, vmax=1)
    ax.imshow(np.ma.masked_where(diagonal | (matrix == 0), share), cmap="Reds", vmin=0,
              vmax=worst)
    for (row, column), count in np.ndenumerate(matrix):
        scale = 1.0 if row == column else worst
        ax.text(column, row, f"{count:,}", ha="center", va="center", fontsize=8,
                color="white" if share[row, column] > 0.6 * scale else "black")
    words = max(len(str(name)) for name in classes) > 2  # Fashion-MNIST's "T-shirt/top"
    ax.set_xticks(range(n), [str(name) for name in classes], rotation=45 if words else 0,
                  ha="right" if words else "center")
    recalls = np.diag(share)
    ax.set_yticks(range(n), [f"{name} ({100 * recall:.1f}%)"
                             for name, recall in zip(classes, recalls)])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true label (share of it classified right)")
    right = np.trace(matrix)
    ax.set_title(f"{who}: {right:,} of {matrix.sum():,} test images right "
                 f"({100 * right / max(matrix.sum(), 1):.2f}%)\ngreen: right; red: mistakes, "
                 f"darkest at {100 * worst:.1f}% of a row", fontsize=10)
    return figure


def mistakes_figure(X, labels, outputs, indices, classes, who, mistakes) -> Figure:
    """The images `indices` (most confident mistakes first), each titled with its true label,
    the network's answer and its confidence. X: (n, 784), outputs: (n, n_classes)."""
    columns = MISTAKES_PER_ROW
    rows = max(1, math.ceil(len(indices) / columns))
    figure = _figure((1.25 * columns, 1.55 * rows + 0.6))
    figure.suptitle(f"{who}: the {len(indices)} most confident of its {mistakes:,} mistakes "
                    "on the test set", fontsize=10)
    if not len(indices):
        figure.text(0.5, 0.5, "no mistakes", ha="center", va="center")
    side = math.isqrt(X.shape[1])  # 28
    for place, index in enumerate(indices):
        ax = figure.add_subplot(rows, columns, place + 1)
        # gray_r: ink dark on light, as the digit was written
        ax.imshow(X[index].reshape(side, side), cmap="gray_r", vmin=0, vmax=1)  # (28, 28)
        said = int(outputs[index].argmax())
        ax.set_title(f"true {classes[labels[index]]}\nsaid {classes[said]} "
                     f"({outputs[index, said]:.2f})", fontsize=8)
        ax.set_axis_off()
    return figure


def _figure(size):
    figure = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)  # Agg draws into memory: no display needed
    return figure
