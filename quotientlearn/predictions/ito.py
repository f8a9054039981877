"""The Itô route: the exact stationary law of the coordinates' SDE on the slice, generic by autograd.

On the slice, ``c = phi(theta)`` (or chart coordinates ``c = psi(phi(theta))``) obeys
``dc = a dt + sqrt(2 D) dW`` with ``a = J b + T tr(C hess c) + T J a(C)``, ``D = T J C J^T`` (noise
covariance ``2 T C``, from the noise model); the zero-flux Fokker–Planck solution has
``grad log p = D^{-1} (a - div D)``. ``div D`` is the derivative of ``D`` along the slice, whose tangent
``V`` solves ``J V = I``, ``J_chi V = 0`` within the tangent space of the parameter manifold.

On a curved parameter space (or with a metric) the drift ``b = -g^{-1} grad U`` is the Riemannian
gradient, ``C`` carries the metric and ``a(C)`` is the Itô drift of geodesic steps (the space's geodesic
acceleration traced against ``C``; it makes ``tr(K hess) + J a(K)`` the Laplace–Beltrami operator).
Everything is in the ambient coordinates of the flattened points, so the extension of the predictor
off the manifold does not matter. The field is checked to be curl-free (finite differences)
and integrated along straight segments from a reference point with Gauss–Legendre quadrature.
"""

from __future__ import annotations

import warnings

import numpy as np

from quotientlearn.memory import map_chunks
from quotientlearn.memory import memory_budget as memory_budget_bytes
from quotientlearn.predictions.base import Prediction
from quotientlearn.predictions.density import Density
from quotientlearn.predictions.fibre import _weight_decay_invariant
from quotientlearn.validation import integer, positive

__all__ = ["ItoField", "ItoRoute", "NonConservativeWarning", "relative_curl"]


class NonConservativeWarning(RuntimeWarning):
    """The Itô field ``D^{-1}(a - div D)`` has a curl: no stationary potential exists (flux).

    Examples
    --------
    It is a ``UserWarning``; turn it into an error where a curl must stop the computation:

    >>> import warnings
    >>> import quotientlearn as ql
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", ql.predictions.NonConservativeWarning)
    """


def relative_curl(field, points, step=1e-6):
    """Relative antisymmetric part of a field's Jacobian at ``points``, by central differences.

    Parameters
    ----------
    field : callable
        ``(n, m) -> (n, m)``.
    points : array_like, shape (n, m)
    step : float
        Relative finite-difference step.

    Returns
    -------
    curl : ndarray, shape (n,)
        ``|A - A^T| / (2 max(|A|, |F| / (1 + |c|)))`` per point (0 for a gradient field, up to ~1e-6
        of rounding). The field's own size enters the scale so that a (nearly) constant field, whose
        Jacobian is all rounding, does not read as a curl.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> points = np.ones((2, 2))
    >>> ql.predictions.relative_curl(lambda x: -x, points)  # a gradient field
    array([0., 0.])
    >>> ql.predictions.relative_curl(lambda x: x[:, ::-1] * np.array([1.0, -1.0]), points)  # a rotation
    array([1., 1.])
    """
    points = np.asarray(points, dtype=float).reshape(len(points), -1)
    n, m = points.shape
    h = step * (1.0 + np.abs(points))
    shifts = np.einsum("nj,jk->jnk", h, np.eye(m))  # (m, n, m): column j shifted in copy j
    # every shifted point in one batch: one evaluation of the field instead of 2 m
    values = field(np.concatenate([points + shifts, points - shifts]).reshape(-1, m))
    plus, minus = values.reshape(2, m, n, m)
    columns = [(plus[j] - minus[j]) / (2 * h[:, j:j + 1]) for j in range(m)]
    jac = np.stack(columns, axis=-1)
    anti = jac - np.swapaxes(jac, -1, -2)
    scale = np.maximum(np.linalg.norm(jac, axis=(-2, -1)),
                       np.linalg.norm(field(points), axis=-1) / (1.0 + np.linalg.norm(points, axis=-1)))
    return np.linalg.norm(anti, axis=(-2, -1)) / (2 * scale)


