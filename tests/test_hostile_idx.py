"""Property tests of the IDX reader: random, damaged, lying files give an array or a DataError line.

Random bytes, IDX headers with random or hostile sizes (2**31 images, 2**32 - 1 of each
dimension) over short bodies, gzipped or not, with the gzip stream cut or corrupted. The
property: an array of the declared shape, or a DataError whose message is one line naming
the file; never another exception, never more than a few seconds or a few MiB (the
declared sizes go to terabytes). Examples that once failed are kept with @example.
"""

import gzip

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from experiments.data.idx import read_images, read_labels
from experiments.errors import DataError, NNSweepError

SIZES = st.one_of(st.sampled_from([0, 1, 2, 3, 28, 784, 60_000, 2**31, 2**31 - 1, 2**32 - 1]),
                  st.integers(0, 2**32 - 1))


@st.composite
def idx_files(draw):
    """The bytes of an IDX-like file: mostly a plausible header, a short body, maybe gzipped."""
    if draw(st.integers(0, 9)) == 0:
        content = draw(st.binary(max_size=300))
    else:
        magic = draw(st.sampled_from([b"\x00\x00", b"\x00\x00", b"\x00\x01", b"\x1f\x8b"]))
        type_code = draw(st.sampled_from([0x08, 0x08, 0x08, 0x09, 0x0D]))
        ndim = draw(st.sampled_from([1, 3, 3, 0, 2, 4, 255]))
        shape = draw(st.lists(SIZES, min_size=ndim, max_size=ndim)) if ndim <= 4 else []
        header = magic + bytes([type_code, ndim]) + b"".join(n.to_bytes(4, "big") for n in shape)
        header = header[:draw(st.integers(0, len(header)))] if draw(st.booleans()) else header
        declared = int(np.prod(shape or [0]))
        body_size = draw(st.one_of(st.integers(0, 3000), st.just(declared % 5000)))
        content = header + draw(st.binary(min_size=body_size, max_size=body_size))
    if draw(st.booleans()):
        content = gzip.compress(content, mtime=0)
        damage = draw(st.sampled_from(["none", "none", "cut", "flip"]))
        if damage == "cut":
            content = content[:draw(st.integers(0, len(content)))]
        elif damage == "flip" and content:
            position = draw(st.integers(0, len(content) - 1))
            content = (content[:position] + bytes([content[position] ^ draw(st.integers(1, 255))])
                       + content[position + 1:])
    return content


@pytest.fixture(scope="module")
def idx_path(tmp_path_factory):
    return tmp_path_factory.mktemp("hostile_idx") / "train-images-idx3-ubyte.gz"


@settings(max_examples=500)
@given(idx_files())
@example(gzip.compress(bytes([0, 0, 8, 3]) + (2**31).to_bytes(4, "big") + bytes(8) + bytes(100)))
@example(bytes([0, 0, 8, 1]) + (2**32 - 1).to_bytes(4, "big") + bytes(10))
@example(bytes([0, 0, 8, 3, 0, 0, 0, 0]) + b"\xff" * 8)  # found: no images of 2**32 - 1 squared
# pixels made NumPy's reshape raise ValueError (before this project read IDX in chunks too)
def test_any_file_is_an_array_or_one_line_of_data_error(idx_path, within_bounds, content):
    idx_path.write_bytes(content)
    for read in (read_images, lambda path: read_images(path, image_shape=None), read_labels):
        with within_bounds(seconds=5, megabytes=16):
            try:
                array = read(idx_path)
            except DataError as error:
                message = str(error)
                assert message.startswith(f"{idx_path}: ") and len(message.splitlines()) == 1
                continue
            except NNSweepError:  # not DataError: the wrong kind of error for a data file
                raise
        assert array.dtype == np.uint8
        assert array.nbytes <= len(content) or content[:2] == b"\x1f\x8b"  # no more than given
