"""Group sparsity ``beta_g = s_g v_g``: one shared scalar per group of coefficients."""

from __future__ import annotations

import numpy as np

from quotientlearn.groups.base import sum_log
from quotientlearn.groups.torus import PairRescaling
from quotientlearn.models.base import Model
from quotientlearn.spaces import ParameterSpace
from quotientlearn.validation import integer

__all__ = ["GroupSparse"]


class GroupSparse(Model):
    """``beta_g = s_g v_g`` with ``(s_g, v_g) -> (a s_g, v_g / a)``.

    Balanced ``s_g^2 = |v_g|^2``; the Gram ``2 |v_g|^2 = 2 |beta_g|`` gives the group-sparsity bias
    ``(T/2) sum_g log(2 |beta_g|)``.

    Parameters
    ----------
    group_sizes : sequence of int
        Sizes ``n_g`` of the groups; ``beta`` has ``sum_g n_g`` entries, ``D = G + sum_g n_g``.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.GroupSparse([2, 1])  # beta_g = s_g v_g: groups of sizes 2 and 1
    >>> model.space
    ParameterSpace(s=(2,), v=(3,); D=5)
    >>> model.predictor(model.balanced(np.array([3.0, 4.0, -1.0])))
    array([ 3.,  4., -1.])
    """

    def __init__(self, group_sizes):
        if isinstance(group_sizes, str | bytes) or not hasattr(group_sizes, "__len__"):
            raise TypeError(f"group_sizes must be a sequence of positive integers; got {group_sizes!r}")
        sizes = [integer(n, f"group_sizes[{i}]", minimum=1) for i, n in enumerate(group_sizes)]
        if not sizes:
            raise ValueError("group_sizes must contain at least one group; got an empty sequence")
        self.group_sizes = tuple(sizes)
        self.n_groups = len(sizes)
        total = sum(sizes)
        self._group_of = np.repeat(np.arange(self.n_groups), sizes)
        self._starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        space = ParameterSpace({"s": (self.n_groups,), "v": (total,)})
        up = [[g] for g in range(self.n_groups)]
        down = [self.n_groups + np.flatnonzero(self._group_of == g) for g in range(self.n_groups)]
        super().__init__(space, PairRescaling(space.dim, up, down, name="GroupRescaling"), (total,))

    def traceable_predictor(self, theta):
        """``beta_g = s_g v_g``, shape ``(..., sum_g n_g)``."""
        scalars = theta[..., : self.n_groups]
        return theta[..., self.n_groups :] * scalars[..., self._group_of]

    def predictor_and_pullback(self, theta):
        """``beta_g = s_g v_g`` and ``g -> (sum_{i in g} g_i v_i, s_g g_g)``."""
        scalars, vectors = theta[..., : self.n_groups], theta[..., self.n_groups :]
        spread = scalars[..., self._group_of]

        def pullback(cotangent):
            per_group = np.add.reduceat(cotangent * vectors, self._starts, axis=-1)
            return np.concatenate([per_group, cotangent * spread], axis=-1)

        return vectors * spread, pullback

    def group_norms(self, beta):
        """``|beta_g|`` for every group, shape ``(..., G)`` (squares taken after scaling by the largest)."""
        beta = np.asarray(beta, dtype=float)
        largest = np.maximum.reduceat(np.abs(beta), self._starts, axis=-1)
        safe = np.where(largest > 0, largest, 1.0)
        scaled = beta / safe[..., self._group_of]
        return np.sqrt(np.add.reduceat(scaled**2, self._starts, axis=-1)) * largest

    def balanced(self, beta):
        """``s_g = sqrt|beta_g|``, ``v_g = beta_g / sqrt|beta_g|``; shape ``(..., D)``."""
        beta = self.validate_beta(beta)
        root = np.sqrt(self.group_norms(beta))
        spread = root[..., self._group_of]
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.where(spread > 0, beta / spread, 0.0)
        return np.concatenate([root, v], axis=-1)

    def log_det_gram_on_slice(self, beta):
        """``sum_g log(2 |beta_g|)``, shape ``(...,)``."""
        return sum_log(2.0 * self.group_norms(self.validate_beta(beta)))
