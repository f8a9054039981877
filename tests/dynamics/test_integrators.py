"""Integrator pieces: the drift uses the model's pull-back; Heun is exact on linear drift."""

import autograd.numpy as anp
import numpy as np

import quotientlearn as ql
from quotientlearn.dynamics.integrators import Force, euler_step, heun_step
from quotientlearn.dynamics.noise import get_noise


def test_force_uses_the_models_pullback():
    # A model whose pull-back is deliberately scaled: the drift must follow the model's method,
    # not a second copy of the predictor's derivative held by the dynamics layer.
    class Scaled(ql.models.Hadamard):
        def predictor_and_pullback(self, theta):
            beta, pullback = super().predictor_and_pullback(theta)
            return beta, lambda cotangent: 2.0 * pullback(cotangent)

    theta = np.array([[1.0, 2.0, 0.5, -1.0]])

    def loss(beta):
        return 0.5 * anp.sum(beta**2, axis=-1)

    _, plain, _ = Force(ql.models.Hadamard(2), loss)(theta)
    _, scaled, _ = Force(Scaled(2), loss)(theta)
    np.testing.assert_allclose(scaled, 2.0 * plain)


def test_force_includes_weight_decay_and_soft_gauge():
    model = ql.models.Hadamard(2)
    theta = np.array([[1.0, 2.0, 0.5, -1.0]])

    def loss(beta):
        return 0.5 * anp.sum(beta**2, axis=-1)

    values, drift, _ = Force(model, loss, weight_decay=0.3, gauge_penalty=2.0)(theta)
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
    force = Force(model, lambda b: 0.5 * anp.sum(b**2, axis=-1))
    theta = np.ones((1, 3))
    rng = np.random.default_rng(0)
    noise = get_noise("isotropic")
    heun, _ = heun_step(force, noise, model, theta, 0.1, 0.0, rng)
    euler, _ = euler_step(force, noise, model, theta, 0.1, 0.0, rng)
    np.testing.assert_allclose(heun, 1 - 0.1 + 0.005)
    np.testing.assert_allclose(euler, 0.9)
