"""What a parameter space offers: the geomstats manifold plus the numeric geometry the dynamics need.

Every parameter space is a geomstats :class:`~geomstats.geometry.manifold.Manifold` whose points keep
their geomstats shape ``space.shape`` (``(D,)`` for a flat vector, ``(3, 3)`` for ``SO(3)``). On top of
geomstats' own API (``belongs``, ``to_tangent``, ``metric.exp``, ...) a :class:`Space` offers, vectorised
over leading axes and cheap enough for the hot loop:

- the metric as index gymnastics: :meth:`~Space.lower_index` (``v -> G v``) and :meth:`~Space.raise_index`
  (a Euclidean gradient to the Riemannian one, ``w -> g^{-1} w`` on the tangent space), and the cometric
  ``K`` as a matrix over the flattened entries;
- Gaussian tangent noise orthonormal in ``g`` (:meth:`~Space.random_normal_tangent`);
- steps that stay on the manifold: :meth:`~Space.exp` and a second-order :meth:`~Space.retraction`, with
  :meth:`~Space.retraction_correction` for the Itô drift a coordinate step misses;
- second-order geometry for the Itô route: the geodesic acceleration ``gamma''(0)`` as a symmetric
  bilinear form and its trace against a covariance (``laplacian_drift``: the drift of Brownian motion).

Matrices act on the flattened entries (``point_size = prod(shape)`` of them). :class:`ManifoldSpace`
derives all of this generically from any geomstats manifold (its ``to_tangent``, ``metric.inner_product``
and ``metric.exp``); the closed forms in this package override it and are tested against it.
"""

from __future__ import annotations

import math

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval
from geomstats.geometry.manifold import Manifold
from geomstats.geometry.quotient_metric import QuotientMetric

from quotientlearn.validation import real_array

__all__ = ["GeomstatsSpace", "ManifoldSpace", "Space", "as_batch"]


def as_batch(array, trailing_shape, name="theta"):
    """Check that ``array`` has shape ``(..., *trailing_shape)`` and finite float entries.

    Parameters
    ----------
    array : array_like, shape (..., *trailing_shape)
    trailing_shape : tuple of int
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

    Examples
    --------
    >>> import numpy as np
    >>> from quotientlearn.spaces import as_batch
    >>> as_batch(np.ones((4, 3)), (3,)).shape
    (4, 3)
    >>> as_batch(np.ones((4, 2)), (3,))
    Traceback (most recent call last):
        ...
    ValueError: theta must have shape (..., 3); got shape (4, 2)
    """
    trailing_shape = tuple(trailing_shape)
    raw = getval(array)
    traced = raw is not array
    if not traced:
        array = real_array(array, name)
        raw = array
    shape = np.shape(raw)
    n = len(trailing_shape)
    if len(shape) < n or tuple(shape[len(shape) - n:]) != trailing_shape:
        expected = ", ".join(["..."] + [str(s) for s in trailing_shape])
        raise ValueError(f"{name} must have shape ({expected}); got shape {shape}")
    if not np.all(np.isfinite(raw)):
        bad = int(np.size(raw) - np.count_nonzero(np.isfinite(raw)))
        raise ValueError(f"{name} has {bad} non-finite entries (NaN or inf)")
    return array


def _sqrt_psd(matrix):
    """A square root ``R`` with ``R R^T = matrix`` for a stack of PSD matrices, ``(..., n, n)``."""
    values, vectors = np.linalg.eigh(matrix)
    return vectors * np.sqrt(np.clip(values, 0.0, None))[..., None, :]


