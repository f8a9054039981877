"""The model zoo: each model is a predictor, a symmetry action and a gauge, with closed forms."""

from quotientlearn.models.attention import Attention
from quotientlearn.models.base import Model
from quotientlearn.models.custom import Custom
from quotientlearn.models.diagonal import DiagonalNet
from quotientlearn.models.factorization import MatrixFactorization
from quotientlearn.models.group_sparse import GroupSparse
from quotientlearn.models.hadamard import BasisHadamard, CumsumHadamard, Hadamard, ProductFamily
from quotientlearn.models.invariances import ScaleInvariant, Translation
from quotientlearn.models.power import PowerProduct
from quotientlearn.models.preconditioned import PreconditionedHadamard
from quotientlearn.models.relu import ShallowReLU
from quotientlearn.models.spd import SPDSpectrum
from quotientlearn.models.stiefel import StiefelProjector

__all__ = [
    "Attention",
    "BasisHadamard",
    "Custom",
    "CumsumHadamard",
    "DiagonalNet",
    "GroupSparse",
    "Hadamard",
    "MatrixFactorization",
    "Model",
    "PowerProduct",
    "ProductFamily",
    "PreconditionedHadamard",
    "SPDSpectrum",
    "ScaleInvariant",
    "ShallowReLU",
    "StiefelProjector",
    "Translation",
    "zoo",
]


def zoo(size="small"):
    """One instance of every zoo model, for contract tests and tours.

    Parameters
    ----------
    size : {"small", "large"}

    Returns
    -------
    models : dict of str to Model

    Examples
    --------
    >>> import quotientlearn as ql
    >>> models = ql.models.zoo()
    >>> models["Hadamard"]
    Hadamard(D=6, k=3, beta_shape=(3,))
    >>> all(ql.testing.check_model(model).passed for model in models.values())
    True
    """
    import numpy as np

    big = size == "large"
    d = 6 if big else 3
    rng = np.random.default_rng(1234)
    basis = np.linalg.qr(rng.standard_normal((d, d)))[0] + 0.5 * np.eye(d)
    return {
        "Hadamard": Hadamard(d),
        "DiagonalNet": DiagonalNet(d, depth=4 if big else 3),
        "MatrixFactorization": MatrixFactorization(5, 4, 3) if big else MatrixFactorization(3, 2, 2),
        "ShallowReLU": ShallowReLU(3, 4) if big else ShallowReLU(2, 2),
        "Attention-columns": Attention(5, 3, "columns") if big else Attention(3, 2, "columns"),
        "Attention-gl": Attention(5, 3, "gl") if big else Attention(3, 2, "gl"),
        "BasisHadamard": BasisHadamard(basis),
        "CumsumHadamard": CumsumHadamard(d),
        "GroupSparse": GroupSparse([2, 3, 1] if big else [2, 1]),
        "ScaleInvariant": ScaleInvariant(d),
        "Translation": Translation(d),
        "PowerProduct": PowerProduct(np.linspace(0.4, 2.5, d)),
        "SPDSpectrum": SPDSpectrum(4 if big else 3),
        "StiefelProjector": StiefelProjector(5, 3) if big else StiefelProjector(3, 2),
        "PreconditionedHadamard": PreconditionedHadamard(d),
    }
