"""Stationary laws of the noisy dynamics in predictor coordinates, three independent ways.

- ``theorem1``: the closed form of THEORY.md section 2,
  ``p(beta) ∝ exp(-U/T) det G_C^{-1/2} det(J J^T)^{-1/2} vol(residual orbit)`` at the slice point
  ``balanced(beta)`` (``U = L + lam |theta|^2 / 2``; ``J`` the Jacobian of the coordinates in use; the
  residual orbit, e.g. of ``O(r)`` for a factorisation, is the slice's fibre over ``beta``: see
  :func:`quotientlearn.bias.log_residual_orbit_volume`). It is derived for isotropic noise with gauge
  fixing; for other dynamics it is the hypothesis under test.
- ``ito``: the exact route of THEORY.md section 3, generic by autograd. On the slice, ``c = phi(theta)``
  (or chart coordinates ``c = psi(phi(theta))``) obeys ``dc = a dt + sqrt(2 D) dW`` with
  ``a = J b + T tr(C hess phi)``, ``D = T J C J^T`` (noise covariance ``2 T C``); the zero-flux
  Fokker–Planck solution has ``grad log p = D^{-1} (a - div D)``. ``div D`` is the derivative of ``D``
  along the slice, whose tangent ``V`` solves ``J V = I``, ``J_chi V = 0``. The field is checked to be
  curl-free (finite differences) and integrated along straight segments from a reference point with
  Gauss–Legendre quadrature. *Assumption*: every particle sits on the slice. Gauge fixing guarantees it;
  without it the route is exact only where the dynamics keep the slice invariant (horizontal and label
  noise on Hadamard-type models do; check ``Samples.metadata["max_gauge_residual"]``).
- ``fibre``: the push-forward of the full Gibbs law ``exp(-(L + lam |theta|^2 / 2) / T)`` (isotropic
  noise, weight decay, no gauge fixing) by the co-area formula,
  ``p(beta) = ∫_{phi^{-1}(beta)} exp(-U/T) det(J J^T)^{-1/2} d sigma``, integrated over the group
  coordinates ``g = exp(c)`` of the orbit through ``balanced(beta)``: a tensor trapezoid rule for
  ``k <= 2``, importance sampling for larger groups. Fibres with several components related by a
  symmetry of ``U`` (the sign flips of the zoo) contribute equal factors, which the normalisation absorbs.

Every density is unnormalised; a potential from the Itô route is fixed up to one constant per region
reachable from the reference point without crossing a degenerate orbit (e.g. ``beta = 0``).
"""

from __future__ import annotations

import warnings

import autograd.numpy as anp
import numpy as np
from autograd import elementwise_grad, make_jvp
from scipy.special import logsumexp

from quotientlearn.bias import (
    implicit_bias_of_predictor,
    log_residual_orbit_volume,
    validate_temperature,
)
from quotientlearn.dynamics.integrators import Force
from quotientlearn.dynamics.noise import CoordinateDerivatives, get_noise
from quotientlearn.stats import window_cdf

__all__ = ["METHODS", "Density", "NonConservativeWarning", "stationary_density"]

METHODS = ("theorem1", "ito", "fibre")


class NonConservativeWarning(RuntimeWarning):
    """The Itô field ``D^{-1}(a - div D)`` has a curl: no stationary potential exists (flux)."""


