"""Stochastic learning dynamics: one engine under :func:`simulate` and :func:`quotientlearn.sgd.train`.

Its parts are small objects: a drift (:class:`Drift`, :class:`Potential`), a loss with its gradient
(:class:`Loss`), a noise model (:class:`NoiseModel`), a scheme (:class:`Scheme`), an optional constraint step
(:class:`Constraint`, :class:`GaugeProjection`), a :class:`Recorder`; :class:`Engine` runs them.
"""

from quotientlearn.dynamics.constraints import Constraint, GaugeProjection
from quotientlearn.dynamics.drift import Drift, Potential
from quotientlearn.dynamics.engine import DIVERGENCE_BOUND, Engine, Recorder, Run, as_generator
from quotientlearn.dynamics.errors import DivergenceError, DivergenceWarning
from quotientlearn.dynamics.loss import Loss, as_loss
from quotientlearn.dynamics.noise import NOISE_MODELS, CoordinateDerivatives, NoiseModel, get_noise
from quotientlearn.dynamics.samples import Samples
from quotientlearn.dynamics.schemes import SCHEMES, EulerMaruyama, Scheme, StochasticHeun, get_scheme
from quotientlearn.dynamics.simulate import simulate

__all__ = [
    "DIVERGENCE_BOUND",
    "NOISE_MODELS",
    "SCHEMES",
    "Constraint",
    "CoordinateDerivatives",
    "DivergenceError",
    "DivergenceWarning",
    "Drift",
    "Engine",
    "EulerMaruyama",
    "GaugeProjection",
    "Loss",
    "NoiseModel",
    "Potential",
    "Recorder",
    "Run",
    "Samples",
    "Scheme",
    "StochasticHeun",
    "as_generator",
    "as_loss",
    "get_noise",
    "get_scheme",
    "simulate",
]
