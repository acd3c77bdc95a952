"""Where MNIST and Fashion-MNIST live, how they are fetched and verified, and how they are split.

Data is looked for, in this order:
  1. a directory given explicitly (the `data_dir` config key or the `--data-dir` option);
  2. the environment variable MNIST_DIR (FASHION_MNIST_DIR for Fashion-MNIST);
  3. the per-user cache, $NN_SWEEP_CACHE/<name>, by default ~/.cache/nn-sweep/<name>
     (or $XDG_CACHE_HOME/nn-sweep/<name>); Fashion-MNIST also looks in Debian's
     /usr/share/datasets/fashion-mnist before the cache;
  4. when none holds the files, they are downloaded into the cache, and each is checked
     against the MD5 of its decompressed bytes (or of the official .gz) before it is kept.
A directory named in 1 or 2 that lacks the files is an error, not a reason to download.
"""

import hashlib
import numbers
import os
from dataclasses import dataclass
from pathlib import Path

from experiments.data.decoded import decode_images, decode_labels, load_decoded
from experiments.data.idx import GZIP_MAGIC, gunzip
from experiments.errors import DataError
from experiments.files import write_atomically

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
TRAINING_IMAGES = 50_000  # Nielsen's split: the first 50,000 train, the last 10,000 validate
LARGEST_FILE = 2**26  # bytes: every file of SOURCES is smaller, decompressed (47 MB at most)


@dataclass(frozen=True)
class Source:
    """A data set's identity: its files' checksums and where to get them."""

    name: str
    env_var: str
    mirrors: tuple
    md5: dict  # file name -> set of accepted MD5s (decompressed bytes, or the official .gz)
    system_dirs: tuple = ()
    classes: tuple = tuple(str(digit) for digit in range(10))
    training_images: int = TRAINING_IMAGES  # the rest of the train file is the validation part


SOURCES = {
    "mnist": Source(
        name="mnist",
        env_var="MNIST_DIR",
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://storage.googleapis.com/cvdf-datasets/mnist/"),
        md5={
            "train-images-idx3-ubyte": {"6bbc9ace898e44ae57da46a324031adb",
                                        "f68b3c2dcbeaaa9fbdd348bbdeb94873"},
            "train-labels-idx1-ubyte": {"a25bea736e30d166cdddb491f175f624",
                                        "d53e105ee54ea40749a09fcbcd1e9432"},
            "t10k-images-idx3-ubyte": {"2646ac647ad5339dbf082846283269ea",
                                       "9fb629c4189551a2d022fa330f9573f3"},
            "t10k-labels-idx1-ubyte": {"27ae3e4e09519cfbb04c329615203637",
                                       "ec29112dd5afa0611ce80d1b7f02629c"},
        },
    ),
    "fashion-mnist": Source(
        name="fashion-mnist",
        env_var="FASHION_MNIST_DIR",
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        md5={
            "train-images-idx3-ubyte": {"f4a8712d7a061bf5bd6d2ca38dc4d50a",
                                        "8d4fb7e6c68d591d4c3dfef9ec88bf0d"},
            "train-labels-idx1-ubyte": {"9018921c3c673c538a1fc5bad174d6f9",
                                        "25c81989df183df01b3e8a0aad5dffbe"},
            "t10k-images-idx3-ubyte": {"8181f5470baa50b63fa0f6fddb340f0a",
                                       "bef4ecab320f06d8554ea6380940ec79"},
            "t10k-labels-idx1-ubyte": {"15d484375f8d13e6eb1aabb0c3f46965",
                                       "bb300cfdad3c16e7a12a480ee83cd310"},
        },
        system_dirs=("/usr/share/datasets/fashion-mnist",),
        classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    ),
}


@dataclass(frozen=True)
class DataSet:
    """A data set split into training, validation and test parts, each (X, labels).

    X: (n, 784) float32 in [0, 1], one image per row; labels: (n,) int64.
    """

    name: str
    directory: Path
    training: tuple
    validation: tuple
    test: tuple
    classes: tuple


