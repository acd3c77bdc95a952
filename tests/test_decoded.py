"""Tests of experiments.data.decoded: entries made once from verified files only, mapped read-only,
remade when their file changes, and never in the way when the cache cannot be written."""

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

from experiments.data import decoded
from experiments.data.datasets import FILES, find_file, load_dataset
from experiments.data.decoded import decode_images, decode_labels, load_decoded
from experiments.data.idx import read_bytes, read_images, write_idx
from experiments.errors import DataError


@pytest.fixture
def images(tmp_path):
    """A gzipped IDX file of 5 random 28x28 images, and the MD5 of its decompressed bytes."""
    path = tmp_path / "data" / "train-images-idx3-ubyte.gz"
    path.parent.mkdir()
    write_idx(path, np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8))
    return path, hashlib.md5(read_bytes(path)).hexdigest()


def is_mapped(array):
    """A read-only view of a memory-mapped file (through any number of views)."""
    base = array.base
    while base is not None and not isinstance(base, np.memmap):
        base = base.base
    return base is not None and not array.flags.writeable


def test_a_verified_file_is_decoded_once_then_mapped(images, tmp_path, monkeypatch):
    path, md5 = images
    cache = tmp_path / "cache"
    first = load_decoded(path, decode_images, {md5}, cache)
    assert is_mapped(first)
    assert sorted(os.listdir(cache)) == [".lock", "train-images-idx3-ubyte.json",
                                         "train-images-idx3-ubyte.npy"]
    np.testing.assert_array_equal(first, read_images(path) / np.float32(255))
    assert first.dtype == np.float32 and first.shape == (5, 784)
    monkeypatch.setattr(decoded, "read_bytes", lambda path: pytest.fail("decoded again"))
    again = load_decoded(path, decode_images, {md5}, cache)
    assert is_mapped(again) and np.array_equal(again, first)


def test_the_cached_array_is_the_decoded_one_to_the_bit(images, tmp_path):
    path, md5 = images
    cached = load_decoded(path, decode_images, {md5}, tmp_path / "cache")
    fresh = decode_images(read_bytes(path), path)
    assert cached.tobytes() == fresh.tobytes()


def test_a_file_of_unknown_checksum_is_decoded_and_not_cached(images, tmp_path):
    path, _ = images
    array = load_decoded(path, decode_images, {"0" * 32}, tmp_path / "cache")
    assert not is_mapped(array) and array.shape == (5, 784)
    assert not list((tmp_path / "cache").glob("*.npy"))


def test_an_entry_is_remade_when_its_file_changes(images, tmp_path):
    path, md5 = images
    cache = tmp_path / "cache"
    load_decoded(path, decode_images, {md5}, cache)
    write_idx(path, np.full((3, 28, 28), 255, dtype=np.uint8))  # another file, same name
    new_md5 = hashlib.md5(read_bytes(path)).hexdigest()
    array = load_decoded(path, decode_images, {md5, new_md5}, cache)
    assert array.shape == (3, 784) and (array == 1).all()


def test_a_damaged_entry_is_remade(images, tmp_path):
    path, md5 = images
    cache = tmp_path / "cache"
    load_decoded(path, decode_images, {md5}, cache)
    npy = cache / "train-images-idx3-ubyte.npy"
    npy.write_bytes(npy.read_bytes()[:200])  # cut short
    array = load_decoded(path, decode_images, {md5}, cache)
    assert is_mapped(array) and array.shape == (5, 784)


def test_a_cache_that_cannot_be_written_only_makes_it_slower(images, tmp_path):
    path, md5 = images
    (tmp_path / "file").write_text("a file where the cache would go\n")
    array = load_decoded(path, decode_images, {md5}, tmp_path / "file" / "cache")
    assert not is_mapped(array)
    np.testing.assert_array_equal(array, read_images(path) / np.float32(255))


def test_a_bad_file_is_a_data_error_cached_or_not(tmp_path):
    path = tmp_path / "labels"
    path.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02")  # 5 labels announced, 2 given
    with pytest.raises(DataError, match="truncated"):
        load_decoded(path, decode_labels, {hashlib.md5(path.read_bytes()).hexdigest()},
                     tmp_path / "cache")


def test_real_mnist_loads_mapped_from_the_session_cache(mnist_dir):
    data = load_dataset("mnist", mnist_dir)
    assert all(is_mapped(array) for part in (data.training, data.validation, data.test)
               for array in part)
    assert data.training[0].shape == (50_000, 784) and data.training[1].dtype == np.int64
    np.testing.assert_array_equal(data.test[0][0], read_images(find_file(mnist_dir, FILES[2]))[0]
                                  / np.float32(255))


def test_another_process_finds_the_entry_and_is_ready_at_once(mnist_dir):
    load_dataset("mnist", mnist_dir)  # made (or found) by this process
    code = ("import time; t = time.perf_counter(); "
            "from experiments.data.datasets import load_dataset; "
            "import experiments.data.decoded as d; "
            "d.read_bytes = lambda path: 1 / 0; "  # decoding again would fail
            f"data = load_dataset('mnist', {mnist_dir!r}); "
            "print(time.perf_counter() - t, float(data.training[0][0].sum()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout.split()
    assert float(out[0]) < 1.0  # the imports, mostly; decoding alone took ~0.4 s
    assert float(out[1]) == float(load_dataset("mnist", mnist_dir).training[0][0].sum())


def test_a_bomb_is_refused_at_the_limit_before_it_is_decompressed_whole(tmp_path):
    import time
    import tracemalloc

    from test_idx import gzip_bomb
    bomb = gzip_bomb(tmp_path / "train-images-idx3-ubyte.gz",
                     bytes([0, 0, 8, 3]) + (1).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2,
                     gibibytes=1)
    start = time.monotonic()
    tracemalloc.start()
    with pytest.raises(DataError, match="more than 67108864 bytes once decompressed"):
        load_decoded(bomb, decode_images, set(), tmp_path / "cache", limit=2**26)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert time.monotonic() - start < 5 and peak < 300 * 2**20
