"""Adversarial inputs against the public API and the CLI, counted by outcome (issue 10).

Run: ``OMP_NUM_THREADS=1 python benchmarks/adversarial.py [--markdown] [--area AREA] [--show unclear]``.

Every case is a bad (or extreme) input with an expectation:

- ``error``: the input must be refused by an exception of the expected type (``TypeError`` for a wrong
  type, ``ValueError`` for a bad value, ...) whose message contains the given words (the argument's
  name). Outcome ``clear`` if so; ``unclear`` for another exception type or a message without the
  words (e.g. a ``LinAlgError`` from deep inside numpy); ``garbage`` when nothing is raised.
- ``works``: an extreme but valid input that must give the right answer (``check(result, warnings)``).
  Outcome ``clear`` when it does; ``garbage`` for a wrong answer (NaN, a lost predictor, a false
  message); ``unclear`` for an exception.
- CLI cases run ``quotientlearn.cli.main`` in process (or the command in a subprocess where signals
  or concurrency matter) and expect an exit code, one line on stderr containing the words, and no
  traceback.

The script prints a table per area. ``tests/test_adversarial.py`` runs it and requires every case to
be ``clear``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import autograd.numpy as anp
import numpy as np

import quotientlearn as ql
from quotientlearn import models
from quotientlearn.groups import DegenerateOrbitWarning, GroupAction, PairRescaling, TorusRescaling

AREAS = ("balancing", "python api", "gauge and bias", "manifolds", "simulation", "predictions", "datasets",
         "cli", "sweeps", "checkpoints and files")


@dataclass
class Case:
    """One adversarial input and what must happen."""

    area: str
    label: str
    run: object
    expect: str = "error"
    kind: tuple = (TypeError, ValueError)
    words: tuple = ()
    check: object = None
    slow: bool = False
    detail: str = field(default="", init=False)


CASES = []


def error(area, label, run, *words, kind=(TypeError, ValueError), slow=False):
    """Register a case that must raise ``kind`` with ``words`` in the message."""
    kind = kind if isinstance(kind, tuple) else (kind,)
    CASES.append(Case(area, label, run, "error", kind, tuple(words), slow=slow))


def works(area, label, run, check, slow=False):
    """Register a case that must return a result accepted by ``check(result, warnings)``."""
    CASES.append(Case(area, label, run, "works", check=check, slow=slow))


def classify(case):
    """Run one case and return ``(outcome, detail)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with np.errstate(all="ignore"):
                result = case.run()
        except Exception as exc:  # noqa: BLE001 - classifying every failure is the point
            text = f"{type(exc).__name__}: {exc}"
            if case.expect in ("works", "cli"):  # a CLI command must not raise out of main()
                return "unclear", text
            named = all(_mentions(str(exc), word) for word in case.words)
            return ("clear" if isinstance(exc, case.kind) and named else "unclear"), text
    if case.expect == "cli":
        return _classify_cli(case, result)
    if case.expect == "error":
        return "garbage", f"no error; returned {_short(result)}"
    try:
        with np.errstate(all="ignore"):
            ok = case.check(result, [w.category for w in caught])
    except Exception as exc:  # noqa: BLE001
        return "unclear", f"check failed: {type(exc).__name__}: {exc}"
    return ("clear" if ok else "garbage"), _short(result)


def _mentions(text, word):
    """Whether ``word`` occurs in ``text`` as a whole word (``seed`` is not in ``SeedSequence``)."""
    return re.search(rf"(?<![A-Za-z_]){re.escape(word)}(?![A-Za-z_])", text, re.IGNORECASE) is not None


def _short(value):
    text = repr(value).replace("\n", " ")
    return text if len(text) < 160 else text[:157] + "..."


# ----------------------------------------------------------------------------- shared helpers
def quadratic(beta):
    return 0.5 * anp.sum((beta - 1.0) ** 2, axis=tuple(range(1, anp.ndim(beta))))


def finite(result, _warnings=()):
    return bool(np.all(np.isfinite(result)))


def keeps(model, theta, rtol=1e-8):
    """A check: the result is finite and has the predictor of ``theta`` to ``rtol`` (norm-wise)."""

    def check(result, _warnings):
        beta = np.asarray(model.predictor(theta))
        if not finite(result):
            return False
        scale = math.hypot(*np.ravel(beta))
        if not (math.isfinite(scale) and scale > 1e-290):
            return True  # the predictor itself is not representable: finiteness is all one can ask
        moved = np.asarray(model.predictor(result))
        return math.hypot(*np.ravel(moved - beta)) <= rtol * scale

    return check


def minus_inf_with_warning(result, caught):
    return bool(np.all(np.asarray(result) == -np.inf)) and DegenerateOrbitWarning in caught


def plus_inf_with_warning(result, caught):
    return bool(np.all(np.asarray(result) == np.inf)) and DegenerateOrbitWarning in caught


def simulate(model=None, **kwargs):
    model = model if model is not None else models.Hadamard(1)
    options = {"dt": 1e-2, "n_steps": 3, "n_particles": 4, "seed": 0, "progress": False}
    options.update(kwargs)
    loss = options.pop("loss", quadratic)
    temperature = options.pop("temperature", 0.1)
    return ql.simulate(model, loss, temperature, **options)


def rotation_action():
    def act(g, theta):
        c, s = anp.cos(g[..., 0]), anp.sin(g[..., 0])
        return anp.stack([c * theta[..., 0] - s * theta[..., 1], s * theta[..., 0] + c * theta[..., 1]],
                         axis=-1)

    return GroupAction(1, 2, act=act, name="SO(2)")


def rotation_model():
    return models.Custom(lambda theta: anp.sum(theta**2, axis=-1, keepdims=True), rotation_action())


def non_affine_model():
    # theta_1 - sin(theta_0) is invariant under (theta_0, theta_1) -> (theta_0 + g, theta_1 + sin(theta_0
    # + g) - sin(theta_0)); its generator (1, cos theta_0) is not affine in theta.
    def act(g, theta):
        shifted = theta[..., 0] + g[..., 0]
        return anp.stack([shifted, theta[..., 1] + anp.sin(shifted) - anp.sin(theta[..., 0])], axis=-1)

    return models.Custom(lambda theta: (theta[..., 1] - anp.sin(theta[..., 0]))[..., None],
                         GroupAction(1, 2, act=act, name="ShearSine"))


def user_gauge_model(chi):
    hadamard = models.Hadamard(2)
    return models.Custom(hadamard.traceable_predictor, hadamard.action,
                         gauge=ql.gauge.Gauge(hadamard.action, chi=chi))


