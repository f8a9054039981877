"""Numeric helpers shared across the package: batched autodiff derivatives and safe log-determinants.

Jacobians and Hessians by autograd; log-determinants that turn degenerate orbits into ``-inf`` with a
warning.

Every function here is vectorised over leading batch axes whose rows are independent (one parameter
point each), which is what lets a Jacobian be one pass per coordinate direction rather than one per
point.
"""

from __future__ import annotations

import warnings

import autograd.numpy as anp
import numpy as np
from autograd import make_jvp, make_vjp
from autograd.tracer import getval

__all__ = [
    "DegenerateOrbitWarning",
    "bmm",
    "expm",
    "jacobian",
    "jacobian_and_hessian",
    "log_det_psd",
    "minus_inf_where_degenerate",
    "sum_log",
]


class DegenerateOrbitWarning(RuntimeWarning):
    """A Gram matrix is singular: the orbit through the point has lower dimension."""


def _unit(shape, index):
    direction = np.zeros(shape)
    direction[..., index] = 1.0
    return direction


def jacobian(fn, x, mode="reverse"):
    """Jacobian of a row-wise map ``fn: (..., n) -> (..., m)``, shape ``(..., m, n)``.

    The rows of the leading axes must be independent (``fn`` acts on each point separately), so one
    autodiff pass per coordinate direction serves the whole batch. Traceable: it can be nested.

    Parameters
    ----------
    fn : callable
        Written with ``autograd.numpy``.
    x : ndarray or autograd box, shape (..., n)
    mode : {"reverse", "forward"}
        ``"reverse"``: one pass per output (cheaper when ``m < n``); ``"forward"``: one per input.

    Returns
    -------
    jacobian : ndarray or autograd box, shape (..., m, n)
    """
    if mode == "forward":
        shape = np.shape(getval(x))
        if shape[-1] == 0:
            return np.zeros(np.shape(getval(fn(x))) + (0,))
        jvp = make_jvp(fn)(x)
        columns = [jvp(_unit(shape, j))[1] for j in range(shape[-1])]
        out_shape = np.shape(getval(columns[0]))
        # a constant field (e.g. a translation) comes back without the batch axes: broadcast it
        batch = np.broadcast_shapes(shape[:-1], out_shape[:-1])
        return anp.stack([column + np.zeros(batch + out_shape[-1:]) for column in columns], axis=-1)
    if mode != "reverse":
        raise ValueError(f"mode must be 'reverse' or 'forward'; got {mode!r}")
    vjp, value = make_vjp(fn)(x)
    shape = np.shape(getval(value))
    rows = [vjp(_unit(shape, i)) for i in range(shape[-1])]
    return anp.stack(rows, axis=-2) if rows else np.zeros(shape + np.shape(getval(x))[-1:])


def jacobian_and_hessian(fn, x):
    """Jacobian ``(..., m, n)`` and Hessians ``(..., m, n, n)`` of a row-wise map ``fn``, by autograd.

    Reverse mode over reverse mode, one output at a time: the gradient of output ``p`` is traced
    once, then ``n`` passes back through that small graph give its Hessian.

    Parameters
    ----------
    fn : callable
        ``(..., n) -> (..., m)``, written with ``autograd.numpy``.
    x : ndarray, shape (..., n)

    Returns
    -------
    jacobian : ndarray, shape (..., m, n)
    hessians : ndarray, shape (..., m, n, n)
    """
    out_shape = np.shape(fn(x))
    gradients, hessians = [], []
    for p in range(out_shape[-1]):

        def gradient(point, p=p):
            vjp, _ = make_vjp(fn)(point)
            return vjp(_unit(out_shape, p))

        with warnings.catch_warnings():
            # an affine output has a constant gradient, hence a zero Hessian: not an error here
            warnings.filterwarnings("ignore", message="Output seems independent of input")
            vjp, value = make_vjp(gradient)(x)
        gradients.append(value)
        hessians.append(np.stack([vjp(_unit(value.shape, j)) for j in range(value.shape[-1])],
                                 axis=-2))
    n = np.shape(x)[-1]
    if not gradients:
        return np.zeros(out_shape + (n,)), np.zeros(out_shape + (n, n))
    return np.stack(gradients, axis=-2), np.stack(hessians, axis=-3)


