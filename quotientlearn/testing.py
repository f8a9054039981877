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
from quotientlearn.models.custom import invariance_violation
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
            lines.append(f"  {name:<42s} {value:10.2e}  {verdict}")
        for name, reason in self.skipped.items():
            lines.append(f"  {name:<42s} {'skipped':>10s}  ({reason})")
        return "\n".join(lines)

    def raise_if_failed(self):
        """Raise ``AssertionError`` listing the failed checks."""
        if not self.passed:
            raise AssertionError(str(self))


def _relative(error, scale):
    return float(np.max(np.abs(error), initial=0.0) / (1e-300 + np.max(np.abs(scale), initial=0.0)))


def check_model(model, seed=0, n_points=5, tol=1e-10, generic_gauge_max_dim=80):
    """Check a model's geometry at random points and return a :class:`ModelReport`.

    The checks: predictor invariance under ``act``; generators against autograd; Gram against the
    generators; projections idempotent, complementary and orthogonal; generators vertical; gradients of
    an invariant loss horizontal; gauge projection keeps the predictor and zeroes ``chi`` (closed form
    and Newton); ``balanced`` inverts the predictor on the slice; closed-form constraint log-det and
    slice bias against the generic moment map; predictor Jacobian and pull-back against autograd.

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
    action, bundle, gauge = model.action, model.bundle, model.gauge
    theta = model.sample((n_points,), rng)
    vector = rng.standard_normal(theta.shape)
    beta = model.predictor(theta)

    res["predictor invariance under act"] = invariance_violation(model, n_points, rng)[0]

    xi = action.generators(theta)
    res["generators vs autograd"] = _relative(xi - autograd_generators(action, theta), xi)
    res["gram vs generators"] = _relative(bundle.gram(theta) - xi @ np.swapaxes(xi, -1, -2),
                                          bundle.gram(theta))

    horizontal = bundle.horizontal_projection(vector, theta)
    vertical = bundle.vertical_projection(vector, theta)
    res["horizontal projection idempotent"] = _relative(
        bundle.horizontal_projection(horizontal, theta) - horizontal, vector)
    res["vertical projection idempotent"] = _relative(
        bundle.vertical_projection(vertical, theta) - vertical, vector)
    res["vertical projection vs generic"] = _relative(
        vertical - generic_vertical_projection(xi, vector), vector)
    res["projections complementary"] = _relative(horizontal + vertical - vector, vector)
    res["horizontal orthogonal to vertical"] = _relative(
        np.einsum("...ad,...d->...a", xi, horizontal),
        np.linalg.norm(xi, axis=-1) * np.linalg.norm(vector, axis=-1, keepdims=True))
    if action.dim:
        res["generators are vertical"] = _relative(
            np.stack([bundle.horizontal_projection(xi[..., a, :], theta) for a in range(action.dim)],
                     axis=-2), xi)
    else:
        report.skipped["generators are vertical"] = "the trivial group (dim 0) has no generators"

    def invariant_loss(th):
        b = model.traceable_predictor(th)
        return anp.sum(anp.sin(b) + 0.5 * b**2)

    gradient = grad(invariant_loss)(theta)
    res["invariant-loss gradient horizontal"] = _relative(
        np.einsum("...ad,...d->...a", xi, gradient),
        np.linalg.norm(xi, axis=-1) * np.linalg.norm(gradient, axis=-1, keepdims=True))

    projected = gauge.project(theta)
    res["gauge projection keeps predictor"] = _relative(model.predictor(projected) - beta,
                                                        1.0 + np.abs(beta))
    res["gauge projection zeroes chi"] = _relative(
        gauge.chi(projected), 1.0 + np.sum(projected**2, axis=-1, keepdims=True))
    newton = gauge.newton_project(theta)
    res["Newton projection keeps predictor"] = _relative(model.predictor(newton) - beta,
                                                         1.0 + np.abs(beta))
    res["Newton projection zeroes chi"] = _relative(
        gauge.chi(newton), 1.0 + np.sum(newton**2, axis=-1, keepdims=True))

    jac = model.predictor_jacobian(theta)
    res["predictor jacobian vs autograd"] = _relative(jac - Model.predictor_jacobian(model, theta),
                                                      jac)
    cotangent = rng.standard_normal(np.shape(beta))
    closed_beta, closed_pullback = model.predictor_and_pullback(theta)
    auto_beta, auto_pullback = Model.predictor_and_pullback(model, theta)
    res["predictor and pull-back vs autograd"] = max(
        _relative(closed_beta - auto_beta, 1.0 + np.abs(auto_beta)),
        _relative(closed_pullback(cotangent) - auto_pullback(cotangent),
                  auto_pullback(cotangent)))

    try:
        lifted = model.balanced(beta)
    except NotImplementedError as exc:
        report.skipped["balanced(beta)"] = str(exc)
        lifted = projected
    else:
        res["balanced(beta) has predictor beta"] = _relative(model.predictor(lifted) - beta,
                                                             1.0 + np.abs(beta))
        res["balanced(beta) on the slice"] = _relative(
            gauge.chi(lifted), 1.0 + np.sum(lifted**2, axis=-1, keepdims=True))

    closed = gauge.log_det_constraint_gram(lifted)
    res["log det G_C: closed vs J_chi J_chi^T"] = _relative(
        closed - log_det_psd(gauge.constraint_gram(lifted)), 1.0 + np.abs(closed))
    if "balanced(beta)" not in report.skipped:
        res["log det G_C on slice: closed vs gauge"] = _relative(
            model.log_det_gram_on_slice(model.predictor(lifted)) - closed, 1.0 + np.abs(closed))
    if gauge.is_moment_map and model.dim <= generic_gauge_max_dim:
        generic_jac = GroupAction.moment_map_jacobian(action, lifted)
        generic = log_det_psd(generic_jac @ np.swapaxes(generic_jac, -1, -2))
        res["log det G_C: closed vs generic moment map"] = _relative(closed - generic,
                                                                    1.0 + np.abs(closed))
    elif gauge.is_moment_map:
        report.skipped["generic moment map"] = f"D = {model.dim} > {generic_gauge_max_dim}"
    return report
