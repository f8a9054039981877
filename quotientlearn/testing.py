"""Public checks a user runs on their own model: every geometric identity, as readable residuals.

>>> import quotientlearn as ql
>>> report = ql.testing.check_model(ql.models.Hadamard(3), seed=0)
>>> report.passed
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import autograd.numpy as anp
import numpy as np
from autograd import grad

from quotientlearn.bundle import generic_vertical_projection
from quotientlearn.groups.base import GroupAction, autograd_generators, log_det_psd
from quotientlearn.models.base import Model
from quotientlearn.models.custom import action_leaves_space, invariance_violation
from quotientlearn.validation import rng_from_seed

__all__ = ["ModelReport", "check_model"]


@dataclass
class ModelReport:
    """Residuals of the geometric identities of one model (each relative, dimensionless).

    Attributes
    ----------
    model : str
    residuals : dict of str to float
        Largest relative violation of each identity over the sampled points.
    skipped : dict of str to str
        Checks that do not apply, with the reason.
    notes : dict of str to str
        Facts about the model that are not failures (an isometric action; a predictor invariant under
        more than the action, declared through the bundle's submersion and ``predictor_rank``).
    tol : float

    Examples
    --------
    >>> import quotientlearn as ql
    >>> report = ql.testing.check_model(ql.models.Hadamard(dim=2))
    >>> report.passed, len(report.residuals) > 10
    (True, True)
    >>> report.raise_if_failed()  # silent when every check passes
    """

    model: str
    residuals: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)
    tol: float = 1e-10

    @property
    def failures(self):
        """Names of the checks whose residual exceeds ``tol`` (or is not finite)."""
        return [name for name, value in self.residuals.items() if not value <= self.tol]

    @property
    def passed(self):
        """Whether every check passed."""
        return not self.failures

    def __str__(self):
        lines = [f"check_model({self.model}), tolerance {self.tol:.0e}"]
        for name, value in self.residuals.items():
            verdict = "ok" if value <= self.tol else "FAIL"
            lines.append(f"  {name:<46s} {value:10.2e}  {verdict}")
        for name, reason in self.skipped.items():
            lines.append(f"  {name:<46s} {'skipped':>10s}  ({reason})")
        for name, text in self.notes.items():
            lines.append(f"  note: {name}: {text}")
        return "\n".join(lines)

    def raise_if_failed(self):
        """Raise ``AssertionError`` listing the failed checks."""
        if not self.passed:
            raise AssertionError(str(self))


def _relative(error, scale):
    return float(np.max(np.abs(error), initial=0.0) / (1e-300 + np.max(np.abs(scale), initial=0.0)))


def _rank(matrices, rtol=1e-8):
    """Numerical ranks of a stack of matrices, shape ``(...,)``."""
    singular = np.linalg.svd(matrices, compute_uv=False)
    if singular.shape[-1] == 0:
        return np.zeros(singular.shape[:-1], dtype=int)
    return np.sum(singular > rtol * np.max(singular, axis=-1, keepdims=True), axis=-1)


def check_model(model, seed=0, n_points=5, tol=1e-10, generic_gauge_max_dim=80):
    """Check a model's geometry at random points and return a :class:`ModelReport`.

    The checks: the action keeps points on the manifold and the predictor invariant; generators against
    autograd, tangent to the manifold; Gram ``g(xi_a, xi_b)`` against the generators; projections
    idempotent, complementary and ``g``-orthogonal; generators vertical; gradients of an invariant loss
    horizontal; the kernel of the bundle's submersion against the orbit directions and the predictor's
    rank against ``predictor_rank`` (a predictor invariant under more than the action has fibres larger
    than the orbits: vertical is then not ``ker dphi``); gauge projection keeps the predictor and zeroes
    ``chi`` (closed form and Newton); ``balanced`` inverts the predictor on the slice; closed-form
    constraint log-det and slice bias against ``J_chi g^{-1} J_chi^T`` and the generic moment map;
    predictor Jacobian and pull-back against autograd (their tangential parts on a curved space).

    Parameters
    ----------
    model : Model
    seed : int
    n_points : int
    tol : float
        Relative tolerance for ``report.passed``.
    generic_gauge_max_dim : int
        Skip the dense generic moment map (``k D^2`` memory) above this ``D``.

    Returns
    -------
    report : ModelReport

    Examples
    --------
    >>> import quotientlearn as ql
    >>> report = ql.testing.check_model(ql.models.Hadamard(dim=3), seed=0)
    >>> report.passed, report.failures
    (True, [])
    """
    rng = rng_from_seed(seed)
    report = ModelReport(model=repr(model), tol=tol)
    res = report.residuals
    action, bundle, gauge, space = model.action, model.bundle, model.gauge, model.space
    flat = space.flatten
    theta = model.sample((n_points,), rng)
    vector = space.to_tangent(rng.standard_normal(theta.shape), theta)
    beta = model.predictor(theta)
    expanded = np.expand_dims(theta, 1)

    def scale_of(points):
        return 1.0 + np.sum(flat(points) ** 2, axis=-1, keepdims=True)

    res["predictor invariance under act"] = invariance_violation(model, n_points, rng)[0]
    res["action keeps the manifold"] = action_leaves_space(model, n_points, rng)[0]

    xi = action.generators(theta)
    xi_flat = space.flatten_batch(xi)
    auto_xi = space.flatten_batch(autograd_generators(action, theta))
    res["generators vs autograd"] = _relative(xi_flat - auto_xi, xi_flat)
    res["generators tangent to the manifold"] = _relative(
        xi_flat - space.flatten_batch(space.to_tangent(xi, expanded)), 1.0 + np.abs(xi_flat))
    lowered = space.flatten_batch(space.lower_index(xi, expanded))
    gram = bundle.gram(theta)
    res["gram vs generators"] = _relative(gram - xi_flat @ np.swapaxes(lowered, -1, -2), gram)

    horizontal = bundle.horizontal_projection(vector, theta)
    vertical = bundle.vertical_projection(vector, theta)
    res["horizontal projection idempotent"] = _relative(
        bundle.horizontal_projection(horizontal, theta) - horizontal, vector)
    res["vertical projection idempotent"] = _relative(
        bundle.vertical_projection(vertical, theta) - vertical, vector)
    res["vertical projection vs generic"] = _relative(
        flat(vertical) - generic_vertical_projection(xi_flat, flat(vector), lowered), flat(vector))
    res["projections complementary"] = _relative(horizontal + vertical - vector, vector)
    norms = np.sqrt(np.einsum("...ad,...ad->...a", xi_flat, lowered))
    vector_norm = np.sqrt(space.inner_product(vector, vector, theta))[..., None]
    res["horizontal g-orthogonal to vertical"] = _relative(
        np.einsum("...ad,...d->...a", lowered, flat(horizontal)), norms * vector_norm)
    if action.dim:
        res["generators are vertical"] = _relative(
            np.stack([flat(bundle.horizontal_projection(xi[:, a], theta)) for a in range(action.dim)],
                     axis=-2), xi_flat)
    else:
        report.skipped["generators are vertical"] = "the trivial group (dim 0) has no generators"

    def invariant_loss(th):
        b = model.traceable_predictor(th)
        return anp.sum(anp.sin(b) + 0.5 * b**2)

    # <xi_a, grad> is g(xi_a, K grad): the Riemannian gradient is horizontal in any metric
    gradient = flat(grad(invariant_loss)(theta))
    res["invariant-loss gradient horizontal"] = _relative(
        np.einsum("...ad,...d->...a", xi_flat, gradient),
        np.linalg.norm(xi_flat, axis=-1) * np.linalg.norm(gradient, axis=-1, keepdims=True))

    # fibres: the kernel of the bundle's submersion on the tangent space must be the orbit directions
    basis = space.tangent_basis(theta)  # (n, D, dim)
    orbit_dim = _rank(xi_flat)
    kernel_dim = space.dim - _rank(bundle.submersion_jacobian(theta) @ basis)
    res["ker d(submersion) = orbit directions (dim)"] = float(np.max(np.abs(kernel_dim - orbit_dim)))
    predictor_rank = _rank(model.predictor_jacobian(theta) @ basis)
    res["predictor rank: measured vs declared"] = float(np.max(np.abs(predictor_rank
                                                                     - model.predictor_rank)))
    fibre_dim = int(np.max(space.dim - predictor_rank))
    if fibre_dim > int(np.max(orbit_dim)):
        report.notes["fibres larger than orbits"] = (
            f"the predictor's fibres have dimension {fibre_dim} but the orbits {int(np.max(orbit_dim))}: "
            "the predictor is invariant under a larger group than the action, so a vector tangent to a "
            "fibre need not be vertical (vertical = tangent to the orbit of the action); the bundle's "
            "submersion is the quotient map by the action"
            + ("" if not bundle.submersion_is_predictor else " (NOT declared: see the check above)"))
    if not space.is_flat and action.dim:
        defect = bundle.isometry_defect(rng=rng)
        report.notes["isometry"] = (f"the action is {'' if defect <= 1e-8 else 'not '}an isometry of "
                                    f"the metric (relative defect {defect:.1e})")

    projected = gauge.project(theta)
    res["gauge projection keeps predictor"] = _relative(model.predictor(projected) - beta,
                                                        1.0 + np.abs(beta))
    res["gauge projection zeroes chi"] = _relative(gauge.chi(projected), scale_of(projected))
    res["gauge projection stays on the manifold"] = float(np.max(space.membership_residual(projected)))
    newton = gauge.newton_project(theta)
    res["Newton projection keeps predictor"] = _relative(model.predictor(newton) - beta,
                                                         1.0 + np.abs(beta))
    res["Newton projection zeroes chi"] = _relative(gauge.chi(newton), scale_of(newton))

    jac = model.predictor_jacobian(theta)
    res["predictor jacobian vs autograd"] = _relative(
        (jac - Model.predictor_jacobian(model, theta)) @ basis, jac @ basis)
    cotangent = rng.standard_normal(np.shape(beta))
    closed_beta, closed_pullback = model.predictor_and_pullback(theta)
    auto_beta, auto_pullback = Model.predictor_and_pullback(model, theta)
    # on a curved space only the tangential part of a Euclidean gradient is defined
    closed_back = space.to_tangent(closed_pullback(cotangent), theta)
    auto_back = space.to_tangent(auto_pullback(cotangent), theta)
    res["predictor and pull-back vs autograd"] = max(
        _relative(closed_beta - auto_beta, 1.0 + np.abs(auto_beta)),
        _relative(closed_back - auto_back, auto_back))

    try:
        lifted = model.balanced(beta)
    except NotImplementedError as exc:
        report.skipped["balanced(beta)"] = str(exc)
        lifted = projected
    else:
        res["balanced(beta) has predictor beta"] = _relative(model.predictor(lifted) - beta,
                                                             1.0 + np.abs(beta))
        res["balanced(beta) on the slice"] = _relative(gauge.chi(lifted), scale_of(lifted))

    closed = gauge.log_det_constraint_gram(lifted)
    res["log det G_C: closed vs J_chi K J_chi^T"] = _relative(
        closed - log_det_psd(gauge.constraint_gram(lifted)), 1.0 + np.abs(closed))
    if "balanced(beta)" not in report.skipped:
        res["log det G_C on slice: closed vs gauge"] = _relative(
            model.log_det_gram_on_slice(model.predictor(lifted)) - closed, 1.0 + np.abs(closed))
    if gauge.is_moment_map and model.dim <= generic_gauge_max_dim:
        generic_jac = GroupAction.moment_map_jacobian(action, lifted)
        cometric = space.cometric(lifted)
        generic = log_det_psd(generic_jac @ cometric @ np.swapaxes(generic_jac, -1, -2))
        res["log det G_C: closed vs generic moment map"] = _relative(closed - generic,
                                                                    1.0 + np.abs(closed))
    elif gauge.is_moment_map:
        report.skipped["generic moment map"] = f"D = {model.dim} > {generic_gauge_max_dim}"
    return report
