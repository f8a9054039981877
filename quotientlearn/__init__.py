"""quotientlearn: the implicit bias of stochastic learning as a gauge correction.

The public API (see README.md and docs/extending.md): models from :mod:`quotientlearn.models`, the
bias functions below, simulation and training on one engine (:func:`simulate`, :mod:`quotientlearn.sgd`,
:mod:`quotientlearn.dynamics`), predictions (:func:`stationary_density`, :mod:`quotientlearn.predictions`),
statistics, inverse design, the experiment list, sweeps over it (:func:`sweep`) and the paper authors'
saved runs (:mod:`quotientlearn.data`).

Submodules and names are imported on first use (SPEC 1, lazy loading): ``import quotientlearn`` is
quick, so the command line answers (and handles Ctrl-C) before the numerical stack is loaded. To add a
public name, add it to ``_SUBMODULES`` or ``_NAMES`` below (and to the ``TYPE_CHECKING`` block).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_SUBMODULES = ("data", "datasets", "design", "dynamics", "experiments", "groups", "models", "predictions",
               "sgd", "spaces", "stats", "sweeps", "testing")

#: Public name -> the module that defines it.
_NAMES = {
    "effective_loss": "quotientlearn.bias",
    "implicit_bias": "quotientlearn.bias",
    "implicit_bias_of_predictor": "quotientlearn.bias",
    "log_residual_orbit_volume": "quotientlearn.bias",
    "log_slice_volume": "quotientlearn.bias",
    "SymmetryBundle": "quotientlearn.bundle",
    "DivergenceError": "quotientlearn.dynamics",
    "DivergenceWarning": "quotientlearn.dynamics",
    "Loss": "quotientlearn.dynamics",
    "NoiseModel": "quotientlearn.dynamics",
    "Samples": "quotientlearn.dynamics",
    "simulate": "quotientlearn.dynamics",
    "Gauge": "quotientlearn.gauge",
    "DegenerateOrbitWarning": "quotientlearn.groups",
    "ParameterSpace": "quotientlearn.spaces",
    "Density": "quotientlearn.stationary",
    "stationary_density": "quotientlearn.stationary",
    "sweep": "quotientlearn.sweeps",
}

__all__ = sorted((*_SUBMODULES, *_NAMES))


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"quotientlearn.{name}")
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
        globals()[name] = value  # later lookups skip __getattr__
        return value
    raise AttributeError(f"module 'quotientlearn' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # what static tools and IDEs see: the same names, imported eagerly
    from quotientlearn import (  # noqa: F401
        data,
        datasets,
        design,
        dynamics,
        experiments,
        groups,
        models,
        predictions,
        sgd,
        spaces,
        stats,
        sweeps,
        testing,
    )
    from quotientlearn.bias import (  # noqa: F401
        effective_loss,
        implicit_bias,
        implicit_bias_of_predictor,
        log_residual_orbit_volume,
        log_slice_volume,
    )
    from quotientlearn.bundle import SymmetryBundle  # noqa: F401
    from quotientlearn.dynamics import (  # noqa: F401
        DivergenceError,
        DivergenceWarning,
        Loss,
        NoiseModel,
        Samples,
        simulate,
    )
    from quotientlearn.gauge import Gauge  # noqa: F401
    from quotientlearn.groups import DegenerateOrbitWarning  # noqa: F401
    from quotientlearn.spaces import ParameterSpace  # noqa: F401
    from quotientlearn.stationary import Density, stationary_density  # noqa: F401
    from quotientlearn.sweeps import sweep  # noqa: F401
