"""Noise models: the contract (increments have the declared covariance) on every zoo model, and a
noise model written by a user, outside the package, working in simulate and in the Itô route."""

import autograd.numpy as anp
import numpy as np
import pytest

import quotientlearn as ql
from quotientlearn.dynamics import NoiseModel, get_noise

ZOO = ql.models.zoo()
N_DRAWS = 20_000


def _sample_covariance(noise, model, theta, n_draws, seed):
    """Sample covariance of ``n_draws`` increments at each of the points ``theta`` (n, *shape).

    The increment the dynamics draw: ``increment`` on flat space, ``tangent_increment`` on a curved
    space (or with a metric), where the covariance carries the metric.
    """
    repeated = np.repeat(theta, n_draws, axis=0)
    _, pullback = model.predictor_and_pullback(repeated)
    draw = noise.increment if model.space.is_flat else noise.tangent_increment
    draws = draw(model, repeated, pullback, np.random.default_rng(seed))
    draws = draws.reshape(len(theta), n_draws, -1)
    return np.einsum("nsi,nsj->nij", draws, draws) / n_draws


def _max_z(sample, covariance, n_draws):
    """Largest standardised entry error: ``var(S_ij) = (C_ii C_jj + C_ij^2) / n`` for Gaussian draws."""
    diagonal = np.diagonal(covariance, axis1=-2, axis2=-1)
    variance = (diagonal[..., :, None] * diagonal[..., None, :] + covariance**2) / n_draws
    error = np.abs(sample - covariance)
    degenerate = variance < 1e-24
    assert np.all(error[degenerate] < 1e-10)  # directions without noise get none
    return float(np.max(error[~degenerate] / np.sqrt(variance[~degenerate])))


@pytest.mark.parametrize("noise_name", ["isotropic", "horizontal", "label", "preconditioned"])
@pytest.mark.parametrize("model_name", list(ZOO))
def test_increments_have_the_declared_covariance(model_name, noise_name):
    # Three points, 2e4 Gaussian draws each: every entry of the sample covariance within 5.5
    # standard errors of C (at most 3 * 12^2 entries: a false alarm has probability < 2e-5).
    model, noise = ZOO[model_name], get_noise(noise_name)
    if not noise.intrinsic and not model.space.is_chart:
        pytest.skip(f"{noise_name} noise is defined on coordinate spaces only")
    theta = model.gauge.project(model.sample((3,), 5))
    covariance = noise.covariance(model, theta)
    sample = _sample_covariance(noise, model, theta, N_DRAWS, seed=1)
    assert _max_z(sample, covariance, N_DRAWS) < 5.5


def test_the_covariance_check_has_power():
    # Horizontal increments held against the isotropic covariance: the vertical direction lacks its
    # variance, and the check sees it by a wide margin.
    model = ZOO["Hadamard"]
    theta = model.gauge.project(model.sample((3,), 5))
    sample = _sample_covariance(get_noise("horizontal"), model, theta, N_DRAWS, seed=1)
    isotropic = get_noise("isotropic").covariance(model, theta)
    assert _max_z(sample, isotropic, N_DRAWS) > 50


class UserHorizontal(NoiseModel):
    """Horizontal noise written as a user would: only the covariance, with autograd.numpy."""

    horizontal = True

    def covariance(self, model, theta):
        xi = model.action.generators(theta)
        gram = anp.matmul(xi, anp.swapaxes(xi, -1, -2))
        vertical = anp.matmul(anp.swapaxes(xi, -1, -2), anp.matmul(anp.linalg.inv(gram), xi))
        return anp.eye(theta.shape[-1]) - vertical


def quadratic(beta):
    return 0.5 * anp.sum((beta - 1.0) ** 2, axis=-1)


@pytest.mark.parametrize("model", [ql.models.Hadamard(2), ql.models.DiagonalNet(2, 3)],
                         ids=["Hadamard", "DiagonalNet"])
def test_a_users_noise_model_agrees_with_the_built_in_one(model):
    init = model.balanced(np.array([0.8, 1.3]))
    kwargs = dict(dt=1e-2, n_steps=100, n_particles=50, init=init, seed=3,
                  observables={"beta": lambda theta, beta: beta})
    mine = ql.simulate(model, quadratic, 0.1, noise=UserHorizontal(), **kwargs)
    built_in = ql.simulate(model, quadratic, 0.1, noise="horizontal", **kwargs)
    # The default increment is sqrt(C) xi, and sqrt(P_H) = P_H: the same draws, the same paths.
    np.testing.assert_allclose(mine.theta, built_in.theta, atol=1e-11)
    np.testing.assert_allclose(mine.traces["beta"], built_in.traces["beta"], atol=1e-11)
    assert mine.metadata["noise"] == "UserHorizontal"
    isotropic = ql.simulate(model, quadratic, 0.1, noise="isotropic", **kwargs)
    assert np.max(np.abs(isotropic.theta - built_in.theta)) > 1e-2  # power

    points = np.random.default_rng(0).uniform(0.4, 2.0, (8, 2))
    ito = dict(method="ito", reference=np.ones(2))
    mine = ql.stationary_density(model, quadratic, 0.1, noise=UserHorizontal(), **ito)
    built_in = ql.stationary_density(model, quadratic, 0.1, noise="horizontal", **ito)
    isotropic = ql.stationary_density(model, quadratic, 0.1, noise="isotropic", **ito)
    assert np.ptp(mine.logpdf(points) - built_in.logpdf(points)) < 1e-10
    assert np.ptp(mine.logpdf(points) - isotropic.logpdf(points)) > 0.5  # power


def test_a_noise_model_must_declare_its_covariance():
    class Nothing(NoiseModel):
        pass

    with pytest.raises(NotImplementedError, match=r"Nothing must implement NoiseModel.covariance"):
        Nothing().covariance(ZOO["Hadamard"], np.ones((1, 6)))


def test_flags_replace_name_tests():
    # Theorem 1 and the fibre integral need isotropic noise; a user's horizontal model is refused
    # by the fibre integral by its flag, whatever its name.
    with pytest.raises(ValueError, match="isotropic"):
        ql.stationary_density(ql.models.Hadamard(1), quadratic, 0.1, noise=UserHorizontal(),
                              gauge_fixing=False, weight_decay=0.5, method="fibre")
    with pytest.raises(ValueError, match="additive"):
        ql.simulate(ql.models.Hadamard(1), quadratic, 0.1, noise=UserHorizontal(), scheme="heun",
                    n_steps=1, n_particles=2)


def test_unknown_noise_lists_the_valid_ones():
    with pytest.raises(ValueError, match="isotropic, horizontal, label, preconditioned, or a quotientlearn"):
        get_noise(object())
