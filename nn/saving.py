"""A trained network to and from an .npz file (NumPy's zip of arrays); the only I/O in nn.

The file holds plain arrays, never a pickle: `format`, `sizes`, `dtype`, `activation`,
`cost`, `init`, then `w0`, `b0`, `w1`, `b1`, ... (weights[l] (n_out, n_in) and biases[l]
(n_out,)). Loading reads it with allow_pickle=False and checks every array's shape and
dtype against `sizes` and `dtype` before it builds the network, so a truncated, tampered or
foreign file is one NetworkFileError naming the file, never a reshape traceback.
"""

import ast
import io
import math
import os
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from nn.activations import ACTIVATIONS
from nn.costs import COSTS
from nn.errors import NetworkFileError
from nn.initializers import INITIALIZERS
from nn.network import DTYPES, Network

FORMAT = "nn-sweep network 1"
ZIP_MAGIC = b"PK\x03\x04"  # how every .npz (a zip file) begins
MAX_LAYER_SIZE = 10_000_000  # a tampered `sizes` must not make us allocate terabytes
# .npy version -> how its header's length is packed, and the header's encoding
_HEADER_LENGTHS = {(1, 0): ("<H", "latin1"), (2, 0): ("<I", "latin1"), (3, 0): ("<I", "utf8")}


def save_network(network, file):
    """Write one network (leading shape ()) to `file`, a path or a binary file object."""
    if network.lead:
        raise ValueError("save one network: take network.member(k) of a stack")
    arrays = {"format": np.array(FORMAT), "sizes": np.array(network.sizes, dtype=np.int64),
              "dtype": np.array(network.dtype.name)}
    arrays.update({key: np.array(value) for key, value in network.settings.items()})
    for l, (w, b) in enumerate(zip(network.weights, network.biases)):
        arrays[f"w{l}"], arrays[f"b{l}"] = w, b
    np.savez(file, **arrays)


def load_network(file, name=None):
    """The Network saved in `file` (a path or a binary file object); `name` names it in errors."""
    if name is None:  # a path names itself whole; a file object by its name, if it has one
        name = str(file) if isinstance(file, (str, os.PathLike)) else getattr(file, "name", "")
    try:
        content = file.read() if hasattr(file, "read") else Path(file).read_bytes()
    except OSError as error:
        raise NetworkFileError(f"{name}: not a saved network ({error.strerror or error})") from None
    try:
        arrays = read_arrays(content)
    except ValueError as error:
        raise NetworkFileError(f"{name}: not a saved network ({error})") from None
    return _network(name, arrays)


def read_arrays(content):
    """{name: array} of the .npz archive `content` (bytes), read with allow_pickle=False.

    Anything else raises ValueError saying why in a line: not a zip, damaged (a truncated
    file, a corrupt compressed stream), encrypted or compressed in a way zipfile cannot
    read, Python objects, or an array whose header declares more data than its entry holds
    (checked before NumPy allocates what the header asks for).
    """
    if not content.startswith(ZIP_MAGIC):  # else np.load would try it as a pickle
        raise ValueError("not an .npz archive")
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            for info in archive.infolist():
                with archive.open(info) as entry:
                    _check_header(info, entry, len(content))
        with np.load(io.BytesIO(content), allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, zlib.error,
            NotImplementedError, RuntimeError) as error:  # the last two: method, password
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        if "pickle" in reason.lower() or "object arrays" in reason.lower():
            reason = "it holds Python objects (a pickle), which are never loaded"
        elif "password required" in reason:  # zipfile names the entry by its whole repr
            reason = "it is encrypted"
        raise ValueError(reason) from None


def _check_header(info, entry, content_size):
    """Refuse an .npy entry whose header declares more bytes of data than the entry can
    hold: its declared size, which a deflated entry may reach from at most 1032 times its
    archive's length (deflate's largest ratio), so that a forged size is refused too."""
    version = tuple(entry.read(8)[6:8])  # after the magic string b"\x93NUMPY"
    if version not in _HEADER_LENGTHS:
        raise ValueError(f"{info.filename}: not an .npy array (version {version})")
    length_format, encoding = _HEADER_LENGTHS[version]
    length = struct.unpack(length_format, entry.read(struct.calcsize(length_format)))[0]
    if length > 65_536:
        raise ValueError(f"{info.filename}: an .npy header of {length:,} bytes")
    header = ast.literal_eval(entry.read(length).decode(encoding))
    shape, dtype = tuple(header["shape"]), np.lib.format.descr_to_dtype(header["descr"])
    if not dtype.hasobject and math.prod(shape) * dtype.itemsize > min(info.file_size,
                                                                       1032 * content_size):
        raise ValueError(f"{info.filename}: its header declares {shape} of {dtype}, more than "
                         f"the {info.file_size:,} bytes it holds")



def _network(name, arrays):
    def fail(reason):
        raise NetworkFileError(f"{name}: {reason}")

    if _text(arrays.get("format")) != FORMAT:
        fail(f"not a saved network (format {_text(arrays.get('format'))!r}, expected {FORMAT!r})")
    sizes = arrays.get("sizes")
    if (sizes is None or sizes.ndim != 1 or sizes.dtype.kind not in "iu" or len(sizes) < 2
            or sizes.min() < 1 or sizes.max() > MAX_LAYER_SIZE):
        fail(f"sizes: expected at least two layer sizes from 1 to {MAX_LAYER_SIZE:,}")
    sizes = [int(n) for n in sizes]
    dtype = _choice(arrays, "dtype", DTYPES, fail)
    settings = {key: _choice(arrays, key, registry, fail)
                for key, registry in (("activation", ACTIVATIONS), ("cost", COSTS),
                                      ("init", INITIALIZERS))}
    expected = {"format", "sizes", "dtype", *settings}
    wb = []
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        for key, shape in ((f"w{l}", (n_out, n_in)), (f"b{l}", (n_out,))):
            array = arrays.get(key)
            if array is None:
                fail(f"{key}: missing (layer {l + 1} of sizes {sizes})")
            if array.shape != shape or array.dtype != np.dtype(DTYPES[dtype]):
                fail(f"{key}: expected {dtype} of shape {shape}, got {array.dtype} of shape "
                     f"{array.shape}")
            expected.add(key)
        wb.append(np.column_stack([arrays[f"w{l}"], arrays[f"b{l}"]]))
    unknown = sorted(set(arrays) - expected)
    if unknown:
        fail(f"unexpected arrays {', '.join(unknown)} for sizes {sizes}")
    return Network.from_parameters(sizes, wb, **settings)


def _text(array):
    """The string a 0-d unicode array holds, or None."""
    if array is None or array.shape != () or array.dtype.kind != "U":
        return None
    return str(array)


def _choice(arrays, key, registry, fail):
    value = _text(arrays.get(key))
    if value not in registry:
        fail(f"{key}: expected one of {', '.join(registry)}, got {value!r}")
    return value
