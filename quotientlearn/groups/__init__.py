"""Group actions on the flat parameter vector."""

from quotientlearn.groups.base import (
    AffineStructure,
    DegenerateOrbitWarning,
    GroupAction,
    autograd_generators,
)
from quotientlearn.groups.general_linear import FactorPairGL
from quotientlearn.groups.torus import (
    ColumnRescaling,
    LayerRescaling,
    PairRescaling,
    Scaling,
    TorusRescaling,
)
from quotientlearn.groups.translation import Translation

__all__ = [
    "AffineStructure",
    "ColumnRescaling",
    "DegenerateOrbitWarning",
    "FactorPairGL",
    "GroupAction",
    "LayerRescaling",
    "PairRescaling",
    "Scaling",
    "TorusRescaling",
    "Translation",
    "autograd_generators",
]
