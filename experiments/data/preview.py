"""A PNG grid of a data set's first images, each titled with its label: a look at the data, not a results plot."""

import math
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from experiments.errors import DataError

PARTS = ("training", "validation", "test")
PER_ROW = 10
CELL_INCHES = (1.2, 1.4)  # (width, height) of one image and its title
DPI = 100


def save_preview(dataset, path, count=20, part="training"):
    """Save the first `count` images of `dataset`'s `part` as a PNG grid; return `path`.

    dataset: a DataSet, whose part is (X, labels), X (n, 784) float32 in [0, 1].
    Each image is titled with its class name (the digit for MNIST). Up to 10 images per
    row; the PNG is (min(count, n, 10) * 120) x (rows * 140) pixels.
    """
    if part not in PARTS:
        raise DataError(f"{dataset.name}: no part {part!r}, expected one of {', '.join(PARTS)}")
    X, labels = getattr(dataset, part)
    count = min(int(count), len(X))
    if count < 1:
        raise DataError(f"{dataset.name}: nothing to preview in the {part} part "
                        f"({len(X)} images, count {count})")
    side = math.isqrt(X.shape[1])  # 28 for MNIST: rows of 784 pixels are 28 x 28 images
    columns = min(count, PER_ROW)
    rows = math.ceil(count / columns)
    figure = Figure(figsize=(columns * CELL_INCHES[0], rows * CELL_INCHES[1]), dpi=DPI)
    FigureCanvasAgg(figure)  # Agg renders it, whatever backend pyplot may use elsewhere
    for index in range(count):
        axes = figure.add_subplot(rows, columns, index + 1)
        # gray_r: ink (1.0) dark on a light background, as the digits were written.
        axes.imshow(X[index].reshape(side, side), cmap="gray_r", vmin=0.0, vmax=1.0)  # (28, 28)
        axes.set_title(str(dataset.classes[int(labels[index])]), fontsize=9)
        axes.set_axis_off()
    height = rows * CELL_INCHES[1]
    # Margins in inches, turned into figure fractions: the room for titles must not vary with rows.
    figure.subplots_adjust(left=0.02, right=0.98, bottom=0.05 / height, top=1 - 0.25 / height,
                           wspace=0.15, hspace=0.3)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path
