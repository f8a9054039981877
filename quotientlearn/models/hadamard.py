"""Products ``u * v`` mapped linearly to the predictor: sparsity, sparsity in a basis, total variation.

All three share the rescaling ``(u_i, v_i) -> (a_i u_i, v_i / a_i)`` and the balanced slice
``|u_i| = |v_i|``, where the Gram is ``diag(2 |w_i|)`` with ``w = u * v``: the gauge correction
``(T/2) sum_i log(2 |w_i|)`` at temperature ``T`` is a sparsity bias on the coefficients
``w = A^{-1} beta``, where ``beta = A (u * v)`` for a fixed invertible linear map ``A``.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np

from quotientlearn.dynamics.compiled import ProductEulerStep
from quotientlearn.dynamics.constraints import Constraint
from quotientlearn.groups.base import sum_log
from quotientlearn.groups.torus import PairRescaling
from quotientlearn.models.base import Model
from quotientlearn.numerics import Hessians
from quotientlearn.spaces import ParameterSpace
from quotientlearn.validation import integer

__all__ = ["BasisHadamard", "CumsumHadamard", "Hadamard", "ProductFamily", "ProductHessians"]


class ProductHessians(Hessians):
    """Hessians of ``beta = T (u * v)``: ``H_p = sum_i T_pi (e_{u_i} e_{v_i}^T + e_{v_i} e_{u_i}^T)``.

    Each contraction is ``O(N d)`` or ``O(N d^2)``; nothing of size ``d^3`` is formed.

    Parameters
    ----------
    model : ProductFamily
    theta : ndarray, shape (N, 2 d)
    """

    def __init__(self, model, theta):
        self.model, self.n_points = model, np.shape(theta)[0]

    def _halves(self, array):
        width = self.model.width
        return array[..., :width], array[..., width:]

    def trace(self):
        """``0``: every ``H_p`` has a zero diagonal."""
        return np.zeros((self.n_points, self.model.width))

    def forms(self, left, right):
        """``T sum_r (l_u r_v + l_v r_u)``, shape ``(N, d)``."""
        (left_u, left_v), (right_u, right_v) = self._halves(left), self._halves(right)
        summed = np.sum(left_u * right_v + left_v * right_u, axis=-2)
        return self.model.from_coefficients(summed)

    def contract(self, vectors):
        """``(sum_p T_pi v_{p, v_i}, sum_p T_pi v_{p, u_i})``, shape ``(N, 2 d)``."""
        vectors_u, vectors_v = self._halves(vectors)
        transform = self.model.transform_matrix()
        return np.concatenate([np.einsum("pi,npi->ni", transform, vectors_v),
                               np.einsum("pi,npi->ni", transform, vectors_u)], axis=-1)

    def dense(self):
        """``(N, d, 2d, 2d)``."""
        width, transform = self.model.width, self.model.transform_matrix()
        out = np.zeros((self.n_points, width, 2 * width, 2 * width))
        index = np.arange(width)
        out[:, :, index, width + index] = transform
        out[:, :, width + index, index] = transform
        return out


class ProductFamily(Model):
    """``beta = A (u * v)`` for an invertible linear map ``A``; subclasses define ``A``.

    ``space`` (optional) replaces the flat ``R^{2d}``, e.g. by ``R^{2d}`` with a metric.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.CumsumHadamard(3)  # a ProductFamily with A the cumulative sum
    >>> isinstance(model, ql.models.ProductFamily)
    True
    >>> model.coefficients(np.array([1.0, 3.0, 2.0]))  # w = A^{-1} beta
    array([ 1.,  2., -1.])
    """

    def __init__(self, dim, space=None):
        dim = integer(dim, "dim", minimum=1)
        self.width = dim
        space = ParameterSpace({"u": (dim,), "v": (dim,)}) if space is None else space
        super().__init__(space, self.rescaling(dim), (dim,))

    @staticmethod
    def rescaling(dim):
        """The symmetry ``(u_i, v_i) -> (a_i u_i, v_i / a_i)`` of every product model of width ``dim``."""
        return PairRescaling(
            2 * dim, [[i] for i in range(dim)], [[dim + i] for i in range(dim)], name="Rescaling"
        )

    @staticmethod
    def slice_point(coefficients):
        """``u = sqrt|w|``, ``v = sign(w) sqrt|w|``: the balanced point with products ``w``.

        Traceable by autograd (design families differentiate it in their parameters).

        Parameters
        ----------
        coefficients : ndarray, shape (..., d)

        Returns
        -------
        theta : ndarray, shape (..., 2 d)
        """
        root = anp.sqrt(anp.abs(coefficients))
        return anp.concatenate([root, anp.sign(coefficients) * root], axis=-1)

    @staticmethod
    def slice_gram_diagonal(coefficients):
        """The Gram ``2 |w|`` on the slice (it is diagonal), shape ``(..., d)``; traceable."""
        return 2.0 * anp.abs(coefficients)

    def coefficients(self, beta):
        """``w = A^{-1} beta``: the products ``u * v`` of the slice point, shape ``(..., d)``."""
        raise NotImplementedError(f"{type(self).__name__} must implement coefficients(beta)")

    def from_coefficients(self, coefficients):
        """``beta = A w`` for coefficients ``w`` of shape ``(..., d)``; traceable by autograd."""
        raise NotImplementedError(f"{type(self).__name__} must implement from_coefficients(w)")

    def pullback_coefficients(self, cotangent):
        """``A^T g``: a cotangent of ``beta`` pulled back to the coefficients, shape ``(..., d)``."""
        return cotangent @ self.transform_matrix()

    def transform_matrix(self):
        """The matrix of ``A``, shape ``(d, d)``."""
        raise NotImplementedError(f"{type(self).__name__} must implement transform_matrix()")

    def traceable_predictor(self, theta):
        """``A (u * v)``, shape ``(..., d)``."""
        return self.from_coefficients(theta[..., : self.width] * theta[..., self.width :])

    def predictor_and_pullback(self, theta):
        """``A (u * v)`` and ``g -> (A^T g * v, A^T g * u)`` in closed form.

        It avoids autograd's scatter-add through the slices of ``theta``, which dominates a step of
        the dynamics at large ``D`` (benchmarks/bench_dynamics.py).
        """
        u, v = theta[..., : self.width], theta[..., self.width :]
        beta = self.from_coefficients(u * v)

        def pullback(cotangent):
            back = self.pullback_coefficients(cotangent)
            batch = back.shape[:-1]
            if batch != theta.shape[:-1]:
                batch = np.broadcast_shapes(batch, theta.shape[:-1])
            out = np.empty(batch + theta.shape[-1:])
            np.multiply(back, v, out=out[..., : self.width])  # written in place: no concatenation
            np.multiply(back, u, out=out[..., self.width :])
            return out

        return beta, pullback

    def fused_euler_step(self, loss, constraint, dt, scale, bound, rng):
        """:class:`~quotientlearn.dynamics.compiled.ProductEulerStep`, balancing when ``constraint`` does.

        For no constraint, or one whose projection is the pair balance of ``(u, v)``
        (:meth:`~quotientlearn.dynamics.Constraint.pair_blocks`); otherwise ``None``. It reproduces
        :meth:`predictor_and_pullback`'s closed form, the Euler step and that balance bit for bit (a
        subclass that changes the predictor or its pull-back returns ``None`` here).
        """
        width = self.width
        balance = constraint is not None
        # the engine also runs duck-typed constraints (only `project`): those keep the numpy path
        if balance and not (isinstance(constraint, Constraint)
                            and constraint.pair_blocks() == (slice(0, width), slice(width, 2 * width))):
            return None
        return ProductEulerStep(self, loss, dt, scale, bound, rng, balance)

    def predictor_hessians(self, theta):
        """:class:`ProductHessians` in closed form."""
        return ProductHessians(self, self.space.validate(theta))

    def slice_tangents(self, theta):
        """``V_{u_i, k} = (T^{-1})_{ik} / (2 v_i)``, ``V_{v_i, k} = (T^{-1})_{ik} / (2 u_i)``; ``(N, 2d, d)``.

        On the slice ``|u_i| = |v_i|`` these keep ``u_i^2 - v_i^2 = 0`` and move ``w = u v`` by the
        columns of ``T^{-1}``; they are infinite on degenerate orbits (``w_i = 0``).
        """
        theta = self.space.validate(theta)
        u, v = theta[..., : self.width], theta[..., self.width :]
        inverse = self.coefficients(np.eye(self.width)).T  # (T^{-1})_{ik}
        with np.errstate(divide="ignore"):
            return np.concatenate([inverse / (2.0 * v[..., :, None]),
                                   inverse / (2.0 * u[..., :, None])], axis=-2)

    def predictor_jacobian(self, theta):
        """``A [diag v, diag u]``, shape ``(..., d, 2d)``."""
        theta = self.space.validate(theta)
        u, v = theta[..., : self.width], theta[..., self.width :]
        transform = self.transform_matrix()
        return np.concatenate([transform * v[..., None, :], transform * u[..., None, :]], axis=-1)

    def balanced(self, beta):
        """``u = sqrt|w|``, ``v = sign(w) sqrt|w|`` with ``w = A^{-1} beta``; shape ``(..., 2d)``."""
        return self.slice_point(self.coefficients(self.validate_beta(beta)))

    def log_det_gram_on_slice(self, beta):
        """``sum_i log(2 |w_i|)``, shape ``(...,)``."""
        return sum_log(self.slice_gram_diagonal(self.coefficients(self.validate_beta(beta))))


class Hadamard(ProductFamily):
    """``beta = u * v`` (elementwise): the gauge correction favours sparse ``beta``.

    Parameters
    ----------
    dim : int
        ``d``; ``D = 2 d``.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Hadamard(dim=3)  # theta = (u, v), D = 6
    >>> theta = model.balanced(np.array([0.5, -1.0, 2.0]))  # |u_i| = |v_i|, shape (6,)
    >>> model.predictor(theta)
    array([ 0.5, -1. ,  2. ])
    >>> np.diag(model.bundle.gram(theta))  # 2 |beta_i| on the slice
    array([1., 2., 4.])
    """

    def coefficients(self, beta):
        """``w = beta``."""
        return beta

    def from_coefficients(self, coefficients):
        """``beta = w``."""
        return coefficients

    def pullback_coefficients(self, cotangent):
        """``g`` itself (``A = I``)."""
        return cotangent

    def transform_matrix(self):
        """The identity."""
        return np.eye(self.width)


class BasisHadamard(ProductFamily):
    """``beta = B^{-1} (u * v)``: sparsity of ``B beta`` (e.g. in a cosine basis).

    Parameters
    ----------
    basis : array_like, shape (d, d)
        Invertible ``B``.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> basis = np.array([[1.0, 1.0], [0.0, 1.0]])
    >>> model = ql.models.BasisHadamard(basis)  # beta = B^-1 (u * v): sparse in the basis B
    >>> model.predictor(model.balanced(np.array([1.0, 2.0])))
    array([1., 2.])
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

    def from_coefficients(self, coefficients):
        """``beta = B^{-1} w``."""
        return anp.dot(coefficients, self._inverse.T)

    def transform_matrix(self):
        """``B^{-1}``."""
        return self._inverse


class CumsumHadamard(ProductFamily):
    """``beta = cumsum(u * v)``: sparsity of the jumps, a total-variation bias.

    Parameters
    ----------
    dim : int

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.CumsumHadamard(dim=3)  # beta = cumsum(u * v): sparse jumps
    >>> theta = model.balanced(np.array([1.0, 3.0, 2.0]))
    >>> model.predictor(theta)
    array([1., 3., 2.])
    """

    def coefficients(self, beta):
        """The jumps ``w = diff(beta)`` with ``beta_{-1} = 0``."""
        return np.diff(beta, axis=-1, prepend=0.0)

    def from_coefficients(self, coefficients):
        """``beta = cumsum(w)``."""
        return anp.cumsum(coefficients, axis=-1)

    def pullback_coefficients(self, cotangent):
        """``A^T g`` for lower-triangular ones: the reversed cumulative sum, in O(d)."""
        return np.cumsum(cotangent[..., ::-1], axis=-1)[..., ::-1]

    def transform_matrix(self):
        """Lower-triangular ones."""
        return np.tril(np.ones((self.width, self.width)))