class Density:
    """An unnormalised stationary density in predictor (or chart) coordinates.

    Parameters
    ----------
    log_unnormalised : callable
        ``c (..., *shape) -> (...,)``.
    shape : tuple of int
        Shape of one coordinate point (``model.beta_shape`` or the chart's shape).
    method : str
    info : dict, optional
        Assumptions and diagnostics (e.g. the measured curl of the Itô field).
    """

    def __init__(self, log_unnormalised, shape, method, info=None):
        self._log = log_unnormalised
        self.shape = tuple(shape)
        self.method = method
        self.info = dict(info or {})

    @property
    def size(self):
        """Number of coordinates of one point."""
        return int(np.prod(self.shape, dtype=int))

    def __repr__(self):
        return f"Density(method={self.method!r}, shape={self.shape})"

    def logpdf(self, beta):
        """Unnormalised log density.

        Parameters
        ----------
        beta : array_like, shape (..., *shape)

        Returns
        -------
        logpdf : ndarray, shape (...,)
        """
        beta = np.asarray(beta, dtype=float)
        n = len(self.shape)
        if beta.shape[beta.ndim - n:] != self.shape:
            raise ValueError(f"beta must have shape (..., {', '.join(map(str, self.shape))}); got "
                             f"{beta.shape}")
        batch = beta.shape[: beta.ndim - n]
        flat = beta.reshape((-1,) + self.shape)
        return np.asarray(self._log(flat), dtype=float).reshape(batch)

    def restriction(self, origin, direction):
        """The 1-D log density ``t -> logpdf(origin + t direction)`` (the marginal when separable).

        Parameters
        ----------
        origin, direction : array_like, shape (*shape)

        Returns
        -------
        logpdf : callable
            ``t (n,) -> (n,)``.
        """
        origin = np.broadcast_to(np.asarray(origin, dtype=float), self.shape)
        direction = np.broadcast_to(np.asarray(direction, dtype=float), self.shape)
        return lambda t: self.logpdf(origin + np.asarray(t, dtype=float).reshape(
            np.shape(t) + (1,) * len(self.shape)) * direction)

    def log_ratio_spread(self, other, points):
        """Sampling-free comparison: spread of ``logpdf - other.logpdf`` over ``points``.

        Two densities equal up to normalisation give a constant log ratio, hence spread 0.

        Parameters
        ----------
        other : Density
        points : array_like, shape (n, *shape)

        Returns
        -------
        spread : float
            ``max - min`` of the log ratio over the points.
        """
        ratio = self.logpdf(points) - other.logpdf(points)
        return float(np.max(ratio) - np.min(ratio))

    def total_variation(self, other, window, n_grid=4001):
        """Total variation distance of two 1-D densities normalised on ``window``.

        Returns
        -------
        distance : float
            In [0, 1].
        """
        grid, mine = window_cdf(self, window, n_grid)
        _, theirs = window_cdf(other, window, n_grid)
        return float(0.5 * np.sum(np.abs(np.diff(mine) - np.diff(theirs))))


# ----------------------------------------------------------------------------------- helpers
class _Coordinates:
    """Predictor coordinates, or chart coordinates ``c = to_chart(beta)`` with ``from_chart``."""

    def __init__(self, model, coordinates):
        self.model = model
        if coordinates is None:
            self.to_chart = self.from_chart = None
            self.shape = model.beta_shape
        else:
            try:
                self.to_chart, self.from_chart = coordinates
            except (TypeError, ValueError):
                raise ValueError("coordinates must be a pair (to_chart, from_chart) of callables "
                                 "beta -> c and c -> beta") from None
            probe = np.asarray(self.to_chart(model.predictor(model.balanced(
                self._probe_beta()))), dtype=float)
            self.shape = probe.shape
        self.size = int(np.prod(self.shape, dtype=int))

    def _probe_beta(self):
        return np.ones(self.model.beta_shape) / np.sqrt(self.model.beta_size)

    def phi(self, theta):
        """``c(theta)`` flattened to ``(..., m)``, traceable by autograd."""
        beta = self.model.traceable_predictor(theta)
        if self.to_chart is not None:
            beta = self.to_chart(beta)
        return anp.reshape(beta, anp.shape(theta)[:-1] + (self.size,))

    def beta_phi(self, theta):
        """The predictor flattened to ``(..., P)``, traceable by autograd."""
        beta = self.model.traceable_predictor(theta)
        return anp.reshape(beta, anp.shape(theta)[:-1] + (self.model.beta_size,))

    def slice_point(self, c):
        """``balanced(beta(c))`` for ``c`` of shape ``(n, m)``."""
        c = c.reshape((-1,) + self.shape)
        beta = c if self.from_chart is None else np.asarray(self.from_chart(c), dtype=float)
        return self.model.balanced(beta)

    def beta(self, c):
        """Predictor values of coordinates ``c`` (n, m)."""
        c = c.reshape((-1,) + self.shape)
        return c if self.from_chart is None else np.asarray(self.from_chart(c), dtype=float)


