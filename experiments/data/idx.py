"""Reader of the IDX file format of MNIST (gzipped or not); not where the files come from.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the data in C order.
MNIST uses type 0x08 (unsigned byte) only.
"""

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from experiments.errors import DataError

GZIP_MAGIC = b"\x1f\x8b"
UNSIGNED_BYTE = 0x08
IMAGE_SHAPE = (28, 28)  # (rows, cols) of every MNIST and Fashion-MNIST image


def read_bytes(path):
    """The file's content, decompressed if it is gzip (told by its first bytes, not its name)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataError(f"{path}: cannot read: {error.strerror or error}") from None
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as error:
        raise DataError(f"{path}: corrupt or truncated gzip data ({error})") from None


def parse_idx(data, path, ndim):
    """The uint8 array held in IDX bytes `data`, checked to have `ndim` dimensions.

    `path` only names the file in error messages.
    """
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(f"{path}: not an IDX file (magic number {data[:4].hex() or 'missing'})")
    if data[2] != UNSIGNED_BYTE:
        raise DataError(f"{path}: IDX type code 0x{data[2]:02x}, expected 0x08 (unsigned byte)")
    if data[3] != ndim:
        raise DataError(f"{path}: {data[3]} dimensions, expected {ndim}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated header ({len(data)} bytes, expected {header})")
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    # math.prod: exact Python ints, where np.prod would wrap around on a corrupt header
    expected = header + math.prod(shape)
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "has trailing bytes"
        raise DataError(
            f"{path}: {what}: {len(data)} bytes, expected {expected} for shape {shape}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def read_images(path, image_shape=IMAGE_SHAPE):
    """Images of an IDX3 file as rows: (n, rows * cols) uint8.

    image_shape: the (rows, cols) every image must have; None accepts any.
    """
    return images_of(read_bytes(path), path, image_shape)


def images_of(data, path, image_shape=IMAGE_SHAPE):
    """read_images of the file's (decompressed) bytes `data`; `path` names it in messages."""
    images = parse_idx(data, path, ndim=3)  # (n, rows, cols)
    n, rows, cols = images.shape
    if image_shape is not None and (rows, cols) != tuple(image_shape):
        raise DataError(f"{path}: images of {rows}x{cols} pixels, "
                        f"expected {image_shape[0]}x{image_shape[1]}")
    # Explicit sizes, not -1: reshape cannot infer -1 when there are no images.
    return images.reshape(n, rows * cols)  # (n, rows * cols)


def read_labels(path):
    """Labels of an IDX1 file: (n,) uint8."""
    return labels_of(read_bytes(path), path)


def labels_of(data, path):
    """read_labels of the file's (decompressed) bytes `data`; `path` names it in messages."""
    return parse_idx(data, path, ndim=1)


def write_idx(path, array):
    """Write a uint8 array as IDX (gzipped when the name ends in .gz): for tests and tools."""
    array = np.asarray(array)
    # Refuse what uint8 would silently wrap around (300 -> 44) or truncate (0.5 -> 0).
    if array.dtype != np.uint8 and (
            array.dtype.kind not in "iub" or (array.size and (array.min() < 0 or array.max() > 255))):
        raise DataError(f"{path}: cannot write {array.dtype} values as unsigned bytes (0 to 255)")
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, UNSIGNED_BYTE, array.ndim])
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    data = header + array.tobytes()
    if str(path).endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    Path(path).write_bytes(data)
