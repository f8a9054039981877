"""Orthogonal groups acting on matrix manifolds: congruence ``Q P Q^T`` and right multiplication ``U Q``.

Both are compact, act by isometries of the usual metrics (affine-invariant on SPD, canonical on
Stiefel) and carry closed forms: generators, Haar sampling (for the fibre integral over a compact
orbit) and the exponential of the Lie algebra ``so(n)`` in one batched ``eigh``. Lie-algebra
coordinates are taken in the orthonormal basis ``(E_ij - E_ji) / sqrt 2``, ``i < j``.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np

from quotientlearn.groups.base import GroupAction
from quotientlearn.numerics import expm
from quotientlearn.spaces import as_batch

__all__ = ["Congruence", "OrthogonalAction", "RightOrthogonal", "haar_orthogonal", "skew_basis"]


def skew_basis(n):
    """The orthonormal basis ``(E_ij - E_ji) / sqrt 2`` (``i < j``) of ``so(n)``, ``(n(n-1)/2, n, n)``."""
    rows, cols = np.triu_indices(n, 1)
    basis = np.zeros((len(rows), n, n))
    basis[np.arange(len(rows)), rows, cols] = 1.0 / np.sqrt(2.0)
    basis[np.arange(len(rows)), cols, rows] = -1.0 / np.sqrt(2.0)
    return basis


def haar_orthogonal(size, n, rng):
    """Haar-distributed orthogonal matrices ``O(n)`` (QR of Gaussians, signs fixed), ``(*size, n, n)``."""
    q, r = np.linalg.qr(rng.standard_normal(tuple(size) + (n, n)))
    return q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]


class OrthogonalAction(GroupAction):
    """``O(n)`` (``SO(n)`` through ``exp``) acting on matrices: the base of the two actions below.

    Group elements are orthogonal ``n x n`` matrices; ``exp`` maps Lie-algebra coordinates of shape
    ``(..., n(n-1)/2)`` to ``SO(n)``. The group is compact: :meth:`haar_sample` draws its Haar measure.

    Parameters
    ----------
    n : int
        The size of the orthogonal matrices.
    shape : tuple of int
        The shape of the points acted on.
    name : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> action = ql.groups.Congruence(3)  # an OrthogonalAction on 3 x 3 matrices
    >>> q = action.haar_sample((), 0)  # compact: a Haar-distributed orthogonal matrix
    >>> np.allclose(q @ q.T, np.eye(3)), action.dim
    (True, 3)
    """

    compact = True

    def __init__(self, n, shape, name=None):
        self.n = int(n)
        self.basis = skew_basis(self.n)
        super().__init__(dim=len(self.basis), shape=shape, name=name)

    def algebra_matrix(self, algebra_coords):
        """The skew matrices ``sum_a c_a A_a`` of coordinates ``(..., k)``, shape ``(..., n, n)``."""
        return anp.einsum("...a,aij->...ij", algebra_coords, self.basis)

    def exp(self, algebra_coords):
        """``expm`` of the skew matrix of the coordinates: elements of ``SO(n)``, ``(..., n, n)``."""
        return expm(self.algebra_matrix(algebra_coords))

    def haar_sample(self, size=(), rng=None):
        """Haar-distributed elements of ``O(n)``, shape ``(*size, n, n)``."""
        size = (size,) if np.isscalar(size) else tuple(size)
        return haar_orthogonal(size, self.n, np.random.default_rng(rng))


class Congruence(OrthogonalAction):
    """``O(n)`` acting on ``n x n`` matrices by congruence ``P -> Q P Q^T``.

    An isometry of the affine-invariant metric on SPD matrices; its orbits are the matrices with given
    eigenvalues, of volume growing with the eigen-gaps. Generators ``A_a P - P A_a``.

    Parameters
    ----------
    n : int

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> action = ql.groups.Congruence(2)
    >>> swap = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> action.act(swap, np.diag([1.0, 4.0]))  # Q P Q^T: the spectrum is unchanged
    array([[4., 0.],
           [0., 1.]])
    """

    def __init__(self, n):
        super().__init__(n, (int(n), int(n)), name="Congruence")

    def act(self, group_elem, theta):
        """``Q P Q^T``."""
        return anp.matmul(group_elem, anp.matmul(theta, anp.swapaxes(group_elem, -1, -2)))

    def generators(self, theta):
        """``A_a P - P A_a``, shape ``(..., k, n, n)``."""
        theta = as_batch(theta, self.shape)[..., None, :, :]
        return self.basis @ theta - theta @ self.basis


class RightOrthogonal(OrthogonalAction):
    """``O(k)`` acting on ``n x k`` matrices on the right, ``U -> U Q``.

    An isometry of the Euclidean and the canonical metric of the Stiefel manifold, whose quotient is the
    Grassmannian; it leaves ``U U^T`` invariant. Generators ``U A_a``.

    Parameters
    ----------
    n, k : int

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> action = ql.groups.RightOrthogonal(3, 2)  # O(2) on 3 x 2 matrices, U -> U Q
    >>> u = np.eye(3)[:, :2]
    >>> moved = action.act(action.haar_sample((), 0), u)
    >>> np.allclose(moved @ moved.T, u @ u.T)  # U U^T is invariant
    True
    """

    def __init__(self, n, k):
        super().__init__(k, (int(n), int(k)), name="RightOrthogonal")

    def act(self, group_elem, theta):
        """``U Q``."""
        return anp.matmul(theta, group_elem)

    def generators(self, theta):
        """``U A_a``, shape ``(..., k(k-1)/2, n, k)``."""
        theta = as_batch(theta, self.shape)[..., None, :, :]
        return theta @ self.basis
