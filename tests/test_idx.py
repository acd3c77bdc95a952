"""Tests of experiments.data.idx on small synthetic IDX files: round trips and the exact error for each corruption."""

import gzip
import zlib

import numpy as np
import pytest

from experiments.data.idx import gunzip, parse_idx, read_bytes, read_images, read_labels, write_idx
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
    # A corrupt header's sizes are multiplied exactly, not wrapped around in int64, and
    # refused before any data is read.
    (idx_header(8, 2**32 - 1, 2**32 - 1, 2**32 - 1),
     "shape (4294967295, 4294967295, 4294967295) would be "
     f"{(2**32 - 1) ** 3} bytes of data, more than the 1073741824 an IDX file may hold here"),
    (idx_header(8, 2**31, 28, 28) + bytes(784),
     "shape (2147483648, 28, 28) would be 1683627180032 bytes of data, more than the "
     "1073741824 an IDX file may hold here"),
    (idx_header(8, 0, 2**32 - 1, 2**32 - 1),  # no data, but NumPy cannot shape it
     "shape (0, 4294967295, 4294967295) would be 18446744065119617025 bytes per item, more "
     "than the 1073741824 an IDX file may hold here"),
    (idx_header(8, 1_000_000, 28, 28) + bytes(784),  # under the limit: as far as it goes
     "truncated: 800 bytes, expected 784000016 for shape (1000000, 28, 28)"),
])
def test_corrupt_images_file(tmp_path, content, message):
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(content))
    assert error_of(read_images, path) == f"{path}: {message}"


def gzip_bomb(path, header, gibibytes):
    """A valid gzip file of `header` then `gibibytes` GiB of zeros, written in ~1 MB per GiB.

    Made of gzip members, which gzip readers concatenate (RFC 1952): one for the header,
    then one member of 64 MiB of zeros (64 KiB compressed) written over and over, so that
    the test makes the bomb in a fraction of a second without ever holding its content.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # gzip framing
    zeros = bytes(2**20)
    member = b"".join(compressor.compress(zeros) for _ in range(64)) + compressor.flush()
    with open(path, "wb") as bomb:
        bomb.write(gzip.compress(header))
        for _ in range(16 * gibibytes):
            bomb.write(member)
    return path


def test_a_gzip_bomb_is_refused_after_reading_what_its_header_declares(tmp_path,
                                                                        within_bounds):
    path = gzip_bomb(tmp_path / "train-images-idx3-ubyte.gz", idx_header(8, 10, 28, 28), 4)
    assert path.stat().st_size < 5_000_000  # 4 GiB once decompressed
    with within_bounds(seconds=5, megabytes=32):
        message = error_of(read_images, path)
    assert message == (f"{path}: has trailing bytes: more than {16 + 7840 + 2**20} bytes, "
                       f"expected {16 + 7840} for shape (10, 28, 28)")


def test_a_gzip_bomb_whose_header_declares_it_all_is_refused_before_reading_it(
        tmp_path, within_bounds):
    path = gzip_bomb(tmp_path / "train-labels-idx1-ubyte.gz", idx_header(8, 2**32 - 1), 4)
    with within_bounds(seconds=1, megabytes=1):
        message = error_of(read_labels, path)
    assert message == (f"{path}: shape (4294967295,) would be 4294967295 bytes of data, more "
                       f"than the 1073741824 an IDX file may hold here")


def test_trailing_bytes_of_a_plain_file_are_counted_from_its_size(tmp_path):
    path = tmp_path / "labels"
    path.write_bytes(idx_header(8, 2) + bytes(2 + 3 * 2**20))
    assert error_of(read_labels, path) == (
        f"{path}: has trailing bytes: {10 + 3 * 2**20} bytes, expected 10 for shape (2,)")


def test_whole_reads_are_bounded(tmp_path, within_bounds):
    path = gzip_bomb(tmp_path / "bomb.gz", b"", 1)
    with within_bounds(seconds=5, megabytes=64):
        assert error_of(lambda p: read_bytes(p, limit=2**25), path) == (
            f"{path}: more than {2**25} bytes once decompressed; not a file this reader accepts")
        with pytest.raises(DataError, match=r"^x: more than 1000 bytes once decompressed"):
            gunzip(gzip.compress(bytes(1001)), "x", limit=1000)
    assert gunzip(gzip.compress(b"abc"), "x") == b"abc"


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
