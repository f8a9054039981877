"""Theorem 1: the closed-form stationary law of isotropic, gauge-fixed dynamics."""

from __future__ import annotations

import numpy as np

from quotientlearn.bias import (
    implicit_bias_of_predictor,
    log_residual_orbit_volume,
    log_slice_volume_in_coordinates,
)
from quotientlearn.numerics import jacobian
from quotientlearn.predictions.base import Prediction
from quotientlearn.predictions.density import Density

__all__ = ["Theorem1"]


class Theorem1(Prediction):
    """``p(beta) ∝ exp(-U/T) det G_C^{-1/2} det(J J^T)^{-1/2} vol(residual orbit)`` (docs/theory.md §2).

    Evaluated at the slice point ``balanced(beta)`` (``U = L + lam |theta|^2 / 2``; ``J`` the Jacobian
    of the coordinates in use; the residual orbit, e.g. of ``O(r)`` for a factorisation, is the
    slice's fibre over ``beta``: see :func:`quotientlearn.bias.log_residual_orbit_volume`). In predictor
    coordinates the zoo's closed forms give the correction; in a chart, autograd does.

    It is derived for isotropic noise with gauge fixing on flat space; for other dynamics it is the
    hypothesis under test, and ``info["note"]`` says so. On a curved parameter space (or with a metric)
    it is the expected form of docs/theory.md section 7, ``exp(-U/T) det(J_chi g^{-1} J_chi^T)^{-1/2}``
    with respect to the Riemannian volume of the slice
    (:func:`quotientlearn.bias.log_slice_volume_in_coordinates`), a hypothesis checked against the Itô
    route and simulation, not assumed (experiment ``manifold-check``).

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Hadamard(dim=1)
    >>> def loss(beta):
    ...     return 0.5 * (beta[..., 0] - 1.0) ** 2
    >>> density = ql.stationary_density(model, loss, 0.1, method=ql.predictions.Theorem1())
    >>> density.method
    'theorem1'
    >>> hypothesis = ql.stationary_density(model, loss, 0.1, noise="horizontal", method="theorem1")
    >>> "hypothesis under test" in hypothesis.info["note"]  # other dynamics: a note, not an error
    True
    """

    name = "theorem1"

    def check(self, problem):
        """Always applicable; a note when the dynamics are not the ones it is derived for."""
        if not problem.model.space.is_flat:
            return {"note": "on a curved parameter space Theorem 1's form (J_chi g^-1 J_chi^T, Riemannian "
                            "slice volume) is the hypothesis under test (docs/theory.md, section 7)"}
        if problem.noise.isotropic and problem.gauge_fixing:
            return {}
        return {"note": "Theorem 1 is derived for isotropic noise with gauge fixing; for these "
                        "dynamics it is the hypothesis under test"}

    def density(self, problem):
        """The Theorem 1 density of ``problem``."""
        model, temperature, coords = problem.model, problem.temperature, problem.coordinates
        potential = problem.potential

        def log_density(c):
            c = c.reshape(len(c), -1)
            theta = coords.slice_point(c)
            log_p = -potential.value(theta) / temperature
            if not coords.is_chart:
                # (T/2) log det G_C - T log sqrt det g_S, closed forms of the zoo
                bias = implicit_bias_of_predictor(model, coords.beta(c), temperature, "predictor")
                return log_p - bias / temperature
            jac = jacobian(coords.of_theta, model.space.flatten(theta))
            if not model.space.is_flat:
                return (log_p - 0.5 * model.gauge.log_det_constraint_gram(theta)
                        + log_slice_volume_in_coordinates(model, theta, jac))
            _, log_cometric = np.linalg.slogdet(jac @ np.swapaxes(jac, -1, -2))
            return (log_p - 0.5 * model.gauge.log_det_constraint_gram(theta) - 0.5 * log_cometric
                    + log_residual_orbit_volume(model, theta))

        return Density(log_density, coords.shape, self.name, {**problem.info(), **self.check(problem)})