def _jacobian_hessian(fn, theta, size):
    """``J`` (n, m, D) and the Hessians ``H`` (n, m, D, D) of ``fn: (n, D) -> (n, m)`` by autograd."""
    dim = theta.shape[-1]
    jac = np.empty(theta.shape[:-1] + (size, dim))
    hess = np.empty(theta.shape[:-1] + (size, dim, dim))
    for p in range(size):
        gradient = elementwise_grad(lambda th, p=p: fn(th)[..., p])
        jac[..., p, :] = gradient(theta)
        for j in range(dim):
            # rows of the batch are independent, so the summed gradient is per row
            hess[..., p, :, j] = elementwise_grad(
                lambda th, j=j, gradient=gradient: gradient(th)[..., j])(theta)
    return jac, hess


def _jacobian(fn, theta, size):
    jac = np.empty(theta.shape[:-1] + (size, theta.shape[-1]))
    for p in range(size):
        jac[..., p, :] = elementwise_grad(lambda th, p=p: fn(th)[..., p])(theta)
    return jac


def _potential(model, loss, weight_decay, theta):
    beta = model.predictor(theta)
    value = np.asarray(loss(beta), dtype=float)
    if weight_decay:
        value = value + 0.5 * weight_decay * np.sum(theta**2, axis=-1)
    return value


# ------------------------------------------------------------------------------- theorem 1
def _theorem1(model, loss, temperature, weight_decay, coords):
    closed_form = coords.to_chart is None

    def log_density(c):
        c = c.reshape(len(c), -1)
        theta = coords.slice_point(c)
        log_p = -_potential(model, loss, weight_decay, theta) / temperature
        if closed_form:
            # (T/2) log det G_C - T log sqrt det g_S, closed forms of the zoo
            bias = implicit_bias_of_predictor(model, coords.beta(c), temperature, "predictor")
            return log_p - bias / temperature
        jac = _jacobian(coords.phi, theta, coords.size)
        _, log_cometric = np.linalg.slogdet(jac @ np.swapaxes(jac, -1, -2))
        return (log_p - 0.5 * model.gauge.log_det_constraint_gram(theta) - 0.5 * log_cometric
                + log_residual_orbit_volume(model, theta))

    return log_density


# ------------------------------------------------------------------------------ Itô route
class _ItoField:
    """``grad log p = D^{-1}(a - div D)`` at chart points, vectorised over points."""

    def __init__(self, model, loss, temperature, noise, weight_decay, coords):
        self.model, self.noise, self.coords = model, noise, coords
        self.temperature = temperature
        self.force = Force(model, loss, weight_decay)

    def __call__(self, c):
        """Field at ``c`` (n, m); returns ``(n, m)``."""
        coords, model, temperature = self.coords, self.model, self.temperature
        theta = coords.slice_point(c)
        jac, hess = _jacobian_hessian(coords.phi, theta, coords.size)
        if coords.to_chart is None:
            beta_jac, beta_hess = jac, hess
        else:
            beta_jac, beta_hess = _jacobian_hessian(coords.beta_phi, theta, model.beta_size)
        # slice tangent: J V = I, J_chi V = 0 (minimum norm: orthogonal to residual symmetries)
        constraint = np.concatenate([jac, model.gauge.chi_jacobian(theta)], axis=-2)
        rhs = np.zeros(constraint.shape[-2:-1] + (coords.size,))
        rhs[: coords.size] = np.eye(coords.size)
        tangent = np.linalg.pinv(constraint) @ rhs  # (n, D, m)
        derivatives = CoordinateDerivatives(theta, jac, hess, tangent, beta_jac, beta_hess)
        _, drift, _ = self.force(theta)
        a = np.einsum("...pd,...d->...p", jac, drift) + temperature * self.noise.trace_hessian(
            model, derivatives)
        cometric = self.noise.cometric(model, derivatives)
        div = self.noise.cometric_divergence(model, derivatives)
        with np.errstate(invalid="ignore", divide="ignore"):
            try:
                return np.linalg.solve(cometric, (a / temperature - div)[..., None])[..., 0]
            except np.linalg.LinAlgError:
                # a degenerate orbit somewhere in the batch: NaN there, values elsewhere
                return (np.linalg.pinv(cometric) @ (a / temperature - div)[..., None])[..., 0] \
                    + np.where(np.linalg.matrix_rank(cometric) < coords.size, np.nan, 0.0)[
                        ..., None]

    def curl(self, points, step=1e-6):
        """Relative antisymmetric part of the field's Jacobian at ``points`` (n, m), by central differences.

        Returns
        -------
        curl : ndarray, shape (n,)
            ``|A - A^T| / (2 |A|)`` per point (0 for a gradient field, up to ~1e-6 of rounding).
        """
        points = np.asarray(points, dtype=float).reshape(len(points), -1)
        m = points.shape[-1]
        h = step * (1.0 + np.abs(points))
        columns = []
        for j in range(m):
            shift = np.zeros_like(points)
            shift[:, j] = h[:, j]
            columns.append((self(points + shift) - self(points - shift)) / (2 * h[:, j:j + 1]))
        jacobian = np.stack(columns, axis=-1)
        anti = jacobian - np.swapaxes(jacobian, -1, -2)
        return np.linalg.norm(anti, axis=(-2, -1)) / (2 * np.linalg.norm(jacobian, axis=(-2, -1)))