def cache_dir(environ=os.environ):
    """The per-user cache directory of nn-sweep (data set `name` lives in its subdirectory `name`)."""
    if environ.get("NN_SWEEP_CACHE"):
        return Path(environ["NN_SWEEP_CACHE"])
    xdg = environ.get("XDG_CACHE_HOME", "")
    if Path(xdg).is_absolute():  # the XDG spec says to ignore a relative path
        return Path(xdg) / "nn-sweep"
    home = Path(environ["HOME"]) if environ.get("HOME") else Path.home()
    return home / ".cache" / "nn-sweep"


def find_file(directory, stem):
    """The path of `stem` or `stem`.gz in directory, or None."""
    for candidate in (Path(directory) / (stem + ".gz"), Path(directory) / stem):
        if candidate.is_file():
            return candidate
    return None


def missing_files(directory):
    """The stems of FILES that are in directory neither plain nor gzipped."""
    return [stem for stem in FILES if find_file(directory, stem) is None]


def locate(name, directory=None, environ=os.environ, download=True):
    """The directory that holds data set `name`, downloading it into the cache if need be."""
    source = _source(name)
    explicit = [(directory, "the data directory")] if directory else []
    if environ.get(source.env_var):
        explicit.append((environ[source.env_var], f"${source.env_var}"))
    for given, how in explicit[:1]:  # an explicit directory wins over the variable
        if not Path(given).is_dir():
            raise DataError(f"{given}: {how} is not a directory")
        missing = missing_files(given)
        if missing:
            raise DataError(f"{given}: {how} lacks {', '.join(f + '[.gz]' for f in missing)}")
        return Path(given)
    cache = cache_dir(environ) / source.name
    for candidate in (*source.system_dirs, cache):
        if not missing_files(candidate):
            return Path(candidate)
    if not download:
        raise DataError(_how_to_provide(source, cache, "not found"))
    fetch(source, cache)
    return cache


def fetch(source, destination, timeout=30):
    """Download the missing files of `source` into `destination`, checking each MD5.

    Each file is tried on every mirror in turn; one whose MD5 matches none of
    source.md5 is deleted, never kept.
    """
    import http.client  # here: only a download needs them (~5 ms to import)
    import urllib.error
    import urllib.request

    destination = Path(destination)
    try:
        destination.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"{destination}: cannot create: {error.strerror or error}") from None
    for stem in missing_files(destination):
        errors = []
        for mirror in source.mirrors:
            url = mirror + stem + ".gz"
            try:
                payload = _download(url, timeout)
            except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
                errors.append(f"{url}: {getattr(error, 'reason', None) or error}")
                continue
            mismatch = _keep_if_verified(payload, destination, stem, source.md5[stem])
            if mismatch is None:
                break
            errors.append(f"{url}: {mismatch}")
        else:
            raise DataError(_how_to_provide(source, destination, "; ".join(errors)))


def _download(url, timeout):
    import urllib.request

    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def _keep_if_verified(payload, destination, stem, accepted_md5):
    """Save payload as stem[.gz] in destination if its MD5 is accepted; else the reason not.

    Accepted: the MD5 of the decompressed bytes, or of the .gz as published.
    """
    content = payload
    if payload.startswith(GZIP_MAGIC):
        try:
            # bounded: a mirror could serve a gzip bomb
            content = gunzip(payload, stem, limit=LARGEST_FILE)
        except DataError:
            pass  # corrupt gzip, or a bomb: only the digest of the payload itself could match
    content_md5 = hashlib.md5(content).hexdigest()
    if not {hashlib.md5(payload).hexdigest(), content_md5} & set(accepted_md5):
        return f"MD5 {content_md5} does not match the known checksum"
    target = destination / (stem + ".gz" if payload.startswith(GZIP_MAGIC) else stem)
    try:
        write_atomically(target, payload)  # a concurrent reader never sees half a file
        return None
    except OSError as error:
        return f"cannot save {target}: {error.strerror or error}"


