"""Errors raised by the dynamics engine."""

from __future__ import annotations

__all__ = ["DivergenceError", "DivergenceWarning"]


class DivergenceError(FloatingPointError):
    """Particles left the divergence bound (or the finite numbers): the step is too large.

    A ``FloatingPointError`` (hence an ``ArithmeticError``), raised by :func:`~quotientlearn.simulate`
    and :func:`quotientlearn.sgd.train` alike.

    Attributes
    ----------
    step : int
        The step (counted from 1) after which non-finite values appeared.
    fraction : float
        Fraction of the particles that diverged at that step.
    dt : float
        The step size in use (``lr`` for SGD).
    bound : float or None
        The bound on ``|theta_i|`` that was left.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Hadamard(dim=1)
    >>> def exploding(beta):
    ...     return -beta[..., 0] ** 4  # unbounded below: the particles run away
    >>> try:
    ...     ql.simulate(model, exploding, 0.1, dt=0.5, n_steps=200, n_particles=4, seed=0,
    ...                 init=np.array([1.0, 1.0]), progress=False)
    ... except ql.DivergenceError as error:
    ...     print("diverged")
    diverged
    """

    def __init__(self, step, fraction, dt, n_lost, n_particles, step_name="dt", droppable=True,
                 bound=None):
        self.step, self.fraction, self.dt = int(step), float(fraction), float(dt)
        self.bound = bound
        advice = " or pass drop_diverged=True to discard them" if droppable else ""
        left = "the finite numbers" if bound is None else f"|theta_i| <= divergence_bound = {bound:g}"
        super().__init__(
            f"{n_lost} of {n_particles} particles ({self.fraction:.2%}) diverged at step {self.step} "
            f"(t = {self.step * self.dt:.4g}; left {left}) with {step_name} = {self.dt:g}; use a "
            f"smaller {step_name} (e.g. {step_name} = {self.dt / 4:g}){advice}"
        )


class DivergenceWarning(RuntimeWarning):
    """Some particles diverged and were dropped (``drop_diverged=True``): the survivors are biased.

    Examples
    --------
    At ``dt = 0.3`` and ``T = 1`` a few of 64 particles of ``beta = u v`` leave the divergence bound:

    >>> import warnings
    >>> import quotientlearn as ql
    >>> model = ql.models.Hadamard(dim=1)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     samples = ql.simulate(model, lambda beta: 0.5 * (beta[..., 0] - 1.0) ** 2, 1.0, dt=0.3,
    ...                           n_steps=200, n_particles=64, seed=0, drop_diverged=True,
    ...                           progress=False)
    >>> samples.theta.shape, caught[0].category.__name__
    ((62, 2), 'DivergenceWarning')
    """
