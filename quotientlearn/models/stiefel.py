"""``StiefelProjector(n, k)``: ``U`` on the Stiefel manifold, ``O(k)`` on the right, predictor ``U U^T``.

The quotient is geomstats' ``Grassmannian(n, k)`` (projection matrices): with the canonical metric of
the Stiefel manifold the predictor is a Riemannian submersion onto half geomstats'
``GrassmannianCanonicalMetric`` (a horizontal ``A`` has norm ``|A|^2``, its image ``A U^T + U A^T`` has
``|.|_F^2 = 2 |A|^2``, and that metric is ``tr(X^T Y)``). The
action is an isometry with orbits of constant volume (the Gram ``g(U A_a, U A_b)`` is ``delta_ab / 2``):
no orbit-volume bias. The gauge slice: the top ``k x k`` block of ``U`` symmetric (a local slice, where
that block is invertible), reached by its polar decomposition. The quotient metric's ``log`` and
``dist`` align by orthogonal Procrustes.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from geomstats.geometry.grassmannian import Grassmannian
from geomstats.geometry.stiefel import Stiefel

from quotientlearn.bundle import SymmetryBundle
from quotientlearn.gauge import Gauge
from quotientlearn.groups.orthogonal import RightOrthogonal
from quotientlearn.models.base import Model
from quotientlearn.spaces import as_space

__all__ = ["PolarGauge", "StiefelBundle", "StiefelProjector"]


def _procrustes_rotation(matrix):
    """The orthogonal ``R`` closest to ``matrix = W S V^T``: ``W V^T``."""
    left, _, right = np.linalg.svd(matrix)
    return left @ right


class PolarGauge(Gauge):
    """``chi = `` the skew part of the top ``k x k`` block of ``U`` (entries ``i < j``).

    :meth:`project` multiplies ``U`` on the right by the orthogonal factor that makes the block
    symmetric positive semi-definite (its polar decomposition).

    Parameters
    ----------
    action : RightOrthogonal
    space : Space, optional
        Bound by the model when not given.
    """

    def __init__(self, action, space=None):
        self.k = action.n
        self._rows, self._cols = np.triu_indices(self.k, 1)
        super().__init__(action, chi=self._skew_entries, space=space)

    def _skew_entries(self, theta):
        top = theta[..., : self.k, :]
        return (top[..., self._rows, self._cols] - top[..., self._cols, self._rows]) / np.sqrt(2.0)

    def project(self, theta):
        """``U R`` with ``R`` the orthogonal Procrustes factor making ``U_top R`` symmetric PSD.

        Raises
        ------
        ValueError
            When ``U`` is off the Stiefel manifold (a Procrustes rotation would keep it off).
        """
        theta = self._validate(theta)
        top = theta[..., : self.k, :]
        return theta @ np.swapaxes(_procrustes_rotation(top), -1, -2)


class StiefelBundle(SymmetryBundle):
    """The Stiefel manifold over the Grassmannian, with the orthogonal Procrustes alignment."""

    def align(self, point, base_point, tol=None, max_iter=None):
        """``U R`` with ``R = argmin |U R - U_0|``: the closest point of the fibre (Procrustes).

        Parameters
        ----------
        point, base_point : array_like, shape (..., n, k)

        Returns
        -------
        aligned : ndarray, shape (..., n, k)
        """
        point, base_point = self._point(point), self._point(base_point)
        return point @ _procrustes_rotation(np.swapaxes(point, -1, -2) @ base_point)


class StiefelProjector(Model):
    """``U`` in ``St(n, k)`` (canonical metric), ``O(k)`` acting by ``U -> U Q``, predictor ``U U^T``.

    Parameters
    ----------
    n, k : int
        ``1 <= k < n``; ``k >= 2`` for a continuous symmetry.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.StiefelProjector(3, 2)
    >>> model.predictor(np.eye(3)[:, :2])  # the projector onto the plane spanned by U
    array([[1., 0., 0.],
           [0., 1., 0.],
           [0., 0., 0.]])
    """

    def __init__(self, n, k):
        self.n, self.k = int(n), int(k)
        if not 2 <= self.k < self.n:
            raise ValueError(f"need 2 <= k < n (O(1) is discrete); got n={n}, k={k}")
        space = as_space(Stiefel(self.n, self.k))
        action = RightOrthogonal(self.n, self.k)
        super().__init__(space, action, (self.n, self.n), gauge=PolarGauge(action, space),
                         bundle=lambda model: StiefelBundle(
                             model, base_space=lambda: Grassmannian(self.n, self.k, equip=False)))

    def traceable_predictor(self, theta):
        """``U U^T``, shape ``(..., n, n)``."""
        return anp.matmul(theta, anp.swapaxes(theta, -1, -2))

    def predictor_and_pullback(self, theta):
        """``U U^T`` and ``G -> (G + G^T) U``."""

        def pullback(cotangent):
            return (cotangent + np.swapaxes(cotangent, -1, -2)) @ theta

        return theta @ np.swapaxes(theta, -1, -2), pullback

    def balanced(self, beta):
        """The slice point over the projector ``beta``: its top-``k`` eigenvectors, polar-gauged.

        Parameters
        ----------
        beta : array_like, shape (..., n, n)
            Rank-``k`` orthogonal projectors.

        Returns
        -------
        theta : ndarray, shape (..., n, k)
        """
        beta = self.validate_beta(beta)
        _, vectors = np.linalg.eigh(0.5 * (beta + np.swapaxes(beta, -1, -2)))
        return self.gauge.project(vectors[..., -self.k:])
