"""Riemannian Langevin and preconditioned noise on curved spaces and metrics: the laws they reach.

Statistics: final states of independent particles (i.i.d.), KS against the exact stationary law, and
power shown by rejecting the law of the other dynamics. The step bias (weak order 1) is kept below the
sampling error: dt = 2e-3 against KS resolutions of ~1e-2 at these sizes.
"""

import autograd.numpy as anp
import numpy as np
import pytest
from geomstats.geometry.euclidean import Euclidean
from geomstats.geometry.hypersphere import Hypersphere
from geomstats.geometry.poincare_ball import PoincareBall
from geomstats.geometry.riemannian_metric import RiemannianMetric
from geomstats.geometry.spd_matrices import SPDMatrices
from geomstats.geometry.special_orthogonal import SpecialOrthogonal
from geomstats.geometry.stiefel import Stiefel
from scipy import stats

import quotientlearn as ql
from quotientlearn.groups import PairRescaling


def tabulated_cdf(density, low, high, n=200_001):
    grid = np.linspace(low, high, n)
    values = density(grid)
    cumulative = np.concatenate([[0.0], np.cumsum(0.5 * (values[1:] + values[:-1]) * np.diff(grid))])
    return lambda x: np.interp(x, grid, cumulative / cumulative[-1])


@pytest.mark.slow
@pytest.mark.parametrize("scheme", ["euler", "geodesic"])
def test_langevin_on_the_sphere_is_von_mises_fisher(sized, scheme):
    """L = -k0 x_3 on S^2 at T: x_3 has density exp(kappa t) on [-1, 1], kappa = k0 / T.

    The wrong law: exp(-L/T) against the flat Lebesgue measure of the chart (x_1, x_2) that projects
    the ambient R^3 onto a plane, i.e. forgetting the volume factor sqrt det g = 1 / |x_3|: density
    |t| exp(kappa t).
    """
    model = ql.models.Custom(predictor=lambda x: x, space=Hypersphere(2))
    k0, temperature = 1.0, 0.5
    kappa = k0 / temperature
    samples = ql.simulate(model, lambda beta: -k0 * beta[..., 2], temperature, gauge_fixing=False,
                          dt=2e-3, n_steps=sized(3000, 2500), n_particles=sized(20_000, 4000),
                          seed=11, scheme=scheme)
    assert samples.theta.shape == (sized(20_000, 4000), 3)
    assert samples.metadata["max_manifold_residual"] < 1e-10
    t = samples.theta[:, 2]
    von_mises_fisher = tabulated_cdf(lambda s: np.exp(kappa * s), -1, 1)
    flat_chart = tabulated_cdf(lambda s: np.abs(s) * np.exp(kappa * s), -1, 1)
    assert stats.kstest(t, von_mises_fisher).pvalue > 0.01
    assert stats.kstest(t, flat_chart).pvalue < 1e-6


class OnePlusSquare(RiemannianMetric):
    """``g(x) = 1 + x^2`` on R^1, written with geomstats' numpy backend."""

    def metric_matrix(self, base_point=None):
        return 1.0 + base_point[..., :, None] ** 2


@pytest.mark.slow
def test_isotropic_and_preconditioned_noise_reach_their_own_laws(sized):
    """g = 1 + x^2, L = x^2 / 2, T = 1: Riemannian Langevin has sqrt(g) exp(-L/T) (dvol_g), the
    preconditioned SDE (g^-1 drift and noise, no Itô drift) has g exp(-L/T); each rejects the other."""
    euclidean = Euclidean(1)
    euclidean.equip_with_metric(OnePlusSquare)
    model = ql.models.Custom(predictor=lambda x: x, space=euclidean)
    riemannian = tabulated_cdf(lambda x: np.sqrt(1 + x**2) * np.exp(-x**2 / 2), -12, 12)
    preconditioned = tabulated_cdf(lambda x: (1 + x**2) * np.exp(-x**2 / 2), -12, 12)
    laws = {"isotropic": riemannian, "preconditioned": preconditioned}
    for noise, own in laws.items():
        samples = ql.simulate(model, lambda beta: 0.5 * beta[..., 0] ** 2, 1.0, noise=noise,
                              gauge_fixing=False, dt=2e-3, n_steps=sized(4000, 3000),
                              n_particles=sized(20_000, 5000), seed=5)
        x = samples.theta[:, 0]
        other = laws["preconditioned" if noise == "isotropic" else "isotropic"]
        assert stats.kstest(x, own).pvalue > 0.01, noise
        assert stats.kstest(x, other).pvalue < 1e-6, noise


