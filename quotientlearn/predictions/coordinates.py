"""The coordinates a density is written in: the predictor itself, or a chart of the predictor manifold."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np

from quotientlearn.dynamics.noise import CoordinateDerivatives
from quotientlearn.numerics import AutogradHessians, jacobian, jacobian_and_hessian, slice_tangents

__all__ = ["Coordinates"]


class Coordinates:
    """Predictor coordinates, or chart coordinates ``c = to_chart(beta)`` with ``from_chart``.

    Parameters
    ----------
    model : Model
    chart : (callable, callable), optional
        ``(to_chart, from_chart)``: ``beta -> c`` (written with ``autograd.numpy``) and ``c -> beta``;
        ``None`` for the predictor itself.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> coordinates = ql.predictions.Coordinates(ql.models.Hadamard(dim=1))  # the predictor itself
    >>> coordinates.slice_point(np.array([[4.0]]))  # the balanced point with beta = 4
    array([[2., 2.]])
    """

    def __init__(self, model, chart=None):
        self.model = model
        if chart is None:
            self.to_chart = self.from_chart = None
            self.shape = model.beta_shape
        else:
            try:
                self.to_chart, self.from_chart = chart
            except (TypeError, ValueError):
                raise ValueError("coordinates must be a pair (to_chart, from_chart) of callables "
                                 "beta -> c and c -> beta") from None
            probe = np.ones(model.beta_shape) / np.sqrt(model.beta_size)
            self.shape = np.shape(self.to_chart(model.predictor(model.balanced(probe))))
        self.size = int(np.prod(self.shape, dtype=int))

    @property
    def is_chart(self):
        """Whether these are chart coordinates rather than the predictor itself."""
        return self.to_chart is not None

    def of_theta(self, flat_theta):
        """``c(theta)`` of flattened points ``(..., D)``, flattened to ``(..., m)``; traceable by autograd."""
        beta = self.model.traceable_predictor(self.model.space.unflatten(flat_theta))
        if self.to_chart is not None:
            beta = self.to_chart(beta)
        return anp.reshape(beta, anp.shape(flat_theta)[:-1] + (self.size,))

    def beta_of_theta(self, flat_theta):
        """The predictor of flattened points ``(..., D)``, flattened to ``(..., P)``; traceable."""
        return self.model.flat_predictor(flat_theta)

    def beta(self, c):
        """Predictor values of coordinates ``c`` (n, m), shape ``(n, *beta_shape)``."""
        c = c.reshape((-1,) + self.shape)
        return c if self.from_chart is None else np.asarray(self.from_chart(c), dtype=float)

    def slice_point(self, c):
        """``balanced(beta(c))`` for ``c`` of shape ``(n, m)``: shape ``(n, *space.shape)``."""
        return self.model.balanced(self.beta(c))

    def derivatives(self, theta):
        """The coordinates' derivatives at slice points ``theta`` (n, D) for the Itô route.

        In predictor coordinates they are the model's (closed forms in the zoo:
        :meth:`~quotientlearn.models.Model.predictor_jacobian`, ``predictor_hessians``,
        ``slice_tangents``); in a chart, autograd through the chart, with the tangents solved from
        ``J_c V = I``, ``J_chi V = 0`` (minimum norm). Hessians stay operators: no ``(n, m, D, D)``
        array.

        Returns
        -------
        derivatives : CoordinateDerivatives
        """
        model = self.model
        if not model.space.is_flat:
            return self._curved_derivatives(theta)
        beta_jac = model.predictor_jacobian(theta)
        beta_hess = model.predictor_hessians(theta)
        if not self.is_chart:
            return CoordinateDerivatives(theta, beta_jac, beta_hess, model.slice_tangents(theta))
        jac = jacobian(self.of_theta, theta)
        return CoordinateDerivatives(theta, jac, AutogradHessians(self.of_theta, theta),
                                     slice_tangents(jac, model.gauge.chi_jacobian(theta)),
                                     beta_jac, beta_hess)

    def _curved_derivatives(self, theta):
        """Derivatives on a curved space (or a metric), by autograd on the flattened entries.

        The slice tangents lie in the manifold's tangent space (:meth:`~quotientlearn.Gauge.slice_tangents`);
        the Hessians are dense: the generic noise defaults on curved spaces contract them.
        """
        model = self.model
        flat = model.space.flatten(theta)
        jac, hess = jacobian_and_hessian(self.of_theta, flat)
        if self.is_chart:
            beta_jac, beta_hess = jacobian_and_hessian(self.beta_of_theta, flat)
        else:
            beta_jac, beta_hess = jac, hess
        tangents = model.gauge.slice_tangents(theta, jac)  # (n, D, m)
        return CoordinateDerivatives(theta, jac, hess, tangents, beta_jac, beta_hess)
