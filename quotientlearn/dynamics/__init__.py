"""Stochastic learning dynamics: noise models, integrators, :func:`simulate` and :class:`Samples`."""

from quotientlearn.dynamics.errors import DivergenceError
from quotientlearn.dynamics.integrators import SCHEMES
from quotientlearn.dynamics.noise import NOISE_MODELS, CoordinateDerivatives, NoiseModel, get_noise
from quotientlearn.dynamics.samples import Samples
from quotientlearn.dynamics.simulate import simulate

__all__ = ["NOISE_MODELS", "SCHEMES", "CoordinateDerivatives", "DivergenceError", "NoiseModel", "Samples",
           "get_noise", "simulate"]
