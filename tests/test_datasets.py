"""Tests of experiments.data.datasets: where data is found, downloads from a local server, checks, and Nielsen's split.

Downloads are tested against http.server on 127.0.0.1 with tiny synthetic files; the split
and the checksum table against the real MNIST (MNIST_DIR) and Fashion-MNIST when present.
"""

import dataclasses
import errno
import functools
import hashlib
import http.server
import os
import shutil
import socket
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest

import experiments.data.datasets as datasets
from experiments.data.datasets import (
    FILES,
    SOURCES,
    TRAINING_IMAGES,
    Source,
    cache_dir,
    fetch,
    find_file,
    load_dataset,
    locate,
    missing_files,
)
from experiments.data.idx import read_bytes, read_images, read_labels, write_idx
from experiments.errors import DataError

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
GZ_FILES = ", ".join(stem + ".gz" for stem in FILES)


# ---- tiny synthetic data sets -------------------------------------------------------------

def write_tiny(directory, n_train=8, n_test=3, train_labels=None, image_shape=(28, 28), gz=True):
    """Write the four files of a tiny data set; return {stem: MD5 of its decompressed bytes}."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(n_train)
    arrays = {
        FILES[0]: rng.integers(0, 256, (n_train, *image_shape), dtype=np.uint8),
        FILES[1]: np.arange(n_train) % 10 if train_labels is None else train_labels,
        FILES[2]: rng.integers(0, 256, (n_test, *image_shape), dtype=np.uint8),
        FILES[3]: (np.arange(n_test) + 3) % 10,
    }
    for stem, array in arrays.items():
        write_idx(directory / (stem + (".gz" if gz else "")), array)
    return {stem: hashlib.md5(read_bytes(find_file(directory, stem))).hexdigest() for stem in FILES}


def tiny_source(md5=None, mirrors=(), system_dirs=()):
    """A 10-class data set 'tiny' whose first 6 training images train and the rest validate."""
    md5 = md5 or {stem: {"0" * 32} for stem in FILES}
    return Source(name="tiny", env_var="TINY_DIR", mirrors=tuple(mirrors),
                  md5={stem: {digest} if isinstance(digest, str) else digest
                       for stem, digest in md5.items()},
                  system_dirs=tuple(str(d) for d in system_dirs), training_images=6)


@pytest.fixture
def use_sources(monkeypatch):
    """Make the given Sources the only known data sets."""
    def use(*sources):
        monkeypatch.setattr(datasets, "SOURCES", {source.name: source for source in sources})
    return use


def refused_url():
    """A URL on 127.0.0.1 where nothing listens: a port just bound, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


