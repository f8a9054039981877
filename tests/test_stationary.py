"""ql.stationary_density: closed forms by every route, the Itô route on the zoo, bad input."""

import autograd.numpy as anp
import numpy as np
import pytest
from scipy.special import k0

import quotientlearn as ql
from quotientlearn.predictions import NonConservativeWarning, relative_curl

T = 0.1
X = np.linspace(0.3, 2.0, 9)[:, None]


def quadratic(beta):
    return 0.5 * anp.sum((beta - 1.0) ** 2, axis=-1)


def spread(a, b):
    """Density routes agree up to normalisation when the log ratio is constant."""
    return float(np.ptp(np.asarray(a) - np.asarray(b)))


@pytest.fixture
def hadamard():
    return ql.models.Hadamard(1)


@pytest.mark.parametrize(
    "noise, method, exponent",
    [("isotropic", "theorem1", 1.0), ("isotropic", "ito", 1.0), ("horizontal", "ito", 0.5),
     ("horizontal", "theorem1", 1.0)],
)
def test_hadamard_closed_forms(hadamard, noise, method, exponent):
    # docs/theory.md: exp(-L/T)/|beta| (Theorem 1; isotropic) and exp(-L/T)/sqrt|beta| (horizontal)
    density = ql.stationary_density(hadamard, quadratic, T, noise=noise, method=method)
    exact = -0.5 * (X[:, 0] - 1) ** 2 / T - exponent * np.log(X[:, 0])
    assert spread(density.logpdf(X), exact) < 1e-10
    wrong = -0.5 * (X[:, 0] - 1) ** 2 / T - (1.5 - exponent) * np.log(X[:, 0])
    assert spread(density.logpdf(X), wrong) > 0.5


def test_hadamard_label_noise_closed_form(hadamard):
    # a = -2|b| l' + 2 T b, D = 4 T b^2  =>  grad log p = -(b - 1) / (2 T b) - 3 / (2 b)
    density = ql.stationary_density(hadamard, quadratic, T, noise="label", method="ito")
    exact = -(X[:, 0] - np.log(X[:, 0])) / (2 * T) - 1.5 * np.log(X[:, 0])
    assert spread(density.logpdf(X), exact) < 1e-9


def test_fibre_integral_matches_bessel_closed_form(hadamard):
    # Gibbs exp(-(L + lam |theta|^2/2)/T) pushed forward: exp(-L/T) K_0(lam |beta| / T)
    lam = 0.5
    density = ql.stationary_density(hadamard, quadratic, T, gauge_fixing=False, weight_decay=lam,
                                    method="fibre")
    exact = -0.5 * (X[:, 0] - 1) ** 2 / T + np.log(k0(lam * X[:, 0] / T))
    assert spread(density.logpdf(X), exact) < 1e-8
    # the opposite entropic effect: Theorem 1 (which divides by the orbit volume) is far off
    theorem1 = ql.stationary_density(hadamard, quadratic, T, weight_decay=lam)
    assert spread(theorem1.logpdf(X), exact) > 1.0


def test_diagonal_net_closed_form():
    model = ql.models.DiagonalNet(1, depth=3)
    exact = -0.5 * (X[:, 0] - 1) ** 2 / T - (4 / 3) * np.log(X[:, 0])
    for method in ("theorem1", "ito"):
        density = ql.stationary_density(model, quadratic, T, method=method)
        assert spread(density.logpdf(X), exact) < 1e-9


def test_matrix_factorization_theorem1_needs_the_residual_orbit_volume():
    # The gauge fixes only the symmetric part of gl(2); the rotations O(2) act within the slice, and
    # pushing the slice law forward to M integrates over their orbit, of length ~ sqrt(s1 + s2).
    # With that volume, Theorem 1 agrees with the independent Itô route to 1e-8; without it (the
    # naive formula) the two differ by exactly the orbit volume. Simulation: theorem1-check.
    model = ql.models.MatrixFactorization(2, 2, 2)
    rng = np.random.default_rng(0)
    s = np.sort(rng.uniform(0.3, 2.0, (12, 2)), axis=1)[:, ::-1]
    rotation = np.linalg.qr(rng.standard_normal((2, 2)))[0]
    matrices = rotation @ (s[:, :, None] * np.eye(2)) @ rotation.T

    def loss(m):
        return 0.25 * anp.sum((anp.matmul(anp.swapaxes(m, -1, -2), m) - anp.eye(2)) ** 2,
                              axis=(-2, -1))

    ito = ql.stationary_density(model, loss, T, method="ito")
    theorem1 = ql.stationary_density(model, loss, T, method="theorem1")
    assert ito.info["curl_near_reference"] < 1e-5
    residual = ql.log_residual_orbit_volume(model, model.balanced(matrices))
    np.testing.assert_allclose(residual, 0.5 * np.log(s.sum(axis=1)), rtol=1e-12)
    ratio = ito.logpdf(matrices) - theorem1.logpdf(matrices)
    assert spread(ratio, 0.0) < 1e-8
    assert spread(ratio + residual, 0.0) > 0.1  # power: the naive formula is distinguishable