# --------------------------------------------------------------------------------- balancing
def _balancing_cases():
    area = "balancing"
    for m, n, r in [(3, 3, 3), (4, 4, 4), (5, 3, 3)]:
        model = models.MatrixFactorization(m, n, r)
        works(area, f"MatrixFactorization({m}, {n}, {r}).gauge.project(zeros)",
              lambda model=model: model.gauge.project(np.zeros(model.dim)),
              lambda result, _: finite(result) and not np.any(result))
        rng = np.random.default_rng(r)
        first = np.outer(rng.standard_normal(m), rng.standard_normal(r))
        theta = model.space.join(P=first, Q=rng.standard_normal((r, n)))
        works(area, f"MatrixFactorization({m}, {n}, {r}): rank-1 P", lambda m_=model, t=theta:
              m_.gauge.project(t), keeps(model, theta))
    model = models.Attention(4, 3, "gl")
    theta = np.random.default_rng(1).standard_normal(model.dim)
    theta[:12] = np.outer(np.arange(1.0, 5.0), [1.0, -1.0, 2.0]).ravel()
    works(area, "Attention(4, 3, 'gl'): rank-1 W_Q", lambda m_=model, t=theta: m_.gauge.project(t),
          keeps(model, theta))
    hadamard = models.Hadamard(1)
    for values in ([1e-100, 1e100], [1.0, 1e-170], [1e-300, 1e300], [5e-324, 1e308], [1e200, 1e-250]):
        theta = np.array(values)
        works(area, f"Hadamard(1).gauge.project({values})", lambda t=theta: hadamard.gauge.project(t),
              keeps(hadamard, theta))
    model = models.MatrixFactorization(3, 3, 2)
    rng = np.random.default_rng(0)
    theta = model.space.join(P=1e20 * np.outer(rng.standard_normal(3), [1.0, 2.0]),
                             Q=rng.standard_normal((2, 3)))
    works(area, "MatrixFactorization(3, 3, 2): rank-1 factor at 1e20",
          lambda m_=model, t=theta: m_.gauge.project(t), keeps(model, theta))
    for name, model in models.zoo().items():
        if name == "Translation":  # a mean above 2^24 is refused (below)
            continue
        for scale in (1e-160, 1e160, 1e-300):
            theta = scale * model.sample((), 1)
            label = f"{name}.gauge.project({scale:g} * theta)"
            if model.space.membership_residual(theta) > model.space.atol:  # a sphere, Stiefel: no cone
                error(area, label, lambda m_=model, t=theta: m_.gauge.project(t), "manifold", kind=ValueError)
                continue
            works(area, label, lambda m_=model, t=theta: m_.gauge.project(t), keeps(model, theta))
    model = models.DiagonalNet(2, depth=5)
    theta = np.array([1.0, 1e150, 1.0, 1.0, 1e-225, 1e150, 1e-225, 1e-225, 1e300, 1e-225])
    works(area, "DiagonalNet(2, 5).predictor with an underflowing running product",
          lambda m_=model, t=theta: m_.predictor(t),
          lambda result, _: np.allclose(result, 1e-150, rtol=1e-13, atol=0))
    wide = models.Attention(2, 3, "gl")
    beta = wide.predictor(wide.sample((), 0))
    works(area, "Attention(2, 3, 'gl').balanced(beta): d_head > d_emb", lambda: wide.balanced(beta),
          lambda result, _: np.allclose(wide.predictor(result), beta, atol=1e-13))
    translation = models.Translation(3)
    error(area, "Translation(3).gauge.project([-1, -1e-30, -1e30]): shift rounds the predictor",
          lambda: translation.gauge.project(np.array([-1.0, -1e-30, -1e30])), "mean", kind=ValueError)
    error(area, "Translation(3).gauge.project(1e160 * theta)",
          lambda: translation.gauge.project(1e160 * np.array([1.0, 2.0, 4.0])), "mean", kind=ValueError)
    theta = 1e-300 * np.array([1.0, -2.0, 4.0])
    works(area, "Translation(3).gauge.project(1e-300 * theta)",
          lambda: translation.gauge.project(theta), keeps(translation, theta))
    error(area, "ScaleInvariant(3).gauge.project(zeros)",
          lambda: models.ScaleInvariant(3).gauge.project(np.zeros(3)), "no direction", kind=ValueError)
    error(area, "ScaleInvariant(3).predictor(zeros)",
          lambda: models.ScaleInvariant(3).predictor(np.zeros(3)), "no direction", kind=ValueError)


