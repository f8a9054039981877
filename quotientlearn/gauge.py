"""Gauge slices ``S = {chi(theta) = 0}`` transversal to the orbits, and projection onto them.

The default slice is the zero set of the action's moment map (the Noether charges gradient flow
conserves): the *balanced* gauge. A user may pass any other ``chi``; its Jacobian is then taken with
autograd and points are projected onto the slice by damped Newton steps in the Lie algebra.
"""

from __future__ import annotations

import numpy as np

from quotientlearn.groups.base import GaugeConvergenceWarning, newton_onto_level_set
from quotientlearn.numerics import jacobian, log_det_psd
from quotientlearn.spaces import as_batch

__all__ = ["Gauge", "GaugeConvergenceWarning"]


class Gauge:
    """A gauge slice of a group action.

    Parameters
    ----------
    action : GroupAction
    chi : callable, optional
        ``chi(theta) -> (..., c)``, written with ``autograd.numpy``; zero on the slice. Defaults to the
        action's moment map (the balanced gauge).
    tol : float
        Newton tolerance on ``|chi| / (1 + |theta|^2)``.
    max_iter : int
        Newton iteration cap.
    """

    def __init__(self, action, chi=None, tol=1e-13, max_iter=200):
        self.action = action
        self._chi = chi
        self.tol = tol
        self.max_iter = max_iter

    @property
    def is_moment_map(self):
        """Whether the slice is the zero set of the action's moment map."""
        return self._chi is None

    def __repr__(self):
        kind = "moment map" if self.is_moment_map else "user chi"
        return f"Gauge({self.action!r}, {kind})"

    def _validate(self, theta):
        return as_batch(theta, (self.action.space_dim,))

    def chi(self, theta):
        """Gauge function.

        Parameters
        ----------
        theta : array_like, shape (..., D)

        Returns
        -------
        chi : ndarray, shape (..., c)
        """
        theta = self._validate(theta)
        return self._chi_raw(theta)

    def _chi_raw(self, theta):
        return self.action.moment_map(theta) if self.is_moment_map else self._chi(theta)

    def chi_jacobian(self, theta):
        """Jacobian ``J_chi`` of shape ``(..., c, D)``."""
        theta = self._validate(theta)
        if self.is_moment_map:
            return self.action.moment_map_jacobian(theta)
        return jacobian(self._chi, theta)

    def constraint_gram(self, theta):
        """``G_C = J_chi J_chi^T``, shape ``(..., c, c)``; equals the Gram for the moment map."""
        jac = self.chi_jacobian(theta)
        return jac @ np.swapaxes(jac, -1, -2)

    def log_det_constraint_gram(self, theta):
        """``log det G_C``, shape ``(...,)``; ``-inf`` with a warning on degenerate orbits.

        For the moment map this is the action's :meth:`~quotientlearn.groups.GroupAction.log_det_moment_gram`
        (a closed form where the action has one).
        """
        theta = self._validate(theta)
        if self.is_moment_map:
            return self.action.log_det_moment_gram(theta)
        return log_det_psd(self.constraint_gram(theta))

    def contains(self, theta, atol=1e-10):
        """Whether ``theta`` lies on the slice: ``|chi| <= atol (1 + |theta|^2)``, shape ``(...,)``."""
        theta = self._validate(theta)
        scale = 1.0 + np.sum(theta**2, axis=-1)
        return np.max(np.abs(self._chi_raw(theta)), axis=-1) <= atol * scale

    def project(self, theta):
        """Move ``theta`` along its orbit onto the slice; the predictor is unchanged.

        For the moment map this is the action's :meth:`~quotientlearn.groups.GroupAction.balance`
        (a closed form where the action has one), otherwise :meth:`newton_project`.

        Parameters
        ----------
        theta : array_like, shape (..., D)

        Returns
        -------
        projected : ndarray, shape (..., D)
        """
        if self.is_moment_map:
            return self.action.balance(theta)  # validates theta itself: once per simulation step
        return self.newton_project(theta)

    def newton_project(self, theta):
        """Projection by damped Newton steps ``theta <- act(exp(delta), theta)`` in the Lie algebra.

        ``delta`` is the minimum-norm solution of ``J_chi Xi^T delta = -chi``, clipped to unit norm so
        that the exponential of a large step cannot overshoot (see
        :func:`~quotientlearn.groups.newton_onto_level_set`). Vectorised over the batch.

        Parameters
        ----------
        theta : array_like, shape (..., D)

        Returns
        -------
        projected : ndarray, shape (..., D)
        """
        return newton_onto_level_set(self.action, self._validate(theta), self._chi_raw,
                                     self.chi_jacobian, self.tol, self.max_iter)