class ItoField:
    """``grad log p = D^{-1}(a - div D)`` at coordinate points, vectorised over points.

    Parameters
    ----------
    problem : StationaryProblem

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> from quotientlearn import predictions
    >>> model = ql.models.Hadamard(dim=1)
    >>> def loss(beta):
    ...     return 0.5 * (beta[..., 0] - 1.0) ** 2
    >>> problem = predictions.StationaryProblem(model, loss, 0.1, ql.dynamics.get_noise("isotropic"),
    ...                                         True, 0.0, predictions.Coordinates(model))
    >>> field = predictions.ItoField(problem)
    >>> field(np.array([[2.0]]))  # d/dbeta log(exp(-L/T) / beta) = -(beta - 1) / T - 1 / beta
    array([[-10.5]])
    """

    def __init__(self, problem):
        self.problem = problem
        self.potential = problem.potential

    def __call__(self, c):
        """Field at ``c`` (n, m); returns ``(n, m)`` (NaN on degenerate orbits)."""
        problem = self.problem
        coords, model, noise, temperature = (problem.coordinates, problem.model, problem.noise,
                                             problem.temperature)
        theta = coords.slice_point(c)
        # degenerate orbits (e.g. beta_i = 0) give infinite tangents: NaN there, values elsewhere
        with np.errstate(invalid="ignore", divide="ignore"):
            derivatives = coords.derivatives(theta)
            jac = derivatives.jacobian
            drift, _ = self.potential.evaluate(theta)
            ito = noise.trace_hessian(model, derivatives)
            if not model.space.is_flat:
                space = model.space
                drift = space.flatten(space.raise_index(drift, theta))  # the Riemannian gradient
                ito = ito + noise.curvature_drift(model, derivatives)
            a = np.einsum("...pd,...d->...p", jac, drift) + temperature * ito
            cometric = noise.cometric(model, derivatives)
            rhs = (a / temperature - noise.cometric_divergence(model, derivatives))[..., None]
            try:
                return np.linalg.solve(cometric, rhs)[..., 0]
            except np.linalg.LinAlgError:
                singular = np.linalg.matrix_rank(cometric) < coords.size
                return (np.linalg.pinv(cometric) @ rhs)[..., 0] + np.where(singular, np.nan, 0.0)[
                    ..., None]

    def curl(self, points, step=1e-6):
        """:func:`relative_curl` of this field at ``points`` (n, m); shape ``(n,)``."""
        return relative_curl(self, points, step)


def _field_bytes(problem):
    """Peak working memory of :class:`ItoField` per point, from the problem's sizes: an upper bound.

    The bound is that of generic derivatives: the coordinates' Hessians ``(m, D, D)`` by autograd
    and their passes (measured about ``2.1 x 8 m D^2`` bytes); the D x D noise covariances and the
    slice tangent add lower-order terms. Models with closed-form derivatives need far less (about
    16 kB a point for Hadamard at d = 16), so their chunks are smaller than necessary, never larger.
    """
    m, dim, k = problem.coordinates.size, problem.model.dim, problem.model.action.dim
    return 8.0 * (3 * m * dim * dim + 4 * dim * dim + 8 * (m + k) * dim + 64)


def _line_integral(field, reference, n_nodes, bytes_per_node, memory_budget=None):
    nodes, weights = np.polynomial.legendre.leggauss(n_nodes)
    nodes, weights = 0.5 * (nodes + 1.0), 0.5 * weights

    def integrate(block):
        delta = block - reference
        path = reference + nodes[:, None, None] * delta  # (q, n, m)
        # The field evaluations (node x point) run in their own chunks: at d = 64 one point's n_nodes
        # evaluations together can exceed the budget while one evaluation fits easily.
        values = map_chunks(field, path.reshape(-1, block.shape[-1]), bytes_per_node, memory_budget)
        return np.einsum("q,qnm,nm->n", weights, values.reshape(path.shape), delta)

    def log_density(c):
        c = c.reshape(len(c), -1)
        # A chunk of points holds its paths and their field values: 2 n_nodes m floats a point.
        return map_chunks(integrate, c, 16.0 * n_nodes * c.shape[-1], memory_budget)

    return log_density


