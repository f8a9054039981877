"""Group actions on the flat parameter vector."""

from quotientlearn.groups.base import (
    AffineStructure,
    DegenerateOrbitWarning,
    GaugeConvergenceWarning,
    GroupAction,
    autograd_generators,
    newton_onto_level_set,
)
from quotientlearn.groups.general_linear import FactorPairGL
from quotientlearn.groups.orthogonal import Congruence, OrthogonalAction, RightOrthogonal
from quotientlearn.groups.torus import (
    ColumnRescaling,
    LayerRescaling,
    PairRescaling,
    PowerRescaling,
    Scaling,
    TorusRescaling,
)
from quotientlearn.groups.translation import Translation

__all__ = [
    "AffineStructure",
    "ColumnRescaling",
    "Congruence",
    "DegenerateOrbitWarning",
    "FactorPairGL",
    "GaugeConvergenceWarning",
    "GroupAction",
    "LayerRescaling",
    "OrthogonalAction",
    "PairRescaling",
    "PowerRescaling",
    "RightOrthogonal",
    "Scaling",
    "TorusRescaling",
    "Translation",
    "autograd_generators",
    "newton_onto_level_set",
]
