"""Numeric helpers shared across the package: batched autodiff derivatives and safe log-determinants.

Jacobians and Hessians by autograd; log-determinants that turn degenerate orbits into ``-inf`` with a
warning.

Every function here is vectorised over leading batch axes whose rows are independent (one parameter
point each), which is what lets a Jacobian be one pass per coordinate direction rather than one per
point.
"""

from __future__ import annotations

import math
import os
import warnings

import autograd.numpy as anp
import numpy as np
from autograd import make_jvp, make_vjp
from autograd.core import SparseObject, defvjp, vspace
from autograd.extend import defjvp, primitive
from autograd.numpy.numpy_boxes import ArrayBox
from autograd.numpy.numpy_vjps import untake
from autograd.tracer import getval

__all__ = [
    "AutogradHessians",
    "DegenerateOrbitWarning",
    "bmm",
    "expm",
    "DenseHessians",
    "GaugeConvergenceWarning",
    "Hessians",
    "jacobian",
    "jacobian_and_hessian",
    "log_det_psd",
    "minimum_norm_solve",
    "slice_tangents",
    "minus_inf_where_degenerate",
    "standard_normal",
    "sum_log",
]

#: Whether :func:`standard_normal` (the noise of the hot loop) draws with a loop compiled by numba
#: (``pip install 'quotientlearn[fast]'``) instead of ``Generator.standard_normal``. The numbers, and
#: the generator's state after the draw, are the same bit for bit (numba's ``Generator`` runs numpy's
#: ziggurat on the same bit generator); the compiled loop is about three times as fast, and drawing is
#: most of a step at small ``D``. Off by default (numpy is the reference, and the first draw of a
#: process compiles: ~1 s, cached on disk where the package is writable); on with
#: ``QUOTIENTLEARN_NUMBA=1`` in the environment, or by setting this attribute at run time. The same
#: switch turns on the fused compiled Euler step of the product models
#: (:mod:`quotientlearn.dynamics.compiled`; also bit-identical).
COMPILED_DRAWS = os.environ.get("QUOTIENTLEARN_NUMBA", "") == "1"

_COMPILED_FILL = []  # the compiled loop, once built

#: Fewer draws than this are numpy's (the same numbers): the compiled call costs ~10 us of unboxing
#: the generator, which its faster loop pays back only from ~1,500 draws (measured).
_COMPILED_MINIMUM = 2048


def _compiled_fill():
    if not _COMPILED_FILL:
        try:
            import numba
        except ImportError as error:
            raise ImportError("compiled draws (QUOTIENTLEARN_NUMBA=1, quotientlearn.numerics."
                              "COMPILED_DRAWS) need numba: pip install 'quotientlearn[fast]'") from error

        @numba.njit(cache=True)
        def fill(out, rng):
            for i in range(out.size):
                out[i] = rng.standard_normal()

        _COMPILED_FILL.append(fill)
    return _COMPILED_FILL[0]


def standard_normal(rng, shape):
    """Standard normal draws, ``rng.standard_normal(shape)``, by a compiled loop if :data:`COMPILED_DRAWS`.

    The compiled loop serves draws of at least 2048 numbers (below that numba's call costs more than it
    saves).

    Parameters
    ----------
    rng : numpy.random.Generator
    shape : tuple of int

    Returns
    -------
    draws : ndarray, shape ``shape``
        A new array; the same numbers with or without the compiled loop, leaving ``rng`` in the same
        state.

    Raises
    ------
    ImportError
        When :data:`COMPILED_DRAWS` is set and numba is not installed.

    Examples
    --------
    >>> import numpy as np
    >>> from quotientlearn import numerics
    >>> draws = numerics.standard_normal(np.random.default_rng(0), (2, 3))
    >>> bool(np.array_equal(draws, np.random.default_rng(0).standard_normal((2, 3))))
    True
    """
    if COMPILED_DRAWS and type(rng) is np.random.Generator and math.prod(shape) >= _COMPILED_MINIMUM:
        out = np.empty(shape)
        _compiled_fill()(out.reshape(-1), rng)
        return out
    return rng.standard_normal(shape)


