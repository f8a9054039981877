"""The flat parameter space ``R^D`` with the identity metric, split into named blocks.

Every flat model stores its parameters as one float64 vector of length ``D`` with leading batch axes
``(..., D)``. A :class:`ParameterSpace` remembers how that vector splits into named blocks (``u, v`` for
a Hadamard product, ``P, Q`` for a factorisation, ``W, V`` for a two-layer network, ...). Its geometry is
the identity everywhere, so the dynamics take their flat fast path (``is_flat``).
"""

from __future__ import annotations

import math

import numpy as np
from geomstats.geometry.euclidean import CanonicalEuclideanMetric, Euclidean
from geomstats.geometry.riemannian_metric import RiemannianMetric

from quotientlearn.spaces.base import Space, as_batch
from quotientlearn.validation import integer, rng_from_seed

__all__ = ["ParameterSpace"]


class _CanonicalMetric(CanonicalEuclideanMetric):
    """geomstats' canonical metric of ``R^D``, its identity matrix made on request, not stored.

    geomstats stores a dense ``D x D`` identity at construction, which made building a model with
    ``D = 4000`` take seconds and 128 MB.
    """

    def __init__(self, space):
        RiemannianMetric.__init__(self, space)

    @property
    def metric_matrix_(self):
        """The identity, shape ``(D, D)``."""
        return np.eye(self._space.dim)


class ParameterSpace(Space, Euclidean):
    """Flat Euclidean parameter space ``R^D`` split into named blocks.

    Parameters
    ----------
    blocks : dict of str to tuple of int
        Block names and their shapes, in storage order. ``D`` is the total number of entries.

    Examples
    --------
    >>> space = ParameterSpace({"u": (3,), "v": (3,)})
    >>> theta = space.join(u=np.ones(3), v=np.zeros(3))
    >>> space.split(theta)["u"].shape
    (3,)
    """

    is_flat = True
    is_chart = True

    def __init__(self, blocks):
        if not isinstance(blocks, dict) or not blocks:
            raise ValueError(f"blocks must be a non-empty dict of name -> shape; got {blocks!r}")
        self.blocks = {}
        for name, shape in blocks.items():
            if not isinstance(name, str):
                raise TypeError(f"block names must be strings; got {name!r}")
            shape = (shape,) if not isinstance(shape, tuple | list) else shape
            # A block without entries would make a zero-dimensional (or degenerate) space.
            self.blocks[name] = tuple(integer(s, f"shape of block {name!r}", minimum=1) for s in shape)
        self._slices = {}
        start = 0
        for name, shape in self.blocks.items():
            size = math.prod(shape)
            self._slices[name] = slice(start, start + size)
            start += size
        super().__init__(dim=start, equip=False)
        self.equip_with_metric(_CanonicalMetric)

    def validate(self, theta, name="theta"):
        """Return ``theta`` as float64 after checking its shape ``(..., D)`` and finiteness."""
        return as_batch(theta, (self.dim,), name)

    def block_slice(self, name):
        """Slice of the flat vector occupied by block ``name``."""
        return self._slices[name]

    def split(self, theta):
        """Split ``theta`` of shape ``(..., D)`` into a dict of blocks of shape ``(..., *shape)``."""
        batch = np.shape(theta)[:-1]
        return {
            name: theta[..., self._slices[name]].reshape(batch + shape)
            for name, shape in self.blocks.items()
        }

    def join(self, blocks=None, **named):
        """Concatenate blocks (a dict or keyword arguments) back into ``theta`` of shape ``(..., D)``."""
        blocks = dict(blocks or {}, **named)
        missing = set(self.blocks) - set(blocks)
        if missing:
            raise ValueError(f"missing blocks {sorted(missing)}; expected {list(self.blocks)}")
        parts = []
        batch = None
        for name, shape in self.blocks.items():
            block = np.asarray(blocks[name], dtype=float)
            if tuple(block.shape[block.ndim - len(shape) :]) != shape:
                raise ValueError(
                    f"block {name!r} must have shape (..., {', '.join(map(str, shape))}); "
                    f"got {block.shape}"
                )
            block_batch = block.shape[: block.ndim - len(shape)]
            batch = block_batch if batch is None else np.broadcast_shapes(batch, block_batch)
            parts.append(block)
        flat = [np.broadcast_to(p, batch + p.shape[p.ndim - len(s) :]).reshape(batch + (-1,))
                for p, s in zip(parts, self.blocks.values(), strict=True)]
        return np.concatenate(flat, axis=-1)

    def sample(self, size=(), rng=None, scale=1.0):
        """Draw Gaussian parameters.

        Parameters
        ----------
        size : int or tuple of int
            Batch shape.
        rng : int or numpy.random.Generator, optional
        scale : float
            Standard deviation of the entries.

        Returns
        -------
        theta : ndarray, shape (*size, D)
        """
        size = (size,) if np.isscalar(size) else tuple(size)
        return scale * rng_from_seed(rng, "rng").standard_normal(size + (self.dim,))

    # the identity geometry of R^D (see quotientlearn.spaces.base.Space)
    def membership_residual(self, point):
        """0: every finite vector is a point of ``R^D``."""
        return np.zeros(np.shape(point)[:-1])

    def to_tangent(self, vector, base_point):
        """``vector`` itself."""
        return vector

    def lower_index(self, tangent_vec, base_point):
        """``tangent_vec`` itself."""
        return tangent_vec

    def raise_index(self, covector, base_point):
        """``covector`` itself."""
        return covector

    def cometric(self, base_point):
        """The identity, broadcast to ``(..., D, D)``."""
        return np.broadcast_to(np.eye(self.dim), np.shape(base_point) + (self.dim,))

    def tangent_basis(self, base_point):
        """The identity, broadcast to ``(..., D, D)``."""
        return self.cometric(base_point)

    def random_normal_tangent(self, base_point, rng):
        """Standard normal vectors of the shape of ``base_point``."""
        return rng.standard_normal(np.shape(base_point))

    def exp(self, tangent_vec, base_point):
        """``base_point + tangent_vec``."""
        return base_point + tangent_vec

    def geodesic_acceleration(self, tangent_vec_a, tangent_vec_b, base_point):
        """0: straight lines are geodesics."""
        return np.zeros(np.broadcast_shapes(np.shape(tangent_vec_a), np.shape(base_point)))

    def name(self):
        """``ParameterSpace(blocks; D)``."""
        return repr(self)

    def __repr__(self):
        inner = ", ".join(f"{k}={v}" for k, v in self.blocks.items())
        return f"ParameterSpace({inner}; D={self.dim})"
