"""The Poincaré ball: hyperbolic space as the open unit ball with the conformal metric, in closed form."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from geomstats.geometry.poincare_ball import PoincareBall, PoincareBallMetric

from quotientlearn.spaces.base import ManifoldSpace

__all__ = ["PoincareBallSpace"]


def _squared_norm(x):
    return anp.sum(x * x, axis=-1, keepdims=True)


def _mobius_add(a, b):
    """Möbius addition ``a (+) b`` in the unit ball."""
    ab = np.sum(a * b, axis=-1, keepdims=True)
    aa, bb = _squared_norm(a), _squared_norm(b)
    return ((1.0 + 2.0 * ab + bb) * a + (1.0 - aa) * b) / (1.0 + 2.0 * ab + aa * bb)


class PoincareBallSpace(ManifoldSpace):
    """The Poincaré ball ``|x| < 1`` with ``g = lambda(x)^2 I``, ``lambda = 2 / (1 - |x|^2)``.

    Conformal: ``K = I / lambda^2``, noise ``xi / lambda``. The metric is ``e^{2 sigma} I`` with
    ``grad sigma = lambda x``, so ``gamma''(0) = |v|^2 grad sigma - 2 (grad sigma . v) v`` and Brownian
    motion drifts by ``(d - 2) x / lambda`` per unit ``T``. Steps follow the exponential map
    (Möbius addition), which never leaves the ball.

    Examples
    --------
    >>> import numpy as np
    >>> from geomstats.geometry.poincare_ball import PoincareBall
    >>> from quotientlearn.spaces import as_space
    >>> ball = as_space(PoincareBall(2))
    >>> float(ball.inner_product(np.array([1.0, 0.0]), np.array([1.0, 0.0]), np.zeros(2)))  # lambda(0)^2
    4.0
    """

    is_chart = False  # x + v can leave the ball: steps follow the exponential map
    membership_check = "max(|x| - 1, 0)"

    @classmethod
    def accepts(cls, manifold):
        """``PoincareBall(d)`` with its ``PoincareBallMetric``."""
        return isinstance(manifold, PoincareBall) and type(manifold.metric) is PoincareBallMetric

    @staticmethod
    def conformal_factor(base_point):
        """``lambda = 2 / (1 - |x|^2)``, shape ``(..., 1)``."""
        return 2.0 / (1.0 - _squared_norm(base_point))

    def membership_residual(self, point):
        """``max(|x| - 1, 0)``; a point on the unit sphere itself is refused by :meth:`validate`."""
        return np.maximum(np.linalg.norm(point, axis=-1) - 1.0, 0.0)

    def validate(self, point, name="theta"):
        """As :meth:`Space.validate`, and ``|x| < 1`` strictly (the boundary is at infinite distance)."""
        point = super().validate(point, name)
        radius = np.linalg.norm(point, axis=-1)
        if np.any(radius >= 1.0):
            raise ValueError(f"{name} is off the manifold {self.name()}: |x| = {np.max(radius):.6f} "
                             "is not below 1 (check: membership)")
        return point

    def to_tangent(self, vector, base_point):
        """``vector`` itself (an open subset of ``R^d``)."""
        return vector + 0.0 * base_point

    def inner_product(self, tangent_vec_a, tangent_vec_b, base_point):
        """``lambda^2 a . b``, shape ``(...,)``."""
        return (self.conformal_factor(base_point)[..., 0] ** 2
                * anp.sum(tangent_vec_a * tangent_vec_b, axis=-1))

    def lower_index(self, tangent_vec, base_point):
        """``lambda^2 v``."""
        return self.conformal_factor(base_point) ** 2 * tangent_vec

    def raise_index(self, covector, base_point):
        """``w / lambda^2``."""
        return covector / self.conformal_factor(base_point) ** 2

    def random_normal_tangent(self, base_point, rng):
        """``xi / lambda``."""
        return rng.standard_normal(np.shape(base_point)) / self.conformal_factor(base_point)

    def exp(self, tangent_vec, base_point):
        """``x (+) tanh(lambda |v| / 2) v / |v|`` (Möbius addition)."""
        norm = np.linalg.norm(tangent_vec, axis=-1, keepdims=True)
        half = 0.5 * self.conformal_factor(base_point) * norm
        # tanh(half) / |v| -> lambda / 2 as |v| -> 0
        safe = np.where(norm > 0, norm, 1.0)
        factor = np.where(norm > 0, np.tanh(half) / safe, 0.5 * self.conformal_factor(base_point))
        return _mobius_add(base_point, factor * tangent_vec)

    def geodesic_acceleration(self, tangent_vec_a, tangent_vec_b, base_point):
        """``(a . b) grad sigma - (grad sigma . a) b - (grad sigma . b) a``, ``grad sigma = lambda x``."""
        gradient = self.conformal_factor(base_point) * base_point
        a, b = tangent_vec_a, tangent_vec_b
        return (anp.sum(a * b, axis=-1, keepdims=True) * gradient
                - anp.sum(gradient * a, axis=-1, keepdims=True) * b
                - anp.sum(gradient * b, axis=-1, keepdims=True) * a)

    def laplacian_drift(self, base_point):
        """``(d - 2) x / lambda``."""
        return (self.dim - 2.0) * base_point / self.conformal_factor(base_point)

    def sample(self, size=(), rng=None):
        """Points of hyperbolic radius below ~2: uniform directions, Euclidean radius ``0.7 U^(1/d)``."""
        size = (size,) if np.isscalar(size) else tuple(size)
        rng = np.random.default_rng(rng)
        direction = rng.standard_normal(size + self.shape)
        direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
        radius = 0.7 * rng.uniform(size=size + (1,)) ** (1.0 / self.dim)
        return radius * direction
