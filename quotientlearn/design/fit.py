"""Fit a family's member to a target bias with pymanopt (docs/theory.md section 5).

Two objectives over reference predictors ``beta_j`` (:mod:`quotientlearn.design.objectives`); the bias
at temperature ``T`` is ``T/2`` times the log-determinant, so ``T`` only rescales them and is left out:

- ``"values"``: ``Var_j[log det G_psi(beta_j) - R(beta_j)]`` (the variance removes the constant);
- ``"gradients"``: ``mean_j |grad log det G_psi(beta_j) - grad R(beta_j)|^2``, the mismatch of the
  drifts the two biases exert. Each point gives ``d`` equations instead of one, so ``O(d)`` points
  identify a ``d x d`` basis where values need ``O(d^2)``.

Why a continuation: the log-determinant is ``-inf`` wherever a reference point lies on a degenerate
orbit of the member (for ``beta = B^T (u * v)``: wherever a row of ``B`` is orthogonal to some
``beta_j``). Those walls cut ``psi``-space into cells in which a local solver is trapped: from random
starts plain Riemannian descent recovers an 8 x 8 basis in none of ten tries. Each objective is first
minimised smoothed, then the smoothing is lowered along a schedule, each stage warm-started from the
last; the final stage is always the exact objective.

- ``"gradients"`` smooths *both* sides by the same Gaussian in ``beta``
  (:mod:`quotientlearn.design.smoothing`): the answer stays an exact zero at every level, so the
  schedule follows it. This is what recovers bases of 16, 32 and 64 dimensions.
- ``"values"`` smooths only the family (``(1/2) log det(G^2 + eps^2 I)``), which any family supports.
  Its smoothed minimisers are not the answer; at ``d = 8`` they lie close enough, at ``d = 16`` they
  do not (measured in ``docs/design.md``).
"""

from __future__ import annotations

import copy
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from pymanopt.optimizers import ConjugateGradient, SteepestDescent, TrustRegions
from pymanopt.optimizers.line_search import BackTrackingLineSearcher
from pymanopt.optimizers.optimizer import Optimizer

from quotientlearn.design.families import Family
from quotientlearn.design.objectives import ChunkedObjective, gradient_terms, value_terms
from quotientlearn.design.smoothing import stein_gradient
from quotientlearn.design.targets import Target
from quotientlearn.memory import map_chunks
from quotientlearn.spaces import as_batch

__all__ = ["DEFAULT_GAUSSIAN_SMOOTHING", "DEFAULT_SMOOTHING", "OBJECTIVES", "SOLVERS",
           "DesignMismatchWarning", "DesignResult", "fit"]

#: Objectives of :func:`fit`.
OBJECTIVES = ("gradients", "values")

#: ``"values"``: Gram smoothing relative to the typical Gram eigenvalue at the start.
DEFAULT_SMOOTHING = (3.0, 1.0, 0.3, 0.1, 0.03, 0.01, 1e-3)

#: ``"gradients"``: Gaussian standard deviations relative to the RMS entry of the reference points.
DEFAULT_GAUSSIAN_SMOOTHING = (3.0, 1.0, 0.3, 0.1)