@pytest.mark.parametrize("manifold", [SpecialOrthogonal(3), SPDMatrices(2), Stiefel(4, 2),
                                      PoincareBall(2), Hypersphere(3)],
                         ids=["SO(3)", "SPD(2)", "Stiefel(4,2)", "Poincare(2)", "S3"])
@pytest.mark.parametrize("scheme", ["euler", "geodesic"])
def test_particles_stay_on_the_manifold(manifold, scheme):
    model = ql.models.Custom(predictor=lambda x: anp.sum(x**2, axis=tuple(range(1, x.ndim))),
                             space=manifold)
    samples = ql.simulate(model, lambda beta: 0.1 * beta, 0.3, gauge_fixing=False, dt=1e-2,
                          n_steps=200, n_particles=200, seed=0, scheme=scheme)
    assert samples.theta.shape == (200,) + tuple(manifold.shape)
    assert samples.metadata["max_manifold_residual"] < 1e-10
    assert np.all(manifold.belongs(samples.theta, atol=1e-9))


@pytest.mark.parametrize("manifold,atol", [(SPDMatrices(3), 0.0), (Stiefel(6, 3), 1e-14)],
                         ids=["SPD(3)", "Stiefel(6,3)"])
def test_chunked_riemannian_steps_match_one_batch(manifold, atol):
    # The engine chunks independent particles (2**14 // 9 = 1820 rows of SPD(3) points, 910 of
    # Stiefel(6, 3)): the chunked run and the one-batch run draw the same numbers. SPD(3) gives the
    # same bits; Stiefel's polar factor takes the series degree its chunk's largest defect needs, so
    # chunks round differently (to ~1e-16 a step).
    from quotientlearn.dynamics import Engine, Potential, get_noise
    from quotientlearn.dynamics.schemes import RiemannianEuler

    class WholeBatch(Potential):
        independent_rows = False

    model = ql.models.Custom(predictor=lambda x: x, space=manifold)
    weights = np.linspace(-1.0, 1.0, model.dim)

    def loss(beta):
        return anp.sum(anp.reshape(beta, anp.shape(beta)[:1] + (-1,)) * weights, axis=-1)

    start = np.broadcast_to(model.space.sample((), 0), (4000,) + model.space.shape).copy()
    runs = []
    for drift in (Potential(model, loss), WholeBatch(model, loss)):
        engine = Engine(drift, get_noise("isotropic"), RiemannianEuler("retraction"), 0.1, 1e-3,
                        model=model)
        runs.append(engine.run(start.copy(), 3, np.random.default_rng(3), progress=False).theta)
    np.testing.assert_allclose(runs[0], runs[1], rtol=0, atol=atol)


def test_the_riemannian_step_takes_the_spaces_chunk_size():
    from quotientlearn.dynamics import get_noise, get_scheme

    for manifold, entries in ((SPDMatrices(3), 2**14), (Hypersphere(2), None)):
        space = ql.models.Custom(predictor=lambda x: x, space=manifold).space
        for name in ("euler", "geodesic"):
            scheme = get_scheme(name).on_space(space, get_noise("isotropic"))
            assert scheme.chunk_entries == space.chunk_entries == entries


class IdentityMetric(RiemannianMetric):
    """The identity written as a user's metric: the metric-aware path with flat numbers."""

    def metric_matrix(self, base_point=None):
        return anp.eye(base_point.shape[-1]) + 0.0 * base_point[..., :, None]


