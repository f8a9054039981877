"""Atomic checkpoints of a training loop: arrays, step counter and the RNG state, for exact resume.

A checkpoint holds everything the loop's future depends on: the parameters, the records so far, the
step reached and the ``bit_generator.state`` of the one ``numpy.random.Generator`` that drives it. A
run resumed from it therefore reproduces the uninterrupted run bit for bit. Files are written with
:func:`quotientlearn.io.save_arrays` (temporary file + rename), so an interruption while saving leaves
the previous checkpoint intact.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from quotientlearn.io import CorruptFileError, load_arrays, save_arrays

__all__ = ["Checkpoint"]

_META = "__checkpoint_meta__"


class Checkpoint:
    """One checkpoint file, saved every ``every_seconds`` (or ``every_steps``) of a loop.

    Parameters
    ----------
    path : str or Path
        The ``.npz`` file.
    fingerprint : dict, optional
        JSON-serialisable description of the run (configuration, labels). Loading a checkpoint
        written under another fingerprint raises, so a resume never mixes two configurations.
    every_seconds : float
        Minimum wall time between two periodic saves.
    every_steps : int, optional
        Save every this many steps instead (deterministic; used by tests).
    """

    def __init__(self, path, fingerprint=None, every_seconds=60.0, every_steps=None):
        self.path = Path(path)
        if self.path.suffix != ".npz":
            raise ValueError(f"checkpoint path must end in .npz; got {self.path}")
        if every_seconds <= 0:
            raise ValueError(f"every_seconds must be positive; got {every_seconds}")
        if every_steps is not None and int(every_steps) < 1:
            raise ValueError(f"every_steps must be a positive integer; got {every_steps}")
        self.fingerprint = json.dumps(fingerprint if fingerprint is not None else {},
                                      sort_keys=True, default=str)
        self.every_seconds = float(every_seconds)
        self.every_steps = None if every_steps is None else int(every_steps)
        self._last = time.monotonic()

    def due(self, step):
        """Whether a periodic save is due after ``step`` steps."""
        if self.every_steps is not None:
            return step % self.every_steps == 0
        return time.monotonic() - self._last >= self.every_seconds

    def save(self, step, rng, finished=False, **arrays):
        """Write the state atomically.

        Parameters
        ----------
        step : int
            Steps completed.
        rng : numpy.random.Generator
            Its ``bit_generator.state`` is stored.
        finished : bool
            Whether the loop has completed (a resume then returns the stored arrays directly).
        **arrays : ndarray
        """
        meta = {"step": int(step), "finished": bool(finished), "fingerprint": self.fingerprint,
                "rng": rng.bit_generator.state}
        save_arrays(self.path, **{_META: np.array(json.dumps(meta)), **arrays})
        self._last = time.monotonic()

    def load(self, rng):
        """Restore a saved state into ``rng`` and return it, or ``None`` when there is no file.

        Parameters
        ----------
        rng : numpy.random.Generator
            Receives the stored ``bit_generator.state``; must use the same bit generator.

        Returns
        -------
        state : dict or None
            ``{"step": int, "finished": bool, "arrays": dict of ndarray}``.

        Raises
        ------
        ValueError
            If the file was written for a different run (fingerprint) or another bit generator;
            :class:`~quotientlearn.io.CorruptFileError` (a ``ValueError``) if it is empty, truncated,
            or not a checkpoint.
        """
        if not self.path.exists():
            return None
        try:
            arrays = load_arrays(self.path)
        except CorruptFileError as exc:
            raise CorruptFileError(f"checkpoint {exc}; remove it to start over") from None
        try:
            meta = json.loads(str(arrays.pop(_META)))
            valid = {"step", "finished", "fingerprint", "rng"} <= set(meta) and "bit_generator" in meta["rng"]
        except (KeyError, TypeError, ValueError):
            valid = False
        if not valid:
            raise CorruptFileError(f"{self.path} is not a quotientlearn checkpoint (no valid metadata); "
                                   "remove it or choose another --out") from None
        if meta["fingerprint"] != self.fingerprint:
            raise ValueError(
                f"checkpoint {self.path} belongs to another configuration (differs in "
                f"{_differences(meta['fingerprint'], self.fingerprint)}); remove it or run without --resume"
            )
        stored = meta["rng"]["bit_generator"]
        if stored != type(rng.bit_generator).__name__:
            raise ValueError(f"checkpoint RNG is {stored}; got {type(rng.bit_generator).__name__}")
        rng.bit_generator.state = meta["rng"]
        self._last = time.monotonic()
        return {"step": meta["step"], "finished": meta["finished"], "arrays": arrays}

    def remove(self):
        """Delete the file if it exists."""
        self.path.unlink(missing_ok=True)


def _differences(stored, current):
    """The keys in which two JSON fingerprints differ, for a one-line message."""
    try:
        old, new = json.loads(stored), json.loads(current)
        keys = sorted(k for k in set(old) | set(new) if old.get(k, None) != new.get(k, None))
    except (ValueError, TypeError, AttributeError):
        return "its fingerprint"
    return ", ".join(keys) if keys else "its fingerprint"
