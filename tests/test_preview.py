"""Tests of experiments.data.preview: a valid PNG of the expected size for synthetic data and real MNIST."""

import os
import struct
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from experiments.data.datasets import SOURCES, DataSet, load_dataset
from experiments.data.preview import save_preview
from experiments.errors import DataError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path):
    """(width, height) from a PNG's IHDR chunk, which must come first."""
    data = Path(path).read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def synthetic(n=13):
    """A DataSet of n images: image i is a horizontal bar at row 2i % 28, labelled i % 10."""
    X = np.zeros((n, 28, 28), np.float32)
    for i in range(n):
        X[i, (2 * i) % 28, 4:24] = 1.0
    part = (X.reshape(n, 784), np.arange(n) % 10)  # (n, 784), (n,)
    return DataSet(name="synthetic", directory=Path("."), training=part, validation=part,
                   test=part, classes=SOURCES["fashion-mnist"].classes)


@pytest.mark.parametrize("count, size", [(3, (360, 140)), (10, (1200, 140)), (13, (1200, 280)),
                                         (99, (1200, 280))])  # 99: all 13 there are
def test_png_of_the_expected_size(tmp_path, count, size):
    path = save_preview(synthetic(), tmp_path / "sub" / "preview.png", count=count)
    assert path == tmp_path / "sub" / "preview.png"
    assert png_size(path) == size
    assert imread(path).shape == (size[1], size[0], 4)  # (height, width, RGBA)


def test_images_are_drawn(tmp_path):
    path = save_preview(synthetic(), tmp_path / "p.png", count=3, part="test")
    pixels = imread(path)[..., :3]  # (140, 360, 3) in [0, 1]
    assert pixels.min() < 0.2 and pixels.max() > 0.9  # dark bars on a light background


def test_unknown_part(tmp_path):
    with pytest.raises(DataError) as caught:
        save_preview(synthetic(), tmp_path / "p.png", part="train")
    assert str(caught.value) == ("synthetic: no part 'train', expected one of "
                                 "training, validation, test")
    assert not (tmp_path / "p.png").exists()


def test_nothing_to_preview(tmp_path):
    with pytest.raises(DataError) as caught:
        save_preview(synthetic(), tmp_path / "p.png", count=0)
    assert str(caught.value) == "synthetic: nothing to preview in the training part (13 images, count 0)"


def test_real_mnist_preview(tmp_path):
    if not os.environ.get("MNIST_DIR"):
        pytest.skip("MNIST_DIR is not set: point it at the real MNIST files to preview them")
    data = load_dataset("mnist", train_size=20, environ={"MNIST_DIR": os.environ["MNIST_DIR"]})
    path = save_preview(data, tmp_path / "mnist.png")
    assert png_size(path) == (1200, 280)  # 20 images: two rows of ten
