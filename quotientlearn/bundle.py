"""The symmetry bundle: parameter space over its quotient by the symmetry group.

:class:`SymmetryBundle` is a geomstats :class:`~geomstats.geometry.fiber_bundle.FiberBundle`: the
submersion is the predictor map (or, where the predictor is invariant under more than the action, the
quotient map by the action), ``lift`` the balanced representative, and every tangent vector splits into
a vertical part (along the orbit, spanned by the generators) and a horizontal part (``g``-orthogonal to
it, where every gradient of an invariant loss lies). The metric is the parameter space's: on ``R^D``
with the identity metric the action's closed forms are used; on a curved space or with a metric
``g``, the Gram is ``G_ab = g(xi_a, xi_b)`` and the projections are ``g``-orthogonal.

It is the model space's ``fiber_bundle``, so geomstats' quotient machinery works on it
(``model.space.equip_with_quotient()``; :meth:`SymmetryBundle.align` makes the quotient metric's ``log``
and ``dist`` work). Method signatures keep geomstats' order: ``tangent_vec`` first, then
``base_point``.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from geomstats.geometry.euclidean import Euclidean
from geomstats.geometry.fiber_bundle import FiberBundle
from geomstats.geometry.matrices import Matrices

from quotientlearn.numerics import jacobian

__all__ = ["SymmetryBundle", "generic_vertical_projection"]


def generic_vertical_projection(generators, tangent_vec, lowered=None):
    """``Xi^T Gram^+ Xi G v`` from the generators; the pseudo-inverse copes with degenerate orbits.

    Parameters
    ----------
    generators : ndarray, shape (..., k, D)
        On the flattened entries.
    tangent_vec : ndarray, shape (..., D)
    lowered : ndarray, shape (..., k, D), optional
        ``G xi_a`` for a metric ``G`` (default: the identity, ``lowered = generators``).

    Returns
    -------
    vertical : ndarray, shape (..., D)
    """
    lowered = generators if lowered is None else lowered
    gram = generators @ np.swapaxes(lowered, -1, -2)
    coefficients = np.einsum(
        "...ab,...bd,...d->...a", np.linalg.pinv(gram, hermitian=True), lowered, tangent_vec
    )
    return np.einsum("...a,...ad->...d", coefficients, generators)


class SymmetryBundle(FiberBundle):
    """Fibre bundle of a model's parameter space by its symmetry group.

    Parameters
    ----------
    model : Model
        Supplies the total space, the predictor, the action and ``balanced`` (lift).
    submersion : callable, optional
        ``theta (..., *shape) -> (..., *base_shape)``, written with ``autograd.numpy``: the quotient map
        by the action, when the predictor is invariant under a larger group (its fibres are then larger
        than the orbits). Default: the predictor.
    lift : callable, optional
        ``base point -> theta`` on the slice, with ``submersion``. Default: ``model.balanced``.
    base_space : callable, optional
        ``() -> geomstats Manifold``: a fresh instance of the base (the quotient), for
        :meth:`~quotientlearn.spaces.Space.equip_with_quotient`. Default: ``Euclidean`` or ``Matrices``
        when the predictor has full rank, else none.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Hadamard(dim=1)
    >>> theta = np.array([2.0, 0.5])
    >>> bundle = model.bundle  # also model.space.fiber_bundle for geomstats
    >>> bundle.gram(theta)  # u^2 + v^2
    array([[4.25]])
    >>> vertical = bundle.vertical_projection(np.array([1.0, 0.0]), theta)
    >>> bool(bundle.is_vertical(vertical, theta))
    True
    """

    def __init__(self, model, submersion=None, lift=None, base_space=None):
        super().__init__(total_space=model.space)
        self.model = model
        self._submersion = submersion
        self._lift = lift
        self._base_space = base_space
        self._isometric = None
        self.base_shape = (model.beta_shape if submersion is None else
                           tuple(np.shape(submersion(model.sample((), 0)))))

    @property
    def action(self):
        """The group action whose orbits are the fibres."""
        return self.model.action

    @property
    def space(self):
        """The total space (the model's parameter space)."""
        return self.model.space

    def __repr__(self):
        return f"SymmetryBundle({type(self.model).__name__})"

    def _point(self, base_point):
        return self.space.validate(base_point, "base_point")

    def _pair(self, tangent_vec, base_point):
        base_point = self._point(base_point)
        return self.space.validate_tangent(tangent_vec, base_point), base_point

    def _flat(self, vectors):
        return self.space.flatten(vectors)

    # ------------------------------------------------------------------- submersion and lift
    @property
    def submersion_is_predictor(self):
        """Whether the fibres are the predictor's (no ``submersion`` was given)."""
        return self._submersion is None

    def riemannian_submersion(self, point):
        """The predictor map (or the quotient map): ``(..., *shape) -> (..., *base_shape)``."""
        point = self._point(point)
        if self._submersion is None:
            return self.model.traceable_predictor(point)
        return self._submersion(point)

    def submersion_jacobian(self, base_point):
        """The differential of the submersion on the flattened entries, ``(..., m, D)``."""
        if self._submersion is None:
            return self.model.predictor_jacobian(base_point)
        space, size = self.space, int(np.prod(self.base_shape, dtype=int))

        def flat(point):
            image = self._submersion(space.unflatten(point))
            return anp.reshape(image, anp.shape(point)[:-1] + (size,))

        return jacobian(flat, space.flatten(self._point(base_point)), mode="forward")

    def lift(self, point):
        """The balanced representative of base point(s) ``point`` (predictors by default)."""
        return self.model.balanced(point) if self._lift is None else self._lift(point)

    def tangent_riemannian_submersion(self, tangent_vec, base_point):
        """The differential of the submersion applied to ``tangent_vec``, shape ``(..., *base_shape)``."""
        tangent_vec, base_point = self._pair(tangent_vec, base_point)
        image = np.einsum("...pd,...d->...p", self.submersion_jacobian(base_point),
                          self._flat(tangent_vec))
        return image.reshape(image.shape[:-1] + self.base_shape)

    def base_space(self):
        """A fresh geomstats manifold for the base (the quotient), not yet equipped with a metric.

        Raises
        ------
        ValueError
            When none is known: the predictor manifold is a proper submanifold of ``R^P`` and the model
            gave no ``base_space``.
        """
        if self._base_space is not None:
            return self._base_space()
        shape = self.base_shape
        if self.submersion_is_predictor and self.model.predictor_rank == self.model.beta_size:
            if len(shape) == 1:
                return Euclidean(shape[0], equip=False)
            if len(shape) == 2:
                return Matrices(*shape, equip=False)
        raise ValueError(
            f"no geomstats manifold is known for the quotient of {self.model!r} (predictor rank "
            f"{self.model.predictor_rank} in R^{self.model.beta_size}); give the model's bundle a "
            "base_space")

    # -------------------------------------------------------------------------- vertical space
    def generators(self, base_point):
        """Fundamental vector fields at ``base_point``, shape ``(..., k, *shape)``."""
        return self.action.generators(base_point)

    def _lowered_generators(self, generators, base_point):
        """``G xi_a`` on the flattened entries, ``(..., k, D)``."""
        point = np.expand_dims(base_point, len(self.space.batch_shape(base_point)))
        return self.space.flatten_batch(self.space.lower_index(generators, point))

    def gram(self, base_point):
        """``G_ab = g(xi_a, xi_b)``, ``(..., k, k)``; ``sqrt det`` is the local orbit volume."""
        if self.space.is_flat:
            return self.action.gram(base_point)
        base_point = self._point(base_point)
        generators = self.action.generators(base_point)
        flat = self.space.flatten_batch(generators)
        return flat @ np.swapaxes(self._lowered_generators(generators, base_point), -1, -2)

    def vertical_projection(self, tangent_vec, base_point):
        """``g``-orthogonal projection onto ``span{xi_a}``: ``Xi^T Gram^+ Xi G v``, shape of ``tangent_vec``.

        On flat space the action's :meth:`~quotientlearn.groups.GroupAction.vertical_projection` (a
        closed form where the action has one).
        """
        tangent_vec, base_point = self._pair(tangent_vec, base_point)
        if self.space.is_flat:
            return self.action.vertical_projection(tangent_vec, base_point)
        return self._metric_vertical(tangent_vec, base_point)

    def _metric_vertical(self, tangent_vec, base_point):
        """The metric projection without validation (the hot loop of horizontal noise calls it)."""
        generators = self.action.generators(base_point)
        flat = self.space.flatten_batch(generators)
        lowered = self._lowered_generators(generators, base_point)
        gram = flat @ np.swapaxes(lowered, -1, -2)
        rhs = np.einsum("...ad,...d->...a", lowered, self._flat(tangent_vec))
        try:
            coefficients = np.linalg.solve(gram, rhs[..., None])[..., 0]
        except np.linalg.LinAlgError:  # a degenerate orbit in the batch
            coefficients = np.einsum("...ab,...b->...a", np.linalg.pinv(gram, hermitian=True), rhs)
        return self.space.unflatten(np.einsum("...a,...ad->...d", coefficients, flat))

    def horizontal_projection(self, tangent_vec, base_point):
        """``P_H v = v - P_V v``, shape of ``tangent_vec``."""
        tangent_vec, base_point = self._pair(tangent_vec, base_point)
        return tangent_vec - self.vertical_projection(tangent_vec, base_point)

    def _norm(self, tangent_vec, base_point):
        if self.space.is_flat:
            return np.linalg.norm(tangent_vec, axis=-1)
        return np.sqrt(np.maximum(self.space.inner_product(tangent_vec, tangent_vec, base_point), 0.0))

    def is_horizontal(self, tangent_vec, base_point, atol=1e-10):
        """Whether ``tangent_vec`` is ``g``-orthogonal to the orbit (to ``atol (1 + |v|_g)``); ``(...,)``."""
        tangent_vec, base_point = self._pair(tangent_vec, base_point)
        vertical = self.vertical_projection(tangent_vec, base_point)
        return self._norm(vertical, base_point) <= atol * (1.0 + self._norm(tangent_vec, base_point))

    def is_vertical(self, tangent_vec, base_point, atol=1e-10):
        """Whether ``tangent_vec`` is tangent to the orbit, up to ``atol (1 + |v|_g)``; ``(...,)``."""
        tangent_vec, base_point = self._pair(tangent_vec, base_point)
        horizontal = self.horizontal_projection(tangent_vec, base_point)
        return self._norm(horizontal, base_point) <= atol * (1.0 + self._norm(tangent_vec, base_point))

    def horizontal_lift(self, tangent_vec, base_point=None, fiber_point=None):
        """The horizontal vector ``h`` at ``fiber_point`` whose image under the submersion is ``tangent_vec``.

        ``h = K J^T (J K J^T)^+ w`` (``J`` the submersion's differential, ``K`` the cometric).

        Parameters
        ----------
        tangent_vec : array_like, shape (..., *base_shape)
            Tangent vector to the base (predictor space).
        base_point : array_like, shape (..., *base_shape), optional
            Base point; its balanced lift is used when ``fiber_point`` is not given.
        fiber_point : array_like, shape (..., *shape), optional

        Returns
        -------
        lift : ndarray, shape (..., *shape)
        """
        if fiber_point is None:
            if base_point is None:
                raise ValueError("give base_point (a predictor) or fiber_point (parameters)")
            fiber_point = self.lift(base_point)
        fiber_point = self._point(fiber_point)
        jac = self.submersion_jacobian(fiber_point)
        raised = self._raised_rows(jac, fiber_point)  # (..., m, D): K J^T as rows
        flat = np.reshape(tangent_vec, np.shape(tangent_vec)[: np.ndim(tangent_vec) - len(
            self.base_shape)] + (-1,))
        cometric = jac @ np.swapaxes(raised, -1, -2)
        # rcond 1e-10: a predictor on a proper submanifold has a rank-deficient cometric whose null
        # eigenvalues come out at ~1e-15, which the default cut-off could invert
        coefficients = np.einsum("...pq,...q->...p",
                                 np.linalg.pinv(cometric, rcond=1e-10, hermitian=True), flat)
        return self.space.unflatten(np.einsum("...p,...pd->...d", coefficients, raised))

    def _raised_rows(self, rows, base_point):
        """``K r`` for every row ``r`` (..., m, D) of covectors."""
        if self.space.is_flat:
            return rows
        point = np.expand_dims(base_point, len(self.space.batch_shape(base_point)))
        return self.space.flatten_batch(self.space.raise_index(self.space.unflatten_batch(rows), point))

    # ------------------------------------------------------------------------- quotient metric
    def quotient_cometric(self, base_point):
        """Inverse quotient metric in the base's coordinates, ``J K J^T``, shape ``(..., m, m)``.

        On a slice point a horizontal ``h`` has length ``|h|_g``, and its image ``J h`` has that length
        in this metric.
        """
        base_point = self._point(base_point)
        jac = self.submersion_jacobian(base_point)
        return jac @ np.swapaxes(self._raised_rows(jac, base_point), -1, -2)

    def quotient_metric_matrix(self, base_point):
        """Quotient metric in the base's coordinates: the pseudo-inverse of the cometric."""
        return np.linalg.pinv(self.quotient_cometric(base_point), rcond=1e-10, hermitian=True)

    def align(self, point, base_point, tol=1e-12, max_iter=100):
        """The point of the fibre of ``point`` closest to ``base_point``.

        Gauss–Newton in the Lie algebra on ``d(g . point, base_point)^2 / 2``: at the optimum the
        logarithm ``log_y(base_point)`` is horizontal, ``g(log_y b, xi_a(y)) = 0``; each step solves
        ``Gram delta = (g(log_y b, xi_a))_a`` and moves ``y <- exp(delta) . y``. Vectorised over the batch;
        it needs the total space's ``metric.log``. Bundles with a closed form (Procrustes for an
        orthogonal action) override it. Where the action is not an isometry (rescalings, ``GL(r)``),
        the result still minimises the distance along the fibre, but the quotient "metric" it induces is
        not a Riemannian quotient metric (see docs/extending.md).

        Parameters
        ----------
        point, base_point : array_like, shape (..., *shape)

        Returns
        -------
        aligned : ndarray, shape (..., *shape)
        """
        aligned = np.array(self._point(point), dtype=float)
        base_point = self._point(base_point)
        aligned, base_point = np.broadcast_arrays(aligned, base_point)
        aligned = np.array(aligned)
        metric = self.space.metric
        batch = self.space.batch_shape(aligned)
        for _ in range(max_iter):
            log = np.asarray(metric.log(base_point, aligned), dtype=float).reshape(aligned.shape)
            generators = self.action.generators(aligned)
            flat = self.space.flatten_batch(generators)
            lowered = self._lowered_generators(generators, aligned)
            rhs = np.einsum("...ad,...d->...a", lowered, self._flat(log))
            gram = flat @ np.swapaxes(lowered, -1, -2)
            step = np.einsum("...ab,...b->...a", np.linalg.pinv(gram, hermitian=True), rhs)
            scale = np.sqrt(np.einsum("...a,...ab,...b->...", step, gram, step))
            if np.all(scale <= tol * (1.0 + np.sqrt(np.sum(self._flat(log) ** 2, axis=-1)))):
                break
            step = step / np.maximum(scale, 1.0)[..., None]  # damped: at most unit length
            aligned = np.asarray(self.action.act_algebra(step, aligned), dtype=float).reshape(
                batch + self.space.shape)
        return aligned

    # ------------------------------------------------------------------------------- isometry
    def isometry_defect(self, n_points=4, rng=0, scale=0.5):
        """Largest relative change of ``g(u, v)`` under the differential of random group elements.

        ``|g_{h x}(dh u, dh v) - g_x(u, v)| / (|u|_g |v|_g)`` over random points, tangent vectors and
        group elements ``h = exp(c)``; 0 for an isometric action. The differential ``dh`` is taken by
        forward-mode autograd of ``act``.

        Returns
        -------
        defect : float
        """
        space, action = self.space, self.action
        if action.dim == 0:
            return 0.0
        rng = np.random.default_rng(rng)
        points = self.model.sample((n_points,), rng)
        tangents = space.to_tangent(rng.standard_normal((2, n_points) + space.shape), points)
        elements = action.exp(action.random_algebra((n_points,), rng, scale))
        moved = np.asarray(action.act(elements, points), dtype=float)

        def flat_act(flat_point):
            return space.flatten(action.act(elements, space.unflatten(flat_point)))

        differential = jacobian(flat_act, space.flatten(points), mode="forward")  # (N, D, D)
        pushed = [space.unflatten(np.einsum("nij,nj->ni", differential, space.flatten(t)))
                  for t in tangents]
        before = space.inner_product(tangents[0], tangents[1], points)
        after = space.inner_product(pushed[0], pushed[1], moved)
        norms = np.sqrt(space.inner_product(tangents[0], tangents[0], points)
                        * space.inner_product(tangents[1], tangents[1], points))
        return float(np.max(np.abs(after - before) / norms))

    @property
    def is_isometric(self):
        """Whether the action is an isometry of the metric (:meth:`isometry_defect` below 1e-8)."""
        if self._isometric is None:
            self._isometric = self.isometry_defect() <= 1e-8
        return self._isometric

    # --------------------------------------------------------------------- integrability tensor
    def integrability_tensor(self, tangent_vec_a, tangent_vec_b, base_point, step=1e-5):
        """O'Neill's tensor ``A_X Y = ver nabla_{hor X} (hor Y) + hor nabla_{hor X} (ver Y)``.

        ``Y`` is extended by ``q -> to_tangent(Y, q)``; the derivative along ``hor X`` is a central
        difference along the retraction curve (relative error ~1e-10), and the Levi-Civita connection in
        ambient coordinates is ``nabla_u Z = D_u Z - a(u, Z)`` with the space's geodesic acceleration
        ``a``. Defined wherever the space has a retraction and a geodesic acceleration (every space
        here). Where the action is an isometry (a Riemannian submersion) it is, for horizontal ``X, Y``,
        ``[X, Y]^ver / 2``, skew in ``X, Y`` (tested against geomstats' Kendall shape bundle); for a
        non-isometric action (rescalings) it is not skew: ``A_X X`` need not vanish.

        Parameters
        ----------
        tangent_vec_a, tangent_vec_b, base_point : array_like, shape (..., *shape)

        Returns
        -------
        vector : ndarray, shape (..., *shape)
        """
        tangent_vec_a, base_point = self._pair(tangent_vec_a, base_point)
        tangent_vec_b = self.space.validate_tangent(tangent_vec_b, base_point)
        space = self.space
        direction = self.horizontal_projection(tangent_vec_a, base_point)

        def split(point):
            extended = space.to_tangent(tangent_vec_b, point)
            vertical = self.vertical_projection(extended, point)
            return extended - vertical, vertical

        norm = np.sqrt(np.sum(self._flat(direction) ** 2, axis=-1))
        h = step / np.where(norm > 0, norm, 1.0).reshape(norm.shape + (1,) * len(space.shape))
        forward = split(space.retraction(h * direction, base_point))
        backward = split(space.retraction(-h * direction, base_point))
        horizontal, vertical = split(base_point)
        derivative_h = (forward[0] - backward[0]) / (2 * h)
        derivative_v = (forward[1] - backward[1]) / (2 * h)
        covariant_h = derivative_h - space.geodesic_acceleration(direction, horizontal, base_point)
        covariant_v = derivative_v - space.geodesic_acceleration(direction, vertical, base_point)
        # project the ambient results to the tangent space before splitting them
        covariant_h = space.to_tangent(covariant_h, base_point)
        covariant_v = space.to_tangent(covariant_v, base_point)
        return (self.vertical_projection(covariant_h, base_point)
                + self.horizontal_projection(covariant_v, base_point))