# -------------------------------------------------------------------------------- python api
def _python_api_cases():
    area = "python api"
    hadamard = models.Hadamard(2)
    for seed in ("abc", 1.5, True, -1, [0.5]):
        error(area, f"simulate(seed={seed!r})", lambda s=seed: simulate(seed=s), "seed")
    error(area, "model.sample(rng='x')", lambda: hadamard.sample((2,), "x"), "rng")
    error(area, "action.random_algebra(rng=1.5)", lambda: hadamard.action.random_algebra((2,), 1.5),
          "rng")
    error(area, "testing.check_model(seed='a')", lambda: ql.testing.check_model(hadamard, seed="a"),
          "seed")
    for temperature in (None, 1j, np.ones(2), "hot", -1.0, float("nan"), float("inf"), True):
        error(area, f"implicit_bias(temperature={temperature!r})",
              lambda t=temperature: ql.implicit_bias(hadamard, np.ones(4), t), "temperature")
    for temperature in (None, 1j, -1.0):
        error(area, f"simulate(temperature={temperature!r})",
              lambda t=temperature: simulate(temperature=t), "temperature")
        error(area, f"stationary_density(temperature={temperature!r})",
              lambda t=temperature: ql.stationary_density(hadamard, quadratic, t), "temperature")
    for value in (2.5, True, "3", None, 0, -1, 1j):
        error(area, f"Hadamard({value!r})", lambda v=value: models.Hadamard(v), "dim")
    error(area, "DiagonalNet(3, depth=1)", lambda: models.DiagonalNet(3, depth=1), "depth")
    error(area, "DiagonalNet(3, depth=2.5)", lambda: models.DiagonalNet(3, depth=2.5), "depth")
    error(area, "MatrixFactorization(3, 3, 4)", lambda: models.MatrixFactorization(3, 3, 4), "rank")
    error(area, "MatrixFactorization(3, 3, 0)", lambda: models.MatrixFactorization(3, 3, 0), "rank")
    error(area, "MatrixFactorization(3.5, 3, 1)", lambda: models.MatrixFactorization(3.5, 3, 1), "m")
    error(area, "ShallowReLU(0, 2)", lambda: models.ShallowReLU(0, 2), "d_in")
    error(area, "ShallowReLU(2, True)", lambda: models.ShallowReLU(2, True), "width")
    error(area, "Attention(3, 2, 'foo')", lambda: models.Attention(3, 2, "foo"), "group")
    error(area, "Attention(3, 2, None)", lambda: models.Attention(3, 2, None), "group")
    error(area, "Attention(0, 2)", lambda: models.Attention(0, 2), "d_emb")
    error(area, "GroupSparse([])", lambda: models.GroupSparse([]), "group_sizes")
    error(area, "GroupSparse('12')", lambda: models.GroupSparse("12"), "group_sizes")
    error(area, "GroupSparse([2, 0])", lambda: models.GroupSparse([2, 0]), "group_sizes")
    error(area, "GroupSparse([1.5])", lambda: models.GroupSparse([1.5]), "group_sizes")
    error(area, "BasisHadamard(singular)", lambda: models.BasisHadamard(np.ones((2, 2))), "basis")
    error(area, "BasisHadamard(non-square)", lambda: models.BasisHadamard(np.ones((2, 3))), "basis")
    error(area, "BasisHadamard(complex)", lambda: models.BasisHadamard(np.eye(2) * 1j), "basis")
    error(area, "ScaleInvariant(1): zero-dimensional quotient", lambda: models.ScaleInvariant(1), "dim")
    error(area, "Translation(1): zero-dimensional quotient", lambda: models.Translation(1), "dim")
    error(area, "Translation(0)", lambda: models.Translation(0), "dim")
    complex_theta = np.ones(4) * (1 + 1j)
    error(area, "predictor(complex theta)", lambda: hadamard.predictor(complex_theta), "theta", "complex",
          kind=TypeError)
    error(area, "gauge.project(complex theta)", lambda: hadamard.gauge.project(complex_theta), "theta",
          "complex", kind=TypeError)
    error(area, "balanced(complex beta)", lambda: hadamard.balanced(np.ones(2) * 1j), "beta", "complex",
          kind=TypeError)
    error(area, "implicit_bias(complex theta)", lambda: ql.implicit_bias(hadamard, complex_theta, 0.1),
          "theta", "complex", kind=TypeError)
    error(area, "simulate(init=complex)", lambda: simulate(hadamard, init=complex_theta), "init",
          kind=TypeError)
    error(area, "predictor(theta of the wrong shape)", lambda: hadamard.predictor(np.ones(3)), "theta",
          "shape", kind=ValueError)
    error(area, "predictor(theta with NaN)", lambda: hadamard.predictor(np.array([1, np.nan, 1, 1])),
          "theta", kind=ValueError)
    error(area, "predictor(string theta)", lambda: hadamard.predictor(["a", "b", "c", "d"]), "theta",
          kind=TypeError)
    error(area, "predictor(None)", lambda: hadamard.predictor(None), "theta", kind=TypeError)
    error(area, "predictor(ragged theta)", lambda: hadamard.predictor([[1, 2, 3, 4], [1]]), "theta",
          kind=TypeError)
    error(area, "GroupAction(-1, 2)", lambda: GroupAction(-1, 2), "dim")
    trivial = lambda: models.Custom(lambda t: t, GroupAction(0, 2, act=lambda g, t: t))  # noqa: E731
    works(area, "GroupAction(0, 2) (trivial group): implicit_bias is 0",
          lambda: ql.implicit_bias(trivial(), np.ones((3, 2)), 0.1), lambda r, _: np.all(r == 0))
    works(area, "GroupAction(0, 2) (trivial group): gauge.project is the identity",
          lambda: trivial().gauge.project(np.arange(4.0).reshape(2, 2)),
          lambda r, _: np.array_equal(r, np.arange(4.0).reshape(2, 2)))
    works(area, "GroupAction(0, 2) (trivial group): check_model passes",
          lambda: ql.testing.check_model(trivial()), lambda r, _: r.passed)
    error(area, "GroupAction(1, 0)", lambda: GroupAction(1, 0), "space_dim")
    error(area, "GroupAction(1, 2, act=5)", lambda: GroupAction(1, 2, act=5), "act")
    error(area, "TorusRescaling(dependent rows)", lambda: TorusRescaling([[1, 1], [2, 2]]), "weights")
    error(area, "PairRescaling(overlapping groups)", lambda: PairRescaling(3, [[0, 1]], [[1]]), "disjoint")
    error(area, "ParameterSpace({})", lambda: ql.spaces.ParameterSpace({}), "blocks")
    error(area, "ParameterSpace({'x': (0,)}): zero-dimensional space",
          lambda: ql.spaces.ParameterSpace({"x": (0,)}), "block")
    error(area, "ParameterSpace({'x': (2.5,)})", lambda: ql.spaces.ParameterSpace({"x": (2.5,)}),
          "block")
    error(area, "Custom(predictor=5)", lambda: models.Custom(5, hadamard.action), "predictor")
    error(area, "Custom(action=None)", lambda: models.Custom(lambda t: t, None), "action")
    error(area, "Custom(dim=2.5)", lambda: models.Custom(lambda t: t, hadamard.action, dim=2.5), "dim")
    error(area, "Custom(action that breaks the predictor)",
          lambda: models.Custom(lambda t: t, hadamard.action), "does not preserve", kind=ValueError)
    for label, kwargs, word in [("tol=nan", {"tol": float("nan")}, "tol"),
                                ("tol=-1", {"tol": -1.0}, "tol"),
                                ("max_iter=-1", {"max_iter": -1}, "max_iter"),
                                ("max_iter=2.5", {"max_iter": 2.5}, "max_iter")]:
        error(area, f"Gauge({label})", lambda k=kwargs: ql.gauge.Gauge(hadamard.action, **k), word)
    error(area, "Gauge(action=5)", lambda: ql.gauge.Gauge(5), "action")
    error(area, "Gauge(chi=5)", lambda: ql.gauge.Gauge(hadamard.action, chi=5), "chi")


# ---------------------------------------------------------------------------- gauge and bias
def _gauge_and_bias_cases():
    area = "gauge and bias"
    wrong_shape = lambda: user_gauge_model(lambda theta: theta[..., 0] ** 2 - theta[..., 2] ** 2)  # noqa: E731
    point = np.array([1.0, 2.0, 3.0, 4.0])
    error(area, "chi of shape (...,) instead of (..., c): chi", lambda: wrong_shape().gauge.chi(point), "chi",
          "shape", kind=ValueError)
    error(area, "chi of shape (...,): project", lambda: wrong_shape().gauge.project(point), "chi", "shape",
          kind=ValueError)
    error(area, "chi of shape (...,): implicit_bias", lambda: ql.implicit_bias(wrong_shape(), point, 0.1),
          "chi", "shape", kind=ValueError)
    nan_chi = lambda: user_gauge_model(lambda theta: anp.log(theta[..., :2] - 5.0))  # noqa: E731
    error(area, "chi NaN at theta: chi", lambda: nan_chi().gauge.chi(point), "chi", "finite",
          kind=ValueError)
    error(area, "chi NaN at theta: project", lambda: nan_chi().gauge.project(point), "chi", "finite",
          kind=ValueError)
    error(area, "chi NaN at theta: implicit_bias", lambda: ql.implicit_bias(nan_chi(), point, 0.1), "chi",
          "finite", kind=ValueError)
    for label, run in [("implicit_bias", lambda m: ql.implicit_bias(m, np.ones(2), 0.1)),
                       ("gauge.project", lambda m: m.gauge.project(np.ones(2))),
                       ("gauge.chi", lambda m: m.gauge.chi(np.ones(2)))]:
        error(area, f"SO(2) action (moment map vanishes): {label}",
              lambda r=run: r(rotation_model()), "moment map", kind=ValueError)
        error(area, f"non-affine action: {label}", lambda r=run: r(non_affine_model()), "affine",
              kind=ValueError)
    factorization = models.MatrixFactorization(3, 3, 2)
    works(area, "log_slice_volume(MF, zeros): +inf with a warning",
          lambda: ql.bias.log_slice_volume(factorization, np.zeros((3, 3))), plus_inf_with_warning)
    works(area, "implicit_bias_of_predictor(MF, zeros, 'predictor'): -inf with a warning",
          lambda: ql.implicit_bias_of_predictor(factorization, np.zeros((3, 3)), 0.1, "predictor"),
          minus_inf_with_warning)
    works(area, "implicit_bias(MF, zeros): -inf with a warning",
          lambda: ql.implicit_bias(factorization, np.zeros(12), 0.1), minus_inf_with_warning)
    works(area, "implicit_bias(Hadamard, 1e200 * theta): finite",
          lambda: ql.implicit_bias(models.Hadamard(2), 1e200 * np.ones(4), 0.1), finite)
    works(area, "implicit_bias(MF, 1e200 * theta): finite",
          lambda: ql.implicit_bias(factorization, 1e200 * factorization.sample((), 0), 0.1), finite)
    works(area, "log_det_gram_on_slice(MF, 1e300 * beta): finite",
          lambda: factorization.log_det_gram_on_slice(1e300 * np.eye(3)[:, :3] @ np.diag([1, 1, 0])),
          lambda result, caught: bool(np.all(np.asarray(result) == -np.inf)) or finite(result))
    error(area, "implicit_bias_of_predictor(coordinates='foo')",
          lambda: ql.implicit_bias_of_predictor(models.Hadamard(2), np.ones(2), 0.1, "foo"),
          "coordinates", kind=ValueError)


