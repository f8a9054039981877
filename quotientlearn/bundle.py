"""The symmetry bundle: parameter space over predictor space, with fibres the group orbits.

:class:`SymmetryBundle` is a geomstats :class:`~geomstats.geometry.fiber_bundle.FiberBundle`: the
submersion is the predictor map, ``lift`` the balanced representative, and every tangent vector splits
into a vertical part (along the orbit, spanned by the generators) and a horizontal part (orthogonal to
it, where every gradient of an invariant loss lies). Method signatures keep geomstats' order:
``tangent_vec`` first, then ``base_point``.
"""

from __future__ import annotations

import numpy as np
from geomstats.geometry.fiber_bundle import FiberBundle

from quotientlearn.spaces import as_batch

__all__ = ["SymmetryBundle", "generic_vertical_projection"]


def generic_vertical_projection(generators, tangent_vec):
    """``Xi^T Gram^+ Xi v`` from the generators; the pseudo-inverse copes with degenerate orbits.

    Parameters
    ----------
    generators : ndarray, shape (..., k, D)
    tangent_vec : ndarray, shape (..., D)

    Returns
    -------
    vertical : ndarray, shape (..., D)
    """
    gram = generators @ np.swapaxes(generators, -1, -2)
    coefficients = np.einsum(
        "...ab,...bd,...d->...a", np.linalg.pinv(gram, hermitian=True), generators, tangent_vec
    )
    return np.einsum("...a,...ad->...d", coefficients, generators)


class SymmetryBundle(FiberBundle):
    """Fibre bundle of a model's parameter space by its symmetry group.

    Parameters
    ----------
    model : Model
        Supplies the total space, the predictor (submersion), the action and ``balanced`` (lift).

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Hadamard(dim=1)
    >>> theta = np.array([2.0, 0.5])
    >>> bundle = model.bundle  # also model.space.fiber_bundle for geomstats
    >>> bundle.gram(theta)  # u^2 + v^2
    array([[4.25]])
    >>> vertical = bundle.vertical_projection(np.array([1.0, 0.0]), theta)
    >>> bool(bundle.is_vertical(vertical, theta))
    True
    """

    def __init__(self, model):
        super().__init__(total_space=model.space)
        self.model = model

    @property
    def action(self):
        """The group action whose orbits are the fibres."""
        return self.model.action

    def __repr__(self):
        return f"SymmetryBundle({type(self.model).__name__})"

    def _pair(self, tangent_vec, base_point):
        dim = self.model.dim
        return as_batch(tangent_vec, (dim,), "tangent_vec"), as_batch(base_point, (dim,), "base_point")

    # ------------------------------------------------------------------- submersion and lift
    def riemannian_submersion(self, point):
        """The predictor map ``phi``: ``(..., D) -> (..., *beta_shape)``."""
        return self.model.predictor(point)

    def lift(self, point):
        """The balanced representative of predictor(s) ``point`` of shape ``(..., *beta_shape)``."""
        return self.model.balanced(point)

    def tangent_riemannian_submersion(self, tangent_vec, base_point):
        """``dphi(base_point) tangent_vec``, shape ``(..., *beta_shape)``."""
        tangent_vec, base_point = self._pair(tangent_vec, base_point)
        jac = self.model.predictor_jacobian(base_point)
        image = np.einsum("...pd,...d->...p", jac, tangent_vec)
        return image.reshape(image.shape[:-1] + self.model.beta_shape)

    # -------------------------------------------------------------------------- vertical space
    def generators(self, base_point):
        """Fundamental vector fields at ``base_point``, shape ``(..., k, D)``."""
        return self.action.generators(base_point)

    def gram(self, base_point):
        """Gram matrix of the generators, ``(..., k, k)``; ``sqrt det`` is the local orbit volume."""
        return self.action.gram(base_point)

    def vertical_projection(self, tangent_vec, base_point):
        """Orthogonal projection onto ``span{xi_a}``: ``Xi^T Gram^+ Xi v``, shape ``(..., D)``.

        The action's :meth:`~quotientlearn.groups.GroupAction.vertical_projection` (a closed form where
        the action has one).
        """
        tangent_vec, base_point = self._pair(tangent_vec, base_point)
        return self.action.vertical_projection(tangent_vec, base_point)

    def horizontal_projection(self, tangent_vec, base_point):
        """``P_H v = v - P_V v``, shape ``(..., D)``."""
        tangent_vec, base_point = self._pair(tangent_vec, base_point)
        return tangent_vec - self.vertical_projection(tangent_vec, base_point)

    def is_horizontal(self, tangent_vec, base_point, atol=1e-10):
        """Whether ``tangent_vec`` is orthogonal to the orbit, up to ``atol (1 + |v|)``; ``(...,)``."""
        tangent_vec, base_point = self._pair(tangent_vec, base_point)
        vertical = self.vertical_projection(tangent_vec, base_point)
        return np.linalg.norm(vertical, axis=-1) <= atol * (1.0 + np.linalg.norm(tangent_vec, axis=-1))

    def is_vertical(self, tangent_vec, base_point, atol=1e-10):
        """Whether ``tangent_vec`` is tangent to the orbit, up to ``atol (1 + |v|)``; ``(...,)``."""
        tangent_vec, base_point = self._pair(tangent_vec, base_point)
        horizontal = self.horizontal_projection(tangent_vec, base_point)
        norm = np.linalg.norm(tangent_vec, axis=-1)
        return np.linalg.norm(horizontal, axis=-1) <= atol * (1.0 + norm)

    def horizontal_lift(self, tangent_vec, base_point=None, fiber_point=None):
        """The horizontal vector ``h`` at ``fiber_point`` with ``dphi h = tangent_vec``.

        Parameters
        ----------
        tangent_vec : array_like, shape (..., *beta_shape)
            Tangent vector to predictor space.
        base_point : array_like, shape (..., *beta_shape), optional
            Predictor; its balanced lift is used when ``fiber_point`` is not given.
        fiber_point : array_like, shape (..., D), optional

        Returns
        -------
        lift : ndarray, shape (..., D)
        """
        if fiber_point is None:
            if base_point is None:
                raise ValueError("give base_point (a predictor) or fiber_point (parameters)")
            fiber_point = self.model.balanced(base_point)
        jac = self.model.predictor_jacobian(fiber_point)
        flat = np.reshape(tangent_vec, np.shape(tangent_vec)[: np.ndim(tangent_vec) - len(
            self.model.beta_shape)] + (-1,))
        cometric = jac @ np.swapaxes(jac, -1, -2)
        coefficients = np.einsum("...pq,...q->...p", np.linalg.pinv(cometric, hermitian=True), flat)
        return np.einsum("...p,...pd->...d", coefficients, jac)

    # ------------------------------------------------------------------------- quotient metric
    def quotient_cometric(self, base_point):
        """Inverse quotient metric in predictor coordinates, ``dphi dphi^T``, shape ``(..., P, P)``.

        ``P`` is the number of predictor entries. On a slice point a horizontal ``h`` has length
        ``|h|``, and its image ``dphi h`` has that length in this metric.
        """
        jac = self.model.predictor_jacobian(base_point)
        return jac @ np.swapaxes(jac, -1, -2)

    def quotient_metric_matrix(self, base_point):
        """Quotient metric in predictor coordinates: the pseudo-inverse of the cometric."""
        return np.linalg.pinv(self.quotient_cometric(base_point), hermitian=True)
