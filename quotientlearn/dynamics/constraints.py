"""Constraint steps applied after every step of the engine.

The gauge projection now; a retraction onto a curved parameter manifold is the same kind of object.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Constraint", "GaugeProjection"]


class Constraint:
    """A map applied to the particles after every step, e.g. a projection onto a submanifold."""

    def __repr__(self):
        return f"{type(self).__name__}()"

    def project(self, theta):
        """Constrained particles, a new array of the shape of ``theta`` ``(N, D)``."""
        raise NotImplementedError(f"{type(self).__name__} must implement Constraint.project(theta)")

    def residual(self, theta):
        """Largest violation of the constraint over the particles (0 when it holds exactly)."""
        raise NotImplementedError(f"{type(self).__name__} must implement Constraint.residual(theta)")


class GaugeProjection(Constraint):
    """Move every particle along its orbit onto the gauge slice (:meth:`~quotientlearn.gauge.Gauge.project`).

    Parameters
    ----------
    gauge : Gauge
    """

    def __init__(self, gauge):
        self.gauge = gauge

    def __repr__(self):
        return f"GaugeProjection({self.gauge!r})"

    def project(self, theta):
        """``gauge.project(theta)``: the predictor is unchanged."""
        return self.gauge.project(theta)

    def residual(self, theta):
        """``max |chi(theta)|``."""
        chi = self.gauge.chi(theta)
        return float(np.max(np.abs(chi))) if chi.size else 0.0
