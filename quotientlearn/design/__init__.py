"""Inverse design: parameterisations whose implicit bias is a target you choose (THEORY.md section 5).

- :func:`parameterize`: the closed-form catalogue (sparsity, sparsity in a basis, total variation,
  low rank, group sparsity, weighted sparsity) returning zoo models.
- :class:`Family` and the concrete :class:`OrthogonalBasis`, :class:`SparsityStrength`,
  :class:`Mixing`: parameterisations indexed by a point of a pymanopt manifold.
- :func:`fit`: the member of a family whose bias best matches a target, by pymanopt (drift matching
  with a Gaussian continuation, or the variance of the bias mismatch).
- :func:`make_target`, :class:`Target`: target regularisers in log-determinant units.
- :func:`well_conditioned_reference`: reference predictors where the target is well conditioned.
"""

from quotientlearn.design.catalogue import parameterize
from quotientlearn.design.families import (
    Family,
    Mixing,
    OrthogonalBasis,
    SparsityStrength,
)
from quotientlearn.design.fit import (
    DEFAULT_GAUSSIAN_SMOOTHING,
    DEFAULT_SMOOTHING,
    OBJECTIVES,
    SOLVERS,
    DesignMismatchWarning,
    DesignResult,
    fit,
)
from quotientlearn.design.reference import well_conditioned_reference
from quotientlearn.design.targets import TARGETS, Target, make_target

__all__ = [
    "DEFAULT_GAUSSIAN_SMOOTHING",
    "DEFAULT_SMOOTHING",
    "OBJECTIVES",
    "SOLVERS",
    "TARGETS",
    "DesignMismatchWarning",
    "DesignResult",
    "Family",
    "Mixing",
    "OrthogonalBasis",
    "SparsityStrength",
    "Target",
    "fit",
    "make_target",
    "parameterize",
    "well_conditioned_reference",
]
