"""One step of the stochastic integrators, vectorised over particles.

``euler`` is Euler–Maruyama (weak order 1). ``heun`` is the stochastic Heun predictor–corrector with the
same Gaussian increment in both stages; for additive (isotropic) noise it has weak order 2 for the
unconstrained dynamics. With a gauge projection after each step nothing guarantees order 2 (the
predictor's drift and diffusion change along the orbit between projections); what is measured, in
benchmarks/bench_dynamics.py ``--resolve-heun`` (8e6 particles, gauge-fixed ``u v``, E[beta] at
T = 0.05, dt = 0.24 ... 0.08), is a weak-order slope of 2.50 ± 0.11 for Heun against 1.13 ± 0.02 for
Euler, with biases -1.3e-3 against -6.5e-3 at dt = 0.16.
"""

from __future__ import annotations

import numpy as np
from autograd import make_vjp

__all__ = ["SCHEMES", "Force", "euler_step", "heun_step"]


class Force:
    """Drift ``-grad U`` of the potential ``U = L(phi(theta)) + lam |theta|^2 / 2 + kappa |chi|^2 / 2``.

    The loss gradient is one reverse-mode pass through the loss and one pull-back through the
    predictor (``J^T g`` without forming ``J``: :meth:`~quotientlearn.models.Model.predictor_and_pullback`,
    in closed form for the zoo); the same predictor pull-back serves label noise.

    Parameters
    ----------
    model : Model
    loss : callable
        ``loss(beta) -> (N,)`` written with ``autograd.numpy``.
    weight_decay : float
        ``lam``.
    gauge_penalty : float
        ``kappa``, the strength of the soft gauge penalty on the moment map ``chi``.
    """

    def __init__(self, model, loss, weight_decay=0.0, gauge_penalty=0.0):
        self.model, self.loss = model, loss
        self.weight_decay, self.gauge_penalty = float(weight_decay), float(gauge_penalty)

    def __call__(self, theta):
        """Loss values ``(N,)``, drift ``(N, D)`` and the predictor pull-back ``w -> J^T w``."""
        beta, pullback = self.model.predictor_and_pullback(theta)
        loss_pullback, values = make_vjp(self.loss)(beta)
        drift = pullback(-loss_pullback(np.ones_like(values)))  # negate the small cotangent
        if self.weight_decay:
            drift = drift - self.weight_decay * theta
        if self.gauge_penalty:
            gauge = self.model.gauge
            chi = gauge._chi_raw(theta)
            drift = drift - self.gauge_penalty * np.einsum(
                "...c,...cd->...d", chi, gauge.chi_jacobian(theta))
        return values, drift, pullback


def euler_step(force, noise, model, theta, dt, scale, rng):
    """Euler–Maruyama: ``theta + b dt + sqrt(2 T dt) C^{1/2} xi``.

    Returns
    -------
    theta : ndarray, shape (N, D)
    values : ndarray, shape (N,)
        Loss at the starting point.
    """
    values, drift, pullback = force(theta)
    step = noise.increment(model, theta, pullback, rng)
    # in place on the fresh arrays: one pass fewer over (N, D) than the textbook expression
    step *= scale
    drift *= dt
    step += drift
    step += theta
    return step, values


def heun_step(force, noise, model, theta, dt, scale, rng):
    """Stochastic Heun (predictor–corrector) for additive noise; same return as :func:`euler_step`."""
    values, drift, pullback = force(theta)
    increment = scale * noise.increment(model, theta, pullback, rng)
    predicted = theta + dt * drift + increment
    with np.errstate(invalid="ignore", over="ignore"):
        _, drift_predicted, _ = force(predicted)
    return theta + 0.5 * dt * (drift + drift_predicted) + increment, values


#: name -> step function
SCHEMES = {"euler": euler_step, "heun": heun_step}
