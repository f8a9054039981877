"""Parameter spaces: the flat vector ``theta`` as a geomstats manifold with named blocks.

Every model stores its parameters as one flat float64 vector of length ``D`` with leading batch axes
``(..., D)``. A :class:`ParameterSpace` remembers how that vector splits into named blocks (``u, v`` for
a Hadamard product, ``P, Q`` for a factorisation, ``W, V`` for a two-layer network, ...).
"""

from __future__ import annotations

import math

import numpy as np
from autograd.tracer import getval
from geomstats.geometry.euclidean import CanonicalEuclideanMetric, Euclidean
from geomstats.geometry.riemannian_metric import RiemannianMetric

from quotientlearn.validation import integer, real_array, rng_from_seed

__all__ = ["ParameterSpace", "as_batch"]


def as_batch(array, trailing_shape, name="theta"):
    """Check that ``array`` has shape ``(..., *trailing_shape)`` and finite float entries.

    Parameters
    ----------
    array : array_like, shape (..., *trailing_shape)
    trailing_shape : tuple of int
        The shape the trailing axes must have.
    name : str
        The argument's name, quoted in the error.

    Returns
    -------
    array : ndarray or autograd box, shape (..., *trailing_shape)
        ``array`` as float64 (boxes traced by autograd pass through unchanged).

    Raises
    ------
    TypeError
        If ``array`` is complex, boolean or not numeric.
    ValueError
        If the trailing axes differ from ``trailing_shape`` or an entry is not finite.
    """
    trailing_shape = tuple(trailing_shape)
    raw = getval(array)
    traced = raw is not array
    if not traced:
        array = real_array(array, name)
        raw = array
    shape = np.shape(raw)
    n = len(trailing_shape)
    if len(shape) < n or tuple(shape[len(shape) - n :]) != trailing_shape:
        expected = ", ".join(["..."] + [str(s) for s in trailing_shape])
        raise ValueError(f"{name} must have shape ({expected}); got shape {shape}")
    if not np.all(np.isfinite(raw)):
        bad = int(np.size(raw) - np.count_nonzero(np.isfinite(raw)))
        raise ValueError(f"{name} has {bad} non-finite entries (NaN or inf)")
    return array


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


class ParameterSpace(Euclidean):
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

    def __repr__(self):
        inner = ", ".join(f"{k}={v}" for k, v in self.blocks.items())
        return f"ParameterSpace({inner}; D={self.dim})"
