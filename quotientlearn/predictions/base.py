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

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> from quotientlearn import predictions
    >>> model = ql.models.Hadamard(dim=1)
    >>> def loss(beta):
    ...     return 0.5 * (beta[..., 0] - 1.0) ** 2
    >>> problem = predictions.StationaryProblem(model, loss, 0.1, ql.dynamics.get_noise("isotropic"),
    ...                                         True, 0.0, predictions.Coordinates(model))
    >>> problem.info()
    {'noise': 'isotropic', 'gauge_fixing': True, 'weight_decay': 0.0, 'temperature': 0.1}
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

    Examples
    --------
    A prediction that drops the gauge correction (the law every table rejects), written as a method:

    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> class NoCorrection(ql.predictions.Prediction):
    ...     name = "no-correction"
    ...     def check(self, problem):
    ...         return {"note": "ignores the gauge correction"}
    ...     def density(self, problem):
    ...         def log_density(c):
    ...             theta = problem.coordinates.slice_point(c)
    ...             return -problem.potential.value(theta) / problem.temperature
    ...         return ql.predictions.Density(log_density, problem.coordinates.shape, self.name,
    ...                                       {**problem.info(), **self.check(problem)})
    >>> model = ql.models.Hadamard(dim=1)
    >>> density = ql.stationary_density(model, lambda beta: 0.5 * (beta[..., 0] - 1.0) ** 2, 0.1,
    ...                                 method=NoCorrection())
    >>> density.logpdf(np.array([[2.0], [3.0]]))  # -L / T
    array([ -5., -20.])
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
