"""Tests of nn.saving: a bit-exact round trip, and one clear error for every bad file."""

import io

import numpy as np
import pytest

from nn import Network, NetworkFileError, load_network, save_network
from nn.saving import FORMAT


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