# --------------------------------------------------------------------------------- manifolds
def _manifold_models():
    """``name -> (model factory, a point just off its manifold, (a vector not tangent, its base point))``."""
    from geomstats.geometry.hypersphere import Hypersphere
    from geomstats.geometry.poincare_ball import PoincareBall
    from geomstats.geometry.product_manifold import ProductManifold
    from geomstats.geometry.special_orthogonal import SpecialOrthogonal

    def custom(manifold):
        return lambda: models.Custom(predictor=lambda x: x, space=manifold())

    pole, frame = np.array([0.0, 0.0, 1.0]), np.eye(3)[:, :2]
    skew = (np.array([[0.0, 1.0], [0.0, 0.0]]), np.eye(2))  # not symmetric: not tangent to SPD(2)
    return {  # the normal directions x, R, U themselves are not tangent
        "sphere S^2": (custom(lambda: Hypersphere(2)), 1.001 * pole, (pole, pole)),
        "SO(3)": (custom(lambda: SpecialOrthogonal(3)), 1.001 * np.eye(3), (np.eye(3), np.eye(3))),
        "StiefelProjector(3, 2)": (lambda: models.StiefelProjector(3, 2), 1.001 * frame, (frame, frame)),
        "SPDSpectrum(2), indefinite": (lambda: models.SPDSpectrum(2), np.diag([1.0, -1e-3]), skew),
        "SPDSpectrum(2), asymmetric": (lambda: models.SPDSpectrum(2),
                                       np.array([[1.0, 1e-3], [0.0, 1.0]]), skew),
        "Poincare ball(2)": (custom(lambda: PoincareBall(2)), np.array([0.6, 0.8001]), None),
        "S^2 x S^2": (custom(lambda: ProductManifold([Hypersphere(2), Hypersphere(2)])),
                      np.stack([pole, 1.001 * pole]), (np.stack([pole, pole]), np.stack([pole, pole]))),
    }


def _metric_line(metric_matrix, derivative_matrix=None, dim=1, **options):
    """``Euclidean(dim)`` with a user's ``metric_matrix`` (and ``inner_product_derivative_matrix``)."""
    from geomstats.geometry.euclidean import Euclidean
    from geomstats.geometry.riemannian_metric import RiemannianMetric

    methods = {"metric_matrix": lambda self, base_point=None: metric_matrix(base_point)}
    if derivative_matrix is not None:
        methods["inner_product_derivative_matrix"] = lambda self, base_point=None: derivative_matrix(
            base_point)
    line = Euclidean(dim, equip=False)
    line.equip_with_metric(type("UserMetric", (RiemannianMetric,), methods))
    return ql.spaces.MetricEuclidean(line, **options)


def _manifold_cases():
    area = "manifolds"

    def zero_loss(beta):
        return 0.0 * np.reshape(beta, (len(beta), -1))[:, 0]

    entries = {
        "simulate(init=...)": lambda m, t: simulate(m, init=t, gauge_fixing=m.action.dim > 0,
                                                    loss=zero_loss),
        "predictor": lambda m, t: m.predictor(t),
        "gauge.project": lambda m, t: m.gauge.project(t),
        "gauge.chi": lambda m, t: m.gauge.chi(t),
        "implicit_bias": lambda m, t: ql.implicit_bias(m, t, 0.1),
        "bundle.gram": lambda m, t: m.bundle.gram(t),
    }
    for name, (make, off, normal) in _manifold_models().items():
        for label, run in entries.items():
            error(area, f"{name}: {label} at a point off the manifold",
                  lambda r=run, mk=make, t=off: r(mk(), t), "membership", kind=ValueError)
        if normal is not None:
            error(area, f"{name}: horizontal_projection of a vector not tangent",
                  lambda mk=make, v=normal: mk().bundle.horizontal_projection(*v), "tangency",
                  kind=ValueError)

    def one(x):
        return 1.0 + 0.0 * x[..., 0]

    error(area, "metric_matrix not symmetric", lambda: _metric_line(
        lambda x: anp.stack([anp.stack([one(x), 0.1 * one(x)], -1), anp.stack([0.0 * one(x), one(x)], -1)],
                            -2), dim=2), "symmetric", kind=ValueError)
    error(area, "metric_matrix negative at the probe points",
          lambda: _metric_line(lambda x: (x**2 - 4.0)[..., None]), "positive definite", kind=ValueError)
    error(area, "metric_matrix positive at the probes, negative at init: simulate",
          lambda: simulate(models.Custom(predictor=lambda x: x, space=_metric_line(
              lambda x: (1.0 - 0.01 * x**2)[..., None])), init=np.array([20.0]), gauge_fixing=False),
          "positive definite", kind=ValueError)
    error(area, "inner_product_derivative_matrix twice the true one",
          lambda: _metric_line(lambda x: (1.0 + x**2)[..., None], lambda x: 4.0 * x[..., None, None]),
          "metric derivative", kind=ValueError)
    error(area, "derivative='metric' without inner_product_derivative_matrix",
          lambda: _metric_line(lambda x: (1.0 + x**2)[..., None], derivative="metric"),
          "inner_product_derivative_matrix", kind=ValueError)


# -------------------------------------------------------------------------------- simulation
def _simulation_cases():
    area = "simulation"
    for label, kwargs, word in [
        ("dt=0", {"dt": 0.0}, "dt"), ("dt=-1", {"dt": -1.0}, "dt"), ("dt=nan", {"dt": float("nan")}, "dt"),
        ("dt='a'", {"dt": "a"}, "dt"), ("dt=None", {"dt": None}, "dt"),
        ("n_steps=-1", {"n_steps": -1}, "n_steps"), ("n_steps=2.5", {"n_steps": 2.5}, "n_steps"),
        ("n_particles=0", {"n_particles": 0}, "n_particles"),
        ("n_particles=1.5", {"n_particles": 1.5}, "n_particles"),
        ("noise='foo'", {"noise": "foo"}, "noise"), ("scheme='foo'", {"scheme": "foo"}, "scheme"),
        ("init of the wrong shape", {"init": np.ones(3)}, "init"),
        ("init with NaN", {"init": np.array([np.nan, 1.0])}, "init"),
        ("loss not callable", {"loss": 5}, "loss"),
        ("loss of the wrong shape", {"loss": lambda b: b}, "loss"),
        ("loss NaN at the start", {"loss": lambda b: anp.log(b[..., 0] - 10.0)}, "loss"),
        ("weight_decay=-1", {"weight_decay": -1.0}, "weight_decay"),
        ("record_every=0", {"record_every": 0, "observables": {"b": lambda t, b: b}}, "record_every"),
        ("observable not callable", {"observables": {"b": 5}}, "observable"),
        ("gauge_penalty=nan", {"gauge_penalty": float("nan")}, "gauge_penalty"),
        ("divergence_bound=0", {"divergence_bound": 0.0}, "divergence_bound"),
        ("init beyond the divergence bound", {"init": np.array([1e9, 1e-9]), "gauge_fixing": False},
         "divergence_bound"),
    ]:
        error(area, f"simulate({label})", lambda k=kwargs: simulate(**k), word)
    hadamard3 = models.Hadamard(3)
    error(area, "simulate(dt=1e3): diverges", lambda: simulate(hadamard3, dt=1e3, n_steps=40,
                                                               n_particles=64, temperature=1.0),
          "diverged", "dt", kind=ql.DivergenceError)

    def dropped(result, caught):
        return (ql.DivergenceWarning in caught and result.n_diverged > 0
                and np.max(np.abs(result.theta)) <= ql.dynamics.DIVERGENCE_BOUND)

    works(area, "simulate(drop_diverged=True), T = 1, dt = 0.5: projection never sees inf",
          lambda: simulate(hadamard3, dt=0.5, n_steps=40, n_particles=64, seed=3, temperature=1.0,
                           drop_diverged=True), dropped)
    big = models.MatrixFactorization(100, 100, 50)
    error(area, "simulate(n_particles=10^8, D=10^4): refused before allocating",
          lambda: simulate(big, n_particles=10**8, loss=lambda b: anp.sum(b**2, axis=(-2, -1))),
          "n_particles", "memory", kind=ValueError)
    rng = np.random.default_rng(0)
    objective = ql.sgd.FeatureRegression(rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 4)))
    theta0 = np.zeros((2, 3))
    for label, args, kwargs, word in [("lr=0", (0.0, 10), {}, "lr"), ("n_steps=0", (1e-3, 0), {}, "n_steps"),
                                      ("seed='x'", (1e-3, 10, "x"), {}, "seed"),
                                      ("temperature=-1", (1e-3, 10), {"temperature": -1.0}, "temperature"),
                                      ("lr=10: diverges", (10.0, 50), {}, "lr")]:
        kind = ql.DivergenceError if "diverges" in label else (TypeError, ValueError)
        error(area, f"sgd.train({label})",
              lambda a=args, k=kwargs: ql.sgd.train(objective, theta0, *a, **k), word, kind=kind)
    error(area, "sgd.train(theta0 of the wrong shape)",
          lambda: ql.sgd.train(objective, np.zeros((2, 4)), 1e-3, 10), "theta0", kind=ValueError)


