"""Memory budgets for batched evaluations: split a batch into chunks that fit a number of bytes.

Every batched evaluation in quotientlearn whose working memory grows with the batch (the design
objectives over reference points, Monte Carlo smoothing, the Itô route's tabulation and log-density,
the fibre integral) processes its points in chunks sized by a byte budget, never by a fixed point
count, so that the same call fits in memory at ``d = 4`` and at ``d = 64``.

The budget is, in order: the ``memory_budget`` argument of the call, the environment variable
``QL_MEMORY_BUDGET`` (bytes, or a number with a unit: ``"512MB"``, ``"2GiB"``), or
:data:`DEFAULT_MEMORY_BUDGET` (1 GiB: well under a 24 GB machine shared by several processes).
"""

from __future__ import annotations

import math
import os
import re

import numpy as np

__all__ = ["DEFAULT_MEMORY_BUDGET", "chunk_slices", "map_chunks", "memory_budget"]

#: Bytes one batched evaluation may use when neither the call nor ``QL_MEMORY_BUDGET`` says.
DEFAULT_MEMORY_BUDGET = 1 << 30

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def _parse(value, source):
    if isinstance(value, bool) or not isinstance(value, int | float | str | np.integer | np.floating):
        raise TypeError(f"{source} must be a number of bytes or a string such as '512MB'; got {value!r}")
    if isinstance(value, int | float | np.integer | np.floating):
        number, unit = float(value), ""
    else:
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*", str(value))
        if match is None or match.group(2).lower() not in _UNITS:
            raise ValueError(f"{source} must be a number of bytes, optionally with a unit "
                             f"({', '.join(u for u in _UNITS if u)}); got {value!r}")
        number, unit = float(match.group(1)), match.group(2).lower()
    size = number * _UNITS[unit]
    if not math.isfinite(size) or size < 1:
        raise ValueError(f"{source} must be at least one byte; got {value!r}")
    return int(size)


def memory_budget(budget=None):
    """The byte budget of a batched evaluation.

    Parameters
    ----------
    budget : int, float or str, optional
        Bytes (``"512MB"``, ``"2GiB"`` accepted). ``None``: ``QL_MEMORY_BUDGET`` or
        :data:`DEFAULT_MEMORY_BUDGET`.

    Returns
    -------
    budget : int
        Bytes.

    Raises
    ------
    TypeError
        On a budget that is neither a number nor a string.
    ValueError
        On a budget (or environment value) that is not a positive number of bytes.
    """
    if budget is not None:
        return _parse(budget, "memory_budget")
    environment = os.environ.get("QL_MEMORY_BUDGET")
    if environment:
        return _parse(environment, "the environment variable QL_MEMORY_BUDGET")
    return DEFAULT_MEMORY_BUDGET


def chunk_slices(n_items, bytes_per_item, budget=None):
    """Consecutive slices of ``range(n_items)`` whose working memory fits the budget.

    Parameters
    ----------
    n_items : int
        Batch size.
    bytes_per_item : int or float
        Peak working memory one item needs (all its intermediate arrays together), estimated by the
        caller.
    budget : int, float or str, optional
        See :func:`memory_budget`.

    Returns
    -------
    slices : list of slice
        Empty when ``n_items == 0``.

    Raises
    ------
    ValueError
        When a single item needs more than the budget (raise the budget or shrink the problem).
    """
    budget = memory_budget(budget)
    bytes_per_item = max(float(bytes_per_item), 1.0)
    if bytes_per_item > budget:
        raise ValueError(f"one item of this evaluation needs about {bytes_per_item / 2**20:.1f} MiB, "
                         f"more than the memory budget of {budget / 2**20:.1f} MiB; raise "
                         "memory_budget (or QL_MEMORY_BUDGET)")
    size = max(1, int(budget // bytes_per_item))
    return [slice(start, min(start + size, n_items)) for start in range(0, int(n_items), size)]


def map_chunks(function, items, bytes_per_item, budget=None):
    """``function`` over chunks of ``items`` that fit the budget, concatenated along axis 0.

    Parameters
    ----------
    function : callable
        ``(n_chunk, ...) -> (n_chunk, ...)``, acting on each item independently.
    items : ndarray, shape (n, ...)
    bytes_per_item : int or float
        Peak working memory of ``function`` per item.
    budget : int, float or str, optional
        See :func:`memory_budget`.

    Returns
    -------
    values : ndarray, shape (n, ...)
    """
    if len(items) == 0:
        return np.asarray(function(items), dtype=float)
    return np.concatenate([np.asarray(function(items[chunk]), dtype=float)
                           for chunk in chunk_slices(len(items), bytes_per_item, budget)])
