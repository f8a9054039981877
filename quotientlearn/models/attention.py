"""Single-head attention with a learned value projection, as trained in the paper (Fig 3).

The head computes ``softmax(X W_Q (X W_K)^T / sqrt(d_head)) X W_V``: queries, keys and values are
learned ``d_emb x d_head`` matrices and there is no output map. The function depends on the weights
only through the score matrix ``W_Q W_K^T`` and the value projection ``W_V``, so the predictor is the
pair, stored side by side as one ``d_emb x (d_emb + d_head)`` matrix ``[W_Q W_K^T | W_V]``.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np

from quotientlearn.bundle import SymmetryBundle
from quotientlearn.groups.base import sum_log
from quotientlearn.groups.general_linear import FactorPairGL, singular_values, svd_balanced
from quotientlearn.groups.torus import ColumnRescaling
from quotientlearn.models.base import Model
from quotientlearn.models.factorization import factor_pair_log_det_on_slice
from quotientlearn.spaces import ParameterSpace
from quotientlearn.validation import choice, integer

__all__ = ["Attention"]

_GROUPS = ("columns", "gl")


class Attention(Model):
    """Attention head with predictor ``beta = [W_Q W_K^T | W_V]``, shape ``(d_emb, d_emb + d_head)``.

    The scores are invariant under ``W_Q -> W_Q A``, ``W_K -> W_K A^{-T}``; the group acts trivially
    on ``W_V``, so the Gram, the gauge and the bias are those of the factor pair ``(W_Q, W_K)``.
    ``group="columns"``: the diagonal subgroup (column ``j`` of ``W_Q`` times ``a_j``, of ``W_K``
    divided by ``a_j``), bias ``(T/2) sum_j log(2 |q_j| |k_j|)``. ``group="gl"``: all of
    ``GL(d_head)``, with the matrix-factorisation bias of ``W_Q W_K^T``.

    The scores are invariant under all of ``GL(d_head)``, so with ``group="columns"`` their fibres are
    larger than the orbits of the column torus. The bundle of that model is therefore the quotient by
    the torus: its submersion is :meth:`column_outer_products` (``q_j k_j^T``, one per head dimension,
    and ``W_V``), whose fibres are the torus orbits, so that vertical (tangent to an orbit) is its
    kernel; the predictor is a further map of that quotient (``sum_j q_j k_j^T`` beside ``W_V``).

    Parameters
    ----------
    d_emb, d_head : int
    group : {"columns", "gl"}

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Attention(d_emb=4, d_head=2)  # blocks W_Q, W_K, W_V, each (4, 2)
    >>> model.beta_shape  # [W_Q W_K^T | W_V]
    (4, 6)
    >>> theta = model.sample((), np.random.default_rng(0))
    >>> moved = model.action.act(np.array([2.0, 0.5]), theta)  # W_Q columns times a_j, W_K over a_j
    >>> bool(np.allclose(model.predictor(moved), model.predictor(theta)))
    True
    """

    def __init__(self, d_emb, d_head, group="columns"):
        self.group = choice(group, "group", _GROUPS)
        self.d_emb = integer(d_emb, "d_emb", minimum=1)
        self.d_head = integer(d_head, "d_head", minimum=1)
        shape = (self.d_emb, self.d_head)
        space = ParameterSpace({"W_Q": shape, "W_K": shape, "W_V": shape})
        bundle = None
        if group == "columns":
            action = ColumnRescaling(space, "W_Q", "W_K")
            bundle = lambda model: SymmetryBundle(  # noqa: E731
                model, submersion=model.column_outer_products, lift=model.lift_outer_products)
        else:
            action = FactorPairGL(space, "W_Q", "W_K", second_transposed=True)
        # Scores of rank r = min(d_emb, d_head) form a manifold of dimension r (2 d_emb - r), whatever
        # subgroup is gauged; W_V enters the predictor unchanged.
        rank = min(self.d_emb, self.d_head)
        predictor_rank = rank * (2 * self.d_emb - rank) + self.d_emb * self.d_head
        super().__init__(space, action, (self.d_emb, self.d_emb + self.d_head),
                         predictor_rank=predictor_rank, bundle=bundle)

    def column_outer_products(self, theta):
        """The quotient map by the column torus: every ``q_j k_j^T``, and ``W_V``, as one vector.

        Parameters
        ----------
        theta : array_like, shape (..., D)

        Returns
        -------
        point : ndarray, shape (..., d_head d_emb^2 + d_emb d_head)
        """
        blocks = self.space.split(theta)
        queries = anp.swapaxes(blocks["W_Q"], -1, -2)[..., :, :, None]
        keys = anp.swapaxes(blocks["W_K"], -1, -2)[..., :, None, :]
        batch = anp.shape(theta)[:-1]
        return anp.concatenate([anp.reshape(queries * keys, batch + (-1,)),
                                anp.reshape(blocks["W_V"], batch + (-1,))], axis=-1)

    def lift_outer_products(self, point):
        """Balanced columns ``|q_j| = |k_j|`` from the rank-one products ``q_j k_j^T`` (and ``W_V``)."""
        point = np.asarray(point, dtype=float)
        batch = point.shape[:-1]
        split = self.d_head * self.d_emb**2
        products = point[..., :split].reshape(batch + (self.d_head, self.d_emb, self.d_emb))
        left, values, right = np.linalg.svd(products)
        root = np.sqrt(values[..., 0])[..., None]
        queries, keys = root * left[..., :, 0], root * right[..., 0, :]
        return self.space.join(W_Q=np.swapaxes(queries, -1, -2), W_K=np.swapaxes(keys, -1, -2),
                               W_V=point[..., split:].reshape(batch + (self.d_emb, self.d_head)))

    def traceable_predictor(self, theta):
        """``[W_Q W_K^T | W_V]``, shape ``(..., d_emb, d_emb + d_head)``."""
        blocks = self.space.split(theta)
        scores = anp.matmul(blocks["W_Q"], anp.swapaxes(blocks["W_K"], -1, -2))
        return anp.concatenate([scores, blocks["W_V"]], axis=-1)

    def predictor_and_pullback(self, theta):
        """``[W_Q W_K^T | W_V]`` and ``[G_S | G_V] -> (G_S W_K, G_S^T W_Q, G_V)``."""
        blocks = self.space.split(theta)
        queries, keys, values = blocks["W_Q"], blocks["W_K"], blocks["W_V"]

        def pullback(cotangent):
            scores = cotangent[..., : self.d_emb]
            return self.space.join(W_Q=scores @ keys, W_K=np.swapaxes(scores, -1, -2) @ queries,
                                   W_V=cotangent[..., self.d_emb:])

        beta = np.concatenate([queries @ np.swapaxes(keys, -1, -2), values], axis=-1)
        return beta, pullback

    def output(self, theta, inputs):
        """The head's output ``softmax(X W_Q (X W_K)^T / sqrt(d_head)) X W_V``, traceable by autograd.

        Parameters
        ----------
        theta : array_like, shape (..., D)
        inputs : array_like, shape (..., n, L, d_emb)
            ``n`` sequences of length ``L`` per ``theta``, broadcast against its batch axes.

        Returns
        -------
        outputs : ndarray, shape (..., n, L, d_head)
        """
        blocks = {name: block[..., None, :, :] for name, block in self.space.split(theta).items()}
        queries = anp.matmul(inputs, blocks["W_Q"])
        keys = anp.matmul(inputs, blocks["W_K"])
        scores = anp.matmul(queries, anp.swapaxes(keys, -1, -2)) / np.sqrt(self.d_head)
        weights = anp.exp(scores - anp.max(scores, axis=-1, keepdims=True))
        weights = weights / anp.sum(weights, axis=-1, keepdims=True)
        return anp.matmul(weights, anp.matmul(inputs, blocks["W_V"]))

    def scores(self, beta):
        """The score matrix ``W_Q W_K^T`` of a predictor value; shape ``(..., d_emb, d_emb)``."""
        return self.validate_beta(beta)[..., : self.d_emb]

    def balanced(self, beta):
        """``W_Q = U S^{1/2}``, ``W_K = V S^{1/2}`` from the scores, ``W_V`` as given."""
        beta = self.validate_beta(beta)
        first, second = svd_balanced(beta[..., : self.d_emb], self.d_head)
        return self.space.join(W_Q=first, W_K=np.swapaxes(second, -1, -2),
                               W_V=beta[..., self.d_emb:])

    def log_det_gram_on_slice(self, beta):
        """Closed form from the top ``d_head`` singular values ``s`` of the scores; shape ``(...,)``."""
        values = singular_values(self.scores(beta))[..., : self.d_head]
        if self.group == "columns":
            return sum_log(2.0 * values)
        return factor_pair_log_det_on_slice(values)
