"""Predictions of the stationary law of the predictor, each a small object with its own options.

- :class:`Theorem1`: the closed form of docs/theory.md section 2 (isotropic noise, gauge fixing).
- :class:`ItoRoute`: the exact route of section 3 for any noise model, generic by autograd.
- :class:`FibreIntegral`: the push-forward of the full Gibbs law (isotropic noise, weight decay, no
  gauge fixing) by the co-area formula.

Each checks that it describes the dynamics of a :class:`StationaryProblem` (:meth:`Prediction.check`)
and returns a complete :class:`Density`. :func:`quotientlearn.stationary_density` is the front door.
"""

from quotientlearn.predictions.base import Prediction, StationaryProblem
from quotientlearn.predictions.coordinates import Coordinates
from quotientlearn.predictions.density import Density
from quotientlearn.predictions.fibre import FibreIntegral
from quotientlearn.predictions.ito import ItoField, ItoRoute, NonConservativeWarning, relative_curl
from quotientlearn.predictions.theorem1 import Theorem1

#: method name -> prediction class
METHODS = {cls.name: cls for cls in (Theorem1, ItoRoute, FibreIntegral)}

__all__ = [
    "METHODS",
    "Coordinates",
    "Density",
    "FibreIntegral",
    "ItoField",
    "ItoRoute",
    "NonConservativeWarning",
    "Prediction",
    "StationaryProblem",
    "Theorem1",
    "relative_curl",
]
