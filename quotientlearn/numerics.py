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
    "jacobian",
    "jacobian_and_hessian",
    "log_det_psd",
    "minus_inf_where_degenerate",
    "sum_log",
]


class DegenerateOrbitWarning(RuntimeWarning):
    """A Gram matrix is singular: the orbit through the point has lower dimension.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     bias = ql.implicit_bias(ql.models.Hadamard(dim=1), np.zeros(2), 0.1)  # the orbit of 0
    >>> float(bias), caught[0].category is ql.DegenerateOrbitWarning
    (-inf, True)
    """


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
