"""Families of parameterisations indexed by a point ``psi`` of a pymanopt manifold.

A :class:`Family` maps ``psi`` to a model and, traceably by autograd, to the Gram of the model's
symmetry directions at the balanced slice point of each predictor ``beta``. Its log-determinant is the
implicit bias (in units of ``T/2``) that :func:`quotientlearn.design.fit` matches to a target. A new
family subclasses :class:`Family` and writes ``balanced`` and ``generators`` with ``autograd.numpy``;
the Gram and its log-determinant then follow generically (the concrete families below override the
log-determinant with their diagonal closed forms, and the tests hold the two against each other and
against the built model's gauge).

Concrete families:

- :class:`OrthogonalBasis`: ``beta = B^T (u * v)``, ``B`` orthogonal (Stiefel or special orthogonal);
  bias ``sum_i log(2 |B beta|_i)``.
- :class:`SparsityStrength`: ``beta_i = sign(u_i) |u_i|^{p_i} v_i``, exponents ``p`` positive; bias
  ``sum_i (2 / (p_i + 1)) log |beta_i|`` plus a constant: sparsity of tunable strength in ``(0, 2)``.
- :class:`Mixing`: ``beta = M (u * v)`` with ``M`` lower triangular or general, parameterised by
  ``A = M^{-1}``; bias ``sum_i log(2 |A beta|_i)`` (piecewise structure for ``M`` the cumulative
  sum).
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from pymanopt.manifolds import Euclidean, Oblique, Positive, SpecialOrthogonalGroup, Stiefel

from quotientlearn import models
from quotientlearn.groups.base import sum_log
from quotientlearn.groups.torus import TorusRescaling
from quotientlearn.spaces import ParameterSpace, as_batch

__all__ = ["Family", "Mixing", "OrthogonalBasis", "PowerProduct", "PowerRescaling", "SparsityStrength"]


def _diagonal_embed(values):
    """``(..., k) -> (..., k, k)`` diagonal matrices, traceable by autograd."""
    k = np.shape(values)[-1]
    return values[..., :, None] * np.eye(k)


def _log_det_diagonal(diagonal, smoothing):
    """``(1/2) sum log(g^2 + eps^2)``; exactly ``sum log g`` when ``eps = 0``."""
    if smoothing == 0:
        return anp.sum(anp.log(diagonal), axis=-1)
    return 0.5 * anp.sum(anp.log(diagonal**2 + smoothing**2), axis=-1)


class Family:
    """A parameterisation ``phi_psi`` indexed by ``psi`` on a pymanopt manifold.

    Subclasses set ``manifold`` (a single-array pymanopt manifold), ``beta_shape`` and
    ``action_dim`` (``k``), and implement :meth:`random_point`, :meth:`model`, :meth:`balanced` and
    :meth:`generators`; the last two must be written with ``autograd.numpy`` so that pymanopt's
    autograd backend can differentiate the design objective in ``psi``.

    Parameters
    ----------
    manifold : pymanopt.manifolds.manifold.Manifold
    beta_shape : tuple of int
    action_dim : int
        ``k``, the dimension of the symmetry group of every member.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> family = ql.design.OrthogonalBasis(3)
    >>> isinstance(family, ql.design.Family), family.beta_shape, family.action_dim
    (True, (3,), 3)
    """

    def __init__(self, manifold, beta_shape, action_dim):
        self.manifold = manifold
        self.beta_shape = tuple(int(s) for s in beta_shape)
        self.action_dim = int(action_dim)

    def __repr__(self):
        return f"{type(self).__name__}(beta_shape={self.beta_shape}, manifold={self.manifold})"

    def random_point(self, rng=None):
        """A random ``psi`` (a random start of :func:`~quotientlearn.design.fit`)."""
        raise NotImplementedError(f"{type(self).__name__} must implement random_point(rng)")

    def model(self, psi):
        """The member of the family at ``psi``, a :class:`~quotientlearn.models.Model`."""
        raise NotImplementedError(f"{type(self).__name__} must implement model(psi)")

    def balanced(self, psi, beta):
        """The balanced slice point with predictor ``beta``, shape ``(..., D)`` (traceable)."""
        raise NotImplementedError(f"{type(self).__name__} must implement balanced(psi, beta)")

    def generators(self, psi, theta):
        """Fundamental vector fields at ``theta``, shape ``(..., k, D)`` (traceable)."""
        raise NotImplementedError(f"{type(self).__name__} must implement generators(psi, theta)")

    def gram_on_slice(self, psi, beta):
        """Gram of the generators at ``balanced(psi, beta)``, shape ``(..., k, k)`` (traceable).

        Parameters
        ----------
        psi : ndarray
            A point of ``manifold``.
        beta : ndarray, shape (..., *beta_shape)

        Returns
        -------
        gram : ndarray, shape (..., k, k)
        """
        xi = self.generators(psi, self.balanced(psi, beta))
        return anp.matmul(xi, anp.swapaxes(xi, -1, -2))

    def log_det_gram(self, psi, beta, smoothing=0.0):
        """``log det G`` on the slice, or its smoothed form ``(1/2) log det(G^2 + eps^2 I)``.

        The smoothing removes the singularities at degenerate orbits (where ``G`` is singular and
        the design objective is infinite); :func:`~quotientlearn.design.fit` lowers it to zero.

        Parameters
        ----------
        psi : ndarray
        beta : ndarray, shape (..., *beta_shape)
        smoothing : float
            ``eps >= 0``, in the units of the Gram.

        Returns
        -------
        log_det : ndarray, shape (...,)
            ``-inf`` where the orbit is degenerate and ``smoothing == 0``.
        """
        gram = self.gram_on_slice(psi, beta)
        if smoothing == 0:
            sign, log_det = anp.linalg.slogdet(gram)
            return anp.where(sign > 0, log_det, -np.inf)
        squared = anp.matmul(gram, gram) + smoothing**2 * np.eye(self.action_dim)
        return 0.5 * anp.linalg.slogdet(squared)[1]

    def bias(self, psi, beta, temperature):
        """The implicit bias ``(T/2) log det G_C`` of member ``psi`` at ``beta``, shape ``(...,)``."""
        return 0.5 * float(temperature) * np.asarray(self.log_det_gram(psi, beta))

    def validate_beta(self, beta):
        """``beta`` as float64 after checking its shape ``(..., *beta_shape)``."""
        return as_batch(beta, self.beta_shape, "beta")


class _ProductCoefficients(Family):
    """``beta = T_psi (u * v)``: subclasses give the coefficients ``w = T_psi^{-1} beta``."""

    def __init__(self, manifold, dim):
        self.dim = int(dim)
        super().__init__(manifold, (self.dim,), self.dim)

    def coefficients(self, psi, beta):
        """``w = T_psi^{-1} beta``, shape ``(..., d)`` (traceable)."""
        raise NotImplementedError

    def balanced(self, psi, beta):
        """``u = sqrt|w|``, ``v = sign(w) sqrt|w|``; shape ``(..., 2 d)``."""
        w = self.coefficients(psi, beta)
        root = anp.sqrt(anp.abs(w))
        return anp.concatenate([root, anp.sign(w) * root], axis=-1)

    def generators(self, psi, theta):
        """``xi_i = (u_i e_i, -v_i e_i)``, shape ``(..., d, 2 d)``."""
        u, v = theta[..., : self.dim], theta[..., self.dim :]
        return anp.concatenate([_diagonal_embed(u), -_diagonal_embed(v)], axis=-1)

    def log_det_gram(self, psi, beta, smoothing=0.0):
        """Closed form: the Gram is ``diag(2 |w|)``; shape ``(...,)``."""
        return _log_det_diagonal(2.0 * anp.abs(self.coefficients(psi, beta)), smoothing)


class OrthogonalBasis(_ProductCoefficients):
    """``beta = B^T (u * v)`` with ``B`` orthogonal: sparsity in a learnable orthonormal basis.

    Members are :class:`~quotientlearn.models.BasisHadamard` models; the bias is
    ``sum_i log(2 |(B beta)_i|)``. ``psi`` *is* ``B``: its rows are the basis vectors and
    ``psi @ beta`` the coefficients, so a fit recovers a hidden basis ``B*`` when ``psi @ B*.T`` is a
    signed permutation.

    Parameters
    ----------
    dim : int
        ``d``.
    group : {"stiefel", "special_orthogonal"}
        ``psi`` on ``Stiefel(d, d)`` (all of ``O(d)``) or ``SO(d)``; a sparsity target fixes ``B`` only
        up to signed permutations of its rows, which both contain.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> family = ql.design.OrthogonalBasis(3)  # beta = B^T (u * v), B on Stiefel(3, 3)
    >>> psi = family.random_point(np.random.default_rng(0))
    >>> family.model(psi)
    BasisHadamard(D=6, k=3, beta_shape=(3,))
    """

    def __init__(self, dim, group="stiefel"):
        dim = int(dim)
        if dim < 1:
            raise ValueError(f"dim must be a positive integer; got {dim}")
        manifolds = {"stiefel": lambda: Stiefel(dim, dim),
                     "special_orthogonal": lambda: SpecialOrthogonalGroup(dim)}
        if group not in manifolds:
            raise ValueError(f"group must be one of {sorted(manifolds)}; got {group!r}")
        self.group = group
        super().__init__(manifolds[group](), dim)

    def random_point(self, rng=None):
        """A Haar-random orthogonal (or special orthogonal) ``d x d`` matrix."""
        rng = np.random.default_rng(rng)
        q, r = np.linalg.qr(rng.standard_normal((self.dim, self.dim)))
        q = q * np.sign(np.diag(r))
        if self.group == "special_orthogonal" and np.linalg.det(q) < 0:
            q[0] = -q[0]
        return q

    def coefficients(self, psi, beta):
        """``w = B beta``."""
        return anp.dot(beta, anp.transpose(psi))

    def model(self, psi):
        """``BasisHadamard(B)``."""
        return models.BasisHadamard(np.asarray(psi))


class Mixing(_ProductCoefficients):
    """``beta = M (u * v)`` with a lower-triangular or general invertible mixing ``M``.

    ``psi`` is the analysis operator ``A = M^{-1}`` (so the coefficients ``w = A beta`` need no
    inverse in the objective); members are :class:`~quotientlearn.models.BasisHadamard` models with
    basis ``A`` (rows scaled to unit norm), and the bias is ``sum_i log(2 |(A beta)_i|)``: a
    total-variation-like bias for ``A`` the difference operator (``M`` the cumulative sum).
    Rescaling a row of ``A`` only shifts the bias by a constant, so only the rows' directions are
    identifiable: with ``"general"`` the rows live on the unit sphere (pymanopt ``Oblique``), with
    ``"lower_triangular"`` on ``Euclidean(d, d)`` with the upper triangle masked out.

    Parameters
    ----------
    dim : int
    structure : {"lower_triangular", "general"}

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> family = ql.design.Mixing(3)  # beta = A^-1 (u * v), A lower triangular
    >>> family.model(np.eye(3))
    BasisHadamard(D=6, k=3, beta_shape=(3,))
    """

    def __init__(self, dim, structure="lower_triangular"):
        dim = int(dim)
        if dim < 1:
            raise ValueError(f"dim must be a positive integer; got {dim}")
        if structure not in ("lower_triangular", "general"):
            raise ValueError("structure must be 'lower_triangular' or 'general'; "
                             f"got {structure!r}")
        self.structure = structure
        if structure == "general":
            self.mask, manifold = np.ones((dim, dim)), Oblique(dim, dim)
        else:
            self.mask, manifold = np.tril(np.ones((dim, dim))), Euclidean(dim, dim)
        super().__init__(manifold, dim)

    def analysis(self, psi):
        """``A = M^{-1}``, shape ``(d, d)`` (traceable); ``Oblique`` stores its rows as columns."""
        return anp.transpose(psi) if self.structure == "general" else psi * self.mask

    def mixing(self, psi):
        """``M = A^{-1}``, shape ``(d, d)``."""
        return np.linalg.inv(np.asarray(self.analysis(psi)))

    def random_point(self, rng=None):
        """Gaussian rows (unit rows for ``"general"``; unit-magnitude diagonal for the triangle)."""
        rng = np.random.default_rng(rng)
        matrix = rng.standard_normal((self.dim, self.dim))
        if self.structure == "general":
            return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).T
        matrix = matrix * self.mask
        diagonal = rng.choice([-1.0, 1.0], self.dim) * (1.0 + np.abs(rng.standard_normal(self.dim)))
        return matrix - np.diag(np.diag(matrix)) + np.diag(diagonal)

    def coefficients(self, psi, beta):
        """``w = A beta`` with the rows of ``A`` scaled to unit norm.

        The bias only shifts by a constant under row scaling, but the smoothed objective of
        :func:`~quotientlearn.design.fit` would not be scale-free without the normalisation.
        """
        analysis = self.analysis(psi)
        rows = analysis / anp.sqrt(anp.sum(analysis**2, axis=1, keepdims=True))
        return anp.dot(beta, anp.transpose(rows))

    def model(self, psi):
        """``BasisHadamard(A)``; raises ``ValueError`` if ``A`` is singular."""
        analysis = np.asarray(self.analysis(psi))
        if np.linalg.cond(analysis) > 1e12:
            raise ValueError("the analysis operator A = M^{-1} is singular (condition number above "
                             "1e12): the family has no member there")
        return models.BasisHadamard(analysis / np.linalg.norm(analysis, axis=1, keepdims=True))


class SparsityStrength(Family):
    """``beta_i = sign(u_i) |u_i|^{p_i} v_i``: sparsity whose strength ``2 / (p_i + 1)`` is tunable.

    The torus ``(u_i, v_i) -> (a_i u_i, a_i^{-p_i} v_i)`` leaves ``beta`` invariant; its balanced slice
    is ``u_i^2 = p_i v_i^2``, where the Gram is
    ``diag((1 + p_i) (sqrt(p_i) |beta_i|)^{2 / (p_i + 1)})``. So the bias is
    ``sum_i (2 / (p_i + 1)) log |beta_i|`` plus a constant in ``beta``: weights in ``(0, 2)``, with
    ``p = 1`` the Hadamard product.

    Parameters
    ----------
    dim : int
        ``d``; ``psi`` holds the exponents on pymanopt's ``Positive(1, d)``.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> family = ql.design.SparsityStrength(3)  # beta_i = sign(u_i) |u_i|^p_i v_i
    >>> family.model(np.ones((1, 3)))  # p = 1: the Hadamard product
    PowerProduct(D=6, k=3, beta_shape=(3,))
    """

    def __init__(self, dim):
        self.dim = int(dim)
        if self.dim < 1:
            raise ValueError(f"dim must be a positive integer; got {dim}")
        super().__init__(Positive(1, self.dim), (self.dim,), self.dim)

    def exponents(self, psi):
        """``p``, shape ``(d,)`` (traceable)."""
        return anp.reshape(psi, (self.dim,))

    @staticmethod
    def weights_of_exponents(exponents):
        """Bias weights ``2 / (p + 1)`` of exponents ``p``."""
        return 2.0 / (np.asarray(exponents, dtype=float) + 1.0)

    def exponents_for_weights(self, weights):
        """``psi`` (shape ``(1, d)``) whose bias weights are ``weights`` in ``(0, 2)``."""
        weights = np.asarray(weights, dtype=float).reshape(self.dim)
        if not np.all((weights > 0) & (weights < 2)):
            raise ValueError(f"weights must lie in (0, 2) to be expressible; got {weights}")
        return (2.0 / weights - 1.0).reshape(1, self.dim)

    def random_point(self, rng=None):
        """Log-normal exponents ``exp(N(0, 1/4))``, shape ``(1, d)``."""
        rng = np.random.default_rng(rng)
        return np.exp(0.5 * rng.standard_normal((1, self.dim)))

    def balanced(self, psi, beta):
        """``u = (sqrt(p) |beta|)^{1/(p+1)}``, ``v = sign(beta) u / sqrt(p)``; shape ``(..., 2 d)``."""
        p = self.exponents(psi)
        u = (anp.sqrt(p) * anp.abs(beta)) ** (1.0 / (p + 1.0))
        return anp.concatenate([u, anp.sign(beta) * u / anp.sqrt(p)], axis=-1)

    def generators(self, psi, theta):
        """``xi_i = (u_i e_i, -p_i v_i e_i)``, shape ``(..., d, 2 d)``."""
        p = self.exponents(psi)
        u, v = theta[..., : self.dim], theta[..., self.dim :]
        return anp.concatenate([_diagonal_embed(u), -_diagonal_embed(p * v)], axis=-1)

    def log_det_gram(self, psi, beta, smoothing=0.0):
        """Closed form ``sum_i log((1 + p_i) (p_i beta_i^2)^{1/(p_i+1)})``; shape ``(...,)``."""
        p = self.exponents(psi)
        gram = (1.0 + p) * (p * beta**2) ** (1.0 / (p + 1.0))
        return _log_det_diagonal(gram, smoothing)

    def model(self, psi):
        """The :class:`PowerProduct` model with these exponents."""
        return PowerProduct(np.array(self.exponents(psi), dtype=float))


class PowerRescaling(TorusRescaling):
    """``(u_i, v_i) -> (a_i u_i, a_i^{-p_i} v_i)``, with the balanced slice reached in closed form.

    Parameters
    ----------
    exponents : array_like, shape (d,)
        ``p > 0``.
    """

    def __init__(self, exponents):
        self.exponents = np.asarray(exponents, dtype=float)
        d = self.exponents.size
        super().__init__(np.concatenate([np.eye(d), -self.exponents * np.eye(d)], axis=1),
                         name="PowerRescaling")

    def balance(self, theta):
        """Move along the orbit to ``u^2 = p v^2``; degenerate orbits go to their limit ``0``.

        Parameters
        ----------
        theta : ndarray, shape (..., 2 d)

        Returns
        -------
        balanced : ndarray, shape (..., 2 d)
        """
        theta = as_batch(theta, (self.space_dim,))
        d, p = self.exponents.size, self.exponents
        u, v = theta[..., :d], theta[..., d:]
        degenerate = (u == 0) | (v == 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            # (a u)^2 = p (a^{-p} v)^2  <=>  a^{2 (1 + p)} = p v^2 / u^2.
            factor = (p * v**2 / u**2) ** (1.0 / (2.0 * (1.0 + p)))
        factor = np.where(degenerate, 0.0, factor)
        down = np.where(degenerate, 0.0, np.where(degenerate, 1.0, factor) ** -p)
        return np.concatenate([u * factor, v * down], axis=-1)


class PowerProduct(models.Model):
    """``beta_i = sign(u_i) |u_i|^{p_i} v_i``: the members of :class:`SparsityStrength`.

    Closed forms: predictor Jacobian, balanced point ``u = (sqrt(p) |beta|)^{1/(p+1)}``,
    ``v = sign(beta) u / sqrt(p)``, slice log-determinant
    ``sum_i log((1 + p_i) (p_i beta_i^2)^{1/(p_i+1)})``. ``p = 1`` is the Hadamard product.

    Parameters
    ----------
    exponents : array_like, shape (d,)
        ``p > 0``.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.design.PowerProduct(np.array([1.0, 3.0]))  # bias sum_i (2 / (p_i + 1)) log|beta_i|
    >>> model
    PowerProduct(D=4, k=2, beta_shape=(2,))
    >>> bool(np.allclose(model.predictor(model.balanced(np.array([2.0, -0.5]))), [2.0, -0.5]))
    True
    """

    def __init__(self, exponents):
        exponents = np.asarray(exponents, dtype=float).reshape(-1)
        if exponents.size == 0 or not np.all(np.isfinite(exponents) & (exponents > 0)):
            raise ValueError(f"exponents must be positive and finite; got {exponents}")
        self.exponents = exponents
        self.width = exponents.size
        space = ParameterSpace({"u": (self.width,), "v": (self.width,)})
        super().__init__(space, PowerRescaling(exponents), (self.width,))

    def traceable_predictor(self, theta):
        """``sign(u) |u|^p v``, shape ``(..., d)``."""
        u, v = theta[..., : self.width], theta[..., self.width :]
        return anp.sign(u) * anp.abs(u) ** self.exponents * v

    def predictor_jacobian(self, theta):
        """``[diag(p |u|^{p-1} v), diag(sign(u) |u|^p)]``, shape ``(..., d, 2 d)``."""
        theta = self.space.validate(theta)
        u, v = theta[..., : self.width], theta[..., self.width :]
        p = self.exponents
        with np.errstate(divide="ignore", invalid="ignore"):
            d_u = np.where(u == 0, 0.0, p * np.abs(u) ** (p - 1.0)) * v
        d_v = np.sign(u) * np.abs(u) ** p
        return np.concatenate([_diagonal_embed(d_u), _diagonal_embed(d_v)], axis=-1)

    def balanced(self, beta):
        """``u = (sqrt(p) |beta|)^{1/(p+1)}``, ``v = sign(beta) u / sqrt(p)``; shape ``(..., 2 d)``."""
        beta = self.validate_beta(beta)
        p = self.exponents
        u = (np.sqrt(p) * np.abs(beta)) ** (1.0 / (p + 1.0))
        return np.concatenate([u, np.sign(beta) * u / np.sqrt(p)], axis=-1)

    def log_det_gram_on_slice(self, beta):
        """``sum_i log((1 + p_i) (p_i beta_i^2)^{1/(p_i+1)})``, shape ``(...,)``."""
        beta = self.validate_beta(beta)
        p = self.exponents
        return sum_log((1.0 + p) * (p * beta**2) ** (1.0 / (p + 1.0)))
