"""Fit a family's member to a target bias with pymanopt (docs/theory.md section 5).

The objective is ``Var_j[log det G_psi(beta_j) - R(beta_j)]`` over reference predictors ``beta_j``
(the variance removes the free constant; the bias at temperature ``T`` is ``T/2`` times the
log-determinant, so ``T`` only rescales the objective and is left out). pymanopt differentiates it in
``psi`` with its autograd backend, through the family's Gram log-determinant.

Why a smoothing schedule: the log-determinant is ``-inf`` wherever a reference point lies on a
degenerate orbit of the member (for ``beta = B^T (u * v)``: wherever a row of ``B`` is orthogonal to
some ``beta_j``). Those walls cut ``psi``-space into cells in which a local solver is trapped: from random
starts plain Riemannian descent recovers an 8 x 8 basis in none of ten tries. Replacing ``log det G``
by ``(1/2) log det(G^2 + eps^2 I)`` removes the walls; ``eps`` is lowered along a schedule, each stage
warm-started from the last, and the final stage is always the exact objective (``eps = 0``).
"""

from __future__ import annotations

import copy
import time
import warnings
from dataclasses import dataclass, field

import autograd.numpy as anp
import numpy as np
import pymanopt
from autograd.tracer import getval
from pymanopt.optimizers import ConjugateGradient, SteepestDescent, TrustRegions
from pymanopt.optimizers.line_search import BackTrackingLineSearcher
from pymanopt.optimizers.optimizer import Optimizer

from quotientlearn.design.families import Family
from quotientlearn.design.targets import Target
from quotientlearn.spaces import as_batch

__all__ = ["DEFAULT_SMOOTHING", "SOLVERS", "DesignMismatchWarning", "DesignResult", "fit"]

#: Smoothing schedule, relative to the typical Gram eigenvalue at the start; the exact stage follows.
DEFAULT_SMOOTHING = (3.0, 1.0, 0.3, 0.1, 0.03, 0.01, 1e-3)


def _conjugate_gradient(**options):
    # pymanopt's default adaptive line search gives up after ten halvings of a unit-length trial
    # step, which stalls CG about 1e-5 away from an exact optimum; backtracking from the last
    # decrease keeps converging.
    return ConjugateGradient(line_searcher=BackTrackingLineSearcher(), **options)


#: Accepted solver names and the pymanopt optimiser each one builds.
SOLVERS = {
    "steepest-descent": SteepestDescent,
    "conjugate-gradient": _conjugate_gradient,
    "trust-regions": TrustRegions,
}


class DesignMismatchWarning(UserWarning):
    """The fitted member does not express the target: its held-out residual is large.

    Examples
    --------
    >>> import quotientlearn as ql
    >>> issubclass(ql.design.DesignMismatchWarning, UserWarning)
    True
    """


