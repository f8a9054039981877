"""Matrix factorisation ``M = P Q`` with its ``GL(r)`` symmetry."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np

from quotientlearn.groups.base import sum_log
from quotientlearn.groups.general_linear import FactorPairGL, singular_values, svd_balanced
from quotientlearn.models.base import Model
from quotientlearn.spaces import ParameterSpace
from quotientlearn.validation import integer

__all__ = ["MatrixFactorization", "factor_pair_log_det_on_slice"]


def factor_pair_log_det_on_slice(singular_values):
    """``log det G_C`` of the symmetric-generator gauge at an SVD-balanced factor pair.

    ``G_C`` has eigenvalues ``{2 s_i} u {s_i + s_j}_{i<j}``, so
    ``log det G_C = r log 2 + sum_i log s_i + sum_{i<j} log(s_i + s_j)``.

    Parameters
    ----------
    singular_values : ndarray, shape (..., r)

    Returns
    -------
    log_det : ndarray, shape (...,)
    """
    s = np.asarray(singular_values, dtype=float)
    rank = s.shape[-1]
    upper = np.triu_indices(rank, k=1)
    pair_sums = (s[..., :, None] + s[..., None, :])[..., upper[0], upper[1]]
    return rank * np.log(2.0) + sum_log(s) + sum_log(pair_sums)


class MatrixFactorization(Model):
    """``M = P Q`` with ``P`` of shape ``(m, r)`` and ``Q`` of shape ``(r, n)``; group ``GL(r)``.

    The bundle's Gram uses all of ``gl(r)`` (eigenvalues ``s_i + s_j`` at a balanced point); the gauge
    fixes only the symmetric generators, so the bias is the low-rank-favouring
    ``(T/2) [r log 2 + sum log s_i + sum_{i<j} log(s_i + s_j)]``.

    Parameters
    ----------
    m, n : int
        Shape of ``M``.
    rank : int
        ``r``.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.MatrixFactorization(3, 2, rank=2)  # M = P Q, P (3, 2), Q (2, 2)
    >>> target = np.array([[2.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    >>> theta = model.balanced(target)  # P = U S^1/2, Q = S^1/2 V^T
    >>> bool(np.allclose(model.predictor(theta), target))
    True
    >>> np.linalg.eigvalsh(model.gauge.constraint_gram(theta)).round(6)  # {2 s_i} and {s_i + s_j}
    array([2., 3., 4.])
    """

    def __init__(self, m, n, rank):
        self.m, self.n = integer(m, "m", minimum=1), integer(n, "n", minimum=1)
        self.rank = integer(rank, "rank", minimum=1, maximum=min(self.m, self.n))
        space = ParameterSpace({"P": (self.m, self.rank), "Q": (self.rank, self.n)})
        super().__init__(space, FactorPairGL(space, "P", "Q"), (self.m, self.n))

    def traceable_predictor(self, theta):
        """``M = P Q``, shape ``(..., m, n)``."""
        first, second = self.action.factors(theta)
        return anp.matmul(first, second)

    def predictor_and_pullback(self, theta):
        """``M = P Q`` and ``G -> (G Q^T, P^T G)``."""
        first, second = self.action.factors(theta)

        def pullback(cotangent):
            return self.space.join(P=cotangent @ np.swapaxes(second, -1, -2),
                                   Q=np.swapaxes(first, -1, -2) @ cotangent)

        return first @ second, pullback

    def balanced(self, beta):
        """``P = U S^{1/2}``, ``Q = S^{1/2} V^T`` from the top ``r`` singular triplets of ``M``."""
        first, second = svd_balanced(self.validate_beta(beta), self.rank)
        return self.space.join(P=first, Q=second)

    def log_det_gram_on_slice(self, beta):
        """Closed form from the top ``r`` singular values of ``M``; shape ``(...,)``."""
        values = singular_values(self.validate_beta(beta))[..., : self.rank]
        return factor_pair_log_det_on_slice(values)
