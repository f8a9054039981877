"""The fibre integral: the full Gibbs law pushed forward to the predictor by the co-area formula."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.special import logsumexp

from quotientlearn.memory import chunk_slices
from quotientlearn.memory import memory_budget as memory_budget_bytes
from quotientlearn.numerics import jacobian
from quotientlearn.predictions.base import Prediction
from quotientlearn.predictions.density import Density
from quotientlearn.validation import integer, positive

__all__ = ["FibreIntegral"]


class FibreIntegral(Prediction):
    """``p(beta) = ∫_{phi^{-1}(beta)} exp(-U/T) det(J K J^T)^{-1/2} d sigma`` for the Gibbs law.

    The law of isotropic noise without gauge fixing, ``exp(-U/T) dvol_g`` (``U = L + lam |theta|^2 / 2``;
    ``K = g^{-1}``, the identity on flat space), pushed forward by the co-area formula and integrated over
    the orbit through ``balanced(beta)``, with the orbit's Riemannian volume element:

    - a non-compact group (rescalings, ``GL(r)``) needs weight decay; its group coordinates
      ``g = exp(c)`` are integrated by a tensor trapezoid rule for ``k <= 2`` and by importance sampling
      for larger groups;
    - a compact group (``action.compact``: rotations) is integrated by Monte Carlo over its Haar measure,
      the volume element being ``sqrt det g(xi_a, xi_b)`` at ``h . balanced(beta)``; no weight decay is
      needed where the loss confines the predictor.

    When the action is an isometry of the metric leaving ``U`` invariant, the predictor's law does not
    depend on the gauge (the generator of the dynamics, applied to functions of the predictor, is the
    same along an orbit), so the fibre integral also describes gauge-fixed isotropic dynamics. Fibres
    with several components related by a symmetry of ``U`` (the sign flips of the zoo) contribute equal
    factors, which the normalisation absorbs.

    Parameters
    ----------
    fibre_range : float
        Half-width of the box of group coordinates (``k <= 2``).
    fibre_points : int, optional
        Nodes per axis (default 401 for ``k = 1``, 121 for ``k = 2``) or importance samples
        (default 4096) for ``k > 2``; Haar samples (default 256) for a compact group.
    memory_budget : int or str, optional
        Bytes one ``logpdf`` call may use (points are processed in chunks that fit); see
        :func:`quotientlearn.memory.memory_budget`.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Hadamard(dim=1)
    >>> def loss(beta):
    ...     return 0.5 * (beta[..., 0] - 1.0) ** 2
    >>> density = ql.stationary_density(model, loss, 0.1, gauge_fixing=False, weight_decay=0.5,
    ...                                   method=ql.predictions.FibreIntegral(fibre_range=6.0))
    >>> density
    Density(method='fibre', shape=(1,))
    """

    name = "fibre"

    def __init__(self, fibre_range=6.0, fibre_points=None, memory_budget=None):
        self.fibre_range = positive(fibre_range, "fibre_range")
        # A trapezoid rule needs interior nodes (with 1 or 2 the integral is 0 and the log density -inf).
        self.fibre_points = None if fibre_points is None else integer(fibre_points, "fibre_points",
                                                                       minimum=3, maximum=10**7)
        self.memory_budget = None if memory_budget is None else memory_budget_bytes(memory_budget)

    def check(self, problem):
        """The Gibbs law: isotropic noise; no gauge fixing unless the action is an isometry of ``U``.

        Weight decay is needed along non-compact orbits.
        """
        model = problem.model
        if not problem.noise.isotropic:
            raise ValueError("method 'fibre' describes isotropic noise without gauge fixing (the "
                             "full Gibbs law); set noise='isotropic', gauge_fixing=False")
        notes = {}
        if problem.gauge_fixing:
            if not (model.bundle.is_isometric and _weight_decay_invariant(problem)):
                raise ValueError("method 'fibre' describes isotropic noise without gauge fixing (the "
                                 "full Gibbs law); set noise='isotropic', gauge_fixing=False (or use an "
                                 "action that is an isometry of the metric and of the potential)")
            notes["gauge"] = ("the action is an isometry of the metric and of U, so gauge fixing does "
                              "not change the predictor's law")
        if problem.weight_decay <= 0 and not model.action.compact:
            raise ValueError("method 'fibre' needs weight_decay > 0: without it the Gibbs law "
                             "exp(-L/T) is not normalisable along non-compact orbits")
        return notes

    def _quadrature(self, k):
        """Nodes ``(q, k)``, log weights ``(q,)`` and a description."""
        if k <= 2:
            n_axis = self.fibre_points or (401 if k == 1 else 121)
            axis = np.linspace(-self.fibre_range, self.fibre_range, n_axis)
            nodes = np.stack(np.meshgrid(*([axis] * k), indexing="ij"), axis=-1).reshape(-1, k)
            log_weights = np.full(len(nodes), k * np.log(axis[1] - axis[0]))
            return nodes, log_weights, (f"trapezoid, {n_axis}^{k} nodes on "
                                        f"[-{self.fibre_range}, {self.fibre_range}]")
        n_nodes = self.fibre_points or 4096
        # Common standard normals for every beta keep the estimate smooth in beta. Each beta gets a
        # Laplace proposal (see density()).
        nodes = np.random.default_rng(0).standard_normal((n_nodes, k))
        log_weights = 0.5 * np.sum(nodes**2, axis=-1) + 0.5 * k * np.log(2 * np.pi) - np.log(n_nodes)
        return nodes, log_weights, (f"importance sampling, {n_nodes} nodes from a Laplace "
                                    "(Gaussian) proposal around the balanced point")

    def density(self, problem):
        """The fibre-integral density of ``problem``."""
        info = {**problem.info(), **self.check(problem)}
        if problem.model.action.compact:
            return self._compact_density(problem, info)
        model, coords, temperature = problem.model, problem.coordinates, problem.temperature
        potential = problem.potential
        action, space = model.action, model.space
        k = action.dim
        nodes, log_weights, info["fibre_quadrature"] = self._quadrature(k)
        dim, m = model.dim, coords.size
        # Per quadrature node: the point, its orbit tangents (D, k), the coordinates' Jacobian (m, D)
        # and their autodiff passes (measured 0.55-0.7 of this estimate at D = 4..6).
        bytes_per_point = len(nodes) * 8.0 * (4 * dim * k + 3 * m * dim + 4 * dim + k * k + m * m)
        memory_budget, fibre_range = self.memory_budget, self.fibre_range

        def group_coordinates(base):
            """Nodes ``(n, q, k)`` and log weights ``(n, q)`` for base points ``(n, D)``."""
            if k <= 2:
                return (np.broadcast_to(nodes, (len(base),) + nodes.shape),
                        np.broadcast_to(log_weights, (len(base), len(nodes))))
            # The balanced point minimises |theta|^2 along its orbit, with Hessian ~ 2 Gram in the
            # group coordinates, so c ~ N(0, (T / (2 lam)) Gram^{-1}), widened 1.5x.
            gram = action.gram(base)
            covariance = 1.5**2 * temperature / (2 * problem.weight_decay) * np.linalg.inv(gram)
            factor = np.linalg.cholesky(covariance)  # (n, k, k)
            log_det = np.sum(np.log(np.diagonal(factor, axis1=-2, axis2=-1)), axis=-1)
            return np.einsum("nab,qb->nqa", factor, nodes), log_weights + log_det[:, None]

        def log_density(c):
            c = c.reshape(len(c), -1)
            out = np.empty(len(c))
            for chunk in chunk_slices(len(c), bytes_per_point, memory_budget):
                base = coords.slice_point(c[chunk])  # (n, *shape)
                n = len(base)
                algebra, weights = group_coordinates(base)
                algebra = algebra.reshape(-1, k)
                anchor = np.repeat(base, len(nodes), axis=0)
                theta = action.act_algebra(algebra, anchor)
                tangents = jacobian(lambda a, anchor=anchor: space.flatten(action.act_algebra(a, anchor)),
                                    algebra, mode="forward")  # (n q, D, k): the orbit map's differential
                _, log_volume = np.linalg.slogdet(np.swapaxes(tangents, -1, -2)
                                                  @ _lowered_columns(space, tangents, theta))
                log_cometric = _log_det_cometric(model, coords, theta)
                terms = (-potential.value(theta) / temperature - 0.5 * log_cometric
                         + 0.5 * log_volume + weights.reshape(-1))
                terms = terms.reshape(n, len(nodes))
                out[chunk] = logsumexp(terms, axis=-1)
                if k <= 2:
                    edge = np.max(np.abs(nodes), axis=-1) >= fibre_range * (1 - 1e-12)
                    share = np.exp(logsumexp(terms[:, edge], axis=-1) - out[chunk])
                    if np.any(share > 1e-8):
                        warnings.warn(f"the fibre integrand is not negligible at |c| = {fibre_range} "
                                      f"(share {np.max(share):.1e}); increase fibre_range",
                                      RuntimeWarning, stacklevel=3)
            return out

        return Density(log_density, coords.shape, self.name, info)

    def _compact_density(self, problem, info):
        """Monte Carlo over the Haar measure of a compact group (common samples for every ``beta``)."""
        model, coords, temperature = problem.model, problem.coordinates, problem.temperature
        potential, action = problem.potential, model.action
        n_nodes = self.fibre_points or 256
        elements = action.haar_sample((n_nodes,), np.random.default_rng(0))
        info["fibre_quadrature"] = (f"Monte Carlo over the Haar measure, {n_nodes} common samples of "
                                    f"{action.name}")
        size, k, m = model.space.point_size, action.dim, coords.size
        # Per Haar sample: the moved point, its generators (k, size) and their autodiff passes, the
        # coordinates' Jacobian (m, size) and its passes, the cometric (size, size) and J K J^T.
        bytes_per_point = n_nodes * 8.0 * (4 * size * k + 3 * m * size + 2 * size**2 + 4 * size
                                           + k * k + m * m)
        memory_budget = self.memory_budget

        def log_density(c):
            c = c.reshape(len(c), -1)
            out = np.empty(len(c))
            for chunk in chunk_slices(len(c), bytes_per_point, memory_budget):
                base = coords.slice_point(c[chunk])  # (n, *shape)
                n = len(base)
                anchor = np.repeat(base, n_nodes, axis=0)
                theta = np.asarray(action.act(np.tile(elements, (n,) + (1,) * (elements.ndim - 1)),
                                              anchor), dtype=float)
                log_volume = 0.5 * np.linalg.slogdet(model.bundle.gram(theta))[1]
                terms = (-potential.value(theta) / temperature
                         - 0.5 * _log_det_cometric(model, coords, theta) + log_volume)
                out[chunk] = logsumexp(terms.reshape(n, n_nodes), axis=-1) - np.log(n_nodes)
            return out

        return Density(log_density, coords.shape, self.name, info)


def _weight_decay_invariant(problem, n_points=4):
    """Whether ``|theta|^2`` (weight decay) is invariant under the action (trivially without it)."""
    if problem.weight_decay <= 0:
        return True
    model = problem.model
    rng = np.random.default_rng(0)
    theta = model.sample((n_points,), rng)
    moved = model.action.act_algebra(model.action.random_algebra((n_points,), rng), theta)
    squares = [np.sum(model.space.flatten(points) ** 2, axis=-1) for points in (theta, moved)]
    return bool(np.allclose(squares[0], squares[1], rtol=1e-10))


def _lowered_columns(space, columns, theta):
    """``G T`` for the columns ``T`` (n, D, k) of tangent vectors at ``theta`` (``T`` on flat space)."""
    if space.is_flat:
        return columns
    rows = space.unflatten_batch(np.swapaxes(columns, -1, -2))
    lowered = space.lower_index(rows, np.expand_dims(theta, len(space.batch_shape(theta))))
    return np.swapaxes(space.flatten_batch(lowered), -1, -2)


def _log_det_cometric(model, coords, theta):
    """``log det(J K J^T)`` of the coordinates at ``theta`` (``J J^T`` on flat space), shape ``(n,)``."""
    space = model.space
    jac = jacobian(coords.of_theta, space.flatten(theta))
    if space.is_flat:
        return np.linalg.slogdet(jac @ np.swapaxes(jac, -1, -2))[1]
    return np.linalg.slogdet(jac @ space.cometric(theta) @ np.swapaxes(jac, -1, -2))[1]
