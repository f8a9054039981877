"""The closed-form catalogue: a zoo parameterisation for each catalogue target (docs/theory.md section 5).

``parameterize(target)`` returns a model whose implicit bias on its balanced slice,
``(T/2) log det G_C``, equals ``(T/2) R(beta)`` plus a constant:

================================ =============================================
target                           model
================================ =============================================
``"sparse"``                     ``Hadamard``: ``beta = u * v``
``("sparse_in_basis", B)``       ``BasisHadamard(B)``: ``beta = B^{-1} (u * v)``
``"tv"``                         ``CumsumHadamard``: ``beta = cumsum(u * v)``
``"low_rank"``                   ``MatrixFactorization``: ``M = P Q``
``("group_sparse", sizes)``      ``GroupSparse``: ``beta_g = s_g v_g``
``("weighted_sparse", w)``       the :class:`~quotientlearn.design.families.SparsityStrength`
                                 model with exponents ``p_i = 2 / w_i - 1`` (needs ``0 < w_i < 2``)
================================ =============================================
"""

from __future__ import annotations

import numpy as np

from quotientlearn import models
from quotientlearn.design.families import SparsityStrength
from quotientlearn.design.targets import make_target

__all__ = ["parameterize"]


def parameterize(target, *, dim=None, shape=None, rank=None):
    """A zoo model whose implicit bias equals ``target`` up to a constant.

    Parameters
    ----------
    target : str, tuple or Target
        A catalogue spec (see :func:`~quotientlearn.design.targets.make_target`).
    dim : int, optional
        Length of ``beta`` for ``"sparse"`` and ``"tv"``.
    shape : tuple of int, optional
        ``(m, n)`` for ``"low_rank"``.
    rank : int, optional
        ``r`` for ``"low_rank"``.

    Returns
    -------
    model : Model
        ``model.beta_shape`` equals the target's.

    Raises
    ------
    ValueError
        On an unknown or malformed target, or weights a closed form cannot express.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> ql.design.parameterize("tv", dim=4)  # beta = cumsum(u * v): a log-penalty on the jumps
    CumsumHadamard(D=8, k=4, beta_shape=(4,))
    >>> ql.design.parameterize("low_rank", shape=(3, 2), rank=2)
    MatrixFactorization(D=10, k=4, beta_shape=(3, 2))
    """
    target = make_target(target, dim=dim, shape=shape, rank=rank)
    if target.name == "sparse":
        return models.Hadamard(target.beta_shape[0])
    if target.name == "sparse_in_basis":
        return models.BasisHadamard(target.params["basis"])
    if target.name == "tv":
        return models.CumsumHadamard(target.beta_shape[0])
    if target.name == "low_rank":
        m, n = target.beta_shape
        return models.MatrixFactorization(m, n, target.params["rank"])
    if target.name == "group_sparse":
        return models.GroupSparse(target.params["group_sizes"])
    if target.name == "weighted_sparse":
        weights = target.params["weights"]
        if not np.all((weights > 0) & (weights < 2)):
            raise ValueError(
                "the closed-form catalogue expresses weighted sparsity only for weights in (0, 2) "
                f"(exponents p = 2 / w - 1 > 0); got {weights}. Use ql.design.fit to find the "
                "closest member of a family instead"
            )
        family = SparsityStrength(weights.size)
        return family.model(family.exponents_for_weights(weights))
    raise ValueError(f"target {target.name!r} has no closed-form parameterisation")
