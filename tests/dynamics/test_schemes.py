"""Drift and schemes: the drift uses the model's pull-back; Heun is exact on linear drift."""

import autograd.numpy as anp
import numpy as np
import pytest

import quotientlearn as ql
from quotientlearn.dynamics import EulerMaruyama, Potential, StochasticHeun, get_noise


def test_potential_uses_the_models_pullback():
    # A model whose pull-back is deliberately scaled: the drift must follow the model's method,
    # not a second copy of the predictor's derivative held by the dynamics layer.
    class Scaled(ql.models.Hadamard):
        def predictor_and_pullback(self, theta):
            beta, pullback = super().predictor_and_pullback(theta)
            return beta, lambda cotangent: 2.0 * pullback(cotangent)

    theta = np.array([[1.0, 2.0, 0.5, -1.0]])

    def loss(beta):
        return 0.5 * anp.sum(beta**2, axis=-1)

    plain, _ = Potential(ql.models.Hadamard(2), loss).evaluate(theta)
    scaled, _ = Potential(Scaled(2), loss).evaluate(theta)
    np.testing.assert_allclose(scaled, 2.0 * plain)


def test_potential_includes_weight_decay_and_soft_gauge():
    model = ql.models.Hadamard(2)
    theta = np.array([[1.0, 2.0, 0.5, -1.0]])

    def loss(beta):
        return 0.5 * anp.sum(beta**2, axis=-1)

    values, drift, _ = Potential(model, loss, weight_decay=0.3, gauge_penalty=2.0).value_and_drift(
        theta)
    u, v = theta[0, :2], theta[0, 2:]
    chi = 0.5 * (u**2 - v**2)
    expected = -np.concatenate([u * v * v, u * v * u]) - 0.3 * theta[0] \
        - 2.0 * np.concatenate([chi * u, -chi * v])
    np.testing.assert_allclose(drift[0], expected)
    np.testing.assert_allclose(values, 0.5 * np.sum((u * v) ** 2))


def test_heun_is_exact_on_linear_drift_without_noise():
    # d theta = -theta dt: Heun multiplies by 1 - dt + dt^2/2 (second order), Euler by 1 - dt.
    action = ql.groups.GroupAction(dim=0, space_dim=3, act=lambda c, th: th)
    model = ql.models.Custom(predictor=lambda th: th, action=action)
    drift = Potential(model, lambda b: 0.5 * anp.sum(b**2, axis=-1))
    theta = np.ones((1, 3))
    rng = np.random.default_rng(0)
    noise = get_noise("isotropic")
    heun = StochasticHeun().step(theta, drift, noise, model, 0.1, 0.0, rng)
    euler = EulerMaruyama().step(theta, drift, noise, model, 0.1, 0.0, rng)
    np.testing.assert_allclose(heun, 1 - 0.1 + 0.005)
    np.testing.assert_allclose(euler, 0.9)
    np.testing.assert_array_equal(theta, 1.0)  # the step returns a new array


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_loss_written_with_plain_numpy_is_refused_with_the_fix():
    model = ql.models.Hadamard(1)

    def silent(beta):  # np.einsum returns a constant under autograd: every gradient would be 0
        return np.einsum("ni,ni->n", beta - 1.0, beta - 1.0)

    def failing(beta):  # np.linalg.norm raises autograd's ArrayBox TypeError
        return np.linalg.norm(beta - 1.0, axis=-1) ** 2

    for loss in (silent, failing):
        with pytest.raises(TypeError, match="write it with autograd.numpy"):
            ql.simulate(model, loss, 0.1, n_steps=1, n_particles=4)
        with pytest.raises(TypeError, match="write it with autograd.numpy"):
            ql.stationary_density(model, loss, 0.1, method="ito")
    # Theorem 1 evaluates the loss without derivatives: plain numpy is fine there.
    assert np.isfinite(ql.stationary_density(model, silent, 0.1).logpdf(np.ones((1, 1)))).all()