def _line_integral(field, reference, n_nodes, chunk=4096):
    nodes, weights = np.polynomial.legendre.leggauss(n_nodes)
    nodes, weights = 0.5 * (nodes + 1.0), 0.5 * weights

    def log_density(c):
        c = c.reshape(len(c), -1)
        out = np.empty(len(c))
        for start in range(0, len(c), chunk):
            block = c[start:start + chunk]
            delta = block - reference
            path = reference + nodes[:, None, None] * delta  # (q, n, m)
            values = field(path.reshape(-1, block.shape[-1])).reshape(path.shape)
            out[start:start + chunk] = np.einsum("q,qnm,nm->n", weights, values, delta)
        return out

    return log_density


def _default_reference(shape):
    if len(shape) == 2:
        return np.eye(*shape)
    return np.ones(shape)


def _ito(model, loss, temperature, noise, weight_decay, coords, reference, n_nodes, info):
    if coords.to_chart is None and model.predictor_rank < coords.size:
        raise ValueError(
            f"the predictor of {model!r} moves on a {model.predictor_rank}-dimensional manifold "
            f"inside R^{coords.size}: the Itô route needs full-rank coordinates; pass "
            "coordinates=(to_chart, from_chart) with a chart of that manifold")
    field = _ItoField(model, loss, temperature, noise, weight_decay, coords)
    reference = np.asarray(_default_reference(coords.shape) if reference is None else reference,
                           dtype=float).reshape(1, -1)
    if reference.shape[-1] != coords.size:
        raise ValueError(f"reference must have shape {coords.shape}; got {np.shape(reference)}")
    if not np.all(np.isfinite(field(reference))):
        raise ValueError(f"the Itô field is singular at the reference point {reference.ravel()}; "
                         "pass reference= a regular predictor in the region of interest")
    if coords.size > 1:
        rng = np.random.default_rng(0)
        probes = reference + 0.1 * (1.0 + np.abs(reference)) * rng.standard_normal(
            (8, coords.size))
        curl = float(np.nanmax(field.curl(probes)))
        info["curl_near_reference"] = curl
        if curl > 1e-4:
            warnings.warn(f"the Itô field has relative curl {curl:.2e} near the reference: no "
                          "stationary potential exists (the law carries a probability flux); the "
                          "line integral is not path-independent", NonConservativeWarning,
                          stacklevel=3)
    else:
        info["curl_near_reference"] = 0.0
    info["reference"] = reference.reshape(coords.shape).tolist()
    log_density = _line_integral(field, reference[0], n_nodes)
    return log_density, field


