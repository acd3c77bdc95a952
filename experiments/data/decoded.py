"""The decoded cache: a data set's IDX files decoded once, into .npy arrays that every process
maps into memory; not where the files come from (datasets.py) nor their format (idx.py).

Decoding MNIST (gunzip, parse, convert 70,000 images to float32) takes each process ~0.4 s and
220 MB of its own memory. Mapped from the cache, an array is ready in a millisecond, and the
processes of a machine (the workers of a sweep) share one copy of its pages.

An entry is made only from a file whose MD5 (of its decompressed bytes) is a known checksum of
its data set, and is used only while that file keeps the size and modification time it had:
a changed or unknown file is decoded as before, and not cached. Entries are written whole
under a lock, so that workers starting together decode the file once and never read half of
an entry. A cache that cannot be written (read-only, full) is only slower.
"""

import contextlib
import fcntl
import hashlib
import json
from pathlib import Path

import numpy as np

from experiments.data.idx import MAX_IDX_BYTES, images_of, labels_of, read_bytes
from experiments.files import write_atomically

LOCK_FILE = ".lock"


def decode_images(data, path):
    """Images as the network reads them: (n, 784) float32 in [0, 1], one image per row."""
    X = images_of(data, path).astype(np.float32)  # (n, 784)
    X /= np.float32(255)  # division, not * (1 / 255): each value is the float32 nearest p / 255
    return X


def decode_labels(data, path):
    """Labels as NumPy indexes them: (n,) int64."""
    return labels_of(data, path).astype(np.int64)


def load_decoded(path, decode, accepted_md5, directory, limit=MAX_IDX_BYTES):
    """The array `decode(bytes, path)` of IDX file `path`, read-only, mapped from the cache
    entry in `directory` when there is one for the file as it is now (else made first).

    accepted_md5: the MD5s (of its decompressed bytes) the file may have to be cached.
    limit: the most bytes the file may hold once decompressed; it is read whole (to be
    checksummed) before it is parsed, so this, not its header, bounds what a bomb costs.
    Raises DataError as `decode` does for a bad file, or when it is larger than `limit`.
    """
    path, directory = Path(path), Path(directory)
    entry = directory / path.name.split(".")[0]  # train-images-idx3-ubyte[.gz] -> its stem
    source = _source_stamp(path)
    array = _mapped(entry, source)
    if array is not None:
        return array
    try:
        directory.mkdir(parents=True, exist_ok=True)
        lock = open(directory / LOCK_FILE, "a")
    except OSError:
        return _decoded(path, decode, accepted_md5, limit)[0]
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be making this very entry
        array = _mapped(entry, source)
        if array is not None:
            return array
        array, md5 = _decoded(path, decode, accepted_md5, limit)
        if md5 is None:
            return array
        with contextlib.suppress(OSError):
            _save(entry.with_suffix(".npy"), array)
            write_atomically(entry.with_suffix(".json"), json.dumps({**source, "md5": md5}))
            mapped = _mapped(entry, source)  # so that this process too shares the pages
            array = array if mapped is None else mapped
        return array


def _decoded(path, decode, accepted_md5, limit):
    """(array, its file's MD5), the MD5 None when it is not an accepted one."""
    data = read_bytes(path, limit)
    md5 = hashlib.md5(data).hexdigest()
    return decode(data, path), (md5 if md5 in accepted_md5 else None)


def _source_stamp(path):
    """What identifies the file an entry was made from, as it is now."""
    status = path.stat()
    return {"source": str(path.resolve()), "size": status.st_size, "mtime_ns": status.st_mtime_ns}


def _mapped(entry, source):
    """The entry's array mapped read-only, or None when it is missing or not of this source."""
    try:
        stamp = json.loads(entry.with_suffix(".json").read_text(encoding="utf-8"))
        if {key: stamp.get(key) for key in source} != source:
            return None
        return np.load(entry.with_suffix(".npy"), mmap_mode="r").view(np.ndarray)
    except (OSError, ValueError):  # missing, unreadable, or not JSON / not an array
        return None


def _save(path, array):
    """np.save, written whole under a temporary name and renamed into place."""
    write_atomically(path, lambda file: np.save(file, array))