@dataclass
class DesignResult:
    """Outcome of :func:`fit`.

    Attributes
    ----------
    psi : ndarray
        The fitted point of the family's manifold.
    model : Model or None
        The member of the family at ``psi``; ``None`` (with a :class:`DesignMismatchWarning`) when
        the family has no member there (e.g. a singular mixing).
    family : Family
    solver : str
    cost : float
        Exact objective ``Var_j[log det G - R]`` on the fitting points at ``psi``.
    history : ndarray, shape (n_evaluations,)
        Best objective so far after every cost evaluation, stage by stage (smoothed stages
        included; each stage's running minimum restarts, since its objective differs). The same
        record for every solver (pymanopt's trust regions log no iterates).
    stages : list of dict
        Per stage: ``smoothing`` (absolute), ``iterations``, ``cost`` (of that stage's objective),
        ``exact_cost`` and ``stopping_criterion``.
    residual : float
        Standard deviation of ``log det G - R`` over the held-out points: the bias mismatch in units
        of ``T/2`` once the constant is removed.
    relative_residual : float
        ``residual`` over the standard deviation of ``R`` on the held-out points.
    offset : float
        Mean of ``log det G - R`` on the held-out points (the free constant).
    expressible : bool
        ``relative_residual <= tolerance``.
    seconds : float
    degenerate_held_out : ndarray of int
        Held-out points on degenerate orbits of the fitted member (left out of the residual).

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> family = ql.design.OrthogonalBasis(3)
    >>> target = ql.design.make_target(("sparse_in_basis", family.random_point(np.random.default_rng(0))))
    >>> result = ql.design.fit(family, target, ql.design.well_conditioned_reference(target, 128, rng=1),
    ...                        "trust-regions", seed=0)
    >>> result.model, result.psi.shape, result.expressible
    (BasisHadamard(D=6, k=3, beta_shape=(3,)), (3, 3), True)
    """

    psi: np.ndarray
    model: object
    family: Family
    solver: str
    cost: float
    history: np.ndarray
    stages: list
    residual: float
    relative_residual: float
    offset: float
    expressible: bool
    seconds: float
    degenerate_held_out: np.ndarray = field(default_factory=lambda: np.zeros(0, int))

    def summary(self):
        """A dict of the scalar outcomes, for reports."""
        return {"solver": self.solver, "cost": self.cost, "residual": self.residual,
                "relative_residual": self.relative_residual, "offset": self.offset,
                "expressible": self.expressible, "seconds": self.seconds,
                "iterations": int(sum(stage["iterations"] for stage in self.stages)),
                "cost_evaluations": int(self.history.size)}


def _resolve_solver(solver):
    if isinstance(solver, Optimizer):
        if not isinstance(solver, SteepestDescent | ConjugateGradient | TrustRegions):
            raise ValueError("solver must be a pymanopt SteepestDescent, ConjugateGradient or "
                             f"TrustRegions; got {type(solver).__name__}")
        return type(solver).__name__, lambda **options: copy.deepcopy(solver)
    key = str(solver).lower().replace("_", "-").replace(" ", "-")
    aliases = {"steepestdescent": "steepest-descent", "conjugategradient": "conjugate-gradient",
               "trustregions": "trust-regions", "sd": "steepest-descent",
               "cg": "conjugate-gradient", "tr": "trust-regions"}
    key = aliases.get(key, key)
    if key not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; choose one of {', '.join(SOLVERS)} (or pass "
                         "a pymanopt SteepestDescent, ConjugateGradient or TrustRegions instance)")
    return key, SOLVERS[key]


def _regulariser(target, family):
    if isinstance(target, Target):
        if target.beta_shape != family.beta_shape:
            raise ValueError(f"the target's beta has shape {target.beta_shape} but the family's has "
                             f"{family.beta_shape}")
        return target.regulariser
    if callable(target):
        return target
    raise ValueError("target must be a Target (see ql.design.make_target) or a callable "
                     f"R(beta) -> (...,); got {type(target).__name__}")


def _points(points, family, name):
    points = as_batch(points, family.beta_shape, name)
    if points.ndim != len(family.beta_shape) + 1:
        raise ValueError(f"{name} must have shape (N, {', '.join(map(str, family.beta_shape))}); "
                         f"got {points.shape}")
    return points


def _listed(indices, limit=10):
    shown = ", ".join(str(int(i)) for i in indices[:limit])
    return f"[{shown}{', ...' if len(indices) > limit else ''}] ({len(indices)} in all)"


def _target_values(regulariser, points, name):
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.asarray(regulariser(points), dtype=float)
    if values.shape != points.shape[:1]:
        raise ValueError(f"the target returned shape {values.shape} for {len(points)} {name} "
                         "points; it must return one value per point")
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise ValueError(f"the target is undefined (not finite) at {name} points {_listed(bad)}")
    return values


def _log_det(family, psi, points, smoothing=0.0):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(family.log_det_gram(psi, points, smoothing), dtype=float)


