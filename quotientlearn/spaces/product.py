"""Products of parameter spaces (geomstats ``ProductManifold``), factor by factor.

geomstats lays a product point out as the concatenation of the flattened factor points (``point_ndim =
1``) or as a stack of equally shaped factor points; either way, factor ``i`` occupies a contiguous slice of
the flattened entries, and every method here acts factor by factor on those slices.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval
from geomstats.geometry.product_manifold import ProductManifold, ProductRiemannianMetric

from quotientlearn.spaces.base import ManifoldSpace

__all__ = ["ProductSpace"]


class ProductSpace(ManifoldSpace):
    """A product of parameter spaces with the product metric.

    Parameters
    ----------
    manifold : ProductManifold
    factors : sequence of Space
        The factors as parameter spaces (``quotientlearn.spaces.as_space`` of geomstats' factors).
    atol : float

    Examples
    --------
    >>> from geomstats.geometry.euclidean import Euclidean
    >>> from geomstats.geometry.hypersphere import Hypersphere
    >>> from geomstats.geometry.product_manifold import ProductManifold
    >>> from quotientlearn.spaces import as_space
    >>> product = as_space(ProductManifold([Hypersphere(2), Euclidean(2)]))
    >>> type(product).__name__, product.shape  # points are the factors' entries side by side
    ('ProductSpace', (5,))
    """

    @classmethod
    def accepts(cls, manifold):
        """A ``ProductManifold`` with its product metric."""
        return isinstance(manifold, ProductManifold) and type(manifold.metric) is ProductRiemannianMetric

    def __init__(self, manifold, factors, atol=1e-8):
        super().__init__(manifold, atol)
        self.factors = tuple(factors)
        sizes = [factor.point_size for factor in self.factors]
        if sum(sizes) != self.point_size:
            raise ValueError(f"the factors have {sum(sizes)} entries but a product point has "
                             f"{self.point_size}")
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        self._slices = [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        self.is_chart = all(factor.is_chart for factor in self.factors)
        self.has_exp = all(factor.has_exp for factor in self.factors)
        self.retraction_is_second_order = all(factor.retraction_is_second_order
                                              for factor in self.factors)
        self.membership_check = "largest membership residual of the factors"

    def name(self):
        """``Product(factor, factor, ...)``."""
        return "Product(" + ", ".join(factor.name() for factor in self.factors) + ")"

    def split(self, point):
        """The factor points, each ``(..., *factor.shape)``."""
        flat = self.flatten(point)
        return [factor.unflatten(flat[..., piece])
                for factor, piece in zip(self.factors, self._slices, strict=True)]

    def join(self, parts):
        """A product point from factor points."""
        flat = [factor.flatten(part) for factor, part in zip(self.factors, parts, strict=True)]
        return self.unflatten(anp.concatenate(flat, axis=-1))

    def _each(self, method, *arrays):
        """Apply ``factor.method`` to the factor parts of every array and join the results."""
        split = [self.split(array) for array in arrays]
        return self.join([getattr(factor, method)(*(parts[i] for parts in split))
                          for i, factor in enumerate(self.factors)])

    def membership_residual(self, point):
        """The largest residual of the factors, shape ``(...,)``."""
        return np.max(np.stack([factor.membership_residual(part) for factor, part in zip(
            self.factors, self.split(np.asarray(point, float)), strict=True)], axis=-1), axis=-1)

    def to_tangent(self, vector, base_point):
        """Factor by factor."""
        return self._each("to_tangent", vector, base_point)

    def inner_product(self, tangent_vec_a, tangent_vec_b, base_point):
        """The sum of the factors' inner products."""
        parts = zip(self.split(tangent_vec_a), self.split(tangent_vec_b), self.split(base_point),
                    strict=True)
        return sum(factor.inner_product(a, b, x) for factor, (a, b, x) in zip(self.factors, parts,
                                                                             strict=True))

    def lower_index(self, tangent_vec, base_point):
        """Factor by factor."""
        return self._each("lower_index", tangent_vec, base_point)

    def raise_index(self, covector, base_point):
        """Factor by factor."""
        return self._each("raise_index", covector, base_point)

    def _block_diagonal(self, blocks, base_point):
        batch = self.batch_shape(base_point)
        out = anp.zeros(batch + (self.point_size, self.point_size))
        rows = []
        for piece, block in zip(self._slices, blocks, strict=True):
            width = piece.stop - piece.start
            left = np.zeros(batch + (width, piece.start))
            right = np.zeros(batch + (width, self.point_size - piece.stop))
            rows.append(anp.concatenate([left, block, right], axis=-1))
        return anp.concatenate(rows, axis=-2) + out

    def cometric(self, base_point):
        """Block diagonal, shape ``(..., n, n)``."""
        return self._block_diagonal([factor.cometric(part) for factor, part in zip(
            self.factors, self.split(base_point), strict=True)], base_point)

    def tangent_basis(self, base_point):
        """Block diagonal, shape ``(..., n, dim)``."""
        batch = self.batch_shape(base_point)
        out = np.zeros(batch + (self.point_size, self.dim))
        column = 0
        for factor, piece, part in zip(self.factors, self._slices, self.split(base_point), strict=True):
            out[..., piece, column:column + factor.dim] = factor.tangent_basis(part)
            column += factor.dim
        return out

    def random_normal_tangent(self, base_point, rng):
        """Factor by factor."""
        return self.join([factor.random_normal_tangent(part, rng) for factor, part in zip(
            self.factors, self.split(base_point), strict=True)])

    def exp(self, tangent_vec, base_point):
        """Factor by factor."""
        return self._each("exp", tangent_vec, base_point)

    def retraction(self, tangent_vec, base_point):
        """Factor by factor."""
        return self._each("retraction", tangent_vec, base_point)

    def retraction_correction(self, covariance, base_point):
        """Factor by factor on the diagonal blocks of ``C``; ``None`` when no factor needs one."""
        covariance = getval(covariance)
        parts = []
        needed = False
        for factor, piece, part in zip(self.factors, self._slices, self.split(base_point), strict=True):
            correction = factor.retraction_correction(covariance[..., piece, piece], part)
            needed = needed or correction is not None
            parts.append(np.zeros(np.shape(part)) if correction is None else correction)
        return self.join(parts) if needed else None

    def geodesic_acceleration(self, tangent_vec_a, tangent_vec_b, base_point):
        """Factor by factor (the product metric has no cross terms)."""
        return self._each("geodesic_acceleration", tangent_vec_a, tangent_vec_b, base_point)

    def acceleration_trace(self, covariance, base_point):
        """Factor by factor on the diagonal blocks of ``C``."""
        return self.join([factor.acceleration_trace(covariance[..., piece, piece], part)
                          for factor, piece, part in zip(self.factors, self._slices,
                                                         self.split(base_point), strict=True)])

    def laplacian_drift(self, base_point):
        """Factor by factor."""
        return self.join([factor.laplacian_drift(part) for factor, part in zip(
            self.factors, self.split(base_point), strict=True)])

    def sample(self, size=(), rng=None):
        """Independent samples of the factors."""
        rng = np.random.default_rng(rng)
        return self.join([factor.sample(size, rng) for factor in self.factors])
