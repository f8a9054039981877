"""Invariances without a sparsity bias: scale (normalisation layers) and translation (softmax)."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval

from quotientlearn.groups.magnitudes import scaled_norm
from quotientlearn.groups.torus import Scaling
from quotientlearn.groups.translation import Translation as TranslationAction
from quotientlearn.models.base import Model
from quotientlearn.spaces import ParameterSpace
from quotientlearn.validation import integer

__all__ = ["ScaleInvariant", "Translation"]


class ScaleInvariant(Model):
    """``beta = theta / |theta|`` with ``R_{>0}`` scaling; gauge slice: the unit sphere.

    The Gram ``|theta|^2`` is 1 on the slice: no bias between directions.

    Parameters
    ----------
    dim : int
        ``D``.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.ScaleInvariant(dim=3)  # beta = theta / |theta|
    >>> model.predictor(np.array([3.0, 0.0, 4.0]))
    array([0.6, 0. , 0.8])
    """

    def __init__(self, dim):
        # On R^1 the unit sphere is two points: there is no direction to learn.
        space = ParameterSpace({"theta": (integer(dim, "dim", minimum=2),)})
        super().__init__(space, Scaling(space.dim), (space.dim,))

    def traceable_predictor(self, theta):
        """``theta / |theta|``, shape ``(..., D)``; ``theta = 0`` (no direction) is refused."""
        # Divide by the largest entry first: |theta|^2 under- or overflows for |theta| ~ 1e-160 or
        # 1e160 although the direction is well defined.
        largest = anp.max(anp.abs(theta), axis=-1, keepdims=True)
        if np.any(getval(largest) == 0):
            raise ValueError("theta = 0 has no direction: the predictor theta / |theta| is undefined")
        unit = theta / largest
        return unit / anp.sqrt(anp.sum(unit**2, axis=-1, keepdims=True))

    def predictor_and_pullback(self, theta):
        """``theta / |theta|`` and ``g -> (g - beta (beta . g)) / |theta|``."""
        beta = self.traceable_predictor(theta)
        norm = scaled_norm(theta)[..., None]

        def pullback(cotangent):
            return (cotangent - beta * np.sum(beta * cotangent, axis=-1, keepdims=True)) / norm

        return beta, pullback

    def balanced(self, beta):
        """``beta / |beta|``; ``beta = 0`` is refused."""
        beta = self.validate_beta(beta)
        norm = scaled_norm(beta)[..., None]
        if np.any(norm == 0):
            raise ValueError("beta = 0 is not a direction; ScaleInvariant predictors are unit vectors")
        return beta / norm

    def log_det_gram_on_slice(self, beta):
        """``log 1 = 0`` on the unit sphere, shape ``(...,)``."""
        return np.zeros(np.shape(self.validate_beta(beta))[:-1])


class Translation(Model):
    """Softmax of logits, ``beta = softmax(theta)``, invariant under ``theta -> theta + t 1``.

    The constant Gram ``D`` means no implicit bias. Slice: mean-zero logits.

    Parameters
    ----------
    dim : int
        ``D``.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Translation(dim=3)  # softmax logits: theta -> theta + t (1, 1, 1)
    >>> theta = np.array([0.0, 1.0, 2.0])
    >>> bool(np.allclose(model.predictor(theta + 5.0), model.predictor(theta)))
    True
    """

    def __init__(self, dim):
        # A softmax over one logit is the constant 1.
        space = ParameterSpace({"logits": (integer(dim, "dim", minimum=2),)})
        super().__init__(space, TranslationAction(space.dim), (space.dim,))

    def traceable_predictor(self, theta):
        """``softmax(theta)``, shape ``(..., D)``."""
        shifted = theta - anp.max(theta, axis=-1, keepdims=True)
        weights = anp.exp(shifted)
        return weights / anp.sum(weights, axis=-1, keepdims=True)

    def predictor_and_pullback(self, theta):
        """``softmax(theta)`` and ``g -> beta * (g - beta . g)``."""
        beta = self.traceable_predictor(theta)

        def pullback(cotangent):
            return beta * (cotangent - np.sum(beta * cotangent, axis=-1, keepdims=True))

        return beta, pullback

    def balanced(self, beta):
        """Mean-zero logits ``log beta - mean(log beta)``; ``beta`` must be positive."""
        beta = self.validate_beta(beta)
        if np.any(beta <= 0):
            raise ValueError("softmax probabilities must be positive")
        logits = np.log(beta)
        return logits - logits.mean(axis=-1, keepdims=True)

    def log_det_gram_on_slice(self, beta):
        """``log D`` everywhere, shape ``(...,)``."""
        return np.full(np.shape(self.validate_beta(beta))[:-1], np.log(self.dim))
