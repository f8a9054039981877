"""Products ``u * v`` mapped linearly to the predictor: sparsity, sparsity in a basis, total variation.

All three share the rescaling ``(u_i, v_i) -> (a_i u_i, v_i / a_i)`` and the balanced slice
``|u_i| = |v_i|``, where the Gram is ``diag(2 |w_i|)`` with ``w = u * v``: the gauge correction
``(T/2) sum_i log(2 |w_i|)`` is a sparsity bias on the coefficients ``w = T^{-1} beta``.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np

from quotientlearn.groups.base import sum_log
from quotientlearn.groups.torus import PairRescaling
from quotientlearn.models.base import Model
from quotientlearn.spaces import ParameterSpace

__all__ = ["BasisHadamard", "CumsumHadamard", "Hadamard"]


class _ProductFamily(Model):
    """``beta = T (u * v)`` for an invertible linear map ``T``; subclasses define ``T``."""

    def __init__(self, dim):
        dim = int(dim)
        if dim < 1:
            raise ValueError(f"dim must be a positive integer; got {dim}")
        self.width = dim
        space = ParameterSpace({"u": (dim,), "v": (dim,)})
        action = PairRescaling(
            2 * dim, [[i] for i in range(dim)], [[dim + i] for i in range(dim)], name="Rescaling"
        )
        super().__init__(space, action, (dim,))

    def coefficients(self, beta):
        """``w = T^{-1} beta``: the products ``u * v`` of the slice point, shape ``(..., d)``."""
        raise NotImplementedError

    def _from_coefficients(self, coefficients):
        raise NotImplementedError

    def _transform(self):
        """The matrix of ``T``, shape ``(d, d)``."""
        raise NotImplementedError

    def _predictor(self, theta):
        return self._from_coefficients(theta[..., : self.width] * theta[..., self.width :])

    def predictor_jacobian(self, theta):
        """``T [diag v, diag u]``, shape ``(..., d, 2d)``."""
        theta = self.space.validate(theta)
        u, v = theta[..., : self.width], theta[..., self.width :]
        transform = self._transform()
        return np.concatenate([transform * v[..., None, :], transform * u[..., None, :]], axis=-1)

    def balanced(self, beta):
        """``u = sqrt|w|``, ``v = sign(w) sqrt|w|`` with ``w = T^{-1} beta``; shape ``(..., 2d)``."""
        w = self.coefficients(self.validate_beta(beta))
        root = np.sqrt(np.abs(w))
        return np.concatenate([root, np.sign(w) * root], axis=-1)

    def log_det_gram_on_slice(self, beta):
        """``sum_i log(2 |w_i|)``, shape ``(...,)``."""
        return sum_log(2.0 * np.abs(self.coefficients(self.validate_beta(beta))))


class Hadamard(_ProductFamily):
    """``beta = u * v`` (elementwise): the gauge correction favours sparse ``beta``.

    Parameters
    ----------
    dim : int
        ``d``; ``D = 2 d``.
    """

    def coefficients(self, beta):
        """``w = beta``."""
        return beta

    def _from_coefficients(self, coefficients):
        return coefficients

    def _transform(self):
        return np.eye(self.width)


class BasisHadamard(_ProductFamily):
    """``beta = B^{-1} (u * v)``: sparsity of ``B beta`` (e.g. in a cosine basis).

    Parameters
    ----------
    basis : array_like, shape (d, d)
        Invertible ``B``.
    """

    def __init__(self, basis):
        basis = np.asarray(basis, dtype=float)
        if basis.ndim != 2 or basis.shape[0] != basis.shape[1]:
            raise ValueError(f"basis must be a square matrix; got shape {basis.shape}")
        if np.linalg.cond(basis) > 1e12:
            raise ValueError("basis must be invertible (its condition number exceeds 1e12)")
        self.basis = basis
        self._inverse = np.linalg.inv(basis)
        super().__init__(basis.shape[0])

    def coefficients(self, beta):
        """``w = B beta``."""
        return beta @ self.basis.T

    def _from_coefficients(self, coefficients):
        return anp.dot(coefficients, self._inverse.T)

    def _transform(self):
        return self._inverse


class CumsumHadamard(_ProductFamily):
    """``beta = cumsum(u * v)``: sparsity of the jumps, a total-variation bias.

    Parameters
    ----------
    dim : int
    """

    def coefficients(self, beta):
        """The jumps ``w = diff(beta)`` with ``beta_{-1} = 0``."""
        return np.diff(beta, axis=-1, prepend=0.0)

    def _from_coefficients(self, coefficients):
        return anp.cumsum(coefficients, axis=-1)

    def _transform(self):
        return np.tril(np.ones((self.width, self.width)))
