"""Constraint steps applied after every step of the engine.

The gauge projection now; a retraction onto a curved parameter manifold is the same kind of object.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Constraint", "GaugeProjection"]


class Constraint:
    """A map applied to the particles after every step, e.g. a projection onto a submanifold.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> class UnitNorm(ql.dynamics.Constraint):  # keep particles on the unit sphere
    ...     def project(self, theta):
    ...         return theta / np.linalg.norm(theta, axis=-1, keepdims=True)
    ...     def residual(self, theta):
    ...         return float(np.max(np.abs(np.linalg.norm(theta, axis=-1) - 1.0)))
    >>> UnitNorm().project(np.array([[3.0, 4.0]]))
    array([[0.6, 0.8]])
    """

    #: ``c`` such that every entry of :meth:`project`'s result is at most ``c max_j |theta_j|`` in
    #: magnitude (rounding included), or ``None`` when no such bound is known (the default). The
    #: engine checks the divergence bound after every projection unless this proves it cannot fail.
    entry_growth = None

    def __repr__(self):
        return f"{type(self).__name__}()"

    def project(self, theta):
        """Constrained particles, a new array of the shape of ``theta`` ``(N, D)``."""
        raise NotImplementedError(f"{type(self).__name__} must implement Constraint.project(theta)")

    def residual(self, theta):
        """Largest violation of the constraint over the particles (0 when it holds exactly)."""
        raise NotImplementedError(f"{type(self).__name__} must implement Constraint.residual(theta)")

    def pair_blocks(self):
        """``(up, down)`` slices when :meth:`project` is the closed-form pair balance, else ``None``.

        See :meth:`quotientlearn.groups.GroupAction.pair_blocks`; a compiled step
        (:meth:`~quotientlearn.dynamics.Scheme.fused_step`) may then balance the pairs itself. The
        default: ``None``.
        """
        return None


class GaugeProjection(Constraint):
    """Move every particle along its orbit onto the gauge slice (:meth:`~quotientlearn.gauge.Gauge.project`).

    Parameters
    ----------
    gauge : Gauge

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Hadamard(dim=1)
    >>> ql.dynamics.GaugeProjection(model.gauge).project(np.array([[2.0, 0.5]]))  # onto |u| = |v|
    array([[1., 1.]])
    """

    def __init__(self, gauge):
        self.gauge = gauge

    def __repr__(self):
        return f"GaugeProjection({self.gauge!r})"

    @property
    def entry_growth(self):
        """The action's balance growth where the gauge projects by that balance, else ``None``.

        :attr:`~quotientlearn.groups.GroupAction.balance_entry_growth` on flat space, where
        :meth:`~quotientlearn.gauge.Gauge.project` is the action's balance; the Newton route and
        curved spaces declare none.
        """
        gauge = self.gauge
        return gauge.action.balance_entry_growth if gauge.is_moment_map and gauge.is_flat else None

    def project(self, theta):
        """``gauge.project(theta)``: the predictor is unchanged."""
        return self.gauge.project(theta)

    def pair_blocks(self):
        """The gauge's :meth:`~quotientlearn.gauge.Gauge.pair_blocks`."""
        return self.gauge.pair_blocks()

    def residual(self, theta):
        """``max |chi(theta)|``."""
        chi = self.gauge.chi(theta)
        # max |chi| as two reductions, without an array of |chi|
        return float(np.maximum(np.max(chi), -np.min(chi))) if chi.size else 0.0
