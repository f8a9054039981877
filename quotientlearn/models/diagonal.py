"""Deep diagonal networks ``beta = u_1 * u_2 * ... * u_L``."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval

from quotientlearn.groups.base import sum_log
from quotientlearn.groups.magnitudes import product_is_safe
from quotientlearn.groups.torus import LayerRescaling
from quotientlearn.models.base import Model
from quotientlearn.spaces import ParameterSpace
from quotientlearn.validation import integer

__all__ = ["DiagonalNet"]


def _times_power_of_two(values, exponent):
    """``values * 2 ** exponent`` in two steps whose factors stay in range (``|exponent| <= 2000``)."""
    half = exponent // 2
    return values * np.ldexp(1.0, half) * np.ldexp(1.0, exponent - half)


class DiagonalNet(Model):
    """Depth-``L`` diagonal linear network with group ``(R_{>0})^{(L-1) d}``.

    On the balanced slice every layer has magnitude ``|beta_i|^{1/L}``; per coordinate the Gram is the
    tridiagonal ``(L-1) x (L-1)`` matrix ``|beta_i|^{2/L} tridiag(-1, 2, -1)`` of determinant
    ``L |beta_i|^{2(L-1)/L}``.

    Parameters
    ----------
    dim : int
        ``d``.
    depth : int
        ``L >= 2``; ``D = L d``.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.DiagonalNet(dim=2, depth=3)  # beta = u1 * u2 * u3, D = 6
    >>> theta = model.balanced(np.array([8.0, -1.0]))  # every layer has magnitude |beta|^(1/3)
    >>> theta
    array([ 2., -1.,  2.,  1.,  2.,  1.])
    >>> model.predictor(theta)
    array([ 8., -1.])
    """

    def __init__(self, dim, depth=3):
        self.width = integer(dim, "dim", minimum=1)
        self.depth = integer(depth, "depth", minimum=2)
        space = ParameterSpace({f"u{layer + 1}": (self.width,) for layer in range(self.depth)})
        super().__init__(space, LayerRescaling(self.width, self.depth), (self.width,))

    def traceable_predictor(self, theta):
        """``u_1 * ... * u_L``, shape ``(..., d)``."""
        layers = anp.reshape(theta, anp.shape(theta)[:-1] + (self.depth, self.width))
        if product_is_safe(np.abs(getval(layers)), self.depth):
            return anp.prod(layers, axis=-2)
        # Multiply mantissas and add binary exponents: a running product of L factors underflows or
        # overflows (1 * 1e-225 * 1e-225 * 1e300 = 0) although the result (1e-150) is representable.
        # The powers of two are constants for autograd; each is split in two to stay in range.
        exponent = np.frexp(getval(layers))[1]
        mantissas = _times_power_of_two(layers, -exponent)
        # Beyond +-1100 the result is 0 or inf whatever the mantissas: clip to keep factors in range.
        return _times_power_of_two(anp.prod(mantissas, axis=-2),
                                   np.clip(np.sum(exponent, axis=-2), -1100, 1100))

    def predictor_and_pullback(self, theta):
        """``prod_l u_l`` and ``g -> (g prod_{l' != l} u_l')_l``: products before and after each layer."""
        layers = theta.reshape(theta.shape[:-1] + (self.depth, self.width))
        if not product_is_safe(np.abs(layers), self.depth):  # partial products could leave the range
            return Model.predictor_and_pullback(self, theta)
        before = np.cumprod(np.concatenate([np.ones_like(layers[..., :1, :]), layers[..., :-1, :]],
                                           axis=-2), axis=-2)
        after = np.cumprod(np.concatenate([np.ones_like(layers[..., :1, :]), layers[..., :0:-1, :]],
                                          axis=-2), axis=-2)[..., ::-1, :]
        others = before * after  # prod over every layer but l, without dividing (zeros are fine)

        def pullback(cotangent):
            return (cotangent[..., None, :] * others).reshape(theta.shape)

        return others[..., 0, :] * layers[..., 0, :], pullback

    def balanced(self, beta):
        """``u_1 = sign(beta) |beta|^{1/L}``, ``u_l = |beta|^{1/L}`` for ``l > 1``; shape ``(..., L d)``."""
        beta = self.validate_beta(beta)
        magnitude = np.abs(beta) ** (1.0 / self.depth)
        layers = [np.sign(beta) * magnitude] + [magnitude] * (self.depth - 1)
        return np.concatenate(layers, axis=-1)

    def log_det_gram_on_slice(self, beta):
        """``sum_i [log L + (2 (L-1) / L) log |beta_i|]``, shape ``(...,)``."""
        beta = self.validate_beta(beta)
        exponent = 2.0 * (self.depth - 1) / self.depth
        return self.width * np.log(self.depth) + exponent * sum_log(np.abs(beta))
