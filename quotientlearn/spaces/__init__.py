"""Parameter spaces: the flat ``R^D`` of the zoo, or any geomstats Riemannian manifold.

:func:`as_space` turns a geomstats manifold into a parameter space (a :class:`Space`): the closed form
for the manifolds and metrics this package knows, the generic geomstats route
(:class:`GeomstatsSpace`) for any other. ``Euclidean(D)`` with its own metric becomes the flat
:class:`ParameterSpace`; with a user's metric, :class:`MetricEuclidean`.
"""

from geomstats.geometry.euclidean import Euclidean, EuclideanMetric
from geomstats.geometry.manifold import Manifold
from geomstats.geometry.product_manifold import ProductManifold

from quotientlearn.spaces.base import GeomstatsSpace, ManifoldSpace, Space, as_batch
from quotientlearn.spaces.flat import ParameterSpace
from quotientlearn.spaces.hyperbolic import PoincareBallSpace
from quotientlearn.spaces.matrices import RotationSpace, SPDSpace, StiefelSpace
from quotientlearn.spaces.metric import MetricEuclidean
from quotientlearn.spaces.product import ProductSpace
from quotientlearn.spaces.sphere import SphereSpace

__all__ = [
    "CLOSED_FORMS",
    "GeomstatsSpace",
    "ManifoldSpace",
    "MetricEuclidean",
    "ParameterSpace",
    "PoincareBallSpace",
    "ProductSpace",
    "RotationSpace",
    "SPDSpace",
    "Space",
    "SphereSpace",
    "StiefelSpace",
    "as_batch",
    "as_space",
]

#: the closed-form spaces, each with ``accepts(manifold)``; the first that accepts is used
CLOSED_FORMS = (SphereSpace, RotationSpace, StiefelSpace, SPDSpace, PoincareBallSpace, MetricEuclidean)


def as_space(manifold, atol=1e-8, generic=False):
    """The parameter space of a geomstats manifold (a :class:`Space` is returned unchanged).

    Parameters
    ----------
    manifold : geomstats Manifold or Space
        Equipped with its metric.
    atol : float
        Tolerance on the distance of a point to the manifold (:meth:`Space.validate`).
    generic : bool
        Use the generic geomstats route even where a closed form exists (for tests and comparisons).

    Returns
    -------
    space : Space

    Raises
    ------
    TypeError
        When ``manifold`` is not a geomstats manifold.

    Examples
    --------
    >>> from geomstats.geometry.euclidean import Euclidean
    >>> from geomstats.geometry.spd_matrices import SPDMatrices
    >>> from quotientlearn.spaces import as_space
    >>> type(as_space(SPDMatrices(2))).__name__  # a closed form
    'SPDSpace'
    >>> as_space(Euclidean(3)).is_flat  # flat R^D keeps the fast path
    True
    """
    if isinstance(manifold, Space):
        return manifold
    if not isinstance(manifold, Manifold):
        raise TypeError(f"space must be a geomstats manifold (e.g. Hypersphere(2)); got "
                        f"{type(manifold).__name__}")
    if generic:
        return GeomstatsSpace(manifold, atol)
    if isinstance(manifold, Euclidean) and isinstance(manifold.metric, EuclideanMetric):
        return ParameterSpace({"theta": tuple(manifold.shape)})
    if isinstance(manifold, ProductManifold) and ProductSpace.accepts(manifold):
        factors = [as_space(factor, atol) for factor in manifold.factors]
        if all(factor.is_flat for factor in factors):
            return ParameterSpace({f"factor_{i}": factor.shape for i, factor in enumerate(factors)})
        return ProductSpace(manifold, factors, atol)
    for space_class in CLOSED_FORMS:
        if space_class.accepts(manifold):
            return space_class(manifold, atol)
    return GeomstatsSpace(manifold, atol)