class ItoRoute(Prediction):
    """The exact stationary law on the slice for any noise model (module docstring).

    *Assumption*: every particle sits on the slice. Gauge fixing guarantees it; without it the route
    is exact only where the dynamics keep the slice invariant (horizontal noise models, e.g. horizontal
    and label noise on Hadamard-type models; check ``Samples.metadata["max_gauge_residual"]``). A
    potential is fixed up to one constant per region reachable from the reference point without
    crossing a degenerate orbit (e.g. ``beta = 0``).

    Parameters
    ----------
    reference : array_like, optional
        The point (in the coordinates in use) where the potential is 0; default: ones, or the identity
        matrix for a matrix predictor.
    n_nodes : int
        Gauss–Legendre nodes of the line integral.
    curl_tolerance : float
        Relative curl near the reference above which a :class:`NonConservativeWarning` says that no
        potential exists.
    memory_budget : int or str, optional
        Bytes for the paths of a chunk of points, and again for a chunk of the field evaluations
        along them (so a ``logpdf`` call peaks under twice the budget); see
        :func:`quotientlearn.memory.memory_budget`.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Hadamard(dim=1)
    >>> def loss(beta):
    ...     return 0.5 * (beta[..., 0] - 1.0) ** 2
    >>> route = ql.predictions.ItoRoute(n_nodes=24)  # options travel with the method
    >>> density = ql.stationary_density(model, loss, 0.1, noise="horizontal", method=route)
    >>> grid = np.array([[0.5], [1.0]])
    >>> expected = -loss(grid) / 0.1 - 0.5 * np.log(grid[:, 0])  # exp(-L/T) / sqrt|beta|
    >>> bool(np.isclose(np.ptp(density.logpdf(grid) - expected), 0.0, atol=1e-8))
    True
    """

    name = "ito"

    def __init__(self, reference=None, n_nodes=48, curl_tolerance=1e-4, memory_budget=None):
        self.reference = None if reference is None else np.asarray(reference, dtype=float)
        self.n_nodes = integer(n_nodes, "n_nodes", minimum=1, maximum=10**5)
        self.curl_tolerance = positive(curl_tolerance, "curl_tolerance")
        self.memory_budget = None if memory_budget is None else memory_budget_bytes(memory_budget)

    def check(self, problem):
        """Refuse dynamics that leave the slice, and predictors of lower rank without a chart."""
        model, coords, noise = problem.model, problem.coordinates, problem.noise
        isometric = (not problem.gauge_fixing and noise.intrinsic and model.action.dim > 0
                     and model.bundle.is_isometric and _weight_decay_invariant(problem))
        if model.action.dim and not problem.gauge_fixing and not noise.horizontal and not isometric:
            raise ValueError(
                f"{noise.name} noise without gauge fixing leaves the slice (its increments are not "
                "horizontal) and, without weight decay, has no stationary law; use gauge_fixing=True, "
                "or method='fibre' with isotropic noise and weight_decay > 0")
        if not coords.is_chart and model.predictor_rank < coords.size:
            raise ValueError(
                f"the predictor of {model!r} moves on a {model.predictor_rank}-dimensional manifold "
                f"inside R^{coords.size}: the Itô route needs full-rank coordinates; pass "
                "coordinates=(to_chart, from_chart) with a chart of that manifold")
        if not model.action.dim:
            return {"assumption": "no continuous symmetry: the slice is the whole parameter space"}
        if isometric:
            return {"assumption": "the action is an isometry of the metric and of U: the predictor's "
                                  "law does not depend on the slice (for noise models equivariant under "
                                  "the action, as the built-in ones are)"}
        return {"assumption": "theta on the gauge slice" + (
            " (gauge fixing)" if problem.gauge_fixing else
            ": the slice must be invariant under these dynamics; check "
            "Samples.metadata['max_gauge_residual']")}

    def _reference(self, shape):
        if self.reference is not None:
            reference = self.reference
        elif len(shape) == 2:
            reference = np.eye(*shape)
        else:
            reference = np.ones(shape)
        if reference.size != int(np.prod(shape, dtype=int)):
            raise ValueError(f"reference must have shape {shape}; got {reference.shape}")
        return reference.reshape(1, -1)

    def density(self, problem):
        """The Itô-route density of ``problem``, with its field and the curl measured near the reference."""
        info = {**problem.info(), **self.check(problem)}
        coords = problem.coordinates
        field = ItoField(problem)
        reference = self._reference(coords.shape)
        field.potential.checked_values(coords.slice_point(reference))
        if not np.all(np.isfinite(field(reference))):
            raise ValueError(f"the Itô field is singular at the reference point {reference.ravel()}; "
                             "pass reference= a regular predictor in the region of interest")
        if coords.size > 1:
            probes = reference + 0.1 * (1.0 + np.abs(reference)) * np.random.default_rng(0).standard_normal(
                (8, coords.size))
            curl = float(np.nanmax(field.curl(probes)))
            if curl > self.curl_tolerance:
                warnings.warn(f"the Itô field has relative curl {curl:.2e} near the reference: no "
                              "stationary potential exists (the law carries a probability flux); the "
                              "line integral is not path-independent", NonConservativeWarning,
                              stacklevel=3)
        else:
            curl = 0.0
        info["curl_near_reference"] = curl
        info["reference"] = reference.reshape(coords.shape).tolist()
        return Density(_line_integral(field, reference[0], self.n_nodes, _field_bytes(problem),
                                      self.memory_budget), coords.shape, self.name, info,
                       field=field)
