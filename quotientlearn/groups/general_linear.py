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
from quotientlearn.spaces import as_batch

__all__ = ["FactorPairGL", "symmetric_basis"]


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


def _spd_power(matrix, power):
    """``matrix ** power`` for a stack of symmetric positive definite matrices."""
    values, vectors = np.linalg.eigh(matrix)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = vectors * np.where(values > 0, values, np.nan)[..., None, :] ** power
    return scaled @ np.swapaxes(vectors, -1, -2)


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
        """``log det`` of the symmetric block ``basis^T Gram basis``, shape ``(...,)``."""
        gram = self._basis.T @ self.gram(theta) @ self._basis
        return log_det_psd(gram)

    def balance(self, theta):
        """Move along the orbit by a symmetric positive ``A`` to ``P^T P = Q Q^T``.

        ``A^2`` is the geometric mean ``X^{-1} # Y`` of ``X = P^T P`` and ``Y = Q Q^T``. Where a factor
        is rank-deficient (a degenerate orbit) the SVD-balanced point ``P = U S^{1/2}``,
        ``Q = S^{1/2} V^T`` with the same product is used instead.

        Parameters
        ----------
        theta : ndarray, shape (..., D)

        Returns
        -------
        balanced : ndarray, shape (..., D)
        """
        theta = as_batch(theta, (self.space_dim,))
        first, second = self.factors(theta)
        first_gram, second_gram = self.factor_grams(theta)
        root = _spd_power(first_gram, 0.5)
        inv_root = _spd_power(first_gram, -0.5)
        middle = _spd_power(root @ second_gram @ root, 0.5)
        square = inv_root @ middle @ inv_root
        transform = _spd_power(0.5 * (square + np.swapaxes(square, -1, -2)), 0.5)
        bad = ~np.all(np.isfinite(transform), axis=(-2, -1))
        safe = np.where(bad[..., None, None], np.eye(self.rank), transform)
        new_first, new_second = first @ safe, np.linalg.solve(safe, second)
        if np.any(bad):
            new_first[bad], new_second[bad] = _svd_balanced(first[bad] @ second[bad], self.rank)
        return self._join(theta, new_first, new_second)


def _svd_balanced(product, rank):
    """``(U S^{1/2}, S^{1/2} V^T)`` from the top ``rank`` singular triplets of ``product``."""
    left, values, right = np.linalg.svd(product, full_matrices=False)
    root = np.sqrt(values[..., :rank])
    return left[..., :rank] * root[..., None, :], root[..., :, None] * right[..., :rank, :]