class Space:
    """The interface every parameter space offers (mixed into a geomstats manifold).

    Points and tangent vectors have shape ``(..., *shape)``; matrices act on the flattened entries.
    Subclasses implement the abstract methods; defaults here are generic.

    Attributes
    ----------
    is_flat : bool
        ``R^D`` with the identity metric: the dynamics take their flat fast path.
    is_chart : bool
        Points are coordinates of an open subset of ``R^n`` and :meth:`retraction` is the coordinate step
        ``x + v``, so noise defined in coordinates (``"preconditioned"``) makes sense.
    has_exp : bool
        :meth:`exp` is available in closed form (the ``"geodesic"`` scheme).
    retraction_is_second_order : bool
        :meth:`retraction` agrees with :meth:`exp` to second order, so :meth:`retraction_correction`
        is ``None``.
    atol : float
        Tolerance of :meth:`validate` on :meth:`membership_residual`.
    membership_check : str
        What :meth:`membership_residual` measures, quoted in errors.
    chunk_entries : int or None
        Entries the engine steps at once on this space (``Scheme.chunk_entries``; ``None``: the engine's
        default); smaller for steps that hold many point-sized temporaries at once.

    Examples
    --------
    >>> from geomstats.geometry.hypersphere import Hypersphere
    >>> from quotientlearn.spaces import Space, as_space
    >>> sphere = as_space(Hypersphere(2))  # a geomstats manifold with this interface mixed in
    >>> isinstance(sphere, Space), sphere.is_flat, sphere.shape
    (True, False, (3,))
    """

    is_flat = False
    is_chart = False
    has_exp = True
    retraction_is_second_order = True
    atol = 1e-8
    membership_check = "distance to the manifold"
    chunk_entries = None

    # ------------------------------------------------------------------------------ shapes
    @property
    def point_size(self):
        """``n``, the number of entries of one point (``prod(shape)``)."""
        return math.prod(self.shape)

    def batch_shape(self, point):
        """The leading (batch) axes of ``point``."""
        shape = np.shape(getval(point))
        return shape[: len(shape) - len(self.shape)]

    def flatten(self, point):
        """``(..., *shape) -> (..., n)``."""
        return anp.reshape(point, self.batch_shape(point) + (self.point_size,))

    def unflatten(self, vector):
        """``(..., n) -> (..., *shape)``."""
        shape = np.shape(getval(vector))
        return anp.reshape(vector, shape[:-1] + self.shape)

    def unflatten_batch(self, matrix):
        """Rows of a ``(..., m, n)`` matrix as ``m`` points: ``(..., m, *shape)``."""
        shape = np.shape(getval(matrix))
        return anp.reshape(matrix, shape[:-1] + self.shape)

    def flatten_batch(self, points):
        """``m`` points ``(..., m, *shape)`` as the rows of a ``(..., m, n)`` matrix."""
        shape = np.shape(getval(points))
        return anp.reshape(points, shape[: len(shape) - len(self.shape)] + (self.point_size,))

    def name(self):
        """A readable name for messages."""
        return f"{type(self).__name__}(shape={self.shape})"

    # -------------------------------------------------------------------------- validation
    def membership_residual(self, point):
        """How far ``point`` is from the manifold, shape ``(...,)`` (0 on it)."""
        raise NotImplementedError(f"{type(self).__name__} must implement membership_residual")

    def validate(self, point, name="theta"):
        """``point`` as float64 after checking shape, finiteness and membership.

        Raises
        ------
        ValueError
            Naming the check that failed and by how much: a wrong shape, non-finite entries, or a point
            farther than ``atol`` from the manifold.
        """
        point = as_batch(point, self.shape, name)
        if self.is_flat:
            return point
        residual = np.asarray(self.membership_residual(getval(point)))
        if residual.size and not np.max(residual) <= self.atol:
            worst = int(np.argmax(residual))
            raise ValueError(
                f"{name} is off the manifold {self.name()}: {self.membership_check} = "
                f"{residual.ravel()[worst]:.3e} exceeds the tolerance {self.atol:.0e} "
                f"(check: membership; {int(np.sum(residual > self.atol))} of {residual.size} points)")
        return point

    def tangent_residual(self, tangent_vec, base_point):
        """``|v - to_tangent(v)|`` relative to ``1 + |v|``, shape ``(...,)``."""
        difference = self.flatten(tangent_vec - self.to_tangent(tangent_vec, base_point))
        norm = np.linalg.norm(self.flatten(tangent_vec), axis=-1)
        return np.max(np.abs(difference), axis=-1) / (1.0 + norm)

    def validate_tangent(self, tangent_vec, base_point, name="tangent_vec", atol=None):
        """``tangent_vec`` as float64 after checking its shape and that it is tangent at ``base_point``.

        Raises
        ------
        ValueError
            When it is not tangent: the largest relative normal component is quoted.
        """
        tangent_vec = as_batch(tangent_vec, self.shape, name)
        if self.is_flat:
            return tangent_vec
        atol = self.atol if atol is None else atol
        residual = np.asarray(self.tangent_residual(getval(tangent_vec), base_point))
        if residual.size and not np.max(residual) <= atol:
            raise ValueError(
                f"{name} is not tangent to {self.name()} at base_point: its normal component is "
                f"{np.max(residual):.3e} of 1 + |v| (tolerance {atol:.0e}; check: tangency); project "
                "it with space.to_tangent(vector, base_point)")
        return tangent_vec

    # ------------------------------------------------------------------ metric and cometric
    def to_tangent(self, vector, base_point):
        """The Euclidean-orthogonal projection of ``vector`` onto the tangent space."""
        raise NotImplementedError(f"{type(self).__name__} must implement to_tangent")

    def inner_product(self, tangent_vec_a, tangent_vec_b, base_point):
        """``g(a, b)`` at ``base_point``, shape ``(...,)``."""
        return anp.sum(self.flatten(tangent_vec_a * self.lower_index(tangent_vec_b, base_point)),
                       axis=-1)

    def lower_index(self, tangent_vec, base_point):
        """The covector ``G v``: ``<G v, u> = g(v, u)`` for every tangent ``u``."""
        raise NotImplementedError(f"{type(self).__name__} must implement lower_index")

    def raise_index(self, covector, base_point):
        """The tangent vector ``K w`` with ``g(K w, u) = <w, u>`` for tangent ``u``.

        Applied to the Euclidean gradient of a function (extended off the manifold) it gives the
        Riemannian gradient; the normal part of ``w`` is dropped.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement raise_index")

    def cometric(self, base_point):
        """``K``, the inverse metric on the flattened entries, shape ``(..., n, n)``, traceable.

        Its range is the tangent space; ``K`` applied to a covector is :meth:`raise_index`.
        """
        n = self.point_size
        batch = self.batch_shape(base_point)
        units = self.unflatten_batch(np.broadcast_to(np.eye(n), batch + (n, n)))
        rows = self.raise_index(units, anp.expand_dims(base_point, len(batch)))
        return self.flatten_batch(rows)

    def tangent_basis(self, base_point):
        """A Euclidean-orthonormal basis of the tangent space as columns, shape ``(..., n, dim)``."""
        values, vectors = np.linalg.eigh(getval(self.cometric(base_point)))
        return vectors[..., ::-1][..., : self.dim]

    # ---------------------------------------------------------------------------- dynamics
    def random_normal_tangent(self, base_point, rng):
        """Gaussian tangent vectors orthonormal in ``g`` (covariance ``K``), shape of ``base_point``."""
        root = _sqrt_psd(getval(self.cometric(base_point)))
        noise = rng.standard_normal(root.shape[:-1])
        return self.unflatten(np.einsum("...ij,...j->...i", root, noise))

    def exp(self, tangent_vec, base_point):
        """The Riemannian exponential."""
        raise NotImplementedError(f"{self.name()} has no exponential map here")

    def retraction(self, tangent_vec, base_point):
        """A retraction that agrees with :meth:`exp` to second order (default: ``exp`` itself)."""
        return self.exp(tangent_vec, base_point)

    def step_layout(self, point):
        """The same points, laid out in memory as this space's step methods read them fastest.

        The Riemannian step calls it once and hands the result to :meth:`raise_index`, the noise and
        :meth:`retraction` (default: ``point`` itself). The matrix spaces return a view of one batch-last
        copy, which their step methods then take without copying it again.

        Parameters
        ----------
        point : array, shape ``(..., *shape)``

        Returns
        -------
        array, shape ``(..., *shape)``, equal to ``point``
        """
        return point

    def retraction_correction(self, covariance, base_point):
        """Itô drift per unit ``T`` that :meth:`retraction` misses for tangent noise of covariance ``C``.

        ``None`` when the retraction is second order (it moves along geodesics to second order, so the
        step ``retraction(b dt + sqrt(2 T dt) C^{1/2} xi)`` already carries the drift
        ``T acceleration_trace(C)``).
        """
        return None

    # ------------------------------------------------------------------ second-order geometry
    def geodesic_acceleration(self, tangent_vec_a, tangent_vec_b, base_point):
        """The symmetric bilinear ``a(u, v)`` with ``gamma''(0) = a(v, v)`` for the geodesic ``exp(t v)``.

        In ambient coordinates the Levi-Civita connection is ``nabla_u Z = D_u Z - a(u, Z)``.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement geodesic_acceleration")

    def acceleration_trace(self, covariance, base_point):
        """``sum_ij C_ij a(e_i, e_j) = E a(v, v)`` for ``v ~ N(0, C)``, shape of ``base_point``.

        Parameters
        ----------
        covariance : ndarray, shape (..., n, n)
            A tangent covariance on the flattened entries.
        base_point : ndarray, shape (..., *shape)
        """
        root = _sqrt_psd(getval(covariance))  # (..., n, r): C = root root^T
        columns = self.unflatten_batch(np.swapaxes(root, -1, -2))
        point = np.expand_dims(base_point, len(self.batch_shape(base_point)))
        return np.sum(self.geodesic_acceleration(columns, columns, point), axis=-len(self.shape) - 1)

    def laplacian_drift(self, base_point):
        """The Itô drift of Brownian motion (generator ``Delta_g``) per unit ``T``, in ambient coordinates.

        ``Delta_g f = tr(K hess f) + <grad f, laplacian_drift>`` for any extension ``f``.
        """
        return self.acceleration_trace(getval(self.cometric(base_point)), base_point)

    # ------------------------------------------------------------------------- sampling
    def sample(self, size=(), rng=None):
        """Random points for checks and initialisation, shape ``(*size, *shape)``."""
        raise NotImplementedError(f"{type(self).__name__} must implement sample(size, rng)")

    # ---------------------------------------------------------------------- quotient structure
    def equip_with_quotient(self):
        """Equip this space with the quotient structure of its model's symmetry.

        ``self.fiber_bundle`` is the model's :class:`~quotientlearn.bundle.SymmetryBundle` (set when
        the model is built). The quotient is the bundle's base space, a geomstats manifold, equipped
        with geomstats' :class:`~geomstats.geometry.quotient_metric.QuotientMetric`.

        Returns
        -------
        quotient : Manifold
            Also stored as ``self.quotient``.

        Raises
        ------
        ValueError
            When no model is built on this space, or its bundle has no geomstats base space.
        """
        bundle = getattr(self, "fiber_bundle", None)
        if bundle is None:
            raise ValueError(f"{self.name()} carries no symmetry: build a model on it first "
                             "(model.space.fiber_bundle is the model's bundle)")
        base = bundle.base_space()
        base.equip_with_metric(QuotientMetric, total_space=self)
        self.quotient = base
        return base


