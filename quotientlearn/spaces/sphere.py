"""The hypersphere ``S^d`` in ``R^{d+1}`` with its round metric, in closed form."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from geomstats.geometry.hypersphere import Hypersphere, HypersphereMetric

from quotientlearn.spaces.base import ManifoldSpace

__all__ = ["SphereSpace"]


def _dot(a, b):
    return anp.sum(a * b, axis=-1, keepdims=True)


class SphereSpace(ManifoldSpace):
    """``S^d`` (geomstats ``Hypersphere(d)``, extrinsic coordinates): points ``(..., d + 1)``.

    The metric is the one induced by ``R^{d+1}``: ``K = I - x x^T``, noise ``xi - (x . xi) x``, the
    projection ``(x + v) / |x + v|`` is a second-order retraction and ``gamma''(0) = -|v|^2 x``, so
    Brownian motion drifts by ``-d x`` per unit ``T``.

    Parameters
    ----------
    manifold : Hypersphere
    atol : float
        Tolerance on ``||x| - 1|``.

    Examples
    --------
    >>> import numpy as np
    >>> from geomstats.geometry.hypersphere import Hypersphere
    >>> from quotientlearn.spaces import as_space
    >>> sphere = as_space(Hypersphere(2))
    >>> north, east = np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0])
    >>> float(sphere.inner_product(east, east, north))
    1.0
    >>> np.round(sphere.exp(np.pi / 2 * east, north), 12)  # a quarter of a great circle
    array([1., 0., 0.])
    """

    membership_check = "||x| - 1|"

    @classmethod
    def accepts(cls, manifold):
        """An extrinsic ``Hypersphere`` with its ``HypersphereMetric``."""
        return (isinstance(manifold, Hypersphere) and not manifold.intrinsic
                and type(manifold.metric) is HypersphereMetric)

    def membership_residual(self, point):
        """``||x| - 1|``, shape ``(...,)``."""
        return np.abs(np.linalg.norm(point, axis=-1) - 1.0)

    def to_tangent(self, vector, base_point):
        """``v - (x . v) x``."""
        return vector - _dot(base_point, vector) * base_point

    def inner_product(self, tangent_vec_a, tangent_vec_b, base_point):
        """``a . b``, shape ``(...,)``."""
        return anp.sum(tangent_vec_a * tangent_vec_b, axis=-1)

    def lower_index(self, tangent_vec, base_point):
        """``v`` itself (the induced metric)."""
        return tangent_vec

    def raise_index(self, covector, base_point):
        """``w - (x . w) x``: the Riemannian gradient is the tangential part."""
        return covector - _dot(base_point, covector) * base_point

    def cometric(self, base_point):
        """``I - x x^T``, shape ``(..., d+1, d+1)``."""
        return anp.eye(self.point_size) - base_point[..., :, None] * base_point[..., None, :]

    def random_normal_tangent(self, base_point, rng):
        """``xi - (x . xi) x`` with ``xi ~ N(0, I)``."""
        noise = rng.standard_normal(np.shape(base_point))
        noise -= np.sum(noise * base_point, axis=-1, keepdims=True) * base_point
        return noise

    def retraction(self, tangent_vec, base_point):
        """``(x + v) / |x + v|``: agrees with ``exp`` to second order."""
        moved = base_point + tangent_vec
        moved /= np.linalg.norm(moved, axis=-1, keepdims=True)
        return moved

    def exp(self, tangent_vec, base_point):
        """``cos|v| x + sin|v| v / |v|``."""
        norm = np.linalg.norm(tangent_vec, axis=-1, keepdims=True)
        # sin(t) / t -> 1 at t = 0
        sinc = np.sinc(norm / np.pi)
        moved = np.cos(norm) * base_point + sinc * tangent_vec
        return moved / np.linalg.norm(moved, axis=-1, keepdims=True)

    def geodesic_acceleration(self, tangent_vec_a, tangent_vec_b, base_point):
        """``-(a . b) x``."""
        return -_dot(tangent_vec_a, tangent_vec_b) * base_point

    def acceleration_trace(self, covariance, base_point):
        """``-tr(C) x``."""
        return -anp.trace(covariance, axis1=-2, axis2=-1)[..., None] * base_point

    def laplacian_drift(self, base_point):
        """``-d x``."""
        return -self.dim * base_point

    def sample(self, size=(), rng=None):
        """Uniform points: normalised Gaussians, shape ``(*size, d + 1)``."""
        size = (size,) if np.isscalar(size) else tuple(size)
        gaussian = np.random.default_rng(rng).standard_normal(size + self.shape)
        return gaussian / np.linalg.norm(gaussian, axis=-1, keepdims=True)
