"""Two-layer bias-free ReLU network ``f(x) = sum_j v_j relu(w_j . x)`` with per-neuron rescaling."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np

from quotientlearn.groups.base import sum_log
from quotientlearn.groups.magnitudes import scaled_norm
from quotientlearn.groups.torus import PairRescaling
from quotientlearn.models.base import Model
from quotientlearn.spaces import ParameterSpace
from quotientlearn.validation import integer

__all__ = ["ShallowReLU"]


class ShallowReLU(Model):
    """Shallow ReLU network; positive homogeneity gives ``(w_j, v_j) -> (a w_j, v_j / a)``.

    The predictor is the per-neuron product ``beta_j = v_j w_j`` (shape ``(width, d_in)``), which
    with the sign of ``v_j`` determines the function. Balanced: ``|v_j| = |w_j|``; bias
    ``(T/2) sum_j log(2 |v_j| |w_j|) = (T/2) sum_j log(2 |beta_j|)``.

    Parameters
    ----------
    d_in : int
    width : int

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.ShallowReLU(d_in=2, width=3)  # blocks W (3, 2) and v (3,)
    >>> theta = model.space.join(W=np.ones((3, 2)), v=np.array([1.0, 2.0, 0.5]))
    >>> moved = model.action.act(np.array([2.0, 0.5, 3.0]), theta)  # (w_j, v_j) -> (a_j w_j, v_j / a_j)
    >>> bool(np.allclose(model.predictor(moved), model.predictor(theta)))
    True
    """

    def __init__(self, d_in, width):
        self.d_in = integer(d_in, "d_in", minimum=1)
        self.width = integer(width, "width", minimum=1)
        space = ParameterSpace({"W": (self.width, self.d_in), "v": (self.width,)})
        offset = self.width * self.d_in
        up = [j * self.d_in + np.arange(self.d_in) for j in range(self.width)]
        down = [[offset + j] for j in range(self.width)]
        action = PairRescaling(space.dim, up, down, name="NeuronRescaling")
        super().__init__(space, action, (self.width, self.d_in))

    def traceable_predictor(self, theta):
        """Per-neuron products ``beta_j = v_j w_j``, shape ``(..., width, d_in)``."""
        blocks = self.space.split(theta)
        return blocks["v"][..., :, None] * blocks["W"]

    def predictor_and_pullback(self, theta):
        """``beta_j = v_j w_j`` and ``G -> (v_j G_j, G_j . w_j)``."""
        blocks = self.space.split(theta)
        rows, scales = blocks["W"], blocks["v"]

        def pullback(cotangent):
            return self.space.join(W=cotangent * scales[..., :, None],
                                   v=np.sum(cotangent * rows, axis=-1))

        return scales[..., :, None] * rows, pullback

    def output(self, theta, inputs):
        """Network output ``sum_j v_j relu(w_j . x)``, traceable by autograd.

        Parameters
        ----------
        theta : array_like, shape (..., D)
        inputs : array_like, shape (..., n, d_in)
            Broadcast against the batch axes of ``theta`` (e.g. ``(n, d_in)`` shared by every
            ``theta``, or ``(S, n, d_in)`` for ``S`` seeds).

        Returns
        -------
        outputs : ndarray, shape (..., n)
        """
        blocks = self.space.split(theta)
        hidden = anp.maximum(anp.matmul(inputs, anp.swapaxes(blocks["W"], -1, -2)), 0.0)
        return anp.sum(hidden * blocks["v"][..., None, :], axis=-1)

    def balanced(self, beta):
        """``w_j = beta_j / sqrt|beta_j|``, ``v_j = sqrt|beta_j|`` (``v_j >= 0``); shape ``(..., D)``."""
        beta = self.validate_beta(beta)
        root = np.sqrt(scaled_norm(beta))
        with np.errstate(divide="ignore", invalid="ignore"):
            rows = np.where(root[..., None] > 0, beta / root[..., None], 0.0)
        return self.space.join(W=rows, v=root)

    def log_det_gram_on_slice(self, beta):
        """``sum_j log(2 |beta_j|)``, shape ``(...,)``."""
        return sum_log(2.0 * scaled_norm(self.validate_beta(beta)))
