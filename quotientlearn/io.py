"""Files of a run: atomic writes, safe loading, and exclusive use of an output folder.

Every write goes to a temporary file in the destination folder and is then renamed over the target
(``os.replace`` is atomic on POSIX), so a reader sees either the old file or the new one. Files get the
permissions the user's umask gives new files (``0666 & ~umask``), as with any other program. A folder
is claimed by one process at a time (:func:`claim_folder`): a second process writing the same folder
is refused, and temporary files left by a killed run are removed when the folder is next claimed.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

try:  # POSIX advisory locks; elsewhere folders are not locked
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["CorruptFileError", "FolderError", "atomic_write_bytes", "claim_folder", "load_arrays",
           "save_arrays", "to_jsonable", "write_json"]

#: Suffix of the temporary files of :func:`atomic_write_bytes` (distinctive, so that stale ones can be
#: recognised and removed).
TEMPORARY_SUFFIX = ".qltmp"
LOCK_NAME = ".quotientlearn.lock"


class CorruptFileError(ValueError):
    """A file that should hold saved arrays is empty, truncated or not an ``.npz`` archive."""


class FolderError(ValueError):
    """An output folder that cannot be used: a file, not writable, or in use by another process."""


def _new_file_mode():
    """``0666 & ~umask``: the permissions the user's umask gives a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path, data):
    """Write ``data`` to ``path`` atomically, creating parent folders; the umask sets the mode."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            # mkstemp creates 0600; a report or figure should be as readable as any file the user makes
            os.fchmod(stream.fileno(), _new_file_mode())
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
    """Load an ``.npz`` file written by :func:`save_arrays` into a dict of arrays.

    Raises
    ------
    CorruptFileError
        If the file is empty, truncated or not an ``.npz`` archive (instead of numpy's
        ``BadZipFile``, ``EOFError`` or a misleading ``allow_pickle`` hint).
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise CorruptFileError(f"{path} is empty (a run killed while creating it?)")
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise CorruptFileError(f"{path} holds a single array, not an .npz archive")
        with data:
            return {name: data[name] for name in data.files}
    except CorruptFileError:
        raise
    except (zipfile.BadZipFile, EOFError, ValueError, KeyError, OSError) as exc:
        # numpy's own message for a non-archive is a hint about allow_pickle, which would mislead
        reason = "" if isinstance(exc, ValueError) else f" ({type(exc).__name__}: {exc})"
        raise CorruptFileError(f"{path} is truncated or not an .npz archive{reason}") from None


@contextlib.contextmanager
def claim_folder(folder):
    """Use ``folder`` for a run's outputs, exclusively: a context manager.

    Creates the folder, checks that it is writable, takes an advisory lock on ``.quotientlearn.lock``
    (released when the process exits, however it exits) and removes the temporary files that a killed
    run left behind in the folder and its ``checkpoints/`` (no other process can be writing them while
    the lock is held).

    Parameters
    ----------
    folder : str or Path

    Yields
    ------
    removed : list of Path
        The stale temporary files that were removed.

    Raises
    ------
    FolderError
        If ``folder`` is an existing file, lies under a file, cannot be created or written, or is
        being written by another process.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise FolderError(f"output folder {folder} is an existing file; choose another --out")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, _new_file_mode())
    except (NotADirectoryError, FileExistsError):
        raise FolderError(f"output folder {folder} lies under a file; choose another --out") from None
    except PermissionError:
        raise FolderError(f"output folder {folder} is not writable (permission denied)") from None
    except OSError as exc:
        raise FolderError(f"cannot use output folder {folder}: {exc.strerror or exc}") from None
    try:
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = os.pread(handle, 64, 0).decode(errors="replace").strip() or "unknown"
                raise FolderError(f"output folder {folder} is in use by another quotientlearn process "
                                  f"(pid {owner}); wait for it or choose another --out") from None
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"{os.getpid()}\n".encode(), 0)
        # Runs write into the folder and its checkpoints/; other subfolders may be other runs' folders
        # (quotientlearn-out/NAME under the demo's quotientlearn-out), with their own locks.
        removed = [stale for pattern in (f".*{TEMPORARY_SUFFIX}", f"checkpoints/.*{TEMPORARY_SUFFIX}")
                   for stale in folder.glob(pattern) if stale.is_file()]
        for stale in removed:
            stale.unlink(missing_ok=True)
        yield removed
    finally:
        os.close(handle)  # releases the lock
