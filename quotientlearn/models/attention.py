"""Single-head attention scores ``W_Q W_K^T`` with column rescaling or the full ``GL(d_head)``."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np

from quotientlearn.groups.base import sum_log
from quotientlearn.groups.general_linear import FactorPairGL, singular_values, svd_balanced
from quotientlearn.groups.torus import ColumnRescaling
from quotientlearn.models.base import Model
from quotientlearn.models.factorization import factor_pair_log_det_on_slice
from quotientlearn.spaces import ParameterSpace

__all__ = ["Attention"]

_GROUPS = ("columns", "gl")


class Attention(Model):
    """Attention logits ``beta = W_Q W_K^T`` (``d_emb x d_emb``).

    ``group="columns"``: the diagonal subgroup (column ``j`` of ``W_Q`` times ``a_j``, of ``W_K``
    divided by ``a_j``), bias ``(T/2) sum_j log(2 |q_j| |k_j|)``. ``group="gl"``: the full
    ``W_Q -> W_Q A``, ``W_K -> W_K A^{-T}``, with the matrix-factorisation bias of ``W_Q W_K^T``.

    Parameters
    ----------
    d_emb, d_head : int
    group : {"columns", "gl"}
    """

    def __init__(self, d_emb, d_head, group="columns"):
        if group not in _GROUPS:
            raise ValueError(f"unknown group {group!r}; choose one of {_GROUPS}")
        self.d_emb, self.d_head, self.group = int(d_emb), int(d_head), group
        space = ParameterSpace({"W_Q": (self.d_emb, self.d_head), "W_K": (self.d_emb, self.d_head)})
        if group == "columns":
            action = ColumnRescaling(space, "W_Q", "W_K")
        else:
            action = FactorPairGL(space, "W_Q", "W_K", second_transposed=True)
        # The scores are invariant under all of GL(d_head), whichever subgroup is gauged.
        rank = space.dim - min(self.d_head, self.d_emb) ** 2
        super().__init__(space, action, (self.d_emb, self.d_emb), predictor_rank=rank)

    def traceable_predictor(self, theta):
        """``W_Q W_K^T``, shape ``(..., d_emb, d_emb)``."""
        blocks = self.space.split(theta)
        return anp.matmul(blocks["W_Q"], anp.swapaxes(blocks["W_K"], -1, -2))

    def predictor_and_pullback(self, theta):
        """``W_Q W_K^T`` and ``G -> (G W_K, G^T W_Q)``."""
        blocks = self.space.split(theta)
        queries, keys = blocks["W_Q"], blocks["W_K"]

        def pullback(cotangent):
            return self.space.join(W_Q=cotangent @ keys,
                                   W_K=np.swapaxes(cotangent, -1, -2) @ queries)

        return queries @ np.swapaxes(keys, -1, -2), pullback

    def balanced(self, beta):
        """``W_Q = U S^{1/2}``, ``W_K = V S^{1/2}``: balanced for both groups."""
        first, second = svd_balanced(self.validate_beta(beta), self.d_head)
        return self.space.join(W_Q=first, W_K=np.swapaxes(second, -1, -2))

    def log_det_gram_on_slice(self, beta):
        """Closed form from the top ``d_head`` singular values ``s`` of ``beta``; shape ``(...,)``."""
        values = singular_values(self.validate_beta(beta))[..., : self.d_head]
        if self.group == "columns":
            return sum_log(2.0 * values)
        return factor_pair_log_det_on_slice(values)
