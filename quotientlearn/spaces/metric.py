"""``R^D`` with a user's Riemannian metric: ``metric_matrix(base_point)`` is all a user writes.

The points are coordinates, so the dynamics step in them (``x + v``) and add the Itô drift that
coordinates need: for tangent noise of covariance ``C`` it is ``-Gamma^k_ij C^ij`` per unit ``T``
(for Brownian motion, ``C = g^{-1}``, that is ``|g|^{-1/2} d_j(|g|^{1/2} g^{jk})``). Noise defined in the
coordinates themselves (``"preconditioned"``, ``sqrt(2 T g^{-1}) dW`` without that drift) is the shape of
adaptive optimisers' noise.

The Christoffel symbols (the Itô drift and the geodesic acceleration) need ``d_l g_ij``: the metric's own
``inner_product_derivative_matrix`` where the user overrides it in closed form (geomstats' extension
point), else central differences of ``metric_matrix`` at ``2 D`` shifted points in one call per step
(relative error ~1e-10; forward differences at ``D`` points, ~1e-8, on request). The derivative of the
cometric along the slice, which the Itô route needs, comes from autograd when ``metric_matrix`` is
written with ``autograd.numpy`` and from central differences otherwise (``geomstats.backend``/numpy).
"""

from __future__ import annotations

import warnings

import autograd.numpy as anp
import numpy as np
from autograd import make_vjp
from autograd.extend import defjvp, defvjp, primitive
from autograd.tracer import getval
from geomstats.exceptions import AutodiffNotImplementedError
from geomstats.geometry.euclidean import Euclidean, EuclideanMetric

from quotientlearn.spaces.base import ManifoldSpace

__all__ = ["MetricEuclidean"]

#: relative steps of the differences of ``metric_matrix``, ~eps^(1/3) (central) and ~eps^(1/2)
#: (forward): each balances truncation against rounding (relative errors ~1e-10 and ~1e-8)
DIFFERENCE_STEPS = {"central differences": 1e-5, "forward differences": 2.0**-26}

#: largest relative disagreement of a supplied ``inner_product_derivative_matrix`` with the differences
DERIVATIVE_TOLERANCE = 1e-5

_DERIVATIVE_ROUTES = ("auto", "metric", "central differences", "forward differences")


