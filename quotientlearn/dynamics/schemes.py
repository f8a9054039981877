"""One step of the stochastic integrators, vectorised over particles.

:class:`EulerMaruyama` has weak order 1. :class:`StochasticHeun` is the predictor–corrector with the
same Gaussian increment (and the same minibatch) in both stages; for additive (isotropic) noise it has
weak order 2 for the unconstrained dynamics. With a gauge projection after each step nothing guarantees
order 2 (the predictor's drift and diffusion change along the orbit between projections); what is
measured, in benchmarks/bench_dynamics.py ``--resolve-heun`` (8e6 particles, gauge-fixed ``u v``,
E[beta] at T = 0.05, dt = 0.24 ... 0.08), is a weak-order slope of 2.50 ± 0.11 for Heun against
1.13 ± 0.02 for Euler, with biases -1.3e-3 against -6.5e-3 at dt = 0.16.

A scheme is a small object; a new one (e.g. a geodesic step on a manifold) subclasses :class:`Scheme`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SCHEMES", "EulerMaruyama", "Scheme", "StochasticHeun", "get_scheme"]


class Scheme:
    """One step ``theta -> theta'`` of ``d theta = b dt + sqrt(2 T) C^{1/2} dW``.

    Attributes
    ----------
    name : str
    needs_additive_noise : bool
        Whether the scheme is only valid for a noise model with constant covariance.

    Examples
    --------
    >>> from quotientlearn import dynamics
    >>> scheme = dynamics.get_scheme("euler")
    >>> isinstance(scheme, dynamics.Scheme), scheme.needs_additive_noise
    (True, False)
    >>> dynamics.get_scheme("heun").needs_additive_noise  # Heun needs constant noise
    True
    """

    name = "scheme"
    needs_additive_noise = False

    def __repr__(self):
        return f"{type(self).__name__}()"

    def step(self, theta, drift, noise, model, dt, scale, rng):
        """Advance every particle by one step.

        Parameters
        ----------
        theta : ndarray, shape (N, D)
        drift : Drift
        noise : NoiseModel
        model : Model or None
            Passed to the noise model.
        dt : float
        scale : float
            ``sqrt(2 T dt)``; at 0 no noise is drawn.
        rng : numpy.random.Generator

        Returns
        -------
        theta : ndarray, shape (N, D)
            A new array.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement Scheme.step")


class EulerMaruyama(Scheme):
    """``theta + b dt + sqrt(2 T dt) C^{1/2} xi``.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Hadamard(dim=1)
    >>> def loss(beta):
    ...     return 0.5 * (beta[..., 0] - 1.0) ** 2
    >>> samples = ql.simulate(model, loss, 0.1, scheme="euler", n_steps=20, n_particles=4, seed=0,
    ...                       progress=False)  # the default scheme
    >>> samples.beta.shape
    (4, 1)
    """

    name = "euler"

    def step(self, theta, drift, noise, model, dt, scale, rng):
        """One Euler–Maruyama step; see :meth:`Scheme.step`."""
        step, pullback = drift.evaluate(theta, drift.sample(rng))
        # in place on the fresh arrays: one pass fewer over (N, D) than the textbook expression
        step *= dt
        if scale:
            increment = noise.increment(model, theta, pullback, rng)
            increment *= scale
            increment += step
            step = increment
        step += theta
        return step


class StochasticHeun(Scheme):
    """Predictor–corrector for additive noise: ``theta + (b(theta) + b(theta~)) dt / 2 + increment``.

    Examples
    --------
    Weak order 2 for additive (isotropic) noise:

    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Hadamard(dim=1)
    >>> def loss(beta):
    ...     return 0.5 * (beta[..., 0] - 1.0) ** 2
    >>> samples = ql.simulate(model, loss, 0.1, scheme="heun", dt=0.01, n_steps=20, n_particles=4,
    ...                       seed=0, progress=False)
    >>> samples.metadata["scheme"]
    'heun'
    """

    name = "heun"
    needs_additive_noise = True

    def step(self, theta, drift, noise, model, dt, scale, rng):
        """One stochastic Heun step; see :meth:`Scheme.step`."""
        batch = drift.sample(rng)
        first, pullback = drift.evaluate(theta, batch)
        increment = scale * noise.increment(model, theta, pullback, rng) if scale else 0.0
        predicted = theta + dt * first + increment
        with np.errstate(invalid="ignore", over="ignore"):
            second, _ = drift.evaluate(predicted, batch)
        return theta + 0.5 * dt * (first + second) + increment


#: name -> scheme class
SCHEMES = {cls.name: cls for cls in (EulerMaruyama, StochasticHeun)}


def get_scheme(scheme):
    """The scheme called ``scheme``, or ``scheme`` itself if it is a :class:`Scheme`.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid ones.

    Examples
    --------
    >>> from quotientlearn import dynamics
    >>> dynamics.get_scheme("heun")
    StochasticHeun()
    >>> sorted(dynamics.SCHEMES)
    ['euler', 'heun']
    """
    if isinstance(scheme, Scheme):
        return scheme
    if not isinstance(scheme, str) or scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; valid schemes: {', '.join(SCHEMES)}")
    return SCHEMES[scheme]()