def _zoo_cases():
    zoo = ql.models.zoo()
    charts = {
        "ScaleInvariant": (lambda b: anp.stack([anp.arctan2(b[..., 1], b[..., 0]),
                                                anp.arccos(b[..., 2])], -1),
                           lambda c: np.stack([np.sin(c[..., 1]) * np.cos(c[..., 0]),
                                               np.sin(c[..., 1]) * np.sin(c[..., 0]),
                                               np.cos(c[..., 1])], -1)),
        "Translation": (lambda b: anp.log(b[..., :-1]) - anp.log(b[..., -1:]),
                        lambda c: np.exp(np.concatenate([c, np.zeros(c.shape[:-1] + (1,))], -1))
                        / np.sum(np.exp(np.concatenate([c, np.zeros(c.shape[:-1] + (1,))], -1)),
                                 -1, keepdims=True)),
    }
    for name, model in zoo.items():
        if name.startswith("Attention") or name == "StiefelProjector":
            continue  # rank-deficient Q K^T, U U^T: need a chart (the projector's: tests/predictions)
        if name == "SPDSpectrum":
            continue  # sorted spectra (a Weyl chamber): random probes leave it (tests/predictions)
        yield pytest.param(name, model, charts.get(name), id=name)


# Label noise has D = T (J J^T)^2 but drift -J J^T grad L: the loss part of the field,
# (J J^T)^{-1} grad L / T, is a gradient only when J J^T is compatible with the loss (diagonal
# Hadamard-type cometrics, or rotation-invariant losses). With the generic loss below these models'
# label-noise laws carry a probability flux: no potential exists, and the route must say so.
NON_CONSERVATIVE_LABEL = {"MatrixFactorization", "ShallowReLU", "GroupSparse", "Translation"}


@pytest.mark.parametrize("name, model, chart", list(_zoo_cases()))
@pytest.mark.parametrize("noise", ["isotropic", "horizontal", "label"])
def test_ito_route_runs_on_the_zoo_and_checks_the_curl(name, model, chart, noise):
    rng = np.random.default_rng(3)
    beta0 = model.predictor(model.gauge.project(model.sample((), rng)))
    to_chart = (lambda b: b) if chart is None else chart[0]
    c0 = np.asarray(to_chart(beta0), dtype=float)

    def loss(beta):
        c = beta if chart is None else chart[0](beta)
        return 0.5 * anp.sum(anp.reshape(c - c0, anp.shape(c)[: anp.ndim(c) - c0.ndim] + (-1,)) ** 2,
                             axis=-1)

    kwargs = dict(noise=noise, method="ito", coordinates=chart, reference=c0)
    points = c0 + 0.05 * rng.standard_normal((4,) + c0.shape)
    if noise == "label" and name in NON_CONSERVATIVE_LABEL:
        with pytest.warns(NonConservativeWarning, match="probability flux"):
            density = ql.stationary_density(model, loss, 0.2, **kwargs)
        assert density.info["curl_near_reference"] > 1e-3
        return
    density = ql.stationary_density(model, loss, 0.2, **kwargs)
    values = density.logpdf(points)
    assert values.shape == (4,) and np.all(np.isfinite(values))
    assert density.info["curl_near_reference"] < 1e-5
    assert np.max(density.field.curl(points.reshape(4, -1))) < 1e-5


