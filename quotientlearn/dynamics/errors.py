"""Errors raised by the stochastic integrators."""

from __future__ import annotations

__all__ = ["DivergenceError"]


class DivergenceError(ArithmeticError):
    """Particles left the finite numbers: the step size is too large for the dynamics.

    Attributes
    ----------
    step : int
        The step (counted from 1) after which non-finite values appeared.
    fraction : float
        Fraction of the particles that diverged at that step.
    dt : float
        The step size in use.
    """

    def __init__(self, step, fraction, dt, n_lost, n_particles):
        self.step, self.fraction, self.dt = int(step), float(fraction), float(dt)
        super().__init__(
            f"{n_lost} of {n_particles} particles ({self.fraction:.2%}) diverged at step {self.step} "
            f"(t = {self.step * self.dt:.4g}) with dt = {self.dt:g}; use a smaller dt "
            f"(e.g. dt = {self.dt / 4:g}) or pass drop_diverged=True to discard them"
        )
