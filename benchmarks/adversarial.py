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
import math
import re
import sys
import warnings
from collections import Counter
from dataclasses import dataclass, field

import autograd.numpy as anp
import numpy as np

import quotientlearn as ql
from quotientlearn import models
from quotientlearn.groups import DegenerateOrbitWarning, GroupAction, PairRescaling, TorusRescaling

AREAS = ("balancing", "python api", "gauge and bias", "simulation", "predictions", "cli",
         "checkpoints and files")


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
            if case.expect == "works":
                return "unclear", text
            named = all(_mentions(str(exc), word) for word in case.words)
            return ("clear" if isinstance(exc, case.kind) and named else "unclear"), text
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
            works(area, f"{name}.gauge.project({scale:g} * theta)",
                  lambda m_=model, t=theta: m_.gauge.project(t), keeps(model, theta))
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


def register_all():
    """Fill :data:`CASES` (idempotent)."""
    if not CASES:
        _balancing_cases()
        _python_api_cases()
        _gauge_and_bias_cases()
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