# Working memory of one reference point's terms under second-order autograd, in units of the
# largest per-point array (the tape keeps every intermediate; forward-over-reverse doubles it).
_TAPE_FACTOR = 48


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
    objective : str
        ``"gradients"`` or ``"values"``.
    cost : float
        The exact objective on the fitting points at ``psi``.
    history : ndarray, shape (n_evaluations,)
        Best objective so far after every cost evaluation, stage by stage (smoothed stages
        included; each stage's running minimum restarts, since its objective differs). The same
        record for every solver (pymanopt's trust regions log no iterates).
    stages : list of dict
        Per stage: ``smoothing`` (absolute: ``eps`` of the Gram for ``"values"``, ``sigma`` in
        ``beta`` for ``"gradients"``), ``iterations``, ``cost`` (of that stage's objective),
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
    objective: str
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
        return {"solver": self.solver, "objective": self.objective, "cost": self.cost,
                "residual": self.residual, "relative_residual": self.relative_residual, "offset": self.offset,
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


def _as_target(target, family):
    if isinstance(target, Target):
        if target.beta_shape != family.beta_shape:
            raise ValueError(f"the target's beta has shape {target.beta_shape} but the family's has "
                             f"{family.beta_shape}")
        return target
    if callable(target):
        return Target("custom", family.beta_shape, target)
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


def _bytes_per_point(family, psi, reference):
    """Working memory of one point's terms: the largest per-point array times the tape factor."""
    slice_dim = int(np.shape(family.balanced(psi, reference[:1]))[-1])
    k, size = family.action_dim, int(np.prod(family.beta_shape))
    return 8.0 * _TAPE_FACTOR * max(k * slice_dim + k * k, slice_dim, size)


def _chunked(evaluate, points, bytes_per_point, memory_budget):
    """``evaluate`` over chunks of ``points`` within the memory budget (degenerate values kept)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return map_chunks(evaluate, points, bytes_per_point, memory_budget)


def _smoothed_target_gradient(target, family, psi, reference, sigma, draws, rng, bytes_per_point,
                              memory_budget):
    """``E_z grad R(beta_j + sigma z)``: the target's closed form, or Monte Carlo.

    The Monte Carlo estimate smooths ``R - log det G_psi`` by Stein's identity and adds back the
    family's closed form for ``log det G_psi``: the member at the stage's start is a control variate,
    and near the answer ``R - log det G_psi`` is nearly constant, so the noise vanishes as the fit
    converges.
    """
    if target.smoothing is not None:
        return _chunked(lambda points: target.smoothing(points, sigma), reference,
                        bytes_per_point, memory_budget)
    control = _chunked(lambda points: family.log_det_gradient(psi, points, sigma), reference,
                       bytes_per_point, memory_budget)

    def difference(points):
        return target.regulariser(points) - family.log_det_gram(psi, points)

    return control + stein_gradient(difference, reference, sigma, draws, rng, memory_budget)


def fit(family, target, reference, solver="trust-regions", *, objective=None, held_out=None,
        initial_point=None, seed=None, smoothing=None, max_iterations=300, min_gradient_norm=1e-10,
        tolerance=1e-3, smoothing_draws=256, memory_budget=None):
    """Find the member of ``family`` whose implicit bias best matches ``target``.

    Minimises the mismatch of the bias with the target over the reference points with a pymanopt
    solver, through a schedule of smoothed objectives ending with the exact one (see the module
    docstring for why).

    Parameters
    ----------
    family : Family
    target : Target or callable
        ``R(beta) -> (...,)`` in log-determinant units (the bias is ``(T/2) R``), written with
        ``autograd.numpy`` for the ``"gradients"`` objective.
    reference : array_like, shape (N, *beta_shape)
        Points the objective is evaluated on. Points where ``R`` is steep are ill-conditioned (see
        :func:`~quotientlearn.design.well_conditioned_reference`).
    solver : str or pymanopt optimiser
        ``"steepest-descent"``, ``"conjugate-gradient"`` or ``"trust-regions"`` (pymanopt's class
        names are accepted too), or an instance of one of those classes.
    objective : {"gradients", "values"}, optional
        Default: ``family.objective`` (``"gradients"`` for the built-in families, ``"values"`` for
        a family without a Gaussian-smoothed :meth:`~quotientlearn.design.Family.log_det_gradient`).
    held_out : array_like, shape (M, *beta_shape), optional
        Points for the residual. By default a random quarter of ``reference`` is held out.
    initial_point : ndarray, optional
        Start; by default ``family.random_point(seed)``.
    seed : int or numpy.random.Generator, optional
        For the random start, the default held-out split and Monte Carlo smoothing.
    smoothing : sequence of float, optional
        Decreasing smoothing levels; the exact stage is always appended, and ``()`` optimises the
        exact objective only. ``"gradients"``: Gaussian standard deviations relative to the RMS
        entry of the reference points (default :data:`DEFAULT_GAUSSIAN_SMOOTHING`); ``"values"``:
        Gram smoothing relative to the typical Gram eigenvalue at the start (default
        :data:`DEFAULT_SMOOTHING`).
    max_iterations : int
        Per stage.
    min_gradient_norm : float
    tolerance : float
        Largest ``relative_residual`` counted as expressing the target; above it a
        :class:`DesignMismatchWarning` is issued.
    smoothing_draws : int
        Antithetic Monte Carlo pairs per point for a target without a closed-form smoothing.
    memory_budget : int or str, optional
        Bytes one batched evaluation may use (see :func:`quotientlearn.memory.memory_budget`).

    Returns
    -------
    DesignResult

    Raises
    ------
    ValueError
        On an unknown solver or objective, badly shaped points, a target undefined at some points,
        or a family whose Gram is singular (degenerate orbits) at reference points for the start (the
        message lists them).
    NotImplementedError
        For ``objective="gradients"`` with smoothing, on a family without a Gaussian-smoothed
        log-det gradient.

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
    objective = family.objective if objective is None else objective
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}; got {objective!r}")
    target = _as_target(target, family)
    rng = np.random.default_rng(seed)
    if smoothing is None:
        smoothing = DEFAULT_GAUSSIAN_SMOOTHING if objective == "gradients" else DEFAULT_SMOOTHING
    smoothing = [float(s) for s in smoothing]
    if any(s <= 0 or not np.isfinite(s) for s in smoothing):
        raise ValueError(f"smoothing levels must be positive and finite; got {smoothing}")
    if int(smoothing_draws) < 1:
        raise ValueError(f"smoothing_draws must be a positive integer; got {smoothing_draws!r}")
    reference = _points(reference, family, "reference")
    # Checked before any split, so the indices in the messages are the caller's.
    target_values = _target_values(target.regulariser, reference, "reference")
    psi = np.array(family.random_point(rng) if initial_point is None else initial_point, float)
    bytes_per_point = _bytes_per_point(family, psi, reference)

    def log_det(point, points):
        return _chunked(lambda block: family.log_det_gram(point, block), points, bytes_per_point,
                        memory_budget)

    start_log_det = log_det(psi, reference)
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
        target_held = _target_values(target.regulariser, held_out, "held-out")
        target_fit = target_values
    if len(reference) < 3 or len(held_out) < 2:
        raise ValueError(f"need at least 3 fitting and 2 held-out points; got {len(reference)} and "
                         f"{len(held_out)}")
    equations = len(reference) * (int(np.prod(family.beta_shape)) if objective == "gradients" else 1)
    if equations <= family.manifold.dim:
        warnings.warn(f"{len(reference)} fitting points give {equations} equations for a "
                      f"{family.manifold.dim}-dimensional family: the objective is unlikely to "
                      "identify psi", DesignMismatchWarning, stacklevel=2)

    if objective == "values":
        # Relative to the typical Gram eigenvalue, so the schedule is scale-free.
        scale = float(np.exp(np.median(start_log_det) / family.action_dim))

        def stage_objective(amount, point):
            return ChunkedObjective(value_terms(family, reference, target_fit, amount),
                                    len(reference), bytes_per_point, True, memory_budget)
    else:
        # Relative to the size of the reference points, in whose units the Gaussian acts.
        scale = float(np.sqrt(np.mean(reference**2)))
        exact_gradients = _chunked(target.gradient, reference, bytes_per_point, memory_budget)
        bad = np.flatnonzero(~np.all(np.isfinite(exact_gradients.reshape(len(reference), -1)), -1))
        if bad.size:
            raise ValueError(f"the target's gradient is not finite at fitting points {_listed(bad)}")

        def stage_objective(amount, point):
            gradients = exact_gradients if amount == 0 else _smoothed_target_gradient(
                target, family, point, reference, amount, int(smoothing_draws), rng,
                bytes_per_point, memory_budget)
            return ChunkedObjective(gradient_terms(family, reference, gradients, amount),
                                    len(reference), bytes_per_point, False, memory_budget)

    start = time.perf_counter()
    history, stages = [], []
    exact = stage_objective(0.0, psi)
    for level in [*smoothing, 0.0]:
        amount = level * scale
        stage = exact if amount == 0 else stage_objective(amount, psi)
        stage.evaluations = []
        optimiser = make_solver(max_iterations=max_iterations, min_gradient_norm=min_gradient_norm,
                                verbosity=0)
        # Trial steps onto degenerate orbits make pymanopt divide by zero; the cost reports them.
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            result = optimiser.run(stage.problem(family.manifold), initial_point=psi)
            psi = np.asarray(result.point, dtype=float)
            exact_cost = exact.cost(psi)
        history.extend(np.minimum.accumulate(stage.evaluations).tolist())
        stages.append({"smoothing": amount, "iterations": int(result.iterations),
                       "cost": float(result.cost), "exact_cost": exact_cost,
                       "stopping_criterion": result.stopping_criterion})
    seconds = time.perf_counter() - start

    mismatch = log_det(psi, held_out) - target_held
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
        psi=psi, model=model, family=family, solver=solver_name, objective=objective,
        cost=stages[-1]["exact_cost"], history=np.asarray(history), stages=stages,
        residual=residual, relative_residual=relative,
        offset=float(np.mean(mismatch[finite])) if finite.any() else float("nan"),
        expressible=expressible, seconds=seconds, degenerate_held_out=degenerate_held)
