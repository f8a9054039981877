"""Power products ``beta_i = sign(u_i) |u_i|^{p_i} v_i``: sparsity whose strength is tunable.

The torus ``(u_i, v_i) -> (a_i u_i, a_i^{-p_i} v_i)`` (:class:`~quotientlearn.groups.PowerRescaling`)
leaves ``beta`` invariant; its balanced slice is ``u_i^2 = p_i v_i^2``, where the Gram is
``diag((1 + p_i) (sqrt(p_i) |beta_i|)^{2 / (p_i + 1)})``. The gauge correction is therefore
``(T/2) sum_i (2 / (p_i + 1)) log |beta_i|`` plus a constant: a sparsity bias of strength
``2 / (p_i + 1)`` in ``(0, 2)``; ``p = 1`` is the Hadamard product. These are the members of the design
family :class:`~quotientlearn.design.SparsityStrength`, which calls the closed forms below with
exponents traced by autograd.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np

from quotientlearn.groups.base import sum_log
from quotientlearn.groups.torus import PowerRescaling
from quotientlearn.models.base import Model
from quotientlearn.spaces import ParameterSpace

__all__ = ["PowerProduct"]


class PowerProduct(Model):
    """``beta_i = sign(u_i) |u_i|^{p_i} v_i``, with exponents ``p_i > 0``.

    Parameters
    ----------
    exponents : array_like, shape (d,)
        ``p > 0``; ``D = 2 d``.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.PowerProduct([1.0, 2.0])
    >>> theta = model.balanced(np.array([0.5, -2.0]))  # the slice point u^2 = p v^2
    >>> model.predictor(theta)
    array([ 0.5, -2. ])
    """

    def __init__(self, exponents):
        exponents = np.asarray(exponents, dtype=float).reshape(-1)
        if exponents.size == 0 or not np.all(np.isfinite(exponents) & (exponents > 0)):
            raise ValueError(f"exponents must be positive and finite; got {exponents}")
        self.exponents = exponents
        self.width = exponents.size
        space = ParameterSpace({"u": (self.width,), "v": (self.width,)})
        super().__init__(space, PowerRescaling(exponents), (self.width,))

    @staticmethod
    def slice_point(beta, exponents):
        """``u = (sqrt(p) |beta|)^{1/(p+1)}``, ``v = sign(beta) u / sqrt(p)``; shape ``(..., 2 d)``.

        Traceable by autograd in ``beta`` and ``exponents`` (the design family differentiates it).
        """
        u = (anp.sqrt(exponents) * anp.abs(beta)) ** (1.0 / (exponents + 1.0))
        return anp.concatenate([u, anp.sign(beta) * u / anp.sqrt(exponents)], axis=-1)

    @staticmethod
    def slice_gram_diagonal(beta, exponents):
        """The Gram ``(1 + p) (p beta^2)^{1/(p+1)}`` on the slice, shape ``(..., d)`` (traceable)."""
        return (1.0 + exponents) * (exponents * beta**2) ** (1.0 / (exponents + 1.0))

    def traceable_predictor(self, theta):
        """``sign(u) |u|^p v``, shape ``(..., d)``."""
        u, v = theta[..., : self.width], theta[..., self.width :]
        return anp.sign(u) * anp.abs(u) ** self.exponents * v

    def predictor_and_pullback(self, theta):
        """``sign(u) |u|^p v`` and ``g -> (g p |u|^{p-1} v, g sign(u) |u|^p)`` in closed form."""
        u, v = theta[..., : self.width], theta[..., self.width :]
        power = np.sign(u) * np.abs(u) ** self.exponents
        d_u = self._power_derivative(u) * v

        def pullback(cotangent):
            return np.concatenate([cotangent * d_u, cotangent * power], axis=-1)

        return power * v, pullback

    def _power_derivative(self, u):
        """``p |u|^{p-1}``, with the value ``0`` at ``u = 0`` (where it is infinite for ``p < 1``)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(u == 0, 0.0, self.exponents * np.abs(u) ** (self.exponents - 1.0))

    def predictor_jacobian(self, theta):
        """``[diag(p |u|^{p-1} v), diag(sign(u) |u|^p)]``, shape ``(..., d, 2 d)``."""
        theta = self.space.validate(theta)
        u, v = theta[..., : self.width], theta[..., self.width :]
        eye = np.eye(self.width)
        d_u = self._power_derivative(u) * v
        d_v = np.sign(u) * np.abs(u) ** self.exponents
        return np.concatenate([d_u[..., :, None] * eye, d_v[..., :, None] * eye], axis=-1)

    def balanced(self, beta):
        """The slice point :meth:`slice_point` of ``beta``, shape ``(..., 2 d)``."""
        return self.slice_point(self.validate_beta(beta), self.exponents)

    def log_det_gram_on_slice(self, beta):
        """``sum_i log((1 + p_i) (p_i beta_i^2)^{1/(p_i+1)})``, shape ``(...,)``."""
        return sum_log(self.slice_gram_diagonal(self.validate_beta(beta), self.exponents))