def minus_inf_where_degenerate(log_det, stacklevel=3):
    """Replace NaN and non-finite log-determinants by ``-inf``, with one warning per call.

    Parameters
    ----------
    log_det : array_like, shape (...,)

    Returns
    -------
    log_det : ndarray, shape (...,)
        Never NaN; ``-inf`` (with a :class:`DegenerateOrbitWarning`) where the input was not finite.
    """
    log_det = np.asarray(log_det, dtype=float)
    bad = ~np.isfinite(log_det)
    if np.any(bad):
        warnings.warn(
            f"{int(np.count_nonzero(bad))} point(s) lie on degenerate orbits (singular Gram "
            "matrix); their log-determinant is -inf",
            DegenerateOrbitWarning,
            stacklevel=stacklevel,
        )
        log_det = np.where(bad, -np.inf, log_det)
    return log_det


def log_det_psd(matrix):
    """Log-determinant of a stack of positive semi-definite matrices, ``-inf`` where singular.

    Parameters
    ----------
    matrix : ndarray, shape (..., k, k)

    Returns
    -------
    log_det : ndarray, shape (...,)
        ``-inf`` (with a :class:`DegenerateOrbitWarning`) where the matrix is singular; never NaN.
    """
    sign, log_det = np.linalg.slogdet(matrix)
    return minus_inf_where_degenerate(np.where(sign > 0, log_det, -np.inf), stacklevel=4)


def sum_log(values, axis=-1):
    """``sum(log(values))`` over ``axis`` for non-negative values: ``-inf`` with a warning at zeros."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.sum(np.log(values), axis=axis)
    return minus_inf_where_degenerate(out, stacklevel=4)


def expm(matrix):
    """Matrix exponential of a stack of matrices, traceable by autograd (forward and reverse mode).

    Scaling and squaring with a Taylor polynomial: the batch is scaled by ``2^-s`` so that every
    matrix has 1-norm ``r <= 1/2``, and the Taylor degree ``d`` is the smallest with
    ``r^(d+1) / (d+1)! <= 1e-17`` (``d = 16`` at ``r = 1/2``, fewer for the small steps of the dynamics),
    then the result is squared ``s`` times. (scipy's ``expm`` loops over a batch in Python and autograd
    cannot trace it.)

    Parameters
    ----------
    matrix : ndarray or autograd box, shape (..., n, n)

    Returns
    -------
    exponential : ndarray or autograd box, shape (..., n, n)
    """
    raw = np.asarray(getval(matrix))
    norm = np.max(np.sum(np.abs(raw), axis=-2)) if raw.size else 0.0
    squarings = int(max(0, np.ceil(np.log2(norm / 0.5)))) if norm > 0 else 0
    scaled = matrix / 2.0**squarings
    radius = norm / 2.0**squarings
    degree, term = 0, 1.0
    while term > 1e-17 and degree < 30:
        degree += 1
        term *= radius / degree
    identity = np.broadcast_to(np.eye(raw.shape[-1]), raw.shape)
    result = identity
    for order in range(degree, 0, -1):  # Horner: I + A (I + A/2 (I + A/3 (...)))
        result = identity + bmm(scaled, result) / order
    for _ in range(squarings):
        result = bmm(result, result)
    return result


def bmm(a, b):
    """``a @ b`` for stacks of small matrices with equal batch shapes, fast.

    numpy's ``matmul`` spends ~0.1 us per matrix on a stack of 3 x 3 matrices; the same products as one
    ``einsum`` over a batch-last copy are ~4x faster (benchmarks/bench_manifolds.py). Large matrices,
    small batches, broadcasting batches and autograd boxes take ``matmul``.

    Parameters
    ----------
    a : ndarray, shape (..., n, k)
    b : ndarray, shape (..., k, m)

    Returns
    -------
    product : ndarray, shape (..., n, m)
    """
    if (getval(a) is not a or getval(b) is not b or np.ndim(a) < 3 or np.shape(a)[:-2] != np.shape(b)[:-2]
            or max(np.shape(a)[-2:] + np.shape(b)[-1:]) > 6 or np.size(a) < 256):
        return anp.matmul(a, b)
    batch = np.shape(a)[:-2]
    first = np.ascontiguousarray(np.moveaxis(np.reshape(a, (-1,) + np.shape(a)[-2:]), 0, -1))
    second = np.ascontiguousarray(np.moveaxis(np.reshape(b, (-1,) + np.shape(b)[-2:]), 0, -1))
    product = np.einsum("ikn,kjn->ijn", first, second)
    return np.reshape(np.moveaxis(product, -1, 0), batch + product.shape[:2])