REFUSED = f"[Errno {errno.ECONNREFUSED}] {os.strerror(errno.ECONNREFUSED)}"


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/'www'; yields (base URL, that directory)."""
    root = tmp_path / "www"
    root.mkdir()

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", root
    httpd.shutdown()
    httpd.server_close()
    thread.join()


# ---- where data is found -------------------------------------------------------------------

def test_cache_dir_precedence(tmp_path):
    assert cache_dir({"NN_SWEEP_CACHE": "/c", "XDG_CACHE_HOME": "/x", "HOME": "/h"}) == Path("/c")
    assert cache_dir({"XDG_CACHE_HOME": "/x", "HOME": "/h"}) == Path("/x/nn-sweep")
    assert cache_dir({"XDG_CACHE_HOME": "relative", "HOME": "/h"}) == Path("/h/.cache/nn-sweep")
    assert cache_dir({"HOME": "/h"}) == Path("/h/.cache/nn-sweep")
    assert cache_dir({}) == Path.home() / ".cache" / "nn-sweep"


def test_find_and_missing_files(tmp_path):
    write_tiny(tmp_path, gz=False)
    (tmp_path / (FILES[0] + ".gz")).write_bytes(b"")
    assert find_file(tmp_path, FILES[0]) == tmp_path / (FILES[0] + ".gz")  # .gz first
    assert find_file(tmp_path, FILES[1]) == tmp_path / FILES[1]
    (tmp_path / FILES[3]).unlink()
    assert missing_files(tmp_path) == [FILES[3]]


def test_location_order(tmp_path, use_sources):
    """Explicit directory > env var > system directory > cache > download."""
    places = {name: tmp_path / name for name in ("explicit", "env", "system", "cache/tiny")}
    for place in places.values():
        write_tiny(place)
    use_sources(tiny_source(mirrors=[refused_url()], system_dirs=[places["system"]]))
    environ = {"TINY_DIR": str(places["env"]), "NN_SWEEP_CACHE": str(tmp_path / "cache")}
    assert locate("tiny", places["explicit"], environ) == places["explicit"]
    assert locate("tiny", None, environ) == places["env"]
    del environ["TINY_DIR"]
    assert locate("tiny", None, environ) == places["system"]
    shutil.rmtree(places["system"])
    assert locate("tiny", None, environ) == places["cache/tiny"]
    shutil.rmtree(places["cache/tiny"])
    with pytest.raises(DataError, match="cannot get the data set"):  # download is the last resort
        locate("tiny", None, environ)


@pytest.mark.parametrize("variable, where", [
    ("NN_SWEEP_CACHE", "c"), ("XDG_CACHE_HOME", "x/nn-sweep"), ("HOME", "h/.cache/nn-sweep")])
def test_each_cache_location_is_found(tmp_path, variable, where):
    write_tiny(tmp_path / where / "mnist")
    environ = {variable: str(tmp_path / where.split("/")[0])}
    assert locate("mnist", environ=environ, download=False) == tmp_path / where / "mnist"


def test_explicit_directory_lacking_files_is_an_error_not_a_fallback(tmp_path, use_sources):
    write_tiny(tmp_path / "cache" / "tiny")  # would be found, but an explicit choice wins
    write_tiny(tmp_path / "partial")
    (tmp_path / "partial" / (FILES[1] + ".gz")).unlink()
    (tmp_path / "partial" / (FILES[3] + ".gz")).unlink()
    use_sources(tiny_source())
    environ = {"NN_SWEEP_CACHE": str(tmp_path / "cache")}
    with pytest.raises(DataError) as caught:
        locate("tiny", tmp_path / "partial", environ)
    assert str(caught.value) == (f"{tmp_path / 'partial'}: the data directory lacks "
                                 "train-labels-idx1-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]")


def test_env_var_directory_lacking_files(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError) as caught:
        locate("mnist", environ={"MNIST_DIR": str(tmp_path / "empty")})
    assert str(caught.value) == (
        f"{tmp_path / 'empty'}: $MNIST_DIR lacks train-images-idx3-ubyte[.gz], "
        "train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]")


def test_explicit_directory_that_does_not_exist(tmp_path):
    with pytest.raises(DataError) as caught:
        locate("fashion-mnist", tmp_path / "nope", environ={"FASHION_MNIST_DIR": "/elsewhere"})
    assert str(caught.value) == f"{tmp_path / 'nope'}: the data directory is not a directory"


def test_not_found_without_download_says_how_to_provide(tmp_path):
    with pytest.raises(DataError) as caught:
        locate("mnist", environ={"NN_SWEEP_CACHE": str(tmp_path)}, download=False)
    assert str(caught.value) == (
        f"mnist: cannot get the data set (not found); put {GZ_FILES} in a directory and set "
        f"MNIST_DIR=/that/directory (or pass --data-dir), or copy them into {tmp_path / 'mnist'}")


def test_unknown_data_set():
    with pytest.raises(DataError) as caught:
        load_dataset("cifar", environ={})
    assert str(caught.value) == "unknown data set 'cifar', expected one of mnist, fashion-mnist"


# ---- downloads from a local server ------------------------------------------------------

def test_fetch_downloads_verifies_and_the_files_load(tmp_path, server):
    url, root = server
    md5 = write_tiny(root)
    destination = tmp_path / "dest"
    fetch(tiny_source(md5, mirrors=[url]), destination)
    assert sorted(p.name for p in destination.iterdir()) == sorted(f + ".gz" for f in FILES)
    for stem in FILES:
        assert (destination / (stem + ".gz")).read_bytes() == (root / (stem + ".gz")).read_bytes()
    assert read_images(destination / (FILES[0] + ".gz")).shape == (8, 784)
    assert read_labels(destination / (FILES[3] + ".gz")).tolist() == [3, 4, 5]


def test_fetch_accepts_the_checksum_of_the_gz_file_itself(tmp_path, server):
    url, root = server
    write_tiny(root)
    md5 = {stem: hashlib.md5((root / (stem + ".gz")).read_bytes()).hexdigest() for stem in FILES}
    fetch(tiny_source(md5, mirrors=[url]), tmp_path / "dest")
    assert missing_files(tmp_path / "dest") == []


def test_wrong_checksum_is_rejected_and_not_kept(tmp_path, server):
    url, root = server
    md5 = write_tiny(root)
    write_idx(root / (FILES[3] + ".gz"), [9, 9, 9])  # served, but not the file the table knows
    served_md5 = hashlib.md5(read_bytes(root / (FILES[3] + ".gz"))).hexdigest()
    destination = tmp_path / "dest"
    with pytest.raises(DataError) as caught:
        fetch(tiny_source(md5, mirrors=[url]), destination)
    assert str(caught.value) == (
        f"tiny: cannot get the data set ({url}{FILES[3]}.gz: MD5 {served_md5} does not match "
        f"the known checksum); put {GZ_FILES} in a directory and set TINY_DIR=/that/directory "
        f"(or pass --data-dir), or copy them into {destination}")
    # The three good files are kept; the bad one and any temporary file are not.
    assert sorted(p.name for p in destination.iterdir()) == sorted(f + ".gz" for f in FILES[:3])


def test_a_gzip_bomb_from_a_mirror_is_not_decompressed_whole(tmp_path, server, within_bounds):
    url, root = server
    md5 = write_tiny(root)
    zeros = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # one gzip member, 2 GiB
    member = b"".join(zeros.compress(bytes(2**20)) for _ in range(64)) + zeros.flush()
    (root / (FILES[3] + ".gz")).write_bytes(member * 32)  # 2 MB served
    with within_bounds(seconds=10, megabytes=100), pytest.raises(DataError) as caught:
        fetch(tiny_source(md5, mirrors=[url]), tmp_path / "dest")
    assert f"{url}{FILES[3]}.gz: MD5 {hashlib.md5(member * 32).hexdigest()} does not match" \
        in str(caught.value)  # the bomb's own digest: its content was never whole


def test_a_mirror_serving_a_bad_or_no_file_is_skipped_for_the_next(tmp_path, server):
    url, root = server
    md5 = write_tiny(root / "good")
    (root / "bad").mkdir()
    (root / "bad" / (FILES[0] + ".gz")).write_bytes(b"<html>an error page</html>")
    shutil.copy(root / "good" / (FILES[2] + ".gz"), root / "bad")
    write_idx(root / "bad" / (FILES[3] + ".gz"), [1, 2, 3])  # FILES[1] is absent: a 404
    destination = tmp_path / "dest"
    fetch(tiny_source(md5, mirrors=[refused_url(), url + "bad/", url + "good/"]), destination)
    for stem in FILES:
        assert (destination / (stem + ".gz")).read_bytes() == (root / "good" / (stem + ".gz")).read_bytes()
    assert len(list(destination.iterdir())) == 4


def test_fetch_reports_every_mirror_it_tried(tmp_path, server):
    url, root = server
    refused = refused_url()
    with pytest.raises(DataError) as caught:
        fetch(tiny_source(mirrors=[refused, url]), tmp_path / "dest")
    assert str(caught.value) == (
        f"tiny: cannot get the data set ({refused}{FILES[0]}.gz: {REFUSED}; "
        f"{url}{FILES[0]}.gz: File not found); put {GZ_FILES} in a directory and set "
        f"TINY_DIR=/that/directory (or pass --data-dir), or copy them into {tmp_path / 'dest'}")


def test_no_server_says_how_to_provide_the_files(tmp_path):
    refused = refused_url()
    source = dataclasses.replace(SOURCES["mnist"], mirrors=(refused,))
    with pytest.raises(DataError) as caught:
        fetch(source, tmp_path / "cache" / "mnist")
    assert str(caught.value) == (
        f"mnist: cannot get the data set ({refused}{FILES[0]}.gz: {REFUSED}); put {GZ_FILES} "
        f"in a directory and set MNIST_DIR=/that/directory (or pass --data-dir), "
        f"or copy them into {tmp_path / 'cache' / 'mnist'}")
    assert list((tmp_path / "cache" / "mnist").iterdir()) == []


def test_load_dataset_downloads_into_the_cache_once(tmp_path, server, use_sources):
    url, root = server
    md5 = write_tiny(root)
    use_sources(tiny_source(md5, mirrors=[url]))
    environ = {"NN_SWEEP_CACHE": str(tmp_path / "cache")}
    data = load_dataset("tiny", environ=environ)
    assert data.directory == tmp_path / "cache" / "tiny"
    assert missing_files(data.directory) == []
    assert [len(part[0]) for part in (data.training, data.validation, data.test)] == [6, 2, 3]
    assert data.validation[1].tolist() == [6, 7] and data.test[1].tolist() == [3, 4, 5]
    use_sources(tiny_source(md5, mirrors=[refused_url()]))  # the cache is used, not the network
    assert load_dataset("tiny", environ=environ).directory == data.directory


# ---- what load_dataset checks ------------------------------------------------------------

@pytest.fixture
def tiny(tmp_path, use_sources):
    """A directory for write_tiny, with 'tiny' the only known data set."""
    use_sources(tiny_source())
    return tmp_path / "tiny"


def test_tiny_split_values_and_types(tiny):
    write_tiny(tiny, gz=False)
    data = load_dataset("tiny", tiny, environ={})
    X, labels = data.training
    assert X.shape == (6, 784) and X.dtype == np.float32 and labels.dtype == np.int64
    np.testing.assert_array_equal(X, read_images(tiny / FILES[0])[:6] / np.float32(255))
    assert labels.tolist() == [0, 1, 2, 3, 4, 5]
    assert data.classes == tuple("0123456789") and data.name == "tiny"


def test_fewer_labels_than_images(tiny):
    write_tiny(tiny, train_labels=np.arange(7))
    with pytest.raises(DataError) as caught:
        load_dataset("tiny", tiny, environ={})
    assert str(caught.value) == (f"{tiny / FILES[1]}.gz: 7 labels for 8 images "
                                 "in train-images-idx3-ubyte.gz")


def test_label_out_of_range(tiny):
    write_tiny(tiny, train_labels=[0, 1, 2, 11, 3, 4, 5, 6])
    with pytest.raises(DataError) as caught:
        load_dataset("tiny", tiny, environ={})
    assert str(caught.value) == f"{tiny / FILES[1]}.gz: label 11, expected 0 to 9"


def test_images_not_28_by_28(tiny):
    write_tiny(tiny, image_shape=(28, 27))
    with pytest.raises(DataError) as caught:
        load_dataset("tiny", tiny, environ={})
    assert str(caught.value) == f"{tiny / FILES[0]}.gz: images of 28x27 pixels, expected 28x28"


def test_too_few_images_for_training_and_validation(tiny):
    write_tiny(tiny, n_train=6)
    with pytest.raises(DataError) as caught:
        load_dataset("tiny", tiny, environ={})
    assert str(caught.value) == (f"{tiny / FILES[0]}.gz: 6 images, expected more than 6 "
                                 "(training + validation)")


@pytest.mark.parametrize("train_size", [0, -5, 7, 2.5, True, "3"])
def test_bad_train_size(tiny, train_size):
    write_tiny(tiny)
    with pytest.raises(DataError) as caught:
        load_dataset("tiny", tiny, train_size=train_size, environ={})
    assert str(caught.value) == f"tiny: train_size {train_size!r}, expected an integer from 1 to 6"


def test_train_size_takes_the_first_of_the_training_part(tiny):
    write_tiny(tiny)
    data = load_dataset("tiny", tiny, train_size=np.int64(4), environ={})
    assert data.training[1].tolist() == [0, 1, 2, 3]
    assert len(data.validation[0]) == 2


# ---- the real data sets --------------------------------------------------------------------

@pytest.fixture(scope="module")
def mnist(mnist_dir):
    return load_dataset("mnist", environ={"MNIST_DIR": mnist_dir})


def test_nielsen_split_of_real_mnist(mnist):
    train_labels = read_labels(find_file(mnist.directory, FILES[1]))
    sizes = [(len(X), len(y)) for X, y in (mnist.training, mnist.validation, mnist.test)]
    assert sizes == [(TRAINING_IMAGES, TRAINING_IMAGES), (10_000, 10_000), (10_000, 10_000)]
    np.testing.assert_array_equal(mnist.training[1], train_labels[:50_000])
    np.testing.assert_array_equal(mnist.validation[1], train_labels[50_000:])
    assert mnist.training[1][0] == 5 and mnist.test[1][0] == 7  # well-known first labels
    for X, labels in (mnist.training, mnist.validation, mnist.test):
        assert X.shape[1] == 784 and X.dtype == np.float32 and labels.dtype == np.int64
        assert X.min() == 0.0 and X.max() == 1.0
    assert mnist.classes == tuple("0123456789")


def test_train_size_on_real_mnist(mnist, mnist_dir):
    small = load_dataset("mnist", train_size=1000, environ={"MNIST_DIR": mnist_dir})
    assert small.training[0].shape == (1000, 784)
    np.testing.assert_array_equal(small.training[0], mnist.training[0][:1000])
    np.testing.assert_array_equal(small.validation[1], mnist.validation[1])


def test_real_mnist_checksums_are_in_the_table(mnist_dir):
    for stem in FILES:
        digest = hashlib.md5(read_bytes(find_file(mnist_dir, stem))).hexdigest()
        assert digest in SOURCES["mnist"].md5[stem], stem


def test_real_mnist_downloads_and_verifies_through_the_real_table(tmp_path, server, mnist_dir):
    """The shared files' .gz were re-compressed: only their decompressed MD5s can match."""
    url, root = server
    for stem in FILES:
        shutil.copy(find_file(mnist_dir, stem), root)
    fetch(dataclasses.replace(SOURCES["mnist"], mirrors=(url,)), tmp_path / "mnist")
    assert missing_files(tmp_path / "mnist") == []


@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason=f"{FASHION_DIR} is absent "
                    "(apt-get install dataset-fashion-mnist)")
def test_fashion_mnist_from_the_system_directory(tmp_path):
    for stem in FILES:
        digest = hashlib.md5(read_bytes(find_file(FASHION_DIR, stem))).hexdigest()
        assert digest in SOURCES["fashion-mnist"].md5[stem], stem
    data = load_dataset("fashion-mnist", environ={"NN_SWEEP_CACHE": str(tmp_path)})
    assert data.directory == FASHION_DIR
    assert len(data.classes) == 10 and data.classes[9] == "Ankle boot"
    assert [len(part[0]) for part in (data.training, data.validation, data.test)] == [
        50_000, 10_000, 10_000]
    assert data.test[1][0] == 9  # the first test image is an ankle boot
