"""Tests of experiments.data.idx on small synthetic IDX files: round trips and the exact error for each corruption."""

import gzip

import numpy as np
import pytest

from experiments.data.idx import parse_idx, read_bytes, read_images, read_labels, write_idx
from experiments.errors import DataError


def images(n=3, rows=28, cols=28):
    """(n, rows, cols) uint8 images whose pixels are all different mod 256."""
    return (np.arange(n * rows * cols) % 256).astype(np.uint8).reshape(n, rows, cols)


def idx_header(type_code, *shape):
    return bytes([0, 0, type_code, len(shape)]) + b"".join(n.to_bytes(4, "big") for n in shape)


def error_of(read, path):
    with pytest.raises(DataError) as caught:
        read(path)
    return str(caught.value)


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_images_round_trip_as_rows(tmp_path, name):
    path = tmp_path / name
    write_idx(path, images())
    X = read_images(path)
    assert X.shape == (3, 784) and X.dtype == np.uint8
    np.testing.assert_array_equal(X, images().reshape(3, 784))


@pytest.mark.parametrize("name", ["labels-idx1-ubyte", "labels-idx1-ubyte.gz"])
def test_labels_round_trip(tmp_path, name):
    write_idx(tmp_path / name, [5, 0, 4, 9])
    labels = read_labels(tmp_path / name)
    assert labels.shape == (4,)
    assert labels.tolist() == [5, 0, 4, 9]


def test_write_idx_gzips_only_names_ending_in_gz(tmp_path):
    write_idx(tmp_path / "a.gz", [1, 2])
    write_idx(tmp_path / "a", [1, 2])
    assert (tmp_path / "a.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert (tmp_path / "a").read_bytes() == idx_header(8, 2) + b"\x01\x02"


def test_gzip_is_told_by_content_not_name(tmp_path):
    write_idx(tmp_path / "real.gz", [7, 7])
    (tmp_path / "plain.gz").write_bytes(idx_header(8, 1) + b"\x03")  # not gzip despite its name
    (tmp_path / "gzipped").write_bytes((tmp_path / "real.gz").read_bytes())
    assert read_labels(tmp_path / "plain.gz").tolist() == [3]
    assert read_labels(tmp_path / "gzipped").tolist() == [7, 7]
    assert read_bytes(tmp_path / "gzipped") == idx_header(8, 2) + b"\x07\x07"


def test_no_images_is_an_empty_array_not_a_reshape_error(tmp_path):
    write_idx(tmp_path / "empty", np.zeros((0, 28, 28), np.uint8))
    assert read_images(tmp_path / "empty").shape == (0, 784)


def test_missing_file(tmp_path):
    path = tmp_path / "nothing.gz"
    assert error_of(read_labels, path) == f"{path}: cannot read: No such file or directory"


def test_truncated_gzip_stream(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(idx_header(8, 100) + bytes(100))[:-12])
    assert error_of(read_labels, path) == (
        f"{path}: corrupt or truncated gzip data "
        "(Compressed file ended before the end-of-stream marker was reached)")


def test_corrupt_gzip_stream(tmp_path):
    path = tmp_path / "labels.gz"
    data = bytearray(gzip.compress(idx_header(8, 100) + bytes(100)))
    data[10] = 0xFF  # first deflate byte: block type 3, which does not exist
    path.write_bytes(bytes(data))
    assert error_of(read_labels, path) == (
        f"{path}: corrupt or truncated gzip data (Error -3 while decompressing data: invalid block type)")


@pytest.mark.parametrize("content, message", [
    (b"", "not an IDX file (magic number missing)"),
    (b"\x00\x00", "not an IDX file (magic number 0000)"),
    (b"<html>not found</html>", "not an IDX file (magic number 3c68746d)"),
    (b"\x01\x00\x08\x01\x00\x00\x00\x00", "not an IDX file (magic number 01000801)"),
    (idx_header(0x0D, 1) + bytes(4), "IDX type code 0x0d, expected 0x08 (unsigned byte)"),
    (idx_header(8, 2, 2), "2 dimensions, expected 1"),
    (b"\x00\x00\x08\x01\x00\x00", "truncated header (6 bytes, expected 8)"),
    (idx_header(8, 5) + bytes(4), "truncated: 12 bytes, expected 13 for shape (5,)"),
    (idx_header(8, 5) + bytes(6), "has trailing bytes: 14 bytes, expected 13 for shape (5,)"),
])
def test_corrupt_labels_file(tmp_path, content, message):
    path = tmp_path / "labels"
    path.write_bytes(content)
    assert error_of(read_labels, path) == f"{path}: {message}"


@pytest.mark.parametrize("content, message", [
    (idx_header(8, 3), "1 dimensions, expected 3"),  # a labels file given as images
    (idx_header(8, 2, 28, 28) + bytes(784), "truncated: 800 bytes, expected 1584 for shape (2, 28, 28)"),
    (idx_header(8, 1, 16, 49) + bytes(784), "images of 16x49 pixels, expected 28x28"),
    # A corrupt header's sizes are multiplied exactly, not wrapped around in int64.
    (idx_header(8, 2**32 - 1, 2**32 - 1, 2**32 - 1),
     f"truncated: 16 bytes, expected {16 + (2**32 - 1) ** 3} "
     "for shape (4294967295, 4294967295, 4294967295)"),
])
def test_corrupt_images_file(tmp_path, content, message):
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(content))
    assert error_of(read_images, path) == f"{path}: {message}"


def test_other_image_sizes_on_request(tmp_path):
    write_idx(tmp_path / "small", images(2, 4, 5))
    assert read_images(tmp_path / "small", image_shape=(4, 5)).shape == (2, 20)
    assert read_images(tmp_path / "small", image_shape=None).shape == (2, 20)


def test_parse_idx_names_the_path_it_is_given():
    with pytest.raises(DataError, match=r"^somewhere/x: 1 dimensions, expected 3$"):
        parse_idx(idx_header(8, 0), "somewhere/x", ndim=3)


@pytest.mark.parametrize("values, dtype", [([1, 300], "int64"), ([-1], "int64"), ([0.5], "float64")])
def test_write_idx_refuses_what_bytes_cannot_hold(tmp_path, values, dtype):
    path = tmp_path / "x"
    with pytest.raises(DataError) as caught:
        write_idx(path, values)
    assert str(caught.value) == f"{path}: cannot write {dtype} values as unsigned bytes (0 to 255)"
    assert not path.exists()
