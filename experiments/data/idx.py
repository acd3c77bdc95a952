"""Reader of the IDX file format of MNIST (gzipped or not); not where the files come from.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the data in C order.
MNIST uses type 0x08 (unsigned byte) only.

Files are read as streams, in chunks, and never further than the header says they go: a
small .gz that expands to gigabytes (a decompression bomb), or a header that declares
2**31 images, is refused after at most MAX_IDX_BYTES, not after filling the memory.
"""

import contextlib
import gzip
import io
import math
import zlib
from pathlib import Path

import numpy as np

from experiments.errors import DataError

GZIP_MAGIC = b"\x1f\x8b"
UNSIGNED_BYTE = 0x08
IMAGE_SHAPE = (28, 28)  # (rows, cols) of every MNIST and Fashion-MNIST image
# The most data an IDX file may hold: 20 times MNIST's largest file (47 MB of pixels).
# Beyond it the header is corrupt or hostile, or the data set would not fit a sweep anyway.
MAX_IDX_BYTES = 2**30
CHUNK = 2**20  # bytes decompressed at a time
_GZIP_ERRORS = (EOFError, OSError, zlib.error)  # truncated, not gzip after all, corrupt


def read_bytes(path, limit=MAX_IDX_BYTES):
    """The file's content, decompressed if it is gzip (told by its first bytes, not its name).

    More than `limit` bytes (once decompressed) is a DataError, told without reading further.
    """
    with _opened(path) as stream:
        return _all_of(stream, path, limit)


def gunzip(payload, name, limit=MAX_IDX_BYTES):
    """gzip bytes decompressed, at most `limit` of them (else a DataError naming `name`)."""
    with gzip.GzipFile(fileobj=io.BytesIO(payload), mode="rb") as stream:
        return _all_of(stream, name, limit)


def parse_idx(data, path, ndim):
    """The uint8 array held in IDX bytes `data`, checked to have `ndim` dimensions.

    `path` only names the file in error messages.
    """
    return _read_idx(io.BytesIO(data), path, ndim, size=len(data))


def read_images(path, image_shape=IMAGE_SHAPE):
    """Images of an IDX3 file as rows: (n, rows * cols) uint8.

    image_shape: the (rows, cols) every image must have; None accepts any.
    """
    return _rows(read_idx(path, ndim=3), path, image_shape)


def images_of(data, path, image_shape=IMAGE_SHAPE):
    """read_images of the file's (decompressed) bytes `data`; `path` names it in messages."""
    return _rows(parse_idx(data, path, ndim=3), path, image_shape)


def labels_of(data, path):
    """read_labels of the file's (decompressed) bytes `data`; `path` names it in messages."""
    return parse_idx(data, path, ndim=1)


def _rows(images, path, image_shape):
    """(n, rows, cols) images, checked against image_shape, as rows: (n, rows * cols)."""
    n, rows, cols = images.shape
    if image_shape is not None and (rows, cols) != tuple(image_shape):
        raise DataError(f"{path}: images of {rows}x{cols} pixels, "
                        f"expected {image_shape[0]}x{image_shape[1]}")
    # Explicit sizes, not -1: reshape cannot infer -1 when there are no images.
    return images.reshape(n, rows * cols)  # (n, rows * cols)


def read_labels(path):
    """Labels of an IDX1 file: (n,) uint8."""
    return read_idx(path, ndim=1)


def read_idx(path, ndim):
    """The uint8 array of IDX file `path` (gzipped or not), checked to have `ndim` dimensions."""
    with _opened(path) as stream:
        size = None if isinstance(stream, gzip.GzipFile) else Path(path).stat().st_size
        return _read_idx(stream, path, ndim, size)


@contextlib.contextmanager
def _opened(path):
    """The file as a binary stream: a GzipFile when its content starts as gzip does."""
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as error:
        raise DataError(f"{path}: cannot read: {error.strerror or error}") from None
    with raw:
        gzipped = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        if not gzipped:
            yield raw
            return
        with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
            yield stream


def _read_idx(stream, path, ndim, size=None):
    """The array of the IDX data in `stream`; `size`: the stream's length when known."""
    head = _read_up_to(stream, path, 4)
    if len(head) < 4 or head[0] != 0 or head[1] != 0:
        raise DataError(f"{path}: not an IDX file (magic number {head.hex() or 'missing'})")
    if head[2] != UNSIGNED_BYTE:
        raise DataError(f"{path}: IDX type code 0x{head[2]:02x}, expected 0x08 (unsigned byte)")
    if head[3] != ndim:
        raise DataError(f"{path}: {head[3]} dimensions, expected {ndim}")
    header = 4 + 4 * ndim
    dims = _read_up_to(stream, path, 4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataError(f"{path}: truncated header ({4 + len(dims)} bytes, expected {header})")
    shape = tuple(int.from_bytes(dims[4 * i:4 * i + 4], "big") for i in range(ndim))
    # math.prod: exact Python ints, where np.prod would wrap around on a corrupt header
    expected = header + math.prod(shape)
    if expected - header > MAX_IDX_BYTES:  # refused before any of it is read
        raise DataError(f"{path}: shape {shape} would be {expected - header} bytes of data, "
                        f"more than the {MAX_IDX_BYTES} an IDX file may hold here")
    if math.prod(shape[1:]) > MAX_IDX_BYTES:  # (0, 2**32 - 1, 2**32 - 1): NumPy cannot shape it
        raise DataError(f"{path}: shape {shape} would be {math.prod(shape[1:])} bytes per "
                        f"item, more than the {MAX_IDX_BYTES} an IDX file may hold here")
    data = _read_up_to(stream, path, expected - header)
    if len(data) < expected - header:
        raise DataError(f"{path}: truncated: {header + len(data)} bytes, "
                        f"expected {expected} for shape {shape}")
    if _read_up_to(stream, path, 1):
        # How long it is, counted a chunk at a time, at most one chunk further: a bomb's
        # header may declare little and its trailing bytes run to gigabytes.
        length = f"{size} bytes"
        if size is None:
            more = len(_read_up_to(stream, path, CHUNK))
            length = f"{expected + 1 + more} bytes" if more < CHUNK else \
                f"more than {expected + CHUNK} bytes"
        raise DataError(f"{path}: has trailing bytes: {length}, expected {expected} "
                        f"for shape {shape}")
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


def _all_of(stream, path, limit):
    """The rest of the stream as bytes; more than `limit` of them is a DataError."""
    data = _read_up_to(stream, path, limit + 1)
    if len(data) > limit:
        raise DataError(f"{path}: more than {limit} bytes once decompressed; "
                        f"not a file this reader accepts")
    return bytes(data)


def _read_up_to(stream, path, count):
    """Up to `count` bytes of the stream (fewer at its end), read a chunk at a time.

    A bytearray that grows as chunks come, so that a header declaring a gigabyte over a
    file of a few bytes costs a few bytes.
    """
    data = bytearray()
    try:
        while len(data) < count:
            chunk = stream.read(min(CHUNK, count - len(data)))
            if not chunk:
                break
            data += chunk
    except _GZIP_ERRORS as error:
        raise DataError(f"{path}: corrupt or truncated gzip data ({error})") from None
    return data


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