def _how_to_provide(source, cache, reason):
    files = ", ".join(f + ".gz" for f in FILES)
    return (f"{source.name}: cannot get the data set ({reason}); put {files} in a directory "
            f"and set {source.env_var}=/that/directory (or pass --data-dir), or copy them into {cache}")


def _source(name):
    if name not in SOURCES:
        raise DataError(f"unknown data set {name!r}, expected one of {', '.join(SOURCES)}")
    return SOURCES[name]


def load_dataset(name="mnist", directory=None, train_size=None, environ=os.environ):
    """Read data set `name` and split it as Nielsen does (50,000 / 10,000 / 10,000 test).

    train_size: use only the first `train_size` of the 50,000 training images (1 to 50,000;
    anything else is a DataError, not silently clipped). The arrays are read-only views of
    the decoded cache (decoded.py) under this process's per-user cache, wherever the files
    were found (`environ` only says where to look for them).
    """
    source = _source(name)
    n_train = _checked_train_size(name, train_size, source.training_images)
    where = locate(name, directory, environ)
    cache = decoded_cache_dir(name, where)
    train_images, train_labels, test_images, test_labels = (
        load_decoded(find_file(where, stem), decode, source.md5[stem], cache, LARGEST_FILE)
        for stem, decode in zip(FILES, (decode_images, decode_labels) * 2))
    _check_pair(where, FILES[0], train_images, train_labels, len(source.classes))
    _check_pair(where, FILES[2], test_images, test_labels, len(source.classes))
    split = source.training_images
    if len(train_images) <= split:
        raise DataError(f"{find_file(where, FILES[0])}: {len(train_images)} images, "
                        f"expected more than {split} (training + validation)")
    return DataSet(
        name=name,
        directory=where,
        training=(train_images[:n_train], train_labels[:n_train]),  # views, not copies
        validation=(train_images[split:], train_labels[split:]),
        test=(test_images, test_labels),
        classes=source.classes,
    )


def load_test_set(name="mnist", directory=None, environ=os.environ, download=True):
    """Only the test part of data set `name`, (X, labels) as in DataSet: what a trained
    network is judged on, read without the six times larger training file.

    download=False: a DataError, rather than a download, when no directory holds the files.
    """
    source = _source(name)
    where = locate(name, directory, environ, download=download)
    cache = decoded_cache_dir(name, where)
    images, labels = (load_decoded(find_file(where, stem), decode, source.md5[stem], cache,
                                   LARGEST_FILE)
                      for stem, decode in zip(FILES[2:], (decode_images, decode_labels)))
    _check_pair(where, FILES[2], images, labels, len(source.classes))
    return images, labels


def decoded_cache_dir(name, directory):
    """Where the decoded arrays of data set `name` found in `directory` are cached: under the
    per-user cache of this process, a folder per source directory."""
    key = hashlib.sha256(str(Path(directory).resolve()).encode("utf-8")).hexdigest()[:12]
    return cache_dir() / "decoded" / f"{name}-{key}"


def _checked_train_size(name, train_size, available):
    """train_size as an int in 1..available (None: all `available`)."""
    if train_size is None:
        return available
    if (isinstance(train_size, bool) or not isinstance(train_size, numbers.Integral)
            or not 1 <= train_size <= available):
        raise DataError(f"{name}: train_size {train_size!r}, expected an integer "
                        f"from 1 to {available}")
    return int(train_size)


def _check_pair(where, images_stem, images, labels, n_classes):
    """Images and labels agree in number, and every label names a class.

    The 28 x 28 image shape is checked by decode_images.
    """
    labels_stem = images_stem.replace("images-idx3", "labels-idx1")
    if len(images) != len(labels):
        raise DataError(f"{find_file(where, labels_stem)}: {len(labels)} labels for "
                        f"{len(images)} images in {find_file(where, images_stem).name}")
    if len(labels) and labels.max() >= n_classes:
        raise DataError(f"{find_file(where, labels_stem)}: label {labels.max()}, "
                        f"expected 0 to {n_classes - 1}")