class MetricEuclidean(ManifoldSpace):
    """``R^D`` (geomstats ``Euclidean(D)``) equipped with a user's metric.

    Parameters
    ----------
    manifold : Euclidean
        Equipped with a ``RiemannianMetric`` whose ``metric_matrix(base_point)`` maps ``(..., D)`` to
        symmetric positive-definite ``(..., D, D)``.
    atol : float
        Unused (every finite vector is a point); kept for a uniform constructor.
    symmetry_tol : float
        Largest relative asymmetry ``max |G - G^T| / max |G|`` accepted.
    derivative : {"auto", "metric", "central differences", "forward differences"}
        Where ``d_l g_ij`` (the Christoffel symbols, the Itô drift of every step) comes from.
        ``"metric"``: the metric's ``inner_product_derivative_matrix(base_point)``, shape
        ``(..., D, D, D)`` with the derivation index last (override it in closed form; geomstats' default
        is autodiff, which its numpy backend does not have). ``"central differences"`` of
        ``metric_matrix`` at ``2 D`` shifted points (relative error ~1e-10), ``"forward differences"`` at
        ``D`` points (half the evaluations, ~1e-8: still far below sampling error and the step's
        ``O(dt)`` bias), each in one call. ``"auto"``: ``"metric"`` unless the metric has no derivative
        (geomstats raises ``AutodiffNotImplementedError``), then central differences. The route in use
        is ``space.metric_derivatives``.

    Raises
    ------
    ValueError
        When ``metric_matrix`` has the wrong shape, or is not symmetric positive definite at random probe
        points, or a supplied ``inner_product_derivative_matrix`` has the wrong shape or disagrees with the
        differences of ``metric_matrix`` by more than ``DERIVATIVE_TOLERANCE`` (relative) at them (the
        check and the size of the violation are named).

    Examples
    --------
    A user's metric ``g(x) = 1 + x^2`` on ``R^1``: ``metric_matrix`` is all one writes.

    >>> from geomstats.geometry.euclidean import Euclidean
    >>> from geomstats.geometry.riemannian_metric import RiemannianMetric
    >>> from quotientlearn.spaces import as_space
    >>> class Quadratic(RiemannianMetric):
    ...     def metric_matrix(self, base_point=None):
    ...         return 1.0 + base_point[..., :, None] ** 2
    >>> line = Euclidean(1, equip=False)
    >>> _ = line.equip_with_metric(Quadratic)
    >>> space = as_space(line)
    >>> type(space).__name__, space.is_flat
    ('MetricEuclidean', False)
    """

    is_chart = True
    has_exp = False
    retraction_is_second_order = False
    membership_check = "0 (every finite vector)"

    @classmethod
    def accepts(cls, manifold):
        """``Euclidean(D)`` with any metric but geomstats' Euclidean one."""
        return isinstance(manifold, Euclidean) and not isinstance(manifold.metric, EuclideanMetric)

    def __init__(self, manifold, atol=1e-8, symmetry_tol=1e-10, derivative="auto"):
        super().__init__(manifold, atol)
        if derivative not in _DERIVATIVE_ROUTES:
            raise ValueError(f"derivative must be one of {', '.join(_DERIVATIVE_ROUTES)}; got "
                             f"{derivative!r}")
        self.symmetry_tol = float(symmetry_tol)
        self._cache = None
        self._metric_fn = self._traceable_metric(manifold.metric.metric_matrix)
        probes = np.random.default_rng(0).standard_normal((8, self.dim))
        matrix = np.asarray(self.metric_matrix(probes))
        # a metric diagonal at random points is diagonal (off-diagonal entries of an analytic metric
        # vanish identically or almost nowhere): its factors are elementwise
        self.diagonal = bool(np.all(matrix * (1.0 - np.eye(self.dim)) == 0.0))
        self._factors(probes)
        self.metric_derivatives = self._derivative_route(derivative, probes)

    def _derivative_route(self, derivative, probes):
        """The route of ``d_l g_ij``; a supplied derivative is checked against differences at ``probes``."""
        if derivative in DIFFERENCE_STEPS:
            return derivative
        try:
            supplied = np.asarray(self.metric.inner_product_derivative_matrix(probes), dtype=float)
        except AutodiffNotImplementedError:  # geomstats' default without an autodiff backend
            if derivative == "metric":
                raise ValueError(
                    f"{type(self.metric).__name__}.inner_product_derivative_matrix is geomstats' "
                    "autodiff default, which the numpy backend does not have: override it in closed "
                    "form or use derivative='central differences'") from None
            return "central differences"
        expected = probes.shape + (self.dim, self.dim)
        if supplied.shape != expected:
            raise ValueError(f"inner_product_derivative_matrix must return shape {expected} for points "
                             f"of shape {probes.shape}; got {supplied.shape} (check: metric derivative)")
        differences = np.moveaxis(self._differences(probes, "central differences"), -3, -1)
        # relative to the derivative's size, or the metric's where the derivative is ~0 (the differences'
        # rounding error is ~1e-11 |G| / (1 + |x|))
        scale = max(np.max(np.abs(differences)), np.max(np.abs(self._factors(probes)[2])))
        error = np.max(np.abs(supplied - differences)) / scale
        if not error <= DERIVATIVE_TOLERANCE:
            raise ValueError(
                f"inner_product_derivative_matrix disagrees with the differences of metric_matrix: "
                f"max |difference| = {error:.1e} of the scale of the metric's derivative (tolerance "
                f"{DERIVATIVE_TOLERANCE:.0e}; check: metric derivative; its layout is d_k g_ij at "
                "[..., i, j, k])")
        return "inner_product_derivative_matrix"

    def _traceable_metric(self, fn):
        """``fn`` if autograd can trace it, else an autograd primitive with central-difference derivatives."""
        probe = np.random.default_rng(1).standard_normal((2, self.dim))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                vjp, value = make_vjp(fn)(probe)
                vjp(np.ones(np.shape(value)))
                if not any("independent of input" in str(w.message) for w in caught):
                    self.derivatives = "autograd"
                    return fn
            except (TypeError, ValueError, AttributeError):
                pass
        self.derivatives = "central differences"
        dim = self.dim

        @primitive
        def metric(point):
            return np.asarray(fn(point), dtype=float)

        def metric_vjp(value, point):
            def back(cotangent):
                out = np.empty(np.shape(point))
                for j in range(dim):
                    step = 1e-5 * (1.0 + np.abs(point[..., j]))
                    shifted_up, shifted_down = np.array(point), np.array(point)
                    shifted_up[..., j] += step
                    shifted_down[..., j] -= step
                    derivative = (metric(shifted_up) - metric(shifted_down)) / (2 * step[..., None, None])
                    out[..., j] = np.sum(cotangent * derivative, axis=(-2, -1))
                return out
            return back

        def metric_jvp(tangent, value, point):
            norm = np.sqrt(np.sum(tangent**2, axis=-1, keepdims=True))
            step = 1e-5 * (1.0 + np.sqrt(np.sum(point**2, axis=-1, keepdims=True))) / np.where(
                norm > 0, norm, 1.0)
            difference = metric(point + step * tangent) - metric(point - step * tangent)
            return difference / (2 * step[..., None])

        defvjp(metric, metric_vjp)
        defjvp(metric, metric_jvp)
        return metric

    def name(self):
        """``Euclidean(D) with <Metric>``."""
        return f"Euclidean({self.dim}) with {type(self.metric).__name__}"

    # ------------------------------------------------------------------------------- metric
    def metric_matrix(self, base_point):
        """``G(x)``, shape ``(..., D, D)``, after checking symmetry (traceable by autograd).

        Raises
        ------
        ValueError
            Wrong shape or asymmetry beyond ``symmetry_tol``.
        """
        matrix = self._metric_fn(base_point)
        raw = np.asarray(getval(matrix))
        expected = np.shape(getval(base_point)) + (self.dim,)
        if raw.shape != expected:
            raise ValueError(f"metric_matrix must return shape {expected} for points of shape "
                             f"{np.shape(getval(base_point))}; got {raw.shape}")
        scale = np.max(np.abs(raw)) if raw.size else 0.0
        asymmetry = np.max(np.abs(raw - np.swapaxes(raw, -1, -2))) if raw.size else 0.0
        if not asymmetry <= self.symmetry_tol * max(scale, 1e-300):
            raise ValueError(f"metric_matrix is not symmetric: max |G - G^T| = {asymmetry:.3e} "
                             f"({asymmetry / max(scale, 1e-300):.1e} of max |G|; check: metric symmetric)")
        return matrix

    def _factors(self, base_point):
        """``(K, M)`` at plain-array points: ``K = G^{-1}`` and ``M = L^{-T}`` (``G = L L^T``, ``M M^T = K``).

        The last evaluation is kept (with a copy of its points) because one step of the dynamics asks for
        the gradient, the noise and the Itô drift at the same points.

        Raises
        ------
        ValueError
            Where ``G`` is not positive definite (the check and the smallest eigenvalue are named).
        """
        base_point = np.asarray(base_point, dtype=float)
        cached = self._cache
        if cached is not None and cached[0].shape == base_point.shape and np.array_equal(
                cached[0], base_point):
            return cached[1]
        matrix = np.asarray(self.metric_matrix(base_point))
        try:
            if self.diagonal:
                entries = np.diagonal(matrix, axis1=-2, axis2=-1)
                if not np.all(entries > 0):
                    raise np.linalg.LinAlgError
                eye = np.eye(self.dim)
                pieces = ((1.0 / entries)[..., None] * eye, (1.0 / np.sqrt(entries))[..., None] * eye,
                          matrix)
                self._cache = (base_point.copy(), pieces)
                return pieces
            factor = np.linalg.cholesky(matrix)
        except np.linalg.LinAlgError:
            smallest = np.linalg.eigvalsh(matrix)[..., 0]
            worst = np.unravel_index(int(np.argmin(smallest)), smallest.shape)
            raise ValueError(
                f"metric_matrix is not positive definite at {int(np.sum(smallest <= 0))} point(s): "
                f"smallest eigenvalue {smallest[worst]:.3e} at x = "
                f"{np.array2string(base_point[worst], precision=4)} "
                "(check: metric positive definite)") from None
        root = np.swapaxes(np.linalg.inv(factor), -1, -2)
        pieces = (root @ np.swapaxes(root, -1, -2), root, matrix)
        self._cache = (base_point.copy(), pieces)
        return pieces

    def membership_residual(self, point):
        """0: every finite vector is a point."""
        return np.zeros(np.shape(point)[:-1])

    def to_tangent(self, vector, base_point):
        """``vector`` itself."""
        return vector + 0.0 * base_point

    def inner_product(self, tangent_vec_a, tangent_vec_b, base_point):
        """``a^T G b``, shape ``(...,)``."""
        return anp.einsum("...i,...ij,...j->...", tangent_vec_a, self.metric_matrix(base_point),
                          tangent_vec_b)

    def lower_index(self, tangent_vec, base_point):
        """``G v``."""
        return anp.einsum("...ij,...j->...i", self.metric_matrix(base_point), tangent_vec)

    def raise_index(self, covector, base_point):
        """``G^{-1} w``."""
        if getval(base_point) is not base_point:  # traced by autograd
            return anp.linalg.solve(self.metric_matrix(base_point), covector[..., None])[..., 0]
        return anp.einsum("...ij,...j->...i", self._factors(base_point)[0], covector)

    def cometric(self, base_point):
        """``G^{-1}``, shape ``(..., D, D)``, traceable."""
        if getval(base_point) is not base_point:
            return anp.linalg.inv(self.metric_matrix(base_point))
        return self._factors(base_point)[0]

    def random_normal_tangent(self, base_point, rng):
        """``L^{-T} xi`` with ``G = L L^T``: covariance ``G^{-1}``."""
        noise = rng.standard_normal(np.shape(base_point))
        return np.einsum("...ij,...j->...i", self._factors(base_point)[1], noise)

    def retraction(self, tangent_vec, base_point):
        """The coordinate step ``x + v`` (:meth:`retraction_correction` supplies the Itô drift)."""
        return base_point + tangent_vec

    # ------------------------------------------------------------------ second-order geometry
    def metric_derivative(self, base_point):
        """``d_l g_ij`` as ``[..., i, j, l]`` (geomstats' layout), by the route ``metric_derivatives``.

        Differences take all shifted points through one call of ``metric_matrix`` (forward differences
        reuse the metric at ``base_point`` that the step has already evaluated).
        """
        if self.metric_derivatives == "inner_product_derivative_matrix":
            return np.asarray(self.metric.inner_product_derivative_matrix(base_point), dtype=float)
        return np.moveaxis(self._differences(base_point, self.metric_derivatives), -3, -1)

    def _differences(self, base_point, scheme, diagonal=False):
        """``d_l g_ij`` as ``[..., l, i, j]`` (``d_l g_ii`` as ``[..., l, i]`` if ``diagonal``).

        ``scheme`` is ``"central differences"`` or ``"forward differences"``; the diagonal is taken
        before any arithmetic on the ``D^3`` entries.
        """
        base_point = np.asarray(base_point, dtype=float)
        shifts = np.eye(self.dim) * (DIFFERENCE_STEPS[scheme] * (1.0 + np.abs(base_point)))[..., :, None]
        if scheme == "forward differences":  # (..., D(l), D): row l is x + h_l e_l
            shifted = base_point[..., None, :] + shifts
            step = np.diagonal(shifted, axis1=-2, axis2=-1) - base_point  # h_l as represented
            pair = (self.manifold.metric.metric_matrix(shifted),
                    self._factors(base_point)[2][..., None, :, :])
        else:
            shifted = base_point[..., None, :] + np.stack([shifts, -shifts])  # (2, ..., D(l), D)
            step = np.diagonal(shifted[0] - shifted[1], axis1=-2, axis2=-1)  # 2 h_l as represented
            pair = np.asarray(self.manifold.metric.metric_matrix(shifted), dtype=float)
        if diagonal:
            upper, lower = (np.diagonal(np.asarray(m, dtype=float), axis1=-2, axis2=-1) for m in pair)
            return (upper - lower) / step[..., :, None]
        upper, lower = (np.asarray(m, dtype=float) for m in pair)
        return (upper - lower) / step[..., :, None, None]

    def _diagonal_derivative(self, base_point):
        """``d_l g_ii`` as ``[..., l, i]`` for a diagonal metric (the nonzero entries of the derivative)."""
        if self.metric_derivatives == "inner_product_derivative_matrix":
            return np.diagonal(self.metric_derivative(base_point), axis1=-3, axis2=-2)
        return self._differences(base_point, self.metric_derivatives, diagonal=True)

    def christoffels(self, base_point):
        """``Gamma^k_ij``, shape ``(..., D, D, D)`` (upper index first), from :meth:`metric_derivative`."""
        derivative = self.metric_derivative(base_point)  # [..., i, j, l] = d_l g_ij
        # lowered[l, i, j] = (d_i g_lj + d_j g_li - d_l g_ij) / 2
        lowered = 0.5 * (np.einsum("...lji->...lij", derivative) + derivative
                         - np.einsum("...ijl->...lij", derivative))
        return np.einsum("...kl,...lij->...kij", self._factors(base_point)[0], lowered)

    def geodesic_acceleration(self, tangent_vec_a, tangent_vec_b, base_point):
        """``-Gamma^k_ij a^i b^j``."""
        return -np.einsum("...kij,...i,...j->...k", self.christoffels(base_point), tangent_vec_a,
                          tangent_vec_b)

    def acceleration_trace(self, covariance, base_point):
        """``-Gamma^k_ij C^ij = -g^kl (d_i g_lj - d_l g_ij / 2) C^ij`` for symmetric ``C``."""
        if self.diagonal:  # d_l g_ij = delta_ij d_l g_ii: the same sums over the nonzero entries only
            derivative = self._diagonal_derivative(base_point)  # [..., l, i] = d_l g_ii
            contracted = (np.einsum("...il,...il->...l", derivative, covariance)
                          - 0.5 * np.einsum("...li,...ii->...l", derivative, covariance))
        else:
            derivative = self.metric_derivative(base_point)  # [..., i, j, l] = d_l g_ij
            contracted = (np.einsum("...lji,...ij->...l", derivative, covariance)
                          - 0.5 * np.einsum("...ijl,...ij->...l", derivative, covariance))
        return -np.einsum("...kl,...l->...k", self._factors(base_point)[0], contracted)

    def retraction_correction(self, covariance, base_point):
        """``-Gamma^k_ij C^ij``: the coordinate step has no second-order term."""
        return self.acceleration_trace(covariance, base_point)

    def sample(self, size=(), rng=None):
        """Standard normal points, shape ``(*size, D)``."""
        size = (size,) if np.isscalar(size) else tuple(size)
        return np.random.default_rng(rng).standard_normal(size + self.shape)
