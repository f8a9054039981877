"""Translation ``theta -> theta + t 1``: the invariance of softmax logits."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np

from quotientlearn.groups.base import AffineStructure, GroupAction
from quotientlearn.spaces import as_batch

__all__ = ["Translation"]


class Translation(GroupAction):
    """``R`` acting by ``theta -> theta + t (1, ..., 1)``.

    The generator is the constant field ``1``, so the Gram ``D`` is constant and the gauge correction
    is a constant: translation invariance induces no implicit bias.

    Parameters
    ----------
    space_dim : int
    """

    def __init__(self, space_dim):
        super().__init__(dim=1, space_dim=space_dim, name="Translation")

    def act(self, group_elem, theta):
        """``theta + t``; ``group_elem`` has shape ``(..., 1)``."""
        return theta + group_elem

    def generators(self, theta):
        """The constant field ``1``, shape ``(..., 1, D)``."""
        theta = as_batch(theta, (self.space_dim,))
        return np.ones(theta.shape[:-1] + (1, self.space_dim))

    def gram(self, theta):
        """``D``, shape ``(..., 1, 1)``."""
        theta = as_batch(theta, (self.space_dim,))
        return np.full(theta.shape[:-1] + (1, 1), float(self.space_dim))

    def affine_structure(self, rng=0, rtol=1e-9):
        """Zero matrix, unit offset."""
        d = self.space_dim
        return AffineStructure(np.zeros((1, d, d)), np.ones((1, d)))

    def moment_map(self, theta):
        """``sum_i theta_i``, shape ``(..., 1)``; zero on mean-centred logits."""
        return anp.sum(theta, axis=-1, keepdims=True)

    def moment_map_jacobian(self, theta):
        """The generator ``1``."""
        return self.generators(theta)

    def log_det_moment_gram(self, theta):
        """``log D`` everywhere, shape ``(...,)``."""
        theta = as_batch(theta, (self.space_dim,))
        return np.full(theta.shape[:-1], np.log(self.space_dim))

    def balance(self, theta):
        """Subtract the mean."""
        theta = as_batch(theta, (self.space_dim,))
        return theta - theta.mean(axis=-1, keepdims=True)
