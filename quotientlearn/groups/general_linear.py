"""``GL(r)`` acting on a factor pair: ``(P, Q) -> (P A, A^{-1} Q)``, the symmetry of ``M = P Q``.

Lie-algebra coordinates are the entries of ``a`` in ``r x r`` row-major order (basis ``E_ij``). The
moment map ``(P^T P - Q Q^T) / 2`` is symmetric, so only the symmetric generators (basis ``E_ii`` and
``(E_ij + E_ji) / sqrt 2``) fix the gauge; rotations ``O(r)`` remain as residual symmetry of the slice.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval

from quotientlearn.groups.base import GroupAction, log_det_psd
from quotientlearn.groups.magnitudes import rescaling_root, scaled_norm
from quotientlearn.spaces import as_batch

__all__ = ["FactorPairGL", "singular_values", "svd_balanced", "symmetric_basis"]


def symmetric_basis(rank):
    """Orthonormal basis of symmetric ``r x r`` matrices in algebra coordinates.

    Returns
    -------
    basis : ndarray, shape (r * r, r * (r + 1) / 2)
        Columns ``vec(E_ii)`` then ``vec(E_ij + E_ji) / sqrt 2`` for ``i < j``.
    """
    columns = []
    for i in range(rank):
        e = np.zeros((rank, rank))
        e[i, i] = 1.0
        columns.append(e.ravel())
    for i in range(rank):
        for j in range(i + 1, rank):
            e = np.zeros((rank, rank))
            e[i, j] = e[j, i] = 1.0 / np.sqrt(2.0)
            columns.append(e.ravel())
    return np.stack(columns, axis=1)


def _expm(matrix):
    """Matrix exponential by scaling and squaring a Taylor series (autograd-differentiable)."""
    norm = np.max(np.sum(np.abs(getval(matrix)), axis=-1), initial=0.0)
    squarings = max(0, int(np.ceil(np.log2(norm))) + 1) if norm > 0 else 0
    scaled = matrix / 2.0**squarings
    eye = np.eye(np.shape(getval(matrix))[-1])
    term = eye + 0.0 * scaled
    total = term
    for n in range(1, 20):
        term = anp.matmul(term, scaled) / n
        total = total + term
    for _ in range(squarings):
        total = anp.matmul(total, total)
    return total


class FactorPairGL(GroupAction):
    """``GL(r)`` acting on two matrix blocks of a :class:`~quotientlearn.spaces.ParameterSpace`.

    Parameters
    ----------
    space : ParameterSpace
    first : str
        Block ``P`` of shape ``(m, r)``, mapped to ``P A``.
    second : str
        Block ``Q`` of shape ``(r, n)``, mapped to ``A^{-1} Q``; with ``second_transposed`` a block
        ``K`` of shape ``(n, r)`` (``Q = K^T``), mapped to ``K A^{-T}`` as in attention.
    second_transposed : bool

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.MatrixFactorization(2, 2, rank=2)
    >>> model.action  # (P, Q) -> (P A, A^-1 Q), k = r^2
    FactorPairGL(k=4, D=8)
    >>> theta = model.balanced(np.eye(2))
    >>> model.action.act(2.0 * np.eye(2), theta)  # A = 2 I: P doubles, Q halves
    array([2. , 0. , 0. , 2. , 0.5, 0. , 0. , 0.5])
    """

    def __init__(self, space, first, second, second_transposed=False):
        self.space = space
        self.first, self.second = first, second
        self.second_transposed = bool(second_transposed)
        m, rank = space.blocks[first]
        other = space.blocks[second]
        other_rank = other[1] if second_transposed else other[0]
        if other_rank != rank:
            raise ValueError(
                f"blocks {first!r} {space.blocks[first]} and {second!r} {other} do not share the "
                f"inner dimension r (second_transposed={second_transposed})"
            )
        self.rank = rank
        self._basis = symmetric_basis(rank)
        super().__init__(dim=rank * rank, space_dim=space.dim, name="FactorPairGL")

    # -------------------------------------------------------------------------------- helpers
    def factors(self, theta):
        """``(P, Q)`` with ``Q`` of shape ``(..., r, n)`` whatever the storage of the second block."""
        blocks = self.space.split(theta)
        second = blocks[self.second]
        return blocks[self.first], (anp.swapaxes(second, -1, -2) if self.second_transposed else second)

    def _join(self, theta, first, second):
        blocks = self.space.split(theta)
        blocks[self.first] = first
        blocks[self.second] = np.swapaxes(second, -1, -2) if self.second_transposed else second
        return self.space.join(blocks)

    def _join_traced(self, theta, first, second):
        # autograd cannot trace assignment into a copy; rebuild theta by concatenating blocks.
        blocks = self.space.split(theta)
        blocks[self.first] = first
        blocks[self.second] = anp.swapaxes(second, -1, -2) if self.second_transposed else second
        batch = anp.shape(theta)[:-1]
        return anp.concatenate(
            [anp.reshape(blocks[name], batch + (-1,)) for name in self.space.blocks], axis=-1
        )

    # ---------------------------------------------------------------- group elements and action
    def exp(self, algebra_coords):
        """``expm`` of the ``r x r`` matrices whose entries are ``algebra_coords`` (..., r*r)."""
        shape = anp.shape(algebra_coords)[:-1] + (self.rank, self.rank)
        return _expm(anp.reshape(algebra_coords, shape))

    def act(self, group_elem, theta):
        """``(P A, A^{-1} Q)`` for invertible ``A`` of shape ``(..., r, r)``."""
        first, second = self.factors(theta)
        return self._join_traced(theta, anp.matmul(first, group_elem),
                                 anp.linalg.solve(group_elem, second))

    def act_algebra(self, algebra_coords, theta):
        """``(P expm(a), expm(-a) Q)``."""
        first, second = self.factors(theta)
        return self._join_traced(theta, anp.matmul(first, self.exp(algebra_coords)),
                                 anp.matmul(self.exp(-algebra_coords), second))

    # --------------------------------------------------------------------------- closed forms
    def generators(self, theta):
        """``xi_{E_ij} = (P E_ij, -E_ij Q)``, shape ``(..., r*r, D)``."""
        theta = as_batch(theta, (self.space_dim,))
        first, second = self.factors(theta)
        eye = np.eye(self.rank)
        batch = theta.shape[:-1]
        d_first = np.einsum("...mi,jk->...ijmk", first, eye)
        d_second = -np.einsum("ik,...jn->...ijkn", eye, second)
        k = self.dim
        return self._join(
            np.zeros(batch + (k, self.space_dim)),
            d_first.reshape(batch + (k,) + first.shape[-2:]),
            d_second.reshape(batch + (k,) + second.shape[-2:]),
        )

    def gram(self, theta):
        """``kron(P^T P, I) + kron(I, Q Q^T)``, shape ``(..., r*r, r*r)``."""
        theta = as_batch(theta, (self.space_dim,))
        first_gram, second_gram = self.factor_grams(theta)
        eye = np.eye(self.rank)
        gram = np.einsum("...ik,jl->...ijkl", first_gram, eye) + np.einsum(
            "ik,...jl->...ijkl", eye, second_gram
        )
        return gram.reshape(theta.shape[:-1] + (self.dim, self.dim))

    def factor_grams(self, theta):
        """``(P^T P, Q Q^T)``, each of shape ``(..., r, r)``."""
        first, second = self.factors(theta)
        return np.swapaxes(first, -1, -2) @ first, second @ np.swapaxes(second, -1, -2)

    def moment_map(self, theta):
        """Symmetric-basis coordinates of ``(P^T P - Q Q^T) / 2``, shape ``(..., r(r+1)/2)``."""
        first, second = self.factors(theta)
        diff = anp.matmul(anp.swapaxes(first, -1, -2), first) - anp.matmul(
            second, anp.swapaxes(second, -1, -2)
        )
        flat = anp.reshape(diff, anp.shape(diff)[:-2] + (self.dim,))
        return 0.5 * anp.dot(flat, self._basis)

    def moment_map_jacobian(self, theta):
        """The symmetric generators: ``basis^T xi``, shape ``(..., r(r+1)/2, D)``."""
        return np.einsum("ac,...ai->...ci", self._basis, self.generators(theta))

    def log_det_moment_gram(self, theta):
        """``log det`` of the symmetric block ``basis^T Gram basis``, shape ``(...,)``.

        The Gram is quadratic in ``theta``; it is formed at ``theta / max|theta|`` (no overflow or
        underflow of the squares) and the scale is added back in the log.
        """
        theta = as_batch(theta, (self.space_dim,))
        largest = np.max(np.abs(theta), axis=-1, initial=0.0)
        safe = np.where(largest > 0, largest, 1.0)
        gram = self._basis.T @ self.gram(theta / safe[..., None]) @ self._basis
        return log_det_psd(gram) + gram.shape[-1] * 2.0 * np.log(safe)

    def balance(self, theta):
        """Move along the orbit by a symmetric positive ``A`` to ``P^T P = Q Q^T``; ``P Q`` is kept.

        The balanced points with product ``M = P Q`` are ``(U S^{1/2} O, O^T S^{1/2} V^T)`` for
        the thin SVD ``M = U S V^T`` and orthogonal ``O``. The SVD comes from QR factorisations of
        ``P`` and ``Q^T`` and an ``r x r`` core (never ``P^T P``, which squares the condition
        number). Beforehand column ``i`` of ``P`` and row ``i`` of ``Q`` are rescaled to equal norms
        and both factors to unit norm (elements of the group and a common scalar), without squaring
        anything: no overflow or underflow, and ``P Q`` is kept to rounding for every finite input.

        ``O`` is the polar factor of ``S^{-1} K`` with ``K = S^{1/2} U^T P + S^{1/2} V^T Q^T``:
        writing the balanced point as ``(P A, A^{-1} Q)`` gives ``S^{-1} K = O (A + A^{-1})``, so
        this ``O`` is the one for which ``A`` is symmetric positive definite. Where ``M`` has rank
        below ``r`` (a degenerate orbit: the slice is only approached), the result is the limit
        point, the SVD-balanced factors with zero columns; ``O`` then stays finite (the weights
        ``s_max / s_i`` are capped at ``1 / eps``) but is no longer determined by ``A``.

        Well-conditioned points (factor Grams of condition below 1e4 and 1e8, moderate magnitudes,
        nearly every point of a simulation) take the cheaper route of the same ``A``, the geometric
        mean ``A^2 = X^{-1} # Y`` of ``X = P^T P`` and ``Y = Q Q^T`` by ``r x r`` eigendecompositions;
        its rounding error there is below 1e-11 of ``|P| |Q|``.

        Parameters
        ----------
        theta : ndarray, shape (..., D)

        Returns
        -------
        balanced : ndarray, shape (..., D)
        """
        theta = as_batch(theta, (self.space_dim,))
        first, second = self.factors(theta)
        new_first, new_second, done = _balance_well_conditioned(first, second)
        if not np.all(done):
            rest = ~done
            new_first[rest], new_second[rest] = _balance_by_svd(first[rest], second[rest], self.rank)
        return self._join(theta, new_first, new_second)


def _balance_well_conditioned(first, second):
    """The SPD route ``A = (X^{-1} # Y)^{1/2}`` where it is accurate; ``done`` marks those points.

    Returns
    -------
    new_first, new_second : ndarray
        Balanced factors (arbitrary where ``done`` is False).
    done : ndarray of bool, shape (...,)
    """
    # Magnitudes well inside the float range (no over- or underflow in the products below; others,
    # possibly inf here, are replaced by the identity) and condition numbers kappa(X) < 1e4,
    # kappa(M) < 1e8 (kappa(A) < 1e4: rounding below 1e-11).
    with np.errstate(over="ignore", under="ignore"):
        x = np.swapaxes(first, -1, -2) @ first
        y = second @ np.swapaxes(second, -1, -2)
        traces = np.stack([np.trace(x, axis1=-2, axis2=-1), np.trace(y, axis1=-2, axis2=-1)])
    done = np.all((traces > 1e-100) & (traces < 1e100), axis=0)
    eye = np.eye(x.shape[-1])
    x, y = np.where(done[..., None, None], x, eye), np.where(done[..., None, None], y, eye)
    x_values, x_vectors = np.linalg.eigh(x)
    done &= x_values[..., 0] > 1e-4 * x_values[..., -1]
    safe_values = np.where(done[..., None], x_values, 1.0)
    root = (x_vectors * np.sqrt(safe_values)[..., None, :]) @ np.swapaxes(x_vectors, -1, -2)
    inv_root = (x_vectors / np.sqrt(safe_values)[..., None, :]) @ np.swapaxes(x_vectors, -1, -2)
    m_values, m_vectors = np.linalg.eigh(root @ y @ root)
    done &= m_values[..., 0] > 1e-8 * m_values[..., -1]
    m_root = (m_vectors * np.sqrt(np.where(done[..., None], m_values, 1.0))[..., None, :]) @ \
        np.swapaxes(m_vectors, -1, -2)
    square = inv_root @ m_root @ inv_root
    a_values, a_vectors = np.linalg.eigh(0.5 * (square + np.swapaxes(square, -1, -2)))
    done &= a_values[..., 0] > 0
    a_values = np.sqrt(np.where(done[..., None], a_values, 1.0))
    transform = (a_vectors * a_values[..., None, :]) @ np.swapaxes(a_vectors, -1, -2)
    inverse = (a_vectors / a_values[..., None, :]) @ np.swapaxes(a_vectors, -1, -2)
    return first @ transform, inverse @ second, done


def _balance_by_svd(first, second, rank):
    """Balance any finite factors (the route of :meth:`FactorPairGL.balance` for every point).

    Parameters
    ----------
    first : ndarray, shape (n, m, r)
    second : ndarray, shape (n, r, k)
    rank : int

    Returns
    -------
    new_first, new_second : ndarray
    """
    # Column/row pairs rescaled to equal norms; a pair with one zero side adds nothing to P Q.
    column, row = scaled_norm(first, axis=-2), scaled_norm(second, axis=-1)
    live = (column > 0) & (row > 0)
    root = rescaling_root(np.where(live, column, 1.0), np.where(live, row, 1.0))
    up, down = np.where(live, root, 0.0), np.where(live, 1.0 / root, 0.0)
    paired_first = first * up[..., None, :] * up[..., None, :]
    paired_second = second * down[..., :, None] * down[..., :, None]
    # Both paired factors have column/row norms sqrt(|P_i| |Q_i|): their Frobenius norm follows
    # from r numbers, without another pass over the factors.
    paired = np.where(live, np.sqrt(np.where(live, column, 0.0)) * np.sqrt(row), 0.0)
    norm = _unit_safe(scaled_norm(paired))
    degenerate = ~np.any(live, axis=-1)[..., None, None]
    new_first, new_second, values = _balanced_factors(paired_first / norm, paired_second / norm,
                                                      rank)
    # O from the original point (a common scalar leaves it unchanged), so that A is SPD for it.
    kernel = (np.swapaxes(new_first, -1, -2) @ (first / _unit_safe(scaled_norm(column)))
              + new_second @ np.swapaxes(second / _unit_safe(scaled_norm(row)), -1, -2))
    # Weights s_max / s_i (a common factor leaves the polar factor unchanged), capped at 1 / eps.
    weights = 1.0 / np.maximum(values / _unit_safe(np.max(values, axis=-1))[..., 0],
                               np.finfo(float).eps)
    left, _, right = np.linalg.svd(weights[..., :, None] * kernel)
    rotation = left @ right
    # Undo the unit scaling (a norm of geometric means |P_i|^1/2 |Q_i|^1/2: representable).
    scale = np.where(degenerate, 0.0, norm)
    return scale * (new_first @ rotation), scale * (np.swapaxes(rotation, -1, -2) @ new_second)


def _unit_safe(norm):
    """``norm`` with trailing unit axes for broadcasting over matrices, ``1`` where it is zero."""
    norm = np.asarray(norm)[..., None, None]
    return np.where(norm > 0, norm, 1.0)


def _balanced_factors(first, second, rank):
    """SVD-balanced ``(U S^{1/2}, S^{1/2} V^T)`` of ``first @ second`` and ``S``, padded to ``rank``.

    Parameters
    ----------
    first : ndarray, shape (..., m, r)
    second : ndarray, shape (..., r, n)
    rank : int
        ``r``.

    Returns
    -------
    new_first : ndarray, shape (..., m, r)
    new_second : ndarray, shape (..., r, n)
    values : ndarray, shape (..., r)
        Singular values of the product, zero beyond ``min(m, n, r)``.
    """
    left_q, left_r = np.linalg.qr(first)  # (m, a), (a, r)
    right_q, right_r = np.linalg.qr(np.swapaxes(second, -1, -2))  # (n, b), (b, r)
    core_left, values, core_right = np.linalg.svd(left_r @ np.swapaxes(right_r, -1, -2),
                                                  full_matrices=False)
    root = np.sqrt(values)
    new_first = (left_q @ core_left) * root[..., None, :]
    new_second = root[..., :, None] * (core_right @ np.swapaxes(right_q, -1, -2))
    new_first, new_second = _pad_rank(new_first, new_second, rank)
    values = np.concatenate([values, np.zeros(values.shape[:-1] + (rank - values.shape[-1],))], -1)
    return new_first, new_second, values


def _largest_entry(matrix):
    largest = np.max(np.abs(matrix), axis=(-2, -1), keepdims=True, initial=0.0)
    return np.where(largest > 0, largest, 1.0)


def svd_balanced(product, rank):
    """``(U S^{1/2}, S^{1/2} V^T)`` from the top ``rank`` singular triplets of ``product``.

    The product is divided by its largest entry before the SVD, so no intermediate overflows.

    Parameters
    ----------
    product : ndarray, shape (..., m, n)
    rank : int

    Returns
    -------
    first : ndarray, shape (..., m, rank)
    second : ndarray, shape (..., rank, n)
    """
    largest = _largest_entry(product)
    left, values, right = np.linalg.svd(product / largest, full_matrices=False)
    root = np.sqrt(values[..., :rank]) * np.sqrt(largest[..., 0])
    first, second = left[..., :rank] * root[..., None, :], root[..., :, None] * right[..., :rank, :]
    return _pad_rank(first, second, rank)


def _pad_rank(first, second, rank):
    """Zero columns of ``first`` and rows of ``second`` up to ``rank`` (a product of lower rank)."""
    missing = rank - first.shape[-1]
    if missing <= 0:
        return first, second
    batch = first.shape[:-2]
    return (np.concatenate([first, np.zeros(batch + (first.shape[-2], missing))], axis=-1),
            np.concatenate([second, np.zeros(batch + (missing, second.shape[-1]))], axis=-2))


def singular_values(matrix):
    """Singular values, largest first, computed after dividing by the largest entry.

    Parameters
    ----------
    matrix : ndarray, shape (..., m, n)

    Returns
    -------
    values : ndarray, shape (..., min(m, n))
    """
    largest = _largest_entry(matrix)
    return np.linalg.svd(matrix / largest, compute_uv=False) * largest[..., 0]