# ------------------------------------------------------------------------------- predictions
def _prediction_cases():
    area = "predictions"

    def ItoRoute(**options):  # noqa: N802 - imported when the case runs
        from quotientlearn.predictions import ItoRoute

        return ItoRoute(**options)

    def FibreIntegral(**options):  # noqa: N802
        from quotientlearn.predictions import FibreIntegral

        return FibreIntegral(**options)

    hadamard = models.Hadamard(1)
    for label, make, word in [
        ("ItoRoute(n_nodes=0)", lambda: ItoRoute(n_nodes=0), "n_nodes"),
        ("ItoRoute(n_nodes=-1)", lambda: ItoRoute(n_nodes=-1), "n_nodes"),
        ("ItoRoute(n_nodes=2.5)", lambda: ItoRoute(n_nodes=2.5), "n_nodes"),
        ("ItoRoute(curl_tolerance=nan)", lambda: ItoRoute(curl_tolerance=float("nan")), "curl_tolerance"),
        ("ItoRoute(curl_tolerance=-1)", lambda: ItoRoute(curl_tolerance=-1.0), "curl_tolerance"),
        ("FibreIntegral(fibre_points=1)", lambda: FibreIntegral(fibre_points=1), "fibre_points"),
        ("FibreIntegral(fibre_points=2)", lambda: FibreIntegral(fibre_points=2), "fibre_points"),
        ("FibreIntegral(fibre_range=0)", lambda: FibreIntegral(fibre_range=0.0), "fibre_range"),
        ("FibreIntegral(fibre_range=-1)", lambda: FibreIntegral(fibre_range=-1.0), "fibre_range"),
        ("FibreIntegral(fibre_range=nan)", lambda: FibreIntegral(fibre_range=float("nan")), "fibre_range"),
        ("stationary_density(n_nodes=0)",
         lambda: ql.stationary_density(hadamard, quadratic, 0.1, method="ito", n_nodes=0), "n_nodes"),
        ("stationary_density(method='foo')",
         lambda: ql.stationary_density(hadamard, quadratic, 0.1, method="foo"), "method"),
        ("stationary_density(noise='foo')",
         lambda: ql.stationary_density(hadamard, quadratic, 0.1, noise="foo"), "noise"),
        ("stationary_density(weight_decay=-1)",
         lambda: ql.stationary_density(hadamard, quadratic, 0.1, weight_decay=-1.0), "weight_decay"),
    ]:
        error(area, label, make, word)
    values = np.random.default_rng(0).uniform(-1.0, 1.3, 500)
    inverse = lambda x: -np.log(np.abs(x))  # noqa: E731 - 1/|x|: not integrable at 0
    flat = lambda x: np.zeros_like(x)  # noqa: E731
    for label, run, words in [
        ("ks_test(n_grid=1)", lambda: ql.stats.ks_test(values, flat, (-1.0, 1.3), n_grid=1), ("n_grid",)),
        ("ks_test(n_grid=2.5)", lambda: ql.stats.ks_test(values, flat, (-1.0, 1.3), n_grid=2.5), ("n_grid",)),
        ("ks_test(window reversed)", lambda: ql.stats.ks_test(values, flat, (1.0, -1.0)), ("window",)),
        ("ks_test(window with NaN)", lambda: ql.stats.ks_test(values, flat, (np.nan, 1.0)), ("window",)),
        ("ks_test(1/|x| on a window with 0 on the grid)",
         lambda: ql.stats.ks_test(values, inverse, (-1.0, 1.0)), ("integrable",)),
        ("ks_test(1/|x| on a window with 0 between nodes)",
         lambda: ql.stats.ks_test(values, inverse, (-1.0, 1.3)), ("integrable",)),
        ("ks_test(1/|x| on a window with 0 between nodes, a node nearby)",
         lambda: ql.stats.ks_test(values, inverse, (-1.0, 1.7)), ("integrable",)),
        ("ks_test(|x - 0.1234|^-1.2 on the window)",
         lambda: ql.stats.ks_test(values, lambda x: -1.2 * np.log(np.abs(x - 0.123456789)), (-1.0, 1.3)),
         ("integrable",)),
        ("ks_test(a spike narrower than the grid)",
         lambda: ql.stats.ks_test(values, lambda x: -((x - 0.1234567) / 1e-5) ** 2, (-1.0, 1.3)),
         ("resolved",)),
        ("ks_test(density NaN on the window)",
         lambda: ql.stats.ks_test(values, lambda x: np.log(x), (-1.0, 1.3)), ("NaN",)),
        ("ks_test(density zero on the window)",
         lambda: ql.stats.ks_test(values, lambda x: np.full_like(x, -np.inf), (-1.0, 1.3)), ("zero",)),
        ("chisquare_test(n_bins=1)", lambda: ql.stats.chisquare_test(values, flat, (-1.0, 1.3), n_bins=1),
         ("n_bins",)),
        ("FitResult.verdict(alpha=2)",
         lambda: ql.stats.ks_test(values, flat, (-1.0, 1.3)).verdict(alpha=2.0), ("alpha",)),
        ("fit_power_exponent(n_grid=1)",
         lambda: ql.stats.fit_power_exponent(values + 2.0, flat, (1.0, 3.3), n_grid=1), ("n_grid",)),
        ("power_exponent(n_grid=0)", lambda: ql.stats.power_exponent(flat, flat, (1.0, 3.3), n_grid=0),
         ("n_grid",)),
    ]:
        error(area, label, run, *words)
    density = ql.stationary_density(hadamard, quadratic, 0.1, method="theorem1")
    for label, run, words in [
        ("log_ratio_spread(other=a function)",
         lambda: ql.stats.log_ratio_spread(density, flat, np.ones((3, 1))), ("other",)),
        ("log_ratio_spread(points=[])", lambda: ql.stats.log_ratio_spread(density, density, np.zeros((0, 1))),
         ("points",)),
        ("log_ratio_spread(points=NaN)",
         lambda: ql.stats.log_ratio_spread(density, density, np.array([[np.nan], [1.0]])), ("points",)),
        ("log_ratio_spread(points complex)",
         lambda: ql.stats.log_ratio_spread(density, density, np.array([[1j], [1.0]])), ("points",)),
        ("log_ratio_spread(a point where both are -inf)",
         lambda: ql.stats.log_ratio_spread(density, density, np.array([[0.0], [1.0]])), ("finite",)),
    ]:
        error(area, label, run, *words)