def fit(family, target, reference, solver="trust-regions", *, held_out=None, initial_point=None,
        seed=None, smoothing=DEFAULT_SMOOTHING, max_iterations=300, min_gradient_norm=1e-10,
        tolerance=1e-3):
    """Find the member of ``family`` whose implicit bias best matches ``target``.

    Minimises ``Var_j[log det G_psi(beta_j) - R(beta_j)]`` over the reference points with a pymanopt
    solver, through a schedule of smoothed objectives ending with the exact one (see the module
    docstring for why).

    Parameters
    ----------
    family : Family
    target : Target or callable
        ``R(beta) -> (...,)`` in log-determinant units (the bias is ``(T/2) R``).
    reference : array_like, shape (N, *beta_shape)
        Points the objective is evaluated on. Points where ``R`` is steep are ill-conditioned (see
        :func:`~quotientlearn.design.well_conditioned_reference`).
    solver : str or pymanopt optimiser
        ``"steepest-descent"``, ``"conjugate-gradient"`` or ``"trust-regions"`` (pymanopt's class
        names are accepted too), or an instance of one of those classes.
    held_out : array_like, shape (M, *beta_shape), optional
        Points for the residual. By default a random quarter of ``reference`` is held out.
    initial_point : ndarray, optional
        Start; by default ``family.random_point(seed)``.
    seed : int or numpy.random.Generator, optional
        For the random start and the default held-out split.
    smoothing : sequence of float
        Smoothing levels relative to the typical Gram eigenvalue at the start, decreasing; the exact
        stage is always appended. ``()`` optimises the exact objective only.
    max_iterations : int
        Per stage.
    min_gradient_norm : float
    tolerance : float
        Largest ``relative_residual`` counted as expressing the target; above it a
        :class:`DesignMismatchWarning` is issued.

    Returns
    -------
    DesignResult

    Raises
    ------
    ValueError
        On an unknown solver, badly shaped points, a target undefined at some points, or a family
        whose Gram is singular (degenerate orbits) at reference points for the start (the message
        lists them).

    Examples
    --------
    Recover a hidden orthogonal basis from its sparsity target:

    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> family = ql.design.OrthogonalBasis(3)
    >>> hidden = family.random_point(np.random.default_rng(0))
    >>> target = ql.design.make_target(("sparse_in_basis", hidden))
    >>> reference = ql.design.well_conditioned_reference(target, 128, rng=1)
    >>> result = ql.design.fit(family, target, reference, "trust-regions", seed=0)
    >>> result.expressible, bool(result.relative_residual < 1e-6)
    (True, True)
    >>> bool(np.allclose(np.abs(result.psi @ hidden.T).max(axis=1), 1.0))  # a signed permutation
    True
    """
    if not isinstance(family, Family):
        raise ValueError(f"family must be a ql.design.Family; got {type(family).__name__}")
    solver_name, make_solver = _resolve_solver(solver)
    regulariser = _regulariser(target, family)
    rng = np.random.default_rng(seed)
    smoothing = [float(s) for s in smoothing]
    if any(s <= 0 or not np.isfinite(s) for s in smoothing):
        raise ValueError(f"smoothing levels must be positive and finite; got {smoothing}")
    reference = _points(reference, family, "reference")
    # Checked before any split, so the indices in the messages are the caller's.
    target_values = _target_values(regulariser, reference, "reference")
    psi = np.array(family.random_point(rng) if initial_point is None else initial_point, float)
    start_log_det = _log_det(family, psi, reference)
    degenerate = np.flatnonzero(~np.isfinite(start_log_det))
    if degenerate.size:
        raise ValueError(
            f"the family's Gram is singular (degenerate orbits, bias undefined) at reference points "
            f"{_listed(degenerate)} for the starting psi; remove those points or start elsewhere"
        )
    if held_out is None:
        order = rng.permutation(len(reference))
        n_held = len(reference) // 4
        held_out, target_held = reference[order[:n_held]], target_values[order[:n_held]]
        reference, target_fit = reference[order[n_held:]], target_values[order[n_held:]]
        start_log_det = start_log_det[order[n_held:]]
    else:
        held_out = _points(held_out, family, "held_out")
        target_held = _target_values(regulariser, held_out, "held-out")
        target_fit = target_values
    if len(reference) < 3 or len(held_out) < 2:
        raise ValueError(f"need at least 3 fitting and 2 held-out points; got {len(reference)} and "
                         f"{len(held_out)}")
    if len(reference) <= family.manifold.dim:
        warnings.warn(f"{len(reference)} fitting points for a {family.manifold.dim}-dimensional "
                      "family: the objective is unlikely to identify psi", DesignMismatchWarning,
                      stacklevel=2)
    # Smoothing is relative to the typical Gram eigenvalue, so the schedule is scale-free.
    gram_scale = float(np.exp(np.median(start_log_det) / family.action_dim))

    start = time.perf_counter()
    history, stages = [], []
    for level in [*smoothing, 0.0]:
        epsilon = level * gram_scale
        evaluations = []
        problem = pymanopt.Problem(family.manifold,
                                   _objective(family, reference, target_fit, epsilon, evaluations))
        optimiser = make_solver(max_iterations=max_iterations, min_gradient_norm=min_gradient_norm,
                                verbosity=0)
        # Trial steps onto degenerate orbits make pymanopt divide by zero; the cost reports them.
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            result = optimiser.run(problem, initial_point=psi)
        psi = np.asarray(result.point, dtype=float)
        history.extend(np.minimum.accumulate(evaluations).tolist())
        stages.append({"smoothing": epsilon, "iterations": int(result.iterations),
                       "cost": float(result.cost), "exact_cost": _variance(
                           _log_det(family, psi, reference) - target_fit),
                       "stopping_criterion": result.stopping_criterion})
    seconds = time.perf_counter() - start

    mismatch = _log_det(family, psi, held_out) - target_held
    finite = np.isfinite(mismatch)
    degenerate_held = np.flatnonzero(~finite)
    if degenerate_held.size:
        warnings.warn(f"the fitted member has degenerate orbits at held-out points "
                      f"{_listed(degenerate_held)}; they are left out of the residual",
                      DesignMismatchWarning, stacklevel=2)
    residual = float(np.std(mismatch[finite])) if finite.sum() > 1 else float("inf")
    spread = float(np.std(target_held[finite])) if finite.sum() > 1 else 0.0
    relative = residual / spread if spread > 0 else float("inf")
    expressible = bool(relative <= tolerance)
    if not expressible:
        warnings.warn(
            f"the family does not express the target: held-out residual {residual:.3g} is "
            f"{relative:.3g} of the target's spread (tolerance {tolerance:g}); the design is not a "
            "match", DesignMismatchWarning, stacklevel=2)
    try:
        model = family.model(psi)
    except ValueError as exc:
        warnings.warn(f"no model at the fitted psi: {exc}", DesignMismatchWarning, stacklevel=2)
        model = None
    return DesignResult(
        psi=psi, model=model, family=family, solver=solver_name, cost=stages[-1]["exact_cost"],
        history=np.asarray(history), stages=stages, residual=residual, relative_residual=relative,
        offset=float(np.mean(mismatch[finite])) if finite.any() else float("nan"),
        expressible=expressible, seconds=seconds, degenerate_held_out=degenerate_held)


def _variance(values):
    values = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(values)):
        return float("inf")
    return float(np.var(values))


def _objective(family, reference, target_values, epsilon, evaluations):
    """The stage's cost; appends the value of every (untraced) evaluation to ``evaluations``."""

    @pymanopt.function.autograd(family.manifold)
    def cost(psi):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            mismatch = family.log_det_gram(psi, reference, epsilon) - target_values
            value = anp.mean((mismatch - anp.mean(mismatch)) ** 2)
        # A trial point on a degenerate orbit gives NaN or inf; report +inf so that line searches
        # reject it instead of accepting a NaN comparison.
        raw = getval(value)
        if raw is value:
            evaluations.append(float(raw) if np.isfinite(raw) else np.inf)
        if not np.isfinite(raw):
            return np.inf
        return value

    return cost
