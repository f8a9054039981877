"""Atomic files: reports, arrays and checkpoints survive an interruption at any instant.

Every write goes to a temporary file in the destination folder and is then renamed over the target
(``os.replace`` is atomic on POSIX), so a reader sees either the old file or the new one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["atomic_write_bytes", "load_arrays", "save_arrays", "to_jsonable", "write_json"]


def atomic_write_bytes(path, data):
    """Write ``data`` to ``path`` atomically, creating parent folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def to_jsonable(value):
    """Convert numpy scalars/arrays (and nested containers of them) to JSON-serialisable types."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path, payload):
    """Write ``payload`` as indented JSON, atomically."""
    text = json.dumps(to_jsonable(payload), indent=2, sort_keys=False)
    atomic_write_bytes(path, (text + "\n").encode())


def save_arrays(path, **arrays):
    """Save named arrays to an ``.npz`` file, atomically."""
    import io as _io

    buffer = _io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def load_arrays(path):
    """Load an ``.npz`` file written by :func:`save_arrays` into a dict of arrays."""
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}
