"""quotientlearn: the implicit bias of stochastic learning as a gauge correction.

The public API (see README.md and docs/extending.md): models from :mod:`quotientlearn.models`, the
bias functions below, simulation and training on one engine (:func:`simulate`, :mod:`quotientlearn.sgd`,
:mod:`quotientlearn.dynamics`), predictions (:func:`stationary_density`, :mod:`quotientlearn.predictions`),
statistics, inverse design, the experiment list, sweeps over it (:func:`sweep`) and the paper authors'
saved runs (:mod:`quotientlearn.data`).
"""

from quotientlearn import (
    data,
    datasets,
    design,
    dynamics,
    experiments,
    groups,
    models,
    predictions,
    sgd,
    stats,
    sweeps,
    testing,
)
from quotientlearn.bias import (
    effective_loss,
    implicit_bias,
    implicit_bias_of_predictor,
    log_residual_orbit_volume,
    log_slice_volume,
)
from quotientlearn.bundle import SymmetryBundle
from quotientlearn.dynamics import DivergenceError, NoiseModel, Samples, simulate
from quotientlearn.gauge import Gauge
from quotientlearn.groups import DegenerateOrbitWarning
from quotientlearn.spaces import ParameterSpace
from quotientlearn.stationary import Density, stationary_density
from quotientlearn.sweeps import sweep

__version__ = "0.1.0"

__all__ = [
    "DegenerateOrbitWarning",
    "Density",
    "DivergenceError",
    "Gauge",
    "NoiseModel",
    "ParameterSpace",
    "Samples",
    "SymmetryBundle",
    "data",
    "datasets",
    "design",
    "dynamics",
    "effective_loss",
    "experiments",
    "groups",
    "implicit_bias",
    "implicit_bias_of_predictor",
    "log_residual_orbit_volume",
    "log_slice_volume",
    "models",
    "predictions",
    "sgd",
    "simulate",
    "stationary_density",
    "stats",
    "sweep",
    "sweeps",
    "testing",
]