def _is_basic_index(index):
    """Whether ``index`` is basic indexing (ints, slices, ``...``, ``None``): each element once."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(part is Ellipsis or part is None or isinstance(part, slice | int | np.integer)
               for part in parts)


@primitive
def _untake_basic(x, index, vs):
    """The cotangent of ``A[index]`` scattered back into ``A``'s space, for basic indices."""

    def mut_add(array):
        array[index] += x  # basic indices never repeat an element: np.add.at's result, 8x faster
        return array

    return SparseObject(vs, mut_add)


defvjp(_untake_basic, lambda ans, x, index, _: lambda g: g[index])
defjvp(_untake_basic, "same")
# autograd pulls every cotangent of ``A[index]`` back with ``np.add.at``, which dominated the generic
# predictor pull-back of a user's model (``th[..., :d] * th[..., d:]``) in the hot loop. For basic
# indices the in-place add gives the same sums; other indices keep autograd's rule.
defvjp(ArrayBox.__getitem__, lambda ans, A, index: (
    (lambda g: _untake_basic(g, index, vspace(A))) if _is_basic_index(index)
    else (lambda g: untake(g, index, vspace(A)))))


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


class GaugeConvergenceWarning(RuntimeWarning):
    """Newton steps along the orbit did not reach the slice to the requested tolerance.

    Examples
    --------
    >>> import quotientlearn as ql
    >>> issubclass(ql.groups.GaugeConvergenceWarning, RuntimeWarning)
    True
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


#: Largest number of entries of one replicated autograd pass (rows x n) in :class:`AutogradHessians`.
_HESSIAN_CHUNK = 1_000_000


class Hessians:
    """The Hessians ``H_p`` of a row-wise map ``f: (N, n) -> (N, m)`` at points ``x``, as contractions.

    The Itô route needs only a few contractions of the Hessians with vectors, never the dense
    ``(N, m, n, n)`` array, whose size grows like ``D^3`` per point. Subclasses implement them in
    closed form (:class:`DenseHessians` from a dense array is the reference, :class:`AutogradHessians`
    the generic autograd route); :meth:`dense` is there for generic code that wants the array.
    """

    def trace(self):
        """``tr H_p``, shape ``(N, m)``."""
        raise NotImplementedError(f"{type(self).__name__} must implement Hessians.trace")

    def forms(self, left, right):
        """``sum_r left_r^T H_p right_r`` for ``left, right`` of shape ``(N, r, n)``; shape ``(N, m)``."""
        raise NotImplementedError(f"{type(self).__name__} must implement Hessians.forms")

    def contract(self, vectors):
        """``sum_p H_p vectors_p`` for ``vectors`` of shape ``(N, m, n)``; shape ``(N, n)``."""
        raise NotImplementedError(f"{type(self).__name__} must implement Hessians.contract")

    def dense(self):
        """The Hessians as an array ``(N, m, n, n)``."""
        raise NotImplementedError(f"{type(self).__name__} must implement Hessians.dense")


class DenseHessians(Hessians):
    """:class:`Hessians` from a dense array ``(N, m, n, n)`` (the reference implementation)."""

    def __init__(self, hessians):
        self.hessians = np.asarray(hessians)

    def trace(self):
        """``tr H_p``, shape ``(N, m)``."""
        return np.trace(self.hessians, axis1=-2, axis2=-1)

    def forms(self, left, right):
        """``sum_r left_r^T H_p right_r``, shape ``(N, m)``."""
        return np.einsum("nri,npij,nrj->np", left, self.hessians, right)

    def contract(self, vectors):
        """``sum_p H_p vectors_p``, shape ``(N, n)``."""
        return np.einsum("npij,npj->ni", self.hessians, vectors)

    def dense(self):
        """The array itself."""
        return self.hessians


class AutogradHessians(Hessians):
    """:class:`Hessians` of ``fn`` at ``x`` by nested autograd passes over replicated rows.

    A row of ``x`` is repeated once per vector pair (or per output), each copy differentiated along
    its own direction: one forward-over-forward pass gives every ``left_r^T H_p right_r``, one
    reverse-over-forward pass gives ``sum_p H_p v_p``. The cost is one pass through ``fn`` on
    ``(N r, n)`` rows, chunked to bounded memory, instead of ``n m`` passes and an ``(N, m, n, n)``
    array.

    Parameters
    ----------
    fn : callable
        Row-wise ``(N, n) -> (N, m)``, written with ``autograd.numpy``.
    x : ndarray, shape (N, n)
    """

    def __init__(self, fn, x):
        self.fn, self.x = fn, np.asarray(x, dtype=float)

    def _blocks(self, repeats):
        """Slices of the points whose replicated rows hold at most ``_HESSIAN_CHUNK`` entries."""
        n_points, n = self.x.shape
        size = max(1, _HESSIAN_CHUNK // max(1, repeats * n))
        return [slice(start, start + size) for start in range(0, n_points, size)]

    def forms(self, left, right):
        """``sum_r left_r^T H_p right_r`` by forward over forward mode, shape ``(N, m)``."""
        repeats, n = np.shape(left)[-2:]
        out = []
        for block in self._blocks(repeats):
            points = np.repeat(self.x[block], repeats, axis=0)
            a, b = np.reshape(left[block], (-1, n)), np.reshape(right[block], (-1, n))
            inner = lambda y, b=b: make_jvp(self.fn)(y)(b)[1]  # noqa: E731
            second = make_jvp(inner)(points)(a)[1]
            out.append(np.reshape(second, (-1, repeats) + np.shape(second)[-1:]).sum(axis=1))
        return np.concatenate(out, axis=0)

    def trace(self):
        """``tr H_p = sum_j e_j^T H_p e_j``, shape ``(N, m)``."""
        n_points, n = self.x.shape
        unit = np.broadcast_to(np.eye(n), (n_points, n, n))
        return self.forms(unit, unit)

    def contract(self, vectors):
        """``sum_p H_p v_p`` by reverse over forward mode, shape ``(N, n)``."""
        m, n = np.shape(vectors)[-2:]
        out = []
        for block in self._blocks(m):
            points = np.repeat(self.x[block], m, axis=0)
            directions = np.reshape(vectors[block], (-1, n))
            pullback, _ = make_vjp(lambda y, d=directions: make_jvp(self.fn)(y)(d)[1])(points)
            select = np.tile(np.eye(m), (len(points) // m, 1))  # row (i, p) keeps output p
            out.append(np.reshape(pullback(select), (-1, m, n)).sum(axis=1))
        return np.concatenate(out, axis=0)

    def dense(self):
        """``(N, m, n, n)`` by reverse over reverse mode (:func:`jacobian_and_hessian`)."""
        return jacobian_and_hessian(self.fn, self.x)[1]


def slice_tangents(jacobian, constraint_jacobian):
    """Tangents ``V`` with ``jacobian V = I`` and ``constraint_jacobian V = 0`` (minimum norm).

    Parameters
    ----------
    jacobian : ndarray, shape (N, m, D)
        Of the coordinates along the slice.
    constraint_jacobian : ndarray, shape (N, c, D)
        Of the gauge function that defines the slice.

    Returns
    -------
    tangents : ndarray, shape (N, D, m)
    """
    m = jacobian.shape[-2]
    constraint = np.concatenate([jacobian, constraint_jacobian], axis=-2)
    rhs = np.zeros(constraint.shape[:-1] + (m,))
    rhs[..., :m, :] = np.eye(m)
    return minimum_norm_solve(constraint, rhs)


def minimum_norm_solve(matrix, rhs):
    """Minimum-norm solutions ``X`` of ``matrix @ X = rhs`` for stacks of wide or square matrices.

    ``matrix^T (matrix matrix^T)^{-1} rhs`` by a solve with the small Gram (a plain solve when square);
    the pseudo-inverse takes over only when a matrix in the stack is singular.

    Parameters
    ----------
    matrix : ndarray, shape (..., c, n)
    rhs : ndarray, shape (..., c, q)

    Returns
    -------
    solution : ndarray, shape (..., n, q)
    """
    c, n = matrix.shape[-2:]
    try:
        if c == n:
            return np.linalg.solve(matrix, rhs)
        gram = matrix @ np.swapaxes(matrix, -1, -2)
        return np.swapaxes(matrix, -1, -2) @ np.linalg.solve(gram, rhs)
    except np.linalg.LinAlgError:  # a singular matrix somewhere in the stack
        return np.linalg.pinv(matrix) @ rhs


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
