"""Families of parameterisations indexed by a point ``psi`` of a pymanopt manifold.

A :class:`Family` maps ``psi`` to a model and, traceably by autograd, to the Gram of the model's
symmetry directions at the balanced slice point of each predictor ``beta``. Its log-determinant is the
implicit bias (in units of ``T/2``) that :func:`quotientlearn.design.fit` matches to a target. A new
family subclasses :class:`Family` and writes ``balanced`` and ``generators`` with ``autograd.numpy``;
the Gram, its log-determinant and the log-determinant's gradient in ``beta`` then follow generically.
The concrete families below reuse their members' closed forms (the slice point, the Gram diagonal and
the symmetry action of :class:`~quotientlearn.models.ProductFamily` and
:class:`~quotientlearn.models.PowerProduct`) with ``psi`` traced, and add the Gaussian-smoothed
gradient the design continuation needs (:mod:`quotientlearn.design.smoothing`). The tests hold the
closed forms against the generic routes and against the built model's gauge.

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
from autograd import elementwise_grad
from pymanopt.manifolds import Euclidean, Oblique, Positive, SpecialOrthogonalGroup, Stiefel

from quotientlearn import models
from quotientlearn.design.smoothing import smoothed_log_abs_gradient
from quotientlearn.groups import PowerRescaling
from quotientlearn.spaces import as_batch

__all__ = ["Family", "Mixing", "OrthogonalBasis", "SparsityStrength"]


def _log_det_diagonal(diagonal, smoothing):
    """``(1/2) sum log(g^2 + eps^2)``; exactly ``sum log g`` when ``eps = 0``."""
    if smoothing == 0:
        return anp.sum(anp.log(diagonal), axis=-1)
    return 0.5 * anp.sum(anp.log(diagonal**2 + smoothing**2), axis=-1)


class Family:
    """A parameterisation ``phi_psi`` indexed by ``psi`` on a pymanopt manifold.

    Subclasses set ``manifold`` (a single-array pymanopt manifold), ``beta_shape`` and
    ``action_dim`` (``k``), and implement :meth:`random_point`, :meth:`model`, :meth:`balanced` and
    :meth:`generators`; the last two must be written with ``autograd.numpy`` so that autograd can
    differentiate the design objective in ``psi``.

    Attributes
    ----------
    objective : {"values", "gradients"}
        The objective :func:`~quotientlearn.design.fit` uses by default. ``"gradients"`` needs the
        Gaussian-smoothed :meth:`log_det_gradient`, which a family has only in closed form; the
        generic default is ``"values"`` (its smoothing works for any family).

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

    objective = "values"

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

    def log_det_gradient(self, psi, beta, smoothing=0.0):
        """``grad_beta E_z log det G(beta + sigma z)``, ``z ~ N(0, I)``: the smoothed bias gradient.

        The generic default is the exact gradient (``smoothing = 0``) by autograd; the Gaussian
        smoothing (``smoothing = sigma > 0``) needs a closed form, which families override.

        Parameters
        ----------
        psi : ndarray
        beta : ndarray, shape (N, *beta_shape)
        smoothing : float
            ``sigma >= 0``, in the units of ``beta``.

        Returns
        -------
        gradient : ndarray, shape (N, *beta_shape)

        Raises
        ------
        NotImplementedError
            For ``smoothing > 0`` without a closed form.
        """
        if smoothing != 0:
            raise NotImplementedError(
                f"{type(self).__name__} has no Gaussian-smoothed log-det gradient: override "
                "Family.log_det_gradient for smoothing > 0, or fit it with objective='values' (whose "
                "Gram smoothing works for every family) or smoothing=()")
        return elementwise_grad(lambda points: self.log_det_gram(psi, points))(beta)

    def bias(self, psi, beta, temperature):
        """The implicit bias ``(T/2) log det G_C`` of member ``psi`` at ``beta``, shape ``(...,)``."""
        return 0.5 * float(temperature) * np.asarray(self.log_det_gram(psi, beta))

    def validate_beta(self, beta):
        """``beta`` as float64 after checking its shape ``(..., *beta_shape)``."""
        return as_batch(beta, self.beta_shape, "beta")