class ManifoldSpace(Space, Manifold):
    """A geomstats manifold as a parameter space: geomstats' API delegated, numerics left to subclasses.

    Subclasses give the numeric geometry of :class:`Space`, in closed form (sphere, rotations,
    Stiefel, SPD, Poincaré ball, products, metrics on ``R^D``) or through geomstats
    (:class:`GeomstatsSpace`, for any other manifold).

    Parameters
    ----------
    manifold : geomstats Manifold
        Equipped with its metric.
    atol : float
        Tolerance of :meth:`validate` on the distance to the manifold.

    Examples
    --------
    >>> from geomstats.geometry.hypersphere import Hypersphere
    >>> from quotientlearn.spaces import ManifoldSpace, as_space
    >>> sphere = as_space(Hypersphere(2))
    >>> isinstance(sphere, ManifoldSpace), sphere.dim  # geomstats' attributes are delegated
    (True, 2)
    """

    def __init__(self, manifold, atol=1e-8):
        self.manifold = manifold
        self.atol = float(atol)
        super().__init__(dim=manifold.dim, shape=tuple(manifold.shape),
                         intrinsic=manifold.intrinsic, equip=False)
        self.metric = manifold.metric

    def name(self):
        """``Type(dim=..., shape=...)`` of the wrapped manifold."""
        return f"{type(self.manifold).__name__.lstrip('_')}(dim={self.dim}, shape={self.shape})"

    def __repr__(self):
        return self.name()

    # geomstats' API, delegated
    def belongs(self, point, atol=1e-12):
        """Geomstats' ``belongs`` of the wrapped manifold."""
        return self.manifold.belongs(point, atol)

    def is_tangent(self, vector, base_point=None, atol=1e-12):
        """Geomstats' ``is_tangent`` of the wrapped manifold."""
        return self.manifold.is_tangent(vector, base_point, atol)

    def projection(self, point):
        """Geomstats' ``projection`` of the wrapped manifold."""
        return self.manifold.projection(point)

    def random_point(self, n_samples=1, bound=1.0):
        """Geomstats' ``random_point`` of the wrapped manifold."""
        return self.manifold.random_point(n_samples, bound)


