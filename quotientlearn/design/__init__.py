"""Inverse design: parameterisations whose implicit bias is a target you choose (docs/theory.md section 5).

- :func:`parameterize`: the closed-form catalogue (sparsity, sparsity in a basis, total variation,
  low rank, group sparsity, weighted sparsity) returning zoo models.
- :class:`Family` and the concrete :class:`OrthogonalBasis`, :class:`SparsityStrength`,
  :class:`Mixing`: parameterisations indexed by a point of a pymanopt manifold.
- :func:`fit`: the member of a family whose bias best matches a target, by pymanopt (drift matching
  with a Gaussian continuation, or the variance of the bias mismatch).
- :func:`make_target`, :class:`Target`: target regularisers in log-determinant units.
- :func:`well_conditioned_reference`: reference predictors where the target is well conditioned.
- :func:`signed_permutation_error`, :func:`row_direction_error`: recovery criteria;
  :func:`fastica_basis`: the classical reference (scikit-learn's FastICA) for basis recovery.
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
from quotientlearn.design.recovery import (
    ClassicalUnavailable,
    fastica_basis,
    row_direction_error,
    signed_permutation_error,
)
from quotientlearn.design.reference import well_conditioned_reference
from quotientlearn.design.targets import TARGETS, Target, make_target

__all__ = [
    "DEFAULT_GAUSSIAN_SMOOTHING",
    "DEFAULT_SMOOTHING",
    "OBJECTIVES",
    "SOLVERS",
    "TARGETS",
    "ClassicalUnavailable",
    "DesignMismatchWarning",
    "DesignResult",
    "Family",
    "Mixing",
    "OrthogonalBasis",
    "SparsityStrength",
    "Target",
    "fastica_basis",
    "fit",
    "make_target",
    "parameterize",
    "row_direction_error",
    "signed_permutation_error",
    "well_conditioned_reference",
]