def _dataset_cases():
    area = "datasets"
    from quotientlearn import datasets

    signal = np.ones(6)
    relu = models.ShallowReLU(2, 3)
    for label, run, word in [
        ("low_rank_completion(rng=1.5)", lambda: datasets.low_rank_completion(2, 1.5), "rng"),
        ("low_rank_completion(rng='abc')", lambda: datasets.low_rank_completion(2, "abc"), "rng"),
        ("low_rank_completion(n_seeds=1.5)", lambda: datasets.low_rank_completion(1.5, 0), "n_seeds"),
        ("low_rank_completion(n_seeds=0)", lambda: datasets.low_rank_completion(0, 0), "n_seeds"),
        ("low_rank_completion(size=(0, 3))", lambda: datasets.low_rank_completion(2, 0, size=(0, 3)), "size"),
        ("low_rank_completion(fraction=0)", lambda: datasets.low_rank_completion(2, 0, fraction=0.0),
         "fraction"),
        ("low_rank_completion(sampling='x')", lambda: datasets.low_rank_completion(2, 0, sampling="x"),
         "sampling"),
        ("gaussian_sensing(noise_std=-1)", lambda: datasets.gaussian_sensing(signal, 2, 0, noise_std=-1.0),
         "noise_std"),
        ("gaussian_sensing(signal with NaN)",
         lambda: datasets.gaussian_sensing(np.array([np.nan, 1.0]), 2, 0), "signal"),
        ("gaussian_sensing(signal complex)", lambda: datasets.gaussian_sensing(signal + 1j, 2, 0), "signal"),
        ("gaussian_sensing(n_measurements=0)",
         lambda: datasets.gaussian_sensing(signal, 2, 0, n_measurements=0), "n_measurements"),
        ("sparse_cosine_regression(noise_std=nan)",
         lambda: datasets.sparse_cosine_regression(2, 0, noise_std=float("nan")), "noise_std"),
        ("relu_teacher(std=-1)", lambda: datasets.relu_teacher(relu, 2, 0, std=-1.0), "std"),
        ("attention_teacher(std=inf)",
         lambda: datasets.attention_teacher(models.Attention(4, 2), 2, 0, std=float("inf")), "std"),
        ("step_signal(lengths=(-1, 2))", lambda: datasets.step_signal((1.0, 2.0), (-1, 2)), "lengths"),
    ]:
        error(area, label, run, word)


# ----------------------------------------------------------------------------------------- cli
_SCRATCH = Path(tempfile.mkdtemp(prefix="ql-adversarial-"))
_COUNTER = iter(range(10**6))


def scratch():
    """A fresh empty folder for one case."""
    folder = _SCRATCH / f"case{next(_COUNTER)}"
    folder.mkdir(parents=True)
    return folder


