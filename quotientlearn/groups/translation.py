"""Translation ``theta -> theta + t 1``: the invariance of softmax logits."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np

from quotientlearn.groups.base import AffineStructure, GroupAction
from quotientlearn.spaces import as_batch

__all__ = ["Translation"]

#: Largest |mean| shifted by ``balance``: rounding 2 eps 2^24 < 1e-8 in every coordinate.
_LARGEST_SHIFT = 2.0**24


class Translation(GroupAction):
    """``R`` acting by ``theta -> theta + t (1, ..., 1)``.

    The generator is the constant field ``1``, so the Gram ``D`` is constant and the gauge correction
    is a constant: translation invariance induces no implicit bias.

    Parameters
    ----------
    space_dim : int

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> ql.groups.Translation(3).act(np.array([1.0]), np.zeros(3))
    array([1., 1., 1.])
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
        if self._affine_cache is None:
            d, none = self.space_dim, np.zeros(0)
            self._affine_cache = (AffineStructure(1, d, (none,) * 4,
                                                  (np.zeros(d), np.arange(d), np.ones(d))),)
        return self._affine_cache[0]

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
        """Subtract the mean (taken after dividing by the largest entry, so the sum cannot overflow).

        The shift rounds every coordinate by up to ``2 eps |mean|`` in absolute terms, which changes
        a translation-invariant predictor such as softmax by about as much. A mean above ``2^24``
        (rounding above ``1e-8``) is therefore refused rather than silently changing the predictor.

        Raises
        ------
        ValueError
            If ``|mean(theta)| > 2^24``.
        """
        theta = as_batch(theta, (self.space_dim,))
        largest = np.max(np.abs(theta), axis=-1, keepdims=True)
        safe = np.where(largest > 0, largest, 1.0)
        mean = safe * np.mean(theta / safe, axis=-1, keepdims=True)
        if np.any(np.abs(mean) > _LARGEST_SHIFT):
            raise ValueError(
                f"theta has mean {float(np.max(np.abs(mean))):.3g}: shifting it to the mean-zero slice "
                f"would round the logits by up to {2 * np.finfo(float).eps * float(np.max(np.abs(mean))):.2g}"
                f" (more than 1e-8); the mean must not exceed {_LARGEST_SHIFT:g} in magnitude")
        return theta - mean
