"""What a prediction is: a small object that checks it describes the dynamics and returns a density."""

from __future__ import annotations

from dataclasses import dataclass

from quotientlearn.dynamics.drift import Potential

__all__ = ["Prediction", "StationaryProblem"]


@dataclass(frozen=True)
class StationaryProblem:
    """The dynamics whose stationary law of the predictor is to be predicted.

    Attributes
    ----------
    model : Model
    loss : callable
        ``loss(beta) -> (n,)``.
    temperature : float
        ``T > 0``.
    noise : NoiseModel
    gauge_fixing : bool
    weight_decay : float
    coordinates : Coordinates
    """

    model: object
    loss: object
    temperature: float
    noise: object
    gauge_fixing: bool
    weight_decay: float
    coordinates: object

    @property
    def potential(self):
        """``U = L(phi(theta)) + lam |theta|^2 / 2``, the potential the dynamics descend."""
        return Potential(self.model, self.loss, self.weight_decay)

    def info(self):
        """The description every density's ``info`` starts from."""
        return {"noise": self.noise.name, "gauge_fixing": self.gauge_fixing,
                "weight_decay": self.weight_decay, "temperature": self.temperature}


class Prediction:
    """A way to predict the stationary density of the predictor.

    Subclasses set ``name``, hold their options as constructor arguments, and implement
    :meth:`check` and :meth:`density`.
    """

    name = "prediction"

    def __repr__(self):
        options = ", ".join(f"{key}={value!r}" for key, value in vars(self).items())
        return f"{type(self).__name__}({options})"

    def check(self, problem):
        """Whether this prediction describes ``problem``'s dynamics.

        Returns
        -------
        notes : dict
            Assumptions to record in the density's ``info``.

        Raises
        ------
        ValueError
            When it does not describe them, saying what would.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement Prediction.check(problem)")

    def density(self, problem):
        """The predicted :class:`~quotientlearn.predictions.Density` (call :meth:`check` first)."""
        raise NotImplementedError(f"{type(self).__name__} must implement Prediction.density(problem)")