def _hadamard_pair(width=2):
    def predictor(theta):
        return theta[..., :width] * theta[..., width:]

    def action():
        return PairRescaling(2 * width, [[i] for i in range(width)], [[width + i] for i in range(width)])

    euclidean = Euclidean(2 * width)
    euclidean.equip_with_metric(IdentityMetric)
    flat = ql.models.Custom(predictor=predictor, action=action(), dim=2 * width)
    metric = ql.models.Custom(predictor=predictor, action=action(), space=euclidean)
    return flat, metric


@pytest.mark.parametrize("noise", ["isotropic", "horizontal", "label", "preconditioned"])
@pytest.mark.parametrize("gauge_fixing", [True, False])
def test_identity_metric_reproduces_the_flat_numbers(noise, gauge_fixing):
    flat, metric = _hadamard_pair()
    assert metric.space.name().startswith("Euclidean(4) with IdentityMetric")

    def loss(beta):
        return 0.5 * anp.sum((beta - 1.0) ** 2, axis=-1)

    init = np.sqrt([0.7, 1.3, 0.7, 1.3])  # balanced: u = v = sqrt(beta)
    runs = [ql.simulate(model, loss, 0.1, noise=noise, gauge_fixing=gauge_fixing, dt=1e-2, n_steps=200,
                        n_particles=64, seed=3, init=init, weight_decay=0.1) for model in (flat, metric)]
    assert runs[1].metadata["scheme"] == "retraction" and runs[0].metadata["scheme"] == "euler"
    np.testing.assert_allclose(runs[1].theta, runs[0].theta, rtol=0, atol=1e-12)


def test_identity_metric_reproduces_the_flat_geometry():
    flat, metric = _hadamard_pair(3)
    rng = np.random.default_rng(0)
    theta = flat.sample((5,), rng)
    vector = rng.standard_normal(theta.shape)
    for name in ("gram", "generators"):
        np.testing.assert_allclose(getattr(metric.bundle, name)(theta), getattr(flat.bundle, name)(theta),
                                   rtol=0, atol=1e-12)
    for name in ("vertical_projection", "horizontal_projection"):
        np.testing.assert_allclose(getattr(metric.bundle, name)(vector, theta),
                                   getattr(flat.bundle, name)(vector, theta), rtol=0, atol=1e-12)
    np.testing.assert_allclose(ql.implicit_bias(metric, theta, 0.3), ql.implicit_bias(flat, theta, 0.3),
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(metric.bundle.quotient_cometric(theta), flat.bundle.quotient_cometric(theta),
                               rtol=0, atol=1e-12)


def test_schemes_and_noise_that_do_not_fit_the_space_are_refused():
    sphere = ql.models.Custom(predictor=lambda x: x, space=Hypersphere(2))

    def loss(beta):
        return beta[..., 2]

    with pytest.raises(ValueError, match="heun.*identity metric"):
        ql.simulate(sphere, loss, 0.1, gauge_fixing=False, scheme="heun", n_steps=1, n_particles=2)
    with pytest.raises(ValueError, match="preconditioned noise is defined in the coordinates"):
        ql.simulate(sphere, loss, 0.1, noise="preconditioned", gauge_fixing=False, n_steps=1,
                    n_particles=2)
    euclidean = Euclidean(1)
    euclidean.equip_with_metric(OnePlusSquare)
    metric = ql.models.Custom(predictor=lambda x: x, space=euclidean)
    with pytest.raises(ValueError, match="no closed-form exponential map"):
        ql.simulate(metric, lambda beta: beta[..., 0] ** 2, 0.1, gauge_fixing=False, scheme="geodesic",
                    n_steps=1, n_particles=2)


def test_init_off_the_manifold_is_refused():
    sphere = ql.models.Custom(predictor=lambda x: x, space=Hypersphere(2))
    with pytest.raises(ValueError, match=r"init is off the manifold Hypersphere.*\|\|x\| - 1\| = 1\.000e-03"):
        ql.simulate(sphere, lambda beta: beta[..., 2], 0.1, gauge_fixing=False, n_steps=1, n_particles=2,
                    init=np.array([0.0, 0.0, 1.001]))
