"""Matrix manifolds in closed form: ``SO(n)`` (bi-invariant), Stiefel (canonical), SPD (affine-invariant).

Every method is batched over leading axes. The simulation step's methods (``raise_index``,
``random_normal_tangent``, ``retraction``) work on batch-last stacks (see ``_batch_last``); ``raise_index``
takes ``autograd.numpy`` where autograd traces it (the Itô route differentiates ``cometric``) or where
batch shapes broadcast.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval
from geomstats.geometry.spd_matrices import SPDAffineMetric, SPDMatrices
from geomstats.geometry.special_orthogonal import _SpecialOrthogonalMatrices
from geomstats.geometry.stiefel import Stiefel, StiefelCanonicalMetric

from quotientlearn.numerics import bmm, expm, standard_normal
from quotientlearn.spaces.base import ManifoldSpace

__all__ = ["RotationSpace", "SPDSpace", "StiefelSpace"]


def _t(matrix):
    return anp.swapaxes(matrix, -1, -2)


def _sym(matrix):
    return 0.5 * (matrix + _t(matrix))


def _skew(matrix):
    return 0.5 * (matrix - _t(matrix))


def _frobenius(a, b):
    return anp.sum(a * b, axis=(-2, -1))


# Batch-last stacks. The steps below work on ``(n, m, N)`` arrays, N the number of matrices: an
# elementwise operation or an einsum then runs along N in its inner loop, where numpy's batched
# ``matmul`` and ``linalg`` on ``(N, n, m)`` stacks of 3 x 3 or 6 x 3 matrices spend their time on
# per-matrix overhead (~0.1 us a product, ~0.2-0.5 us a solve). Results go back as views of the
# batch-last arrays (like ``numerics.bmm``): the next batch-last step takes them without a copy.
def _batch_last(matrix):
    """``(..., n, m)`` -> a contiguous ``(n, m, N)`` array (no copy for a view made by ``_batch_first``)."""
    matrix = np.asarray(matrix, dtype=float)
    return np.ascontiguousarray(np.moveaxis(np.reshape(matrix, (-1,) + matrix.shape[-2:]), 0, -1))


def _batch_first(matrix, batch):
    """A batch-last ``(n, m, N)`` array viewed as ``(*batch, n, m)``."""
    return np.reshape(np.moveaxis(matrix, -1, 0), tuple(batch) + matrix.shape[:2])


def _mm(a, b):
    """``a @ b`` for batch-last stacks ``(n, k, N)``, ``(k, m, N)``."""
    return np.einsum("ikN,kjN->ijN", a, b)


def _tmm(a, b):
    """``a^T @ b`` for batch-last stacks ``(k, n, N)``, ``(k, m, N)``."""
    return np.einsum("kiN,kjN->ijN", a, b)


def _cholesky_last(matrix):
    """Lower Cholesky factors ``L`` (``P = L L^T``) of a batch-last SPD stack ``(n, n, N)``.

    Column by column (``n`` steps, each vectorised over the stack); ``nan`` where ``P`` is not positive
    definite.
    """
    factor = np.zeros_like(matrix)
    for j in range(matrix.shape[0]):
        row = factor[j, :j]
        factor[j, j] = np.sqrt(matrix[j, j] - np.einsum("kN,kN->N", row, row))
        below = matrix[j + 1:, j] - np.einsum("ikN,kN->iN", factor[j + 1:, :j], row)
        factor[j + 1:, j] = below / factor[j, j]
    return factor


def _forward_substitution(factor, rhs):
    """``L^{-1} B`` for batch-last stacks: ``L`` lower triangular ``(n, n, N)``, ``B`` ``(n, m, N)``."""
    solution = np.empty_like(rhs)
    for i in range(factor.shape[0]):
        solution[i] = (rhs[i] - np.einsum("kN,kjN->jN", factor[i, :i], solution[:i])) / factor[i, i]
    return solution


#: ``binom(2 j, j) / 4^j``: the coefficients of ``(1 - x)^{-1/2}``, all at most 1
_INVERSE_ROOT_SERIES = [1.0, 0.5, 0.375, 0.3125, 0.2734375, 0.24609375, 0.2255859375, 0.20947265625,
                        0.196380615234375]


def _polar_last(matrix, tol=1e-14, max_iter=30):
    """The polar factor of a batch-last stack ``(n, k, N)``; see :func:`_polar`.

    With the defect ``D = I - X^T X``, the polar factor is ``X (I - D)^{-1/2}``, and the binomial series
    ``(I - D)^{-1/2} = sum_j c_j D^j`` converges for ``|D|_2 < 1``. An update multiplies ``X`` by the
    series truncated at degree ``m`` (``m = 1`` is the Newton–Schulz iteration); everything being a
    function of ``X^T X``, the new defect is at most ``3 e^(m+1) / (1 - e)`` for ``e >= |D|_2``, here
    ``e = k max |D_ij|``. The degree is the smallest that brings this below ``tol`` (then no check is
    needed after the update), at most 8; far from the manifold (``e >= 1/2``) Newton–Schulz steps.
    """
    k = matrix.shape[1]
    eye = np.eye(k)[:, :, None]
    current = matrix
    for _ in range(max_iter):
        defect = eye - _tmm(current, current)
        error = max(defect.max(), -defect.min()) if defect.size else 0.0
        if error <= tol:
            return current
        if not error < 0.5:
            break
        bound = k * error
        degree, converged = 1, False
        if bound < 0.5:
            for degree in range(1, len(_INVERSE_ROOT_SERIES)):
                converged = 3.0 * bound ** (degree + 1) / (1.0 - bound) <= tol
                if converged:
                    break
        factor = _INVERSE_ROOT_SERIES[degree] * defect
        for coefficient in _INVERSE_ROOT_SERIES[degree - 1:0:-1]:
            factor += coefficient * eye
            factor = _mm(defect, factor)
        factor += eye
        current = _mm(current, factor)
        if converged:
            return current
    left, _, right = np.linalg.svd(np.moveaxis(matrix, -1, 0), full_matrices=False)
    return np.ascontiguousarray(np.moveaxis(left @ right, 0, -1))


def _polar(matrix, tol=1e-14, max_iter=30):
    """The factor ``U V^T`` of ``matrix = U S V^T``: the closest matrix with orthonormal columns.

    ``X (X^T X)^{-1/2}`` by matrix products only (batched LAPACK calls cost microseconds per small
    matrix): a truncated binomial series of the inverse square root near the manifold, as after a step
    (one update), Newton–Schulz iterations further out; an SVD where ``max |I - X^T X| >= 1/2``.
    """
    return _batch_first(_polar_last(_batch_last(matrix), tol, max_iter), np.shape(matrix)[:-2])


def _batch_last_view(point):
    """``point`` as a view of its batch-last copy (the batch-last steps then take it without a copy)."""
    if not _stacked(point) or np.ndim(point) < 3:
        return point
    return _batch_first(_batch_last(point), np.shape(point)[:-2])


def _stacked(*arrays):
    """Whether the batch-last route applies: equal batch shapes (no broadcasting) and no autograd tracing."""
    batch = np.shape(arrays[0])[:-2]
    return all(getval(array) is array and np.shape(array)[:-2] == batch for array in arrays)


def _skew_last(entries, k):
    """Batch-last skew-symmetric ``(k, k, N)`` matrices from their entries above the diagonal ``(N, m)``."""
    rows, columns = np.triu_indices(k, 1)
    entries = np.ascontiguousarray(entries.T)
    matrix = np.zeros((k, k, entries.shape[-1]))
    matrix[rows, columns] = entries
    matrix[columns, rows] = -entries
    return matrix


def _symmetric_last(entries, k):
    """Batch-last symmetric ``(k, k, N)`` matrices from their upper triangles ``(N, k (k + 1) / 2)``."""
    rows, columns = np.triu_indices(k)
    entries = np.ascontiguousarray(entries.T)
    matrix = np.empty((k, k, entries.shape[-1]))
    matrix[rows, columns] = entries
    matrix[columns, rows] = entries
    return matrix


#: ``(1 + c) / 2`` and ``(1 - c) / 2`` with ``c = 1 - sqrt(2)``: Stiefel noise's ``sym(A) + c skew(A)``
_VERTICAL_KEPT = 1.0 - 0.5 * np.sqrt(2.0)
_VERTICAL_TRANSPOSED = 0.5 * np.sqrt(2.0)


def _random_skew(shape, k, rng):
    """Skew-symmetric ``k x k`` matrices with i.i.d. ``N(0, 1)`` entries above the diagonal.

    ``k (k - 1) / 2`` draws a matrix, in one call (row-major over ``shape``: a stack drawn in pieces gives
    the same matrices).
    """
    entries = standard_normal(rng, (int(np.prod(shape, dtype=int)), k * (k - 1) // 2))
    return _batch_first(_skew_last(entries, k), tuple(shape))


class RotationSpace(ManifoldSpace):
    """``SO(n)`` as ``n x n`` matrices with geomstats' bi-invariant metric ``g(A, B) = tr(A^T B) / 2``.

    Tangent vectors at ``R`` are ``R Omega`` (``Omega`` skew). The polar projection is a second-order
    retraction (the metric is induced by ``R^{n x n}``, up to the factor 1/2); ``exp(R Omega) =
    R expm(Omega)``; ``gamma''(0) = R Omega^2``, and Brownian motion drifts by ``-(n - 1) R`` per unit ``T``.

    Examples
    --------
    >>> import numpy as np
    >>> from geomstats.geometry.special_orthogonal import SpecialOrthogonal
    >>> from quotientlearn.spaces import as_space
    >>> rotations = as_space(SpecialOrthogonal(3))
    >>> skew = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    >>> float(rotations.inner_product(skew, skew, np.eye(3)))  # tr(A^T B) / 2
    1.0
    """

    membership_check = "max |R^T R - I| (and |det R - 1|)"
    # Measured (benchmarks/bench_manifolds.py, SO(3), N = 1e4): the step's per-chunk overhead (the
    # polar factor's loop) outweighs what cache-sized chunks save; one chunk of 1e4 points is fastest.
    chunk_entries = 2**17

    @classmethod
    def accepts(cls, manifold):
        """``SpecialOrthogonal(n)`` in matrix form with its bi-invariant metric."""
        return (isinstance(manifold, _SpecialOrthogonalMatrices)
                and type(manifold.metric).__name__ == "BiInvariantMetric")

    @property
    def n(self):
        """The matrix size."""
        return self.shape[-1]

    def membership_residual(self, point):
        """``max(max |R^T R - I|, |det R - 1|)``, shape ``(...,)``."""
        gram = np.swapaxes(point, -1, -2) @ point - np.eye(self.n)
        return np.maximum(np.max(np.abs(gram), axis=(-2, -1)), np.abs(np.linalg.det(point) - 1.0))

    def to_tangent(self, vector, base_point):
        """``R skew(R^T v)``."""
        return base_point @ _skew(_t(base_point) @ vector)

    def inner_product(self, tangent_vec_a, tangent_vec_b, base_point):
        """``tr(a^T b) / 2``, shape ``(...,)``."""
        return 0.5 * _frobenius(tangent_vec_a, tangent_vec_b)

    def lower_index(self, tangent_vec, base_point):
        """``v / 2``."""
        return 0.5 * tangent_vec

    def raise_index(self, covector, base_point):
        """``2 R skew(R^T w)``."""
        return 2.0 * bmm(base_point, _skew(bmm(_t(base_point), covector)))

    def random_normal_tangent(self, base_point, rng):
        """``R Omega`` with ``Omega`` skew, i.i.d. ``N(0, 1)`` above the diagonal."""
        return bmm(base_point, _random_skew(np.shape(base_point)[:-2], self.n, rng))

    def retraction(self, tangent_vec, base_point):
        """The polar projection of ``R + v`` onto ``SO(n)`` (second order)."""
        return _polar(base_point + tangent_vec)

    def exp(self, tangent_vec, base_point):
        """``R expm(R^T v)``."""
        return bmm(base_point, expm(_skew(bmm(np.swapaxes(base_point, -1, -2), tangent_vec))))

    def geodesic_acceleration(self, tangent_vec_a, tangent_vec_b, base_point):
        """``R (Omega_a Omega_b + Omega_b Omega_a) / 2`` with ``Omega = R^T v``."""
        left = _t(base_point) @ tangent_vec_a
        right = _t(base_point) @ tangent_vec_b
        return base_point @ _sym(left @ right)

    def laplacian_drift(self, base_point):
        """``-(n - 1) R``."""
        return -(self.n - 1.0) * base_point

    def sample(self, size=(), rng=None):
        """Haar-distributed rotations (QR of Gaussians, signs fixed), shape ``(*size, n, n)``."""
        size = (size,) if np.isscalar(size) else tuple(size)
        gaussian = np.random.default_rng(rng).standard_normal(size + (self.n, self.n))
        q, r = np.linalg.qr(gaussian)
        q = q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]
        flip = np.linalg.det(q) < 0
        q[..., 0] = np.where(flip[..., None], -q[..., 0], q[..., 0])
        return q


class StiefelSpace(ManifoldSpace):
    """The Stiefel manifold ``St(n, k)`` (``n x k``, ``U^T U = I``) with geomstats' canonical metric.

    ``g_U(A, B) = tr(A^T (I - U U^T / 2) B)``: vertical directions ``U Omega`` weigh half, normal-space
    directions ``(I - U U^T) B`` fully. The Riemannian gradient of a Euclidean gradient ``w`` is
    ``w - U w^T U`` (Edelman, Arias, Smith 1998); the canonical geodesic is ``expm(W) U`` (``W`` skew of
    rank ``2k``, :meth:`exp`), whose second derivative is ``-(v v^T U + U ((U^T v)^2 + v^T v))``; the
    retraction follows it to second order without the series of ``expm``.

    Examples
    --------
    >>> import numpy as np
    >>> from geomstats.geometry.stiefel import Stiefel
    >>> from quotientlearn.spaces import as_space
    >>> stiefel = as_space(Stiefel(3, 2))
    >>> stiefel.shape, float(stiefel.membership_residual(np.eye(3)[:, :2]))  # U^T U = I
    ((3, 2), 0.0)
    """

    membership_check = "max |U^T U - I|"
    # Chunks of 2**15 entries (256 KB arrays): fewer chunks, so less of the per-chunk Python cost (the
    # drift's autograd pass above all); measured (getrusage) ~16 minor page faults a step in fresh
    # processes, and Stiefel(6, 3)'s step ratio ~2.65 against ~2.95 at 2**14. SPD's step, whose
    # temporaries glibc returned to the system between steps at this size, keeps 2**14.
    chunk_entries = 2**15

    @classmethod
    def accepts(cls, manifold):
        """``Stiefel(n, k)`` with its canonical metric."""
        return isinstance(manifold, Stiefel) and type(manifold.metric) is StiefelCanonicalMetric

    @property
    def k(self):
        """The number of columns."""
        return self.shape[-1]

    def membership_residual(self, point):
        """``max |U^T U - I|``, shape ``(...,)`` (``inf`` where the products overflow)."""
        with np.errstate(over="ignore", invalid="ignore"):
            gram = np.swapaxes(point, -1, -2) @ point - np.eye(self.k)
        return np.max(np.abs(gram), axis=(-2, -1))

    def to_tangent(self, vector, base_point):
        """``v - U sym(U^T v)``."""
        return vector - base_point @ _sym(_t(base_point) @ vector)

    def inner_product(self, tangent_vec_a, tangent_vec_b, base_point):
        """``tr(a^T b) - tr((U^T a)^T (U^T b)) / 2``, shape ``(...,)``."""
        return (_frobenius(tangent_vec_a, tangent_vec_b)
                - 0.5 * _frobenius(_t(base_point) @ tangent_vec_a, _t(base_point) @ tangent_vec_b))

    def lower_index(self, tangent_vec, base_point):
        """``(I - U U^T / 2) v``."""
        return tangent_vec - 0.5 * base_point @ (_t(base_point) @ tangent_vec)

    def step_layout(self, point):
        """``point`` as a view of one batch-last copy: the step's three methods then share that copy."""
        return _batch_last_view(point)

    def raise_index(self, covector, base_point):
        """``w - U w^T U``, the canonical-metric gradient (tangent: its normal part is dropped)."""
        if not _stacked(covector, base_point):
            return covector - base_point @ (_t(covector) @ base_point)
        point, covector = _batch_last(base_point), _batch_last(covector)
        raised = _mm(point, _tmm(covector, point))
        np.subtract(covector, raised, out=raised)
        return _batch_first(raised, np.shape(base_point)[:-2])

    def random_normal_tangent(self, base_point, rng):
        """``U Omega + (I - U U^T) H``: ``Omega`` skew with ``N(0, 1)`` entries, ``H`` i.i.d. ``N(0, 1)``.

        ``n k`` draws a point (``H`` only, one call): given ``U``, ``A = U^T H`` is independent of
        ``(I - U U^T) H`` (the two are jointly Gaussian and uncorrelated), and ``Omega = sqrt(2) skew(A)``
        has i.i.d. ``N(0, 1)`` entries above its diagonal (``(A_ij - A_ji) / 2 ~ N(0, 1/2)``). So the
        noise is ``H - U (sym(A) + (1 - sqrt(2)) skew(A))``: the same law as drawing ``Omega`` apart.
        """
        batch, (n, k) = np.shape(base_point)[:-2], self.shape
        draws = standard_normal(rng, (int(np.prod(batch, dtype=int)), n, k))
        normal = _batch_last(draws)
        point = _batch_last(base_point)
        inner = _tmm(point, normal)  # A = U^T H
        # sym(A) + c skew(A) = ((1 + c) A + (1 - c) A^T) / 2, c = 1 - sqrt(2)
        kept = np.multiply(_VERTICAL_TRANSPOSED, np.swapaxes(inner, 0, 1))
        inner *= _VERTICAL_KEPT
        inner += kept
        tangent = _mm(point, inner)
        np.subtract(normal, tangent, out=tangent)
        return _batch_first(tangent, batch)

    def retraction(self, tangent_vec, base_point):
        """The polar factor of ``U + v + W v / 2``: a second-order retraction for the canonical metric.

        ``expm(W) U = U + v + W v / 2 + O(|v|^3)`` (``W U = v``, see :meth:`exp`), and the polar factor
        moves a point ``O(|v|^3)`` off the manifold by ``O(|v|^3)``; so the step follows the canonical
        geodesic to second order, as the scheme needs (:attr:`retraction_is_second_order`), at the cost of
        four products of ``n x k`` matrices and a polar factor (no series in ``|W|``). For tangent ``v``
        (``S = U^T v`` skew), ``W v = v S - U (S^2 + v^T v)``, so ``U + v + W v / 2 =
        U (I - (S^2 + v^T v) / 2) + v (I + S / 2)``.
        """
        point, velocity = _batch_last(base_point), _batch_last(tangent_vec)
        inner = _tmm(point, velocity)  # S = U^T v, skew
        eye = np.eye(self.k)[:, :, None]
        along_point = _mm(inner, inner)
        along_point += _tmm(velocity, velocity)
        along_point *= -0.5
        along_point += eye
        inner *= 0.5
        inner += eye
        moved = _mm(point, along_point)
        moved += _mm(velocity, inner)
        return _batch_first(_polar_last(moved), np.shape(base_point)[:-2])

    def exp(self, tangent_vec, base_point):
        """The canonical geodesic ``expm(W) U`` with ``W = A U^T - U A^T``, ``A = (I - U U^T / 2) v``.

        ``W`` is skew, of rank ``2k``, and ``W U = v``. The span of ``[U, A]`` is invariant under ``W``:
        ``W [U, A] = [U, A] M`` with the ``2k x 2k`` matrix ``M = [[-A^T U, -A^T A], [I, U^T A]]``, so
        ``expm(W) U = [U, A] expm(M) [I; 0]`` (Edelman, Arias, Smith 1998). The Taylor series of
        ``expm(M)`` is applied to ``[I; 0]`` (products of size ``2k x k`` only, independent of ``n``), in
        ``2^s`` sub-steps where ``|W|`` is large; its terms are those of ``expm(W) U`` in the basis
        ``[U, A]``, so the truncation bound on ``|W|`` holds. The polar factor removes the rounding.
        """
        u = np.asarray(base_point, dtype=float)
        a = tangent_vec - 0.5 * bmm(u, bmm(np.swapaxes(u, -1, -2), tangent_vec))
        radius = 2.0 * np.max(np.sqrt(np.sum(a**2, axis=(-2, -1)))) if a.size else 0.0
        substeps = int(max(0, np.ceil(np.log2(radius)))) if radius > 1.0 else 0
        a = a / 2.0**substeps
        degree, term = 0, 1.0
        while term > 1e-17 and degree < 40:  # the truncation error of the Taylor series
            degree += 1
            term *= (radius / 2.0**substeps) / degree
        # batch-last copies: the products below are einsums over contiguous (., ., N) arrays
        batch, k = np.shape(u)[:-2], self.k
        basis = np.ascontiguousarray(np.moveaxis(
            np.concatenate([np.reshape(u, (-1,) + self.shape), np.reshape(a, (-1,) + self.shape)], axis=-1),
            0, -1))  # [U, A], (n, 2k, N)
        u_last, a_last = basis[:, :k], basis[:, k:]
        ua = np.einsum("lkN,ljN->kjN", u_last, a_last)
        reduced = np.zeros((2 * k, 2 * k, basis.shape[-1]))
        reduced[:k, :k] = -np.swapaxes(ua, 0, 1)
        reduced[:k, k:] = -np.einsum("lkN,ljN->kjN", a_last, a_last)
        reduced[k:, :k] = np.eye(k)[:, :, None]
        reduced[k:, k:] = ua
        coefficients = np.zeros((2 * k, k, basis.shape[-1]))
        coefficients[:k] = np.eye(k)[:, :, None]  # U = [U, A] [I; 0]
        for _ in range(2**substeps):
            total = term_j = coefficients
            for order in range(1, degree + 1):
                term_j = np.einsum("icN,cjN->ijN", reduced, term_j)
                term_j /= order
                total = total + term_j
            coefficients = total
        moved = np.einsum("icN,cjN->ijN", basis, coefficients)
        moved = np.reshape(np.moveaxis(moved, -1, 0), batch + self.shape)
        return _polar(moved)

    def geodesic_acceleration(self, tangent_vec_a, tangent_vec_b, base_point):
        """The polarisation of ``-(v v^T U + U ((U^T v)^2 + v^T v))``."""
        a, b, u = tangent_vec_a, tangent_vec_b, base_point
        outer = _sym(a @ _t(b)) @ u
        ua, ub = _t(u) @ a, _t(u) @ b
        return -(outer + u @ (_sym(ua @ ub) + _sym(_t(a) @ b)))

    def sample(self, size=(), rng=None):
        """Uniform points (QR of Gaussians, signs fixed), shape ``(*size, n, k)``."""
        size = (size,) if np.isscalar(size) else tuple(size)
        gaussian = np.random.default_rng(rng).standard_normal(size + self.shape)
        q, r = np.linalg.qr(gaussian)
        return q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]