# ---------------------------------------------------------------------------- fibre integral
def _fibre(model, loss, temperature, weight_decay, coords, fibre_range, fibre_points, info):
    action = model.action
    k = action.dim
    if k <= 2:
        n_axis = fibre_points or (401 if k == 1 else 121)
        axis = np.linspace(-fibre_range, fibre_range, n_axis)
        nodes = np.stack(np.meshgrid(*([axis] * k), indexing="ij"), axis=-1).reshape(-1, k)
        log_weights = np.full(len(nodes), k * np.log(axis[1] - axis[0]))
        info["fibre_quadrature"] = f"trapezoid, {n_axis}^{k} nodes on [-{fibre_range}, {fibre_range}]"
    else:
        n_nodes = fibre_points or 4096
        # Common standard normals for every beta keep the estimate smooth in beta. Each beta gets a
        # Laplace proposal: the balanced point minimises |theta|^2 along its orbit, with Hessian
        # ~ 2 Gram in the group coordinates, so c ~ N(0, (T / (2 lam)) Gram^{-1}), widened 1.5x.
        nodes = np.random.default_rng(0).standard_normal((n_nodes, k))
        log_weights = (0.5 * np.sum(nodes**2, axis=-1) + 0.5 * k * np.log(2 * np.pi)
                       - np.log(n_nodes))
        info["fibre_quadrature"] = (f"importance sampling, {n_nodes} nodes from a Laplace "
                                    "(Gaussian) proposal around the balanced point")

    chunk = max(1, 200_000 // len(nodes))

    def group_coordinates(base):
        """Nodes ``(n, q, k)`` and log weights ``(n, q)`` for base points ``(n, D)``."""
        if k <= 2:
            return (np.broadcast_to(nodes, (len(base),) + nodes.shape),
                    np.broadcast_to(log_weights, (len(base), len(nodes))))
        xi = action.generators(base)
        covariance = 1.5**2 * temperature / (2 * weight_decay) * np.linalg.inv(
            xi @ np.swapaxes(xi, -1, -2))
        factor = np.linalg.cholesky(covariance)  # (n, k, k)
        log_det = np.sum(np.log(np.diagonal(factor, axis1=-2, axis2=-1)), axis=-1)
        return (np.einsum("nab,qb->nqa", factor, nodes), log_weights + log_det[:, None])

    def log_density(c):
        c = c.reshape(len(c), -1)
        out = np.empty(len(c))
        for start in range(0, len(c), chunk):
            base = coords.slice_point(c[start:start + chunk])  # (n, D)
            n = len(base)
            algebra, weights = group_coordinates(base)
            algebra = algebra.reshape(-1, k)
            anchor = np.repeat(base, len(nodes), axis=0)
            theta = action.act_algebra(algebra, anchor)
            orbit_map = make_jvp(lambda a, anchor=anchor: action.act_algebra(a, anchor))(algebra)
            tangents = np.stack([orbit_map(np.eye(k)[a] + 0 * algebra)[1] for a in range(k)], -1)
            _, log_volume = np.linalg.slogdet(np.swapaxes(tangents, -1, -2) @ tangents)
            jac = _jacobian(coords.phi, theta, coords.size)
            _, log_cometric = np.linalg.slogdet(jac @ np.swapaxes(jac, -1, -2))
            terms = (-_potential(model, loss, weight_decay, theta) / temperature
                     - 0.5 * log_cometric + 0.5 * log_volume + weights.reshape(-1))
            terms = terms.reshape(n, len(nodes))
            out[start:start + chunk] = logsumexp(terms, axis=-1)
            if k <= 2:
                edge = np.max(np.abs(nodes), axis=-1) >= fibre_range * (1 - 1e-12)
                share = np.exp(logsumexp(terms[:, edge], axis=-1) - out[start:start + chunk])
                if np.any(share > 1e-8):
                    warnings.warn(f"the fibre integrand is not negligible at |c| = {fibre_range} "
                                  f"(share {np.max(share):.1e}); increase fibre_range",
                                  RuntimeWarning, stacklevel=3)
        return out

    return log_density


# ------------------------------------------------------------------------------- front door
def stationary_density(model, loss, temperature, noise="isotropic", gauge_fixing=True,
                       weight_decay=0.0, method="theorem1", coordinates=None, reference=None,
                       n_nodes=48, fibre_range=6.0, fibre_points=None):
    """The predicted stationary density of the predictor.

    Parameters
    ----------
    model : Model
        Must have ``balanced(beta)`` (all zoo models; a ``Custom`` model when given one).
    loss : callable
        ``loss(beta) -> (n,)`` written with ``autograd.numpy``.
    temperature : float
        ``T > 0``.
    noise : {"isotropic", "horizontal", "label"}
    gauge_fixing : bool
    weight_decay : float
    method : {"theorem1", "ito", "fibre"}
    coordinates : (callable, callable), optional
        ``(to_chart, from_chart)``: chart coordinates of the predictor manifold when it is lower
        dimensional than ``beta`` (e.g. an angle on the circle of ``ScaleInvariant(2)``). The density
        is then with respect to ``dc``.
    reference : array_like, optional
        Itô route: the point where the potential is 0 (default: ones, or the identity matrix).
    n_nodes : int
        Itô route: Gauss–Legendre nodes of the line integral.
    fibre_range : float
        Fibre route: half-width of the box of group coordinates.
    fibre_points : int, optional
        Fibre route: nodes per axis (k <= 2) or importance samples (k > 2).

    Returns
    -------
    density : Density
        ``density.logpdf(beta)``, unnormalised, with ``density.info`` stating the assumptions.

    Raises
    ------
    ValueError
        Unknown method or noise, non-positive temperature, or dynamics the method does not describe.
    """
    temperature = validate_temperature(temperature)
    if temperature <= 0:
        raise ValueError(f"a stationary density needs temperature > 0; got {temperature}")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid methods: {', '.join(METHODS)}")
    noise_model = get_noise(noise)
    weight_decay = float(weight_decay)
    if not np.isfinite(weight_decay) or weight_decay < 0:
        raise ValueError(f"weight_decay must be finite and non-negative; got {weight_decay!r}")
    coords = _Coordinates(model, coordinates)
    info = {"noise": noise_model.name, "gauge_fixing": bool(gauge_fixing),
            "weight_decay": weight_decay, "temperature": temperature}
    if method == "theorem1":
        if not noise_model.isotropic or not gauge_fixing:
            info["note"] = ("Theorem 1 is derived for isotropic noise with gauge fixing; for these "
                            "dynamics it is the hypothesis under test")
        log_density = _theorem1(model, loss, temperature, weight_decay, coords)
    elif method == "ito":
        if not gauge_fixing and not noise_model.horizontal:
            raise ValueError(
                f"{noise_model.name} noise without gauge fixing leaves the slice (its increments are not "
                "horizontal) and, without weight decay, has no stationary law; use gauge_fixing=True, "
                "or method='fibre' with isotropic noise and weight_decay > 0")
        info["assumption"] = ("theta on the gauge slice" + (" (gauge fixing)" if gauge_fixing else
                              ": the slice must be invariant under these dynamics; check "
                              "Samples.metadata['max_gauge_residual']"))
        log_density, field = _ito(model, loss, temperature, noise_model, weight_decay, coords,
                                  reference, n_nodes, info)
        density = Density(log_density, coords.shape, method, info)
        density.field = field
        return density
    else:
        if gauge_fixing or not noise_model.isotropic:
            raise ValueError("method 'fibre' describes isotropic noise without gauge fixing (the "
                             "full Gibbs law); set noise='isotropic', gauge_fixing=False")
        if weight_decay <= 0:
            raise ValueError("method 'fibre' needs weight_decay > 0: without it the Gibbs law "
                             "exp(-L/T) is not normalisable along non-compact orbits")
        log_density = _fibre(model, loss, temperature, weight_decay, coords, fibre_range,
                             fibre_points, info)
    return Density(log_density, coords.shape, method, info)