def test_ito_route_on_a_custom_model():
    d = 2
    action = ql.groups.GroupAction(
        dim=d, space_dim=2 * d,
        act=lambda c, th: anp.concatenate([th[..., :d] * anp.exp(c), th[..., d:] * anp.exp(-c)], -1))

    def balanced(beta):
        root = np.sqrt(np.abs(beta))
        return np.concatenate([root, np.sign(beta) * root], -1)

    model = ql.models.Custom(predictor=lambda th: th[..., :d] * th[..., d:], action=action,
                             balanced=balanced)
    density = ql.stationary_density(model, quadratic, T, method="ito", reference=np.ones(2))
    grid = np.stack([X[:, 0], np.full(len(X), 1.3)], -1)
    exact = -0.5 * (X[:, 0] - 1) ** 2 / T - np.log(X[:, 0])
    assert spread(density.logpdf(grid), exact) < 1e-9


def test_curl_check_detects_a_rotational_field():
    def rotation(c):
        return np.stack([-c[:, 1], c[:, 0]], -1)

    def gradient(c):  # of |c|^2 / 2 + c_0 c_1
        return np.stack([c[:, 0] + c[:, 1], c[:, 1] + c[:, 0]], -1)

    assert np.allclose(relative_curl(rotation, np.ones((3, 2))), 1.0)
    assert np.max(relative_curl(gradient, np.ones((3, 2)))) < 1e-8


def test_non_conservative_warning_is_a_runtime_warning():
    assert issubclass(NonConservativeWarning, RuntimeWarning)


def test_comparison_helpers(hadamard):
    iso = ql.stationary_density(hadamard, quadratic, T, method="ito")
    hor = ql.stationary_density(hadamard, quadratic, T, noise="horizontal", method="ito")
    thm = ql.stationary_density(hadamard, quadratic, T)
    assert iso.log_ratio_spread(thm, X) < 1e-10 and iso.log_ratio_spread(hor, X) > 0.5
    assert iso.total_variation(thm, (0.3, 2.0)) < 1e-6
    assert 0.02 < iso.total_variation(hor, (0.3, 2.0)) < 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"method": "exact"}, "valid methods: theorem1, ito, fibre"),
        ({"noise": "pink"}, "valid noise models"),
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": 0.0}, "temperature > 0"),
        ({"method": "fibre"}, "gauge_fixing=False"),
        ({"method": "fibre", "gauge_fixing": False}, "weight_decay > 0"),
        ({"method": "ito", "gauge_fixing": False}, "leaves the slice"),
        ({"method": "ito", "reference": np.zeros(1)}, "singular at the reference"),
        ({"weight_decay": -1.0}, "weight_decay"),
    ],
)
def test_bad_input(hadamard, kwargs, message):
    temperature = kwargs.pop("temperature", T)
    with pytest.raises(ValueError, match=message):
        ql.stationary_density(hadamard, quadratic, temperature, **kwargs)


def test_rank_deficient_predictor_needs_a_chart():
    with pytest.raises(ValueError, match="pass coordinates="):
        ql.stationary_density(ql.models.ScaleInvariant(2), lambda b: -b[..., 0], 0.5, method="ito")


def test_logpdf_shape_check(hadamard):
    density = ql.stationary_density(hadamard, quadratic, T)
    with pytest.raises(ValueError, match=r"beta must have shape \(\.\.\., 1\)"):
        density.logpdf(np.ones((3, 2)))


@pytest.mark.parametrize("dim, tolerance", [(2, 1e-8), (3, 0.02)])
def test_fibre_integral_in_several_group_dimensions(dim, tolerance):
    # k = 2: tensor trapezoid rule; k = 3: importance sampling (common nodes, so the error is a
    # smooth function of beta; the measured error is 1.6e-3 with 4096 Laplace-proposal nodes).
    # Separable loss: the law is the product of the 1-D Bessel laws.
    lam = 0.5
    model = ql.models.Hadamard(dim)
    density = ql.stationary_density(model, quadratic, T, gauge_fixing=False, weight_decay=lam,
                                    method="fibre")
    points = np.random.default_rng(0).uniform(0.3, 2.0, (6, dim))
    exact = np.sum(-0.5 * (points - 1) ** 2 / T + np.log(k0(lam * points / T)), axis=-1)
    assert spread(density.logpdf(points), exact) < tolerance
    assert "trapezoid" in density.info["fibre_quadrature"] if dim == 2 else \
        "importance" in density.info["fibre_quadrature"]
    theorem1 = ql.stationary_density(model, quadratic, T, weight_decay=lam)
    assert spread(theorem1.logpdf(points), exact) > 0.5  # power: 25x the tolerance