def run_cli(argv):
    """``quotientlearn.cli.main(argv)`` in process: ``(exit code, stdout, stderr)``."""
    from quotientlearn.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def run_command(argv, interrupt_after=None, until=None, timeout=300, after_loading=None):
    """The command in a subprocess, optionally sent SIGINT; ``(exit code, stdout, stderr)``.

    ``interrupt_after``: seconds to wait (or, with ``until``, the longest wait for that path to exist).
    ``after_loading``: start the wait once the process has mapped a file whose path contains this
    (Linux ``/proc``): on a loaded machine the interpreter can take a second to start, and a signal
    before Python installs its handler kills the process silently, which measures the machine.
    """
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    # The installed console script, as a user runs it (``python -m`` may report an interrupted run as
    # killed by SIGINT, -2, which a shell shows as 130 too).
    script = Path(sys.executable).parent / "quotientlearn"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "quotientlearn.cli"]
    process = subprocess.Popen([*command, *argv], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    maps = Path(f"/proc/{process.pid}/maps")
    if after_loading is not None and maps.exists():
        give_up = time.monotonic() + 60.0
        while process.poll() is None and time.monotonic() < give_up:
            with contextlib.suppress(OSError):
                if after_loading in maps.read_text():
                    break
            time.sleep(0.01)
    if interrupt_after is not None:
        deadline = time.monotonic() + interrupt_after
        while until is not None and not Path(until).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if until is None:
            time.sleep(interrupt_after)
        process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def cli_error(label, make_argv, code, *words, slow=False, command=None, area="cli"):
    """A CLI case: exit ``code``, exactly one line on stderr containing ``words``, no traceback."""

    def run():
        argv = make_argv() if callable(make_argv) else make_argv
        return (command or run_cli)(argv)

    CASES.append(Case(area, label, run, "cli", (), tuple(words), check=code, slow=slow))


def _classify_cli(case, result):
    code, _out, err = result
    lines = [line for line in err.splitlines() if line.strip()]
    if code == 0:
        return "garbage", "exit 0: the error went unreported"
    if "Traceback" in err or len(lines) != 1:
        return "unclear", f"exit {code}; stderr: {err.strip()[-300:]!r}"
    if code != case.check or not all(_mentions(lines[0], word) for word in case.words):
        return "unclear", f"exit {code} (expected {case.check}); stderr: {lines[0]!r}"
    return "clear", f"exit {code}: {lines[0]}"


def _under_a_file():
    folder = scratch()
    (folder / "file").write_text("x")
    return folder / "file" / "out"


def _existing_file():
    folder = scratch()
    (folder / "report").write_text("x")
    return folder / "report"


def _relu_checkpoint(kind):
    """An output folder of relu-balance (fast) whose checkpoint is ``kind``; ``--resume`` reads it."""
    from quotientlearn.checkpoint import Checkpoint
    from quotientlearn.io import save_arrays

    folder = scratch()
    path = folder / "checkpoints" / "student.npz"
    path.parent.mkdir(parents=True)
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "garbage":
        path.write_bytes(os.urandom(4096))
    elif kind == "truncated":
        save_arrays(path, theta=np.ones((64, 64)))
        path.write_bytes(path.read_bytes()[:700])
    elif kind == "not a checkpoint":
        save_arrays(path, theta=np.ones(3))
    elif kind == "mismatched":
        Checkpoint(path, fingerprint={"experiment": "another"}).save(5, np.random.default_rng(0),
                                                                      theta=np.ones((4, 3)))
    return ["run", "relu-balance", "--fast", "--resume", "--out", str(folder)]


def _cli_cases():
    for label, argv, word in [
        ("run demo --set dt=0", ["run", "demo", "--set", "dt=0"], "dt"),
        ("run demo --set dt=-1", ["run", "demo", "--set", "dt=-1"], "dt"),
        ("run hyperbola --set orbits=5 (a list expected)", ["run", "hyperbola", "--set", "orbits=5"],
         "orbits"),
        ("run hyperbola --set orbits=[1,-2]", ["run", "hyperbola", "--set", "orbits=[1,-2]"], "orbits[1]"),
        ("run demo --set seed=1.5", ["run", "demo", "--set", "seed=1.5"], "seed"),
        ("run relu-balance --set label_noise=-1", ["run", "relu-balance", "--set", "label_noise=-1"],
         "label_noise"),
        ("run relu-balance --set d_in=0", ["run", "relu-balance", "--set", "d_in=0"], "d_in"),
        ("run demo --set temperature=hot", ["run", "demo", "--set", "temperature=hot"], "temperature"),
        ("run demo --set nope=1", ["run", "demo", "--set", "nope=1"], "nope"),
        ("run demo --set temperature (no value)", ["run", "demo", "--set", "temperature"], "KEY=VALUE"),
        ("run demo --set low=2 (low >= high)", ["run", "demo", "--set", "low=2"], "low"),
        ("run hyperbola --set burn_in=10 --set n_steps=5",
         ["run", "hyperbola", "--set", "burn_in=10", "--set", "n_steps=5"], "burn_in"),
        ("run spectral-sparsity --set instance=paperr", ["run", "spectral-sparsity", "--set",
                                                         "instance=paperr"], "instance"),
        ("run spectral-sparsity --set ablation=1", ["run", "spectral-sparsity", "--set", "ablation=1"],
         "ablation"),
        ("run no-such-thing", ["run", "no-such-thing"], "no-such-thing"),
        ("run demo --seeds 2 (no seeds)", ["run", "demo", "--seeds", "2"], "seeds"),
        ("run hyperbola --seeds 0", ["run", "hyperbola", "--seeds", "0"], "seeds"),
        ("run hyperbola --seeds 1.5", ["run", "hyperbola", "--seeds", "1.5"], "--seeds"),
        ("run demo --set n_particles=10**12", ["run", "demo", "--set", "n_particles=1000000000000"],
         "n_particles"),
        ("check --seed x", ["check", "--seed", "x"], "--seed"),
        ("no command", [], "command"),
        ("unknown command", ["frobnicate"], "frobnicate"),
    ]:
        cli_error(label, lambda a=argv: [*a, "--out", str(scratch())] if a[:1] == ["run"] else a, 2,
                  word)
    cli_error("run theorem1-check --set n_particles=99999999 --set seeds=99999: too big for memory",
              lambda: ["run", "theorem1-check", "--set", "n_particles=99999999", "--set", "seeds=99999",
                       "--out", str(scratch())], 2, "memory", "n_particles")
    cli_error("run demo --out under a file", lambda: ["run", "demo", "--out", str(_under_a_file())], 2,
              "file")
    cli_error("run demo --out an existing file", lambda: ["run", "demo", "--out", str(_existing_file())],
              2, "file")
    if Path("/sys").is_dir():
        cli_error("run demo --out unwritable (/sys)", ["run", "demo", "--out", "/sys/quotientlearn-out"],
                  2, "writable")
    for kind in ("empty", "garbage", "truncated", "not a checkpoint", "mismatched"):
        cli_error(f"run relu-balance --resume with a {kind} checkpoint",
                  lambda k=kind: _relu_checkpoint(k), 2, "checkpoint")
    cli_error("run demo --set dt=10: the checks fail", lambda: ["run", "demo", "--set", "dt=10", "--out",
                                                                str(scratch())], 1, "checks", slow=True)
    cli_error("run relu-balance --fast --set lr=10: diverges",
              lambda: ["run", "relu-balance", "--fast", "--set", "lr=10", "--out", str(scratch())], 2,
              "diverged", "lr", slow=True)
    # time=200: a run of minutes (the default demo takes about 5 s, which a quiet machine can finish
    # before the interrupt).
    cli_error("SIGINT during `run demo` (no checkpoints): no resume promised",
              lambda: ["run", "demo", "--set", "time=200", "--out", str(scratch())], 130, "nothing to resume",
              slow=True, command=lambda argv: run_command(argv, interrupt_after=8.0))

    def relu_interrupted(argv):
        return run_command(argv, interrupt_after=60.0, until=Path(argv[-1]) / "checkpoints" / "student.npz")

    cli_error("SIGINT during `run relu-balance` after a checkpoint: resume offered",
              lambda: ["run", "relu-balance", "--fast", "--set", "n_steps=200000", "--set",
                       "checkpoint_seconds=0.5", "--out", str(scratch())], 130, "--resume", slow=True,
              command=relu_interrupted)
    for delay in (0.1, 0.3, 0.5):  # while numpy, scipy, geomstats and the experiments load (~1.3 s)
        cli_error(f"SIGINT {delay} s after numpy starts loading in `list` (during imports)", ["list"], 130,
                  "interrupted", slow=True,
                  command=lambda argv, d=delay: run_command(argv, interrupt_after=d, after_loading="numpy"))

    def second_process(argv):
        from quotientlearn.io import claim_folder

        with claim_folder(argv[-1]):  # this process holds the folder; a second one must be refused
            return run_command(argv)

    cli_error("two processes on the same --out", lambda: ["run", "demo", "--out", str(scratch())], 2,
              "in use", slow=True, command=second_process)


# ---------------------------------------------------------------------------- sweeps
def _grid_file(text):
    path = scratch() / "grid.toml"
    path.write_text(text)
    return path


def _sweep_argv(text, *extra, out=None):
    """``sweep GRID --serial --out OUT``: every case is refused before a cell runs."""
    return ["sweep", str(_grid_file(text)), "--serial", "--out", str(out or scratch() / "out"), *extra]


def _sweep_with_results():
    out = scratch()
    (out / "cells" / "0123456789abcdef").mkdir(parents=True)
    (out / "cells" / "0123456789abcdef" / "record.json").write_text("{}")
    return _sweep_argv(_GOOD_GRID, out=out)


_GOOD_GRID = 'experiment = "demo"\n[fixed]\nfast = true\n[grid]\nseed = [0, 1]\n'


def _sweep_cases():
    area = "sweeps"
    for label, text, word in [
        ("grid dt = [0.01, 0]", 'experiment = "demo"\n[grid]\ndt = [0.01, 0]\n', "dt"),
        ("grid seed = [1.5, 2]", 'experiment = "demo"\n[grid]\nseed = [1.5, 2]\n', "seed"),
        ("grid temperature = [0.1, 'hot']", 'experiment = "demo"\n[grid]\ntemperature = [0.1, "hot"]\n',
         "temperature"),
        ("fixed orbits = 5 (a list expected)", 'experiment = "hyperbola"\n[fixed]\norbits = 5\n', "orbits"),
        ("grid low = [0.5, 2] (low >= high)", 'experiment = "demo"\n[grid]\nlow = [0.5, 2.0]\n', "low"),
        ("grid mask_sampling = ['exact', 'poisson']",
         'experiment = "matrix-completion"\n[grid]\nmask_sampling = ["exact", "poisson"]\n',
         "mask_sampling"),
        ("grid instance = ['paperr']", 'experiment = "tv-recovery"\n[grid]\ninstance = ["paperr"]\n',
         "instance"),
        ("grid initial_step = [-1]", 'experiment = "attention-balance"\n[grid]\ninitial_step = [-1]\n',
         "initial_step"),
        ("grid n_particles = [10**12]", 'experiment = "demo"\n[grid]\nn_particles = [1000000000000]\n',
         "n_particles"),
        ("grid nope = [1, 2]", 'experiment = "demo"\n[grid]\nnope = [1, 2]\n', "nope"),
        ("fixed fast = 'yes'", 'experiment = "demo"\n[fixed]\nfast = "yes"\n', "fast"),
        ("grid seed = 3 (not a list)", 'experiment = "demo"\n[grid]\nseed = 3\n', "seed"),
        ("grid seed = [1, 1.0] (one cell twice)", 'experiment = "demo"\n[grid]\nseed = [1, 1.0]\n',
         "same settings"),
        ("zip of unequal lengths", 'experiment = "demo"\n[[zip]]\nseed = [0, 1]\ndt = [0.1]\n', "zip"),
        ("unknown experiment", 'experiment = "no-such"\n', "no-such"),
        ("not TOML", 'experiment = "demo\n', "TOML"),
    ]:
        cli_error(f"sweep: {label}", lambda t=text: _sweep_argv(t), 2, word, area=area)
    cli_error("sweep: missing grid file", lambda: ["sweep", str(scratch() / "missing.toml"), "--serial"], 2,
              "does not exist", area=area)
    cli_error("sweep --workers 0",
              lambda: ["sweep", str(_grid_file(_GOOD_GRID)), "--workers", "0", "--out", str(scratch())], 2,
              "workers", area=area)
    cli_error("sweep --out an existing file", lambda: _sweep_argv(_GOOD_GRID, out=_existing_file()), 2,
              "--out", area=area)
    cli_error("sweep --out under a file", lambda: _sweep_argv(_GOOD_GRID, out=_under_a_file()), 2, "--out",
              area=area)
    cli_error("sweep --out holding results, no --resume", _sweep_with_results, 2, "--resume", area=area)

    def second_process(argv):
        from quotientlearn.io import claim_folder

        with claim_folder(argv[-1]):  # another process's sweep (or run) holds the folder
            return run_cli(argv)

    cli_error("sweep: two processes on the same --out", lambda: _sweep_argv(_GOOD_GRID), 2, "in use",
              command=second_process, area=area)


# ---------------------------------------------------------------------------- files
def _file_cases():
    area = "checkpoints and files"
    # Imported when a case runs, so that the script also measures versions without these names.
    from quotientlearn import io as qlio
    from quotientlearn.checkpoint import Checkpoint

    def claim_folder(folder):
        return qlio.claim_folder(folder)

    def written_mode(mask):
        previous = os.umask(mask)
        try:
            path = scratch() / "report.json"
            qlio.write_json(path, {"a": 1})
            return path.stat().st_mode & 0o777
        finally:
            os.umask(previous)

    works(area, "write_json under umask 022 gives 0644", lambda: written_mode(0o022), lambda m, _: m == 0o644)
    works(area, "write_json under umask 077 gives 0600", lambda: written_mode(0o077), lambda m, _: m == 0o600)

    def stale_files_removed():
        folder = scratch()
        (folder / "checkpoints").mkdir()
        (folder / "other-run").mkdir()
        stale = [folder / ".report.json.abc.qltmp", folder / "checkpoints" / ".student.npz.x.qltmp"]
        kept = folder / "other-run" / ".report.json.y.qltmp"  # another run's folder: not ours to clean
        for path in [*stale, kept]:
            path.write_bytes(b"partial")
        with claim_folder(folder) as removed:
            pass
        return sorted(removed) == sorted(stale) and not any(p.exists() for p in stale) and kept.exists()

    works(area, "stale temporary files of a killed run are removed on the next claim",
          stale_files_removed, lambda ok, _: ok)

    def npz(kind):
        path = scratch() / "arrays.npz"
        if kind == "empty":
            path.write_bytes(b"")
        elif kind == "garbage":
            path.write_bytes(os.urandom(1000))
        elif kind == "pickle":
            import pickle

            path.write_bytes(pickle.dumps({"theta": [1, 2]}))
        elif kind == "npy":
            np.save(path.with_suffix(".npy"), np.ones(3))
            path.write_bytes(path.with_suffix(".npy").read_bytes())
        else:
            np.savez(path, theta=np.ones((64, 64)))
            path.write_bytes(path.read_bytes()[:500])
        return path

    for kind in ("empty", "garbage", "pickle", "npy", "truncated"):
        error(area, f"load_arrays({kind} file)", lambda k=kind: qlio.load_arrays(npz(k)), "npz",
              kind=ValueError)
        error(area, f"Checkpoint.load({kind} file)",
              lambda k=kind: Checkpoint(npz(k)).load(np.random.default_rng(0)), "checkpoint",
              kind=ValueError)

    def mismatched():
        path = scratch() / "run.npz"
        Checkpoint(path, fingerprint={"lr": 1}).save(3, np.random.default_rng(0), theta=np.ones(2))
        return Checkpoint(path, fingerprint={"lr": 2}).load(np.random.default_rng(0))

    error(area, "Checkpoint.load(written by another configuration)", mismatched, "lr",
          "another configuration", kind=ValueError)
    error(area, "claim_folder(an existing file)", lambda: claim_folder(_existing_file()).__enter__(), "file",
          kind=ValueError)
    error(area, "claim_folder(under a file)", lambda: claim_folder(_under_a_file()).__enter__(), "file",
          kind=ValueError)

    def busy():
        folder = scratch()
        with claim_folder(folder):
            with claim_folder(folder):
                pass

    error(area, "claim_folder(a folder another run holds)", busy, "in use", kind=ValueError)


def register_all():
    """Fill :data:`CASES` (idempotent)."""
    if not CASES:
        _balancing_cases()
        _python_api_cases()
        _gauge_and_bias_cases()
        _manifold_cases()
        _simulation_cases()
        _prediction_cases()
        _dataset_cases()
        _cli_cases()
        _sweep_cases()
        _file_cases()
    return CASES


def run_cases(areas=None, include_slow=True):
    """Classify every registered case; returns a list of ``(case, outcome, detail)``."""
    results = []
    for case in register_all():
        if (areas and case.area not in areas) or (case.slow and not include_slow):
            continue
        outcome, detail = classify(case)
        results.append((case, outcome, detail))
    return results


def table(results, markdown=False):
    """The per-area table of outcomes."""
    counts = {area: Counter() for area in AREAS}
    for case, outcome, _ in results:
        counts[case.area][outcome] += 1
    rows = [(area, sum(c.values()), c["clear"], c["unclear"], c["garbage"])
            for area, c in counts.items() if sum(c.values())]
    total = tuple(sum(row[i] for row in rows) for i in range(1, 5))
    rows.append(("all", *total))
    header = ("area", "tried", "clear", "unclear", "garbage")
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += [f"| {a} | {t} | {c} ({100 * c / t:.0f}%) | {u} | {g} |" for a, t, c, u, g in rows]
        return "\n".join(lines)
    lines = [f"{header[0]:<24s} {header[1]:>6s} {header[2]:>12s} {header[3]:>8s} {header[4]:>8s}"]
    lines += [f"{a:<24s} {t:6d} {c:6d} ({100 * c / t:3.0f}%) {u:8d} {g:8d}" for a, t, c, u, g in rows]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--area", action="append", choices=AREAS, help="only these areas")
    parser.add_argument("--markdown", action="store_true", help="print the table as markdown")
    parser.add_argument("--show", action="append", default=[], choices=("clear", "unclear", "garbage"),
                        help="list the cases with this outcome")
    parser.add_argument("--quick", action="store_true", help="skip the slow (subprocess) cases")
    args = parser.parse_args(argv)
    results = run_cases(args.area, include_slow=not args.quick)
    for case, outcome, detail in results:
        if outcome in args.show:
            print(f"[{outcome}] {case.area}: {case.label}\n    {detail}")
    print(table(results, args.markdown))
    return 0 if all(outcome == "clear" for _, outcome, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