class _ProductCoefficients(Family):
    """``beta = T_psi (u * v)``: members are :class:`~quotientlearn.models.ProductFamily` models.

    Subclasses give the unit analysis rows ``a_i`` (traceable); the coefficients are ``w = A beta``
    (the rows' norms only shift the bias by a constant), and the slice point, Gram and symmetry are
    the members' own closed forms.
    """

    objective = "gradients"

    def __init__(self, manifold, dim):
        self.dim = int(dim)
        self._rescaling = models.ProductFamily.rescaling(self.dim)
        super().__init__(manifold, (self.dim,), self.dim)

    def analysis_rows(self, psi):
        """Unit rows ``a_i`` with coefficients ``w_i = a_i . beta``, shape ``(d, d)`` (traceable)."""
        raise NotImplementedError

    def coefficients(self, psi, beta):
        """``w = A beta``, shape ``(..., d)`` (traceable)."""
        return anp.dot(beta, anp.transpose(self.analysis_rows(psi)))

    def balanced(self, psi, beta):
        """The member's slice point ``(sqrt|w|, sign(w) sqrt|w|)``; shape ``(..., 2 d)``."""
        return models.ProductFamily.slice_point(self.coefficients(psi, beta))

    def generators(self, psi, theta):
        """The members' rescaling ``xi_i = (u_i e_i, -v_i e_i)``, shape ``(..., d, 2 d)``."""
        return self._rescaling.generators(theta)

    def log_det_gram(self, psi, beta, smoothing=0.0):
        """Closed form: the Gram is ``diag(2 |w|)``; shape ``(...,)``."""
        gram = models.ProductFamily.slice_gram_diagonal(self.coefficients(psi, beta))
        return _log_det_diagonal(gram, smoothing)

    def log_det_gradient(self, psi, beta, smoothing=0.0):
        """Closed form ``sum_i a_i E[1 / (w_i + sigma g)]`` (unit rows: ``w_i + sigma g`` exactly)."""
        rows = self.analysis_rows(psi)
        return anp.dot(smoothed_log_abs_gradient(anp.dot(beta, anp.transpose(rows)), smoothing),
                       rows)


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

    def analysis_rows(self, psi):
        """``B`` itself (its rows are orthonormal)."""
        return psi

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

    def analysis_rows(self, psi):
        """The rows of ``A`` scaled to unit norm.

        The bias only shifts by a constant under row scaling, but the smoothed objectives of
        :func:`~quotientlearn.design.fit` would not be scale-free without the normalisation.
        """
        analysis = self.analysis(psi)
        return analysis / anp.sqrt(anp.sum(analysis**2, axis=1, keepdims=True))

    def model(self, psi):
        """``BasisHadamard(A)``; raises ``ValueError`` if ``A`` is singular."""
        analysis = np.asarray(self.analysis(psi))
        if np.linalg.cond(analysis) > 1e12:
            raise ValueError("the analysis operator A = M^{-1} is singular (condition number above "
                             "1e12): the family has no member there")
        return models.BasisHadamard(analysis / np.linalg.norm(analysis, axis=1, keepdims=True))


class SparsityStrength(Family):
    """``beta_i = sign(u_i) |u_i|^{p_i} v_i``: sparsity whose strength ``2 / (p_i + 1)`` is tunable.

    Members are :class:`~quotientlearn.models.PowerProduct` models, whose closed forms (slice point,
    Gram diagonal, the torus weights of :class:`~quotientlearn.groups.PowerRescaling`) this family
    calls with the exponents traced. The bias is ``sum_i (2 / (p_i + 1)) log |beta_i|`` plus a
    constant in ``beta``: weights in ``(0, 2)``, with ``p = 1`` the Hadamard product.

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

    objective = "gradients"

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
        """The member's slice point ``u = (sqrt(p) |beta|)^{1/(p+1)}``, ``v = sign(beta) u / sqrt(p)``."""
        return models.PowerProduct.slice_point(beta, self.exponents(psi))

    def generators(self, psi, theta):
        """The members' torus ``xi_i = (u_i e_i, -p_i v_i e_i)``, shape ``(..., d, 2 d)``."""
        return PowerRescaling.torus_weights(self.exponents(psi)) * theta[..., None, :]

    def log_det_gram(self, psi, beta, smoothing=0.0):
        """Closed form ``sum_i log((1 + p_i) (p_i beta_i^2)^{1/(p_i+1)})``; shape ``(...,)``."""
        gram = models.PowerProduct.slice_gram_diagonal(beta, self.exponents(psi))
        return _log_det_diagonal(gram, smoothing)

    def log_det_gradient(self, psi, beta, smoothing=0.0):
        """Closed form ``(2 / (p + 1)) E[1 / (beta + sigma g)]``, shape ``(..., d)``."""
        return (2.0 / (self.exponents(psi) + 1.0)) * smoothed_log_abs_gradient(beta, smoothing)

    def model(self, psi):
        """The :class:`~quotientlearn.models.PowerProduct` model with these exponents."""
        return models.PowerProduct(np.array(self.exponents(psi), dtype=float))
