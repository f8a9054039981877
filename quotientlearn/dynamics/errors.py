"""Errors raised by the dynamics engine."""

from __future__ import annotations

__all__ = ["DivergenceError"]


class DivergenceError(FloatingPointError):
    """Particles left the finite numbers: the step size is too large for the dynamics.

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

    def __init__(self, step, fraction, dt, n_lost, n_particles, step_name="dt", droppable=True):
        self.step, self.fraction, self.dt = int(step), float(fraction), float(dt)
        advice = " or pass drop_diverged=True to discard them" if droppable else ""
        super().__init__(
            f"{n_lost} of {n_particles} particles ({self.fraction:.2%}) diverged at step {self.step} "
            f"(t = {self.step * self.dt:.4g}) with {step_name} = {self.dt:g}; use a smaller {step_name} "
            f"(e.g. {step_name} = {self.dt / 4:g}){advice}"
        )