class SPDSpace(ManifoldSpace):
    """Symmetric positive-definite matrices with the affine-invariant metric ``tr(P^-1 A P^-1 B)``.

    Tangent vectors are symmetric matrices. The Riemannian gradient of a Euclidean gradient ``w`` is
    ``P sym(w) P``; noise ``L sym(G) L^T`` (``P = L L^T``, ``G`` i.i.d. ``N(0, 1)``) is orthonormal in
    the metric; ``P + V + V P^{-1} V / 2`` is a second-order retraction that stays positive definite;
    ``gamma''(0) = V P^{-1} V`` and Brownian motion drifts by ``(n + 1) P / 2`` per unit ``T``.

    Examples
    --------
    >>> import numpy as np
    >>> from geomstats.geometry.spd_matrices import SPDMatrices
    >>> from quotientlearn.spaces import as_space
    >>> spd = as_space(SPDMatrices(2))
    >>> float(spd.inner_product(np.eye(2), np.eye(2), np.diag([1.0, 4.0])))  # tr(P^-1 P^-1) = 1 + 1/16
    1.0625
    """

    membership_check = "max(max |P - P^T|, -smallest eigenvalue) / max(1, max |P|)"
    # The step holds several point-sized temporaries at once (batch-last copies, products): at 2**15
    # entries a chunk (256 KB arrays) glibc returned them to the system between steps, and a step of
    # SPD(3) paid 200-1200 page faults (up to ~40% of its time; bimodal from process to process); at
    # 2**14 there are ~7.
    chunk_entries = 2**14

    @classmethod
    def accepts(cls, manifold):
        """``SPDMatrices(n)`` with ``SPDAffineMetric`` (power 1)."""
        return (isinstance(manifold, SPDMatrices) and type(manifold.metric) is SPDAffineMetric
                and getattr(manifold.metric, "power_affine", 1) == 1)

    @property
    def n(self):
        """The matrix size."""
        return self.shape[-1]

    def membership_residual(self, point):
        """``max(max |P - P^T|, -lambda_min) / max(1, max |P|)``, shape ``(...,)``.

        Relative to the entries' size above 1: SPD(n) is a cone, and ``c P`` for a large ``c`` carries
        the rounding of ``P`` times ``c``.
        """
        asymmetry = np.max(np.abs(point - np.swapaxes(point, -1, -2)), axis=(-2, -1))
        smallest = np.linalg.eigvalsh(_sym(point))[..., 0]
        scale = np.maximum(1.0, np.max(np.abs(point), axis=(-2, -1)))
        return np.maximum(asymmetry, np.maximum(-smallest, 0.0)) / scale

    def to_tangent(self, vector, base_point):
        """``sym(v)``."""
        return _sym(vector)

    def inner_product(self, tangent_vec_a, tangent_vec_b, base_point):
        """``tr(P^-1 a P^-1 b)``, shape ``(...,)``."""
        inverse = np.linalg.inv(base_point)
        return _frobenius(_t(inverse @ tangent_vec_a @ inverse), tangent_vec_b)

    def lower_index(self, tangent_vec, base_point):
        """``P^-1 v P^-1``."""
        inverse = np.linalg.inv(base_point)
        return inverse @ tangent_vec @ inverse

    def step_layout(self, point):
        """``point`` as a view of one batch-last copy: the step's three methods then share that copy."""
        return _batch_last_view(point)

    def raise_index(self, covector, base_point):
        """``P sym(w) P``."""
        if not _stacked(covector, base_point):
            return base_point @ _sym(covector) @ base_point
        point, covector = _batch_last(base_point), _batch_last(covector)
        symmetric = covector + np.swapaxes(covector, 0, 1)
        symmetric *= 0.5
        return _batch_first(_mm(_mm(point, symmetric), point), np.shape(base_point)[:-2])

    def random_normal_tangent(self, base_point, rng):
        """``L sym(G) L^T`` with the Cholesky factor ``P = L L^T``.

        The map ``S -> L S L^T`` is an isometry from symmetric matrices with ``tr(S_1 S_2)`` onto the
        tangent space at ``P`` with the affine-invariant metric (``tr(P^-1 L S_1 L^T P^-1 L S_2 L^T) =
        tr(S_1 S_2)``); ``sym(G)`` is the standard Gaussian of ``tr(S_1 S_2)`` (diagonal variance 1,
        off-diagonal 1/2), so the image is the standard Gaussian of ``g_P``. Any square root ``R R^T = P``
        (``P^{1/2}`` included) gives the same law, since ``R = L Q`` with ``Q`` orthogonal and
        ``Q sym(G) Q^T`` has the law of ``sym(G)``.
        """
        batch, n = np.shape(base_point)[:-2], self.n
        factor = _cholesky_last(_batch_last(base_point))
        rows, columns = np.triu_indices(n)
        # sym(G) drawn from its n (n + 1) / 2 free entries: N(0, 1) on the diagonal, N(0, 1/2) off it
        scale = np.where(rows == columns, 1.0, np.sqrt(0.5))
        entries = standard_normal(rng, (int(np.prod(batch, dtype=int)), len(rows)))
        entries *= scale
        symmetric = _symmetric_last(entries, n)
        return _batch_first(np.einsum("ikN,jkN->ijN", _mm(factor, symmetric), factor), batch)

    def retraction(self, tangent_vec, base_point):
        """``P + V + V P^{-1} V / 2``, symmetrised: second order, and positive definite for every ``V``.

        For symmetric ``V``, ``V P^{-1} V = Z^T Z`` with ``Z = L^{-1} V`` (``P = L L^T``, Cholesky): a
        triangular solve per point, vectorised over the stack, and ``Z^T Z`` is symmetric to the bit.
        """
        point, velocity = _batch_last(base_point), _batch_last(tangent_vec)
        whitened = _forward_substitution(_cholesky_last(point), velocity)
        moved = _tmm(whitened, whitened)
        moved *= 0.5
        moved += point
        moved += velocity
        symmetric = moved + np.swapaxes(moved, 0, 1)
        symmetric *= 0.5
        return _batch_first(symmetric, np.shape(base_point)[:-2])

    def exp(self, tangent_vec, base_point):
        """``P^{1/2} expm(P^{-1/2} V P^{-1/2}) P^{1/2}``."""
        values, vectors = np.linalg.eigh(base_point)
        root = (vectors * np.sqrt(values)[..., None, :]) @ np.swapaxes(vectors, -1, -2)
        inverse_root = (vectors / np.sqrt(values)[..., None, :]) @ np.swapaxes(vectors, -1, -2)
        inner_values, inner_vectors = np.linalg.eigh(_sym(inverse_root @ tangent_vec @ inverse_root))
        inner = (inner_vectors * np.exp(inner_values)[..., None, :]) @ np.swapaxes(inner_vectors, -1, -2)
        return _sym(root @ inner @ root)

    def geodesic_acceleration(self, tangent_vec_a, tangent_vec_b, base_point):
        """``sym(a P^{-1} b)``."""
        return _sym(tangent_vec_a @ np.linalg.solve(base_point, tangent_vec_b))

    def laplacian_drift(self, base_point):
        """``(n + 1) P / 2``."""
        return 0.5 * (self.n + 1.0) * base_point

    def sample(self, size=(), rng=None):
        """``Q diag(exp(z)) Q^T`` with Haar ``Q`` and ``z ~ N(0, 1/4)``, shape ``(*size, n, n)``."""
        size = (size,) if np.isscalar(size) else tuple(size)
        rng = np.random.default_rng(rng)
        q, _ = np.linalg.qr(rng.standard_normal(size + (self.n, self.n)))
        values = np.exp(0.5 * rng.standard_normal(size + (self.n,)))
        return _sym((q * values[..., None, :]) @ np.swapaxes(q, -1, -2))
