"""Writing a file so that readers see its old content or its new, never half; not what goes in it."""

import io
import os
import tempfile
from pathlib import Path


def write_atomically(path, data, sync=True):
    """Replace `path` by `data` (str, bytes, or a function that writes to a binary file it is
    given, for content too large to hold twice): written under a unique temporary name, synced
    (unless sync=False: then a kill still leaves the old file or the new, but a machine crash
    may leave it empty), then renamed over `path`. Two writers never share a temporary file;
    OSError propagates (with the temporary file removed) for the caller to turn into its own
    error.
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        mode = "w" if isinstance(data, str) else "wb"
        text_options = {} if mode == "wb" else {"newline": "", "encoding": "utf-8"}
        with os.fdopen(handle, mode, **text_options) as file:
            if callable(data):
                data(file)
            else:
                file.write(data)
            file.flush()
            if sync:
                os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def figure_png(figure):
    """A matplotlib Figure rendered to PNG bytes, for write_atomically."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