class GeomstatsSpace(ManifoldSpace):
    """Any geomstats manifold as a parameter space, through geomstats' own API.

    The generic route: the tangent space from ``to_tangent`` of the coordinate vectors, the metric from
    ``metric.inner_product`` on a basis of it, steps by ``metric.exp``, the geodesic acceleration by
    central differences of ``metric.exp`` (relative accuracy ~1e-8). It costs ``O(n^3)`` per point and
    per step and is not traceable by autograd; the closed forms of this package override it and are
    tested against it.

    Parameters
    ----------
    manifold : geomstats Manifold
        Equipped with its metric.
    atol : float
        Tolerance of :meth:`validate` on ``max |projection(x) - x|``.

    Examples
    --------
    >>> import numpy as np
    >>> from geomstats.geometry.hypersphere import Hypersphere
    >>> from quotientlearn.spaces import as_space
    >>> sphere = as_space(Hypersphere(2), generic=True)  # geomstats' own exp and metric
    >>> point, tangent = np.array([0.0, 0.0, 1.0]), np.array([np.pi / 2, 0.0, 0.0])
    >>> np.round(sphere.exp(tangent, point), 12)  # a quarter of a great circle
    array([1., 0., 0.])
    """

    membership_check = "max |projection(x) - x|"

    def membership_residual(self, point):
        """``max |projection(x) - x|`` (geomstats' ``projection``), shape ``(...,)``."""
        point = np.asarray(point, dtype=float)
        projected = np.asarray(self.manifold.projection(point), dtype=float)
        return np.max(np.abs(self.flatten(projected - point)), axis=-1)

    def to_tangent(self, vector, base_point):
        """Geomstats' ``to_tangent``."""
        vector, base_point = np.broadcast_arrays(np.asarray(vector, float), np.asarray(base_point, float))
        return self._rowwise(self.manifold.to_tangent, vector, base_point)

    def _rowwise(self, fn, *arrays):
        """Apply a geomstats method to a flattened batch (geomstats vectorises over one axis)."""
        batch = self.batch_shape(arrays[-1])
        flat = [np.reshape(a, (-1,) + self.shape) for a in arrays]
        out = np.asarray(fn(*flat), dtype=float)
        return out.reshape(batch + out.shape[1:])

    def _frame(self, base_point):
        """Basis ``B`` (..., n, d) of the tangent space and the metric ``M = B^T G B`` (..., d, d)."""
        n = self.point_size
        base_point = np.asarray(base_point, dtype=float)
        batch = self.batch_shape(base_point)
        units = np.broadcast_to(self.unflatten_batch(np.eye(n)), batch + (n,) + self.shape)
        repeated = np.broadcast_to(np.expand_dims(base_point, len(batch)), units.shape)
        projected = self.flatten_batch(self._rowwise(self.manifold.to_tangent, units, repeated))
        left, _, _ = np.linalg.svd(np.swapaxes(projected, -1, -2))
        basis = left[..., : self.dim]  # (..., n, d)
        columns = self.unflatten_batch(np.swapaxes(basis, -1, -2))  # (..., d, *shape)
        d = self.dim
        first = np.repeat(columns, d, axis=len(batch))
        second = np.tile(columns, (1,) * len(batch) + (d,) + (1,) * len(self.shape))
        point = np.broadcast_to(np.expand_dims(base_point, len(batch)), first.shape)
        gram = self._rowwise(self.metric.inner_product, first, second, point)
        return basis, gram.reshape(batch + (d, d))

    def lower_index(self, tangent_vec, base_point):
        """``B M B^T v`` on a tangent basis ``B`` with metric ``M``."""
        basis, gram = self._frame(base_point)
        coords = np.einsum("...nd,...n->...d", basis, self.flatten(tangent_vec))
        return self.unflatten(np.einsum("...nd,...de,...e->...n", basis, gram, coords))

    def raise_index(self, covector, base_point):
        """``B M^{-1} B^T w``."""
        basis, gram = self._frame(base_point)
        coords = np.einsum("...nd,...n->...d", basis, self.flatten(covector))
        solved = np.linalg.solve(gram, coords[..., None])[..., 0]
        return self.unflatten(np.einsum("...nd,...d->...n", basis, solved))

    def cometric(self, base_point):
        """``B M^{-1} B^T``, shape ``(..., n, n)``."""
        basis, gram = self._frame(base_point)
        return basis @ np.linalg.solve(gram, np.swapaxes(basis, -1, -2))

    def random_normal_tangent(self, base_point, rng):
        """``B M^{-1/2} xi``."""
        basis, gram = self._frame(base_point)
        values, vectors = np.linalg.eigh(gram)
        root = vectors / np.sqrt(values)[..., None, :]
        noise = rng.standard_normal(gram.shape[:-1])
        return self.unflatten(np.einsum("...nd,...de,...e->...n", basis, root, noise))

    def exp(self, tangent_vec, base_point):
        """Geomstats' ``metric.exp``."""
        return self._rowwise(self.metric.exp, *np.broadcast_arrays(
            np.asarray(tangent_vec, float), np.asarray(base_point, float)))

    def geodesic_acceleration(self, tangent_vec_a, tangent_vec_b, base_point, step=1e-4):
        """Polarised central differences of ``exp``: ``(exp(h v) + exp(-h v) - 2 x) / h^2``."""
        tangent_vec_a, tangent_vec_b, base_point = np.broadcast_arrays(
            np.asarray(tangent_vec_a, float), np.asarray(tangent_vec_b, float),
            np.asarray(base_point, float))

        def second(v):
            scale = np.linalg.norm(self.flatten(v), axis=-1)
            scale = np.where(scale > 0, scale, 1.0).reshape(scale.shape + (1,) * len(self.shape))
            unit = v / scale
            curve = (self.exp(step * unit, base_point) + self.exp(-step * unit, base_point)
                     - 2.0 * base_point) / step**2
            return curve * scale**2

        return 0.25 * (second(tangent_vec_a + tangent_vec_b) - second(tangent_vec_a - tangent_vec_b))

    def sample(self, size=(), rng=None):
        """Geomstats' ``projection`` of Gaussian points (shape ``(*size, *shape)``)."""
        size = (size,) if np.isscalar(size) else tuple(size)
        gaussian = np.random.default_rng(rng).standard_normal(size + self.shape)
        return self._rowwise(self.manifold.projection, gaussian)
