"""Magnitudes for balancing without overflow or underflow: norms, geometric means, rescaling factors.

Balancing moves a point along its orbit to the slice where the factors have equal size. The naive
formulas square entries (``|u|^2``) or multiply them (``prod |u_l|``), which overflow above ~1e154 and
underflow below ~1e-162 although the balanced point itself — a geometric mean of the input magnitudes —
is always representable. These helpers never form such intermediates, so a balance keeps the predictor
to a few ulps wherever it is representable.
"""

from __future__ import annotations

import numpy as np

__all__ = ["geometric_mean_abs", "product_is_safe", "rescaling_root", "scaled_norm"]


def scaled_norm(values, axis=-1):
    """Euclidean norm over ``axis`` without overflow or underflow of the squares.

    Parameters
    ----------
    values : ndarray
    axis : int or tuple of int

    Returns
    -------
    norm : ndarray
        Shape of ``values`` without ``axis``; ``0`` where all entries are zero.
    """
    largest = np.max(np.abs(values), axis=axis, keepdims=True, initial=0.0)
    # Squares of entries in [1e-140, 1e140] (and sums of up to 1e27 of them) stay normal: the plain
    # formula is exact enough there and saves a pass over the data.
    if np.all((largest <= 1e140) & ((largest >= 1e-140) | (largest == 0))):
        return np.sqrt(np.sum(values * values, axis=axis))
    safe = np.where(largest > 0, largest, 1.0)
    norm = np.sqrt(np.sum((values / safe) ** 2, axis=axis, keepdims=True)) * largest
    return np.squeeze(norm, axis=axis)


def geometric_mean_abs(values, axis=-1):
    """``prod |values| ** (1 / n)`` over ``axis`` (``n`` entries), without forming the product.

    Mantissas and binary exponents are combined separately (``frexp``/``ldexp``), so the result is
    accurate to a few ulps for any finite input; it is ``0`` where an entry is zero.

    Parameters
    ----------
    values : ndarray
    axis : int

    Returns
    -------
    mean : ndarray
        Shape of ``values`` without ``axis``.
    """
    values = np.asarray(values, dtype=float)
    n = values.shape[axis]
    if product_is_safe(np.abs(values), n):
        return np.prod(np.abs(values), axis=axis) ** (1.0 / n)
    mantissa, exponent = np.frexp(np.abs(values))
    # Mantissas lie in [1/2, 1): their product cannot underflow for n below ~1000.
    product = np.prod(mantissa, axis=axis)
    total = np.sum(exponent.astype(np.int64), axis=axis)
    whole, remainder = np.divmod(total, n)
    return np.ldexp(np.ldexp(product, remainder.astype(np.int32)) ** (1.0 / n), whole.astype(np.int32))


def product_is_safe(magnitude, n):
    """Whether every partial product of ``n`` entries of ``magnitude`` stays in the normal range.

    True when every nonzero entry lies in ``[2^(-1021/n), 2^(1023/n)]``: then a plain running
    product neither overflows nor passes through subnormal numbers (which lose precision).

    Parameters
    ----------
    magnitude : ndarray
        Non-negative values.
    n : int
        Number of factors in each product.

    Returns
    -------
    safe : bool
    """
    return bool(np.all((magnitude <= 2.0 ** (1023 / n))
                       & ((magnitude >= 2.0 ** (-1021 / n)) | (magnitude == 0))))


def rescaling_root(up_norm, down_norm):
    """``h = (down_norm / up_norm) ** (1/4)``, so that ``up * h * h`` and ``down / h / h`` balance.

    The factor ``h^2 = sqrt(down / up)`` equalises the two norms; it can exceed the float range
    (``1e-300`` against ``1e300``) while ``h`` cannot, and applying ``h`` twice keeps every
    intermediate between the input and the (representable) balanced value.

    Parameters
    ----------
    up_norm, down_norm : ndarray
        Positive norms of the two sides.

    Returns
    -------
    root : ndarray
    """
    return np.sqrt(np.sqrt(down_norm)) / np.sqrt(np.sqrt(up_norm))
