"""Tests of nn.saving: a bit-exact round trip, and one clear error for every bad file."""

import io
import struct
import zipfile

import numpy as np
import pytest

from nn import Network, NetworkFileError, load_network, save_network
from nn.saving import FORMAT, read_arrays


def saved(network):
    buffer = io.BytesIO()
    save_network(network, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_is_bit_exact_with_its_settings(tmp_path, dtype):
    net = Network([784, 30, 20, 10], 3, dtype=dtype, activation="tanh", cost="log_likelihood",
                  init="he")
    path = tmp_path / "network.npz"
    save_network(net, path)
    back = load_network(path)
    assert back.sizes == net.sizes and back.dtype == net.dtype and back.settings == net.settings
    for a, b in zip(net.weights + net.biases, back.weights + back.biases):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    X = np.random.default_rng(0).random((5, 784)).astype(dtype)
    assert back.feedforward(X).tobytes() == net.feedforward(X).tobytes()


def archive(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def good_arrays():
    net = Network([4, 3, 2], 0, dtype="float64")
    with np.load(io.BytesIO(saved(net))) as data:
        return {key: data[key] for key in data.files}


def replaced(**changes):
    arrays = good_arrays()
    arrays.update(changes)
    return archive(**{k: v for k, v in arrays.items() if v is not None})


def zip_fields_set(content, offsets, value):
    """content with a field of every local header (offsets[0] after b"PK\\x03\\x04") and
    central directory entry (offsets[1] after b"PK\\x01\\x02") set to a 2-byte value."""
    content = bytearray(content)
    for signature, offset in zip((b"PK\x03\x04", b"PK\x01\x02"), offsets):
        start = content.find(signature)
        while start >= 0:
            content[start + offset:start + offset + 2] = struct.pack("<H", value)
            start = content.find(signature, start + 4)
    return bytes(content)


def corrupt_deflate():
    """A compressed archive whose first entry's stream begins with a reserved block type."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **good_arrays())
    content = bytearray(buffer.getvalue())
    name_length, extra_length = struct.unpack("<HH", content[26:30])
    content[30 + name_length + extra_length] = 0xFF  # BTYPE 11: invalid
    return bytes(content)


def huge_header():
    """w0's .npy header declares 4e11 floats; its entry holds 64 bytes."""
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 4), }"
    header = header.ljust(117) + "\n"
    entries = {f"{key}.npy": npy_bytes(value) for key, value in good_arrays().items()}
    entries["w0.npy"] = (b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header))
                         + header.encode() + bytes(64))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def forged_size():
    """An archive of one stored entry whose 64 bytes declare 2^40 float64s, and whose
    central directory declares (in a zip64 field) 2^45 bytes for it."""
    header = io.BytesIO()
    np.lib.format.write_array_header_2_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (2 ** 40,)})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("a.npy", header.getvalue() + bytes(64))
    raw = buffer.getvalue()
    directory, end = raw.find(b"PK\x01\x02"), raw.find(b"PK\x05\x06")
    entry = bytearray(raw[directory:end])
    struct.pack_into("<I", entry, 24, 0xFFFFFFFF)  # its size: in the zip64 field
    extra = struct.pack("<HHQ", 1, 8, 2 ** 45)
    struct.pack_into("<H", entry, 30, len(extra))
    tail = bytearray(raw[end:])
    struct.pack_into("<I", tail, 12, len(entry) + len(extra))  # the directory's size
    return raw[:directory] + bytes(entry) + extra + bytes(tail)


@pytest.mark.filterwarnings("ignore:Stored array in format 3.0")
def test_an_npy_version_3_array_is_read():
    buffer = io.BytesIO()  # a field name beyond latin-1 makes np.save write version 3.0
    np.savez(buffer, a=np.zeros(3, dtype=[("\u03c0", "<f8")]), b=np.asfortranarray(np.eye(2)))
    arrays = read_arrays(buffer.getvalue())
    assert arrays["a"].dtype.names == ("\u03c0",) and arrays["b"].tolist() == [[1, 0], [0, 1]]


@pytest.mark.parametrize("content, message", [
    (b"", "x.npz: not a saved network (not an .npz archive)"),
    (b"not a zip at all", "x.npz: not a saved network (not an .npz archive)"),
    (saved(Network([4, 3, 2], 0))[:200], "x.npz: not a saved network ("),
    (archive(format=np.array(["a", None], dtype=object)),
     "x.npz: not a saved network (it holds Python objects (a pickle), which are never loaded)"),
    (archive(weights=np.zeros(3)), "x.npz: not a saved network (format None, expected "
                                   f"{FORMAT!r})"),
    (replaced(sizes=np.array([4, 3])), "x.npz: unexpected arrays b1, w1 for sizes [4, 3]"),
    (replaced(sizes=np.array([4, 3, 2, 5])), "x.npz: w2: missing (layer 3 of sizes [4, 3, 2, 5])"),
    (replaced(sizes=np.array([4, 10 ** 12, 2])),
     "x.npz: sizes: expected at least two layer sizes from 1 to 10,000,000"),
    (replaced(sizes=np.array([4.0, 3.0, 2.0])),
     "x.npz: sizes: expected at least two layer sizes from 1 to 10,000,000"),
    (replaced(w0=np.zeros((3, 5))),
     "x.npz: w0: expected float64 of shape (3, 4), got float64 of shape (3, 5)"),
    (replaced(b1=np.zeros(2, dtype=np.float32)),
     "x.npz: b1: expected float64 of shape (2,), got float32 of shape (2,)"),
    (replaced(cost=np.array("hinge")),
     "x.npz: cost: expected one of quadratic, cross_entropy, log_likelihood, got 'hinge'"),
    (replaced(dtype=np.array("float16")), "x.npz: dtype: expected one of float32, float64, got "
                                          "'float16'"),
    (zip_fields_set(saved(Network([4, 3, 2], 0)), (6, 8), 1),  # general purpose flag: encrypted
     "x.npz: not a saved network (it is encrypted)"),
    (zip_fields_set(saved(Network([4, 3, 2], 0)), (8, 10), 99),  # compression method 99
     "x.npz: not a saved network (That compression method is not supported)"),
    (corrupt_deflate(), "x.npz: not a saved network (Error -3 while decompressing data: invalid "
                        "block type)"),
    (huge_header(), "x.npz: not a saved network (w0.npy: its header declares (100000000000, 4) "
                    "of float64, more than the 192 bytes it holds)"),
    (forged_size(), "x.npz: not a saved network (a.npy: its header declares (1099511627776,) of "
                    "float64, more than the 35,184,372,088,832 bytes it holds)"),
])
def test_bad_files_give_one_error_naming_the_file(content, message):
    with pytest.raises(NetworkFileError) as caught:
        load_network(io.BytesIO(content), "x.npz")
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(NetworkFileError, match="no-such.npz: not a saved network .No such file"):
        load_network(tmp_path / "no-such.npz")


def test_a_stack_is_saved_one_member_at_a_time():
    stack = Network.stack([Network([4, 2], 0), Network([4, 2], 1)])
    with pytest.raises(ValueError, match="member"):
        saved(stack)
    assert load_network(io.BytesIO(saved(stack.member(1)))).weights[0].tobytes() == \
        Network([4, 2], 1).weights[0].tobytes()
