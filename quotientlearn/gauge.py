"""Gauge slices ``S = {chi(theta) = 0}`` transversal to the orbits, and projection onto them.

The default slice is the zero set of the action's moment map (the Noether charges gradient flow
conserves): the *balanced* gauge. A user may pass any other ``chi``; its Jacobian is then taken with
autograd and points are projected onto the slice by damped Newton steps in the Lie algebra.

On a space with a metric ``g`` the constraint Gram is ``J_chi g^{-1} J_chi^T`` (``J_chi K J_chi^T`` with
the space's cometric ``K``); on ``R^D`` with the identity metric it is ``J_chi J_chi^T``.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval

from quotientlearn.groups.base import GaugeConvergenceWarning, GroupAction, newton_onto_level_set
from quotientlearn.numerics import jacobian, log_det_psd
from quotientlearn.spaces import as_batch
from quotientlearn.validation import integer, real

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
    space : Space, optional
        The parameter space, whose metric enters the constraint Gram; ``None`` for ``R^D`` with the
        identity metric. A model binds a gauge built without one to its own space.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Hadamard(dim=1)
    >>> theta = np.array([2.0, 0.5])
    >>> model.gauge.chi(theta)  # the moment map (u^2 - v^2) / 2
    array([1.875])
    >>> on_slice = model.gauge.project(theta)  # along the orbit, predictor unchanged
    >>> on_slice, model.predictor(on_slice)
    (array([1., 1.]), array([1.]))
    """

    def __init__(self, action, chi=None, tol=1e-13, max_iter=200, space=None):
        if not isinstance(action, GroupAction):
            raise TypeError(f"action must be a GroupAction; got {type(action).__name__}")
        if chi is not None and not callable(chi):
            raise TypeError(f"chi must be a callable theta -> (..., c) or None; got {type(chi).__name__}")
        self.action = action
        self._chi = chi
        self.tol = real(tol, "tol", minimum=0.0, exclusive_minimum=True)
        self.max_iter = integer(max_iter, "max_iter", minimum=1)
        self._moment_checked = chi is not None
        self.space = space

    @property
    def is_moment_map(self):
        """Whether the slice is the zero set of the action's moment map."""
        return self._chi is None

    def __repr__(self):
        kind = "moment map" if self.is_moment_map else "user chi"
        return f"Gauge({self.action!r}, {kind})"

    @property
    def is_flat(self):
        """Whether the metric is the identity of ``R^D`` (closed forms of the action apply)."""
        return self.space is None or self.space.is_flat

    def _validate(self, theta):
        """``theta`` after checking its shape and finiteness, and on a curved space that it lies on it.

        Raises
        ------
        ValueError
            Naming the check that failed and by how much (on a curved space: the distance to the
            manifold against the space's ``atol``; see :meth:`~quotientlearn.spaces.Space.validate`).
        """
        if self.is_flat:
            return as_batch(theta, self.action.shape)
        return self.space.validate(theta)

    def chi(self, theta):
        """Gauge function.

        Parameters
        ----------
        theta : array_like, shape (..., *shape)

        Returns
        -------
        chi : ndarray, shape (..., c)
        """
        theta = self._validate(theta)
        return self._chi_raw(theta)

    def _chi_raw(self, theta):
        if self.is_moment_map:
            self._require_moment_constraints()
            return self.action.moment_map(theta)
        return self._checked_chi_value(self._chi(theta), theta)

    def _require_moment_constraints(self):
        """Refuse a moment map that vanishes identically on a nontrivial group (checked once).

        Isometric actions (rotations) have a zero moment map: its zero set is the whole space, so the
        balanced "gauge" would fix nothing and the bias would silently be ``0``.
        """
        if self._moment_checked:
            return
        probe = np.linspace(0.5, 1.5, self.action.space_dim).reshape(self.action.shape)
        if self.action.dim > 0 and self.action.moment_map_jacobian(probe).shape[-2] == 0:
            raise ValueError(
                f"the moment map of {self.action.name} vanishes identically (an action by "
                "isometries, e.g. rotations): the balanced gauge fixes nothing; pass a gauge "
                "function chi to Gauge(action, chi=...)")
        self._moment_checked = True

    def _checked_chi_value(self, value, theta):
        """A user chi's value after checking its shape ``(..., c)`` and finiteness."""
        point_shape = self.action.shape
        batch = np.shape(getval(theta))[: np.ndim(getval(theta)) - len(point_shape)]
        shape = np.shape(getval(value))
        if len(shape) != len(batch) + 1 or shape[:-1] != batch or shape[-1] < 1:
            raise ValueError(f"chi must return shape (..., c) with c >= 1 for theta of shape "
                             f"{batch + point_shape}; got shape {shape}")
        if not np.all(np.isfinite(getval(value))):
            bad = int(np.count_nonzero(~np.all(np.isfinite(getval(value)), axis=-1)))
            raise ValueError(f"chi is not finite (NaN or inf) at {bad} point(s); check chi's domain")
        return value

    def chi_jacobian(self, theta):
        """Jacobian ``J_chi`` on the flattened entries, shape ``(..., c, D)``."""
        theta = self._validate(theta)
        if self.is_moment_map:
            self._require_moment_constraints()
            return self.action.moment_map_jacobian(theta)
        self._chi_raw(theta)  # a user chi of the wrong shape or with NaN fails here, clearly
        shape = self.action.shape
        return jacobian(lambda flat: self._chi(anp.reshape(flat, anp.shape(flat)[:-1] + shape)),
                        self.action._flat(theta))

    def constraint_gram(self, theta):
        """``G_C = J_chi K J_chi^T`` (``K`` the cometric; the identity on flat space), ``(..., c, c)``.

        For the moment map on flat space it equals the Gram of the generators.
        """
        jac = self.chi_jacobian(theta)
        if self.is_flat:
            return jac @ np.swapaxes(jac, -1, -2)
        return jac @ self.space.cometric(self._validate(theta)) @ np.swapaxes(jac, -1, -2)

    def log_det_constraint_gram(self, theta):
        """``log det G_C``, shape ``(...,)``; ``-inf`` with a warning on degenerate orbits.

        For the moment map this is the action's :meth:`~quotientlearn.groups.GroupAction.log_det_moment_gram`
        (a closed form where the action has one).
        """
        theta = self._validate(theta)
        if self.is_moment_map:
            self._require_moment_constraints()
        if self.is_moment_map and self.is_flat:
            return self.action.log_det_moment_gram(theta)
        return log_det_psd(self.constraint_gram(theta))

    def slice_tangents(self, theta, coordinate_jacobian):
        """Tangents ``V`` of the slice along coordinates ``c`` of the base: ``J_c V = I``, ``J_chi V = 0``.

        The minimum-norm solution within the tangent space of the parameter manifold (orthogonal to
        residual symmetries, which leave both ``c`` and ``chi`` unchanged).

        Parameters
        ----------
        theta : ndarray, shape (n, *shape)
            Slice points.
        coordinate_jacobian : ndarray, shape (n, m, D)
            ``J_c`` on the flattened entries.

        Returns
        -------
        tangents : ndarray, shape (n, D, m)
        """
        m = coordinate_jacobian.shape[-2]
        constraint = np.concatenate([coordinate_jacobian, self.chi_jacobian(theta)], axis=-2)
        rhs = np.zeros(constraint.shape[-2:-1] + (m,))
        rhs[:m] = np.eye(m)
        if self.is_flat:
            return np.linalg.pinv(constraint) @ rhs
        basis = self.space.tangent_basis(theta)  # (n, D, dim)
        return basis @ (np.linalg.pinv(constraint @ basis) @ rhs)

    def contains(self, theta, atol=1e-10):
        """Whether ``theta`` lies on the slice: ``|chi| <= atol (1 + |theta|^2)``, shape ``(...,)``."""
        theta = self._validate(theta)
        scale = 1.0 + np.sum(self.action._flat(theta) ** 2, axis=-1)
        return np.max(np.abs(self._chi_raw(theta)), axis=-1, initial=0.0) <= atol * scale  # c = 0: all

    def pair_blocks(self):
        """The action's :meth:`~quotientlearn.groups.GroupAction.pair_blocks` where :meth:`project` balances.

        That is, for the moment map of a flat space, with an action whose balance validates its input;
        otherwise ``None``.
        """
        if not (self.is_moment_map and self.is_flat and self.action.balance_validates):
            return None
        self._require_moment_constraints()  # project's own check, once
        return self.action.pair_blocks()

    def project(self, theta):
        """Move ``theta`` along its orbit onto the slice; the predictor is unchanged.

        For the moment map this is the action's :meth:`~quotientlearn.groups.GroupAction.balance`
        (a closed form where the action has one), otherwise :meth:`newton_project`.

        Parameters
        ----------
        theta : array_like, shape (..., *shape)

        Returns
        -------
        projected : ndarray, shape (..., *shape)

        Raises
        ------
        ValueError
            When ``theta`` is off the parameter manifold (the distance is named; moving along the orbit
            would keep it off).
        """
        if self.is_moment_map:
            # An action whose balance checks its input (the closed forms) spares the gauge's pass over
            # theta, which counts at every step of the dynamics at small D.
            if not (self.action.balance_validates and self.is_flat):
                theta = self._validate(theta)
            self._require_moment_constraints()
            return self.action.balance(theta)
        return self.newton_project(self._validate(theta))

    def newton_project(self, theta):
        """Projection onto ``{chi = 0}`` by damped Newton steps in the Lie algebra, to ``tol``.

        :func:`~quotientlearn.groups.newton_onto_level_set` with this gauge's ``chi``.

        Parameters
        ----------
        theta : array_like, shape (..., *shape)

        Returns
        -------
        projected : ndarray, shape (..., *shape)
        """
        return newton_onto_level_set(self.action, self._validate(theta), self._chi_raw,
                                     self.chi_jacobian, self.tol, self.max_iter)
