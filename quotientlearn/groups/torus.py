"""Rescaling actions of tori ``(R_{>0})^k``: coordinates multiplied by positive factors.

``TorusRescaling(weights)`` multiplies ``theta_i`` by ``exp(sum_a c_a weights[a, i])``. Its special
cases carry closed forms: :class:`PairRescaling` (one group of coordinates scaled up, a disjoint one down:
Hadamard products, neurons, shared group scalars, attention columns), :class:`ColumnRescaling`,
:class:`LayerRescaling` (deep diagonal networks), :class:`PowerRescaling` (power products
``sign(u) |u|^p v``) and :class:`Scaling` (normalisation layers).
"""

from __future__ import annotations

from functools import cached_property

import autograd.numpy as anp
import numpy as np
import scipy.sparse

from quotientlearn.groups.base import AffineStructure, GroupAction, log_det_psd, sum_log
from quotientlearn.groups.magnitudes import geometric_mean_abs, rescaling_root, scaled_norm
from quotientlearn.spaces import as_batch
from quotientlearn.validation import integer

#: Smallest positive normal float64.
_TINY = float(np.finfo(float).tiny)

__all__ = ["ColumnRescaling", "LayerRescaling", "PairRescaling", "PowerRescaling", "Scaling",
           "TorusRescaling"]


class TorusRescaling(GroupAction):
    """``(R_{>0})^k`` acting by ``theta_i -> theta_i * prod_a g_a ** weights[a, i]``.

    Parameters
    ----------
    weights : array_like, shape (k, D)
        Exponents; rows must be linearly independent.
    name : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> action = ql.groups.TorusRescaling(np.array([[1.0, -1.0]]))  # (u, v) -> (g u, v / g)
    >>> action.act(np.array([2.0]), np.array([2.0, 0.5]))
    array([4.  , 0.25])
    """

    # every balance below starts with as_batch, or takes a closed form only for a float64 array of
    # the right shape whose ratios are all positive normal numbers (so every entry finite)
    balance_validates = True

    def __init__(self, weights, name=None):
        weights = np.atleast_2d(np.asarray(weights, dtype=float))
        if np.linalg.matrix_rank(weights) < weights.shape[0]:
            raise ValueError("the rows of the torus weights must be linearly independent")
        super().__init__(dim=weights.shape[0], space_dim=weights.shape[1], name=name)
        self.weights = weights

    def exp(self, algebra_coords):
        """Positive group elements ``exp(c)``, shape ``(..., k)``."""
        return anp.exp(algebra_coords)

    def act(self, group_elem, theta):
        """Multiply ``theta`` by ``prod_a g_a ** weights[a]``; ``group_elem`` has shape ``(..., k)``."""
        return self.act_algebra(anp.log(group_elem), theta)

    def act_algebra(self, algebra_coords, theta):
        """Multiply ``theta`` by ``exp(algebra_coords @ weights)``."""
        return theta * anp.exp(anp.dot(algebra_coords, self.weights))

    def generators(self, theta):
        """``xi_a = weights[a] * theta``, shape ``(..., k, D)``."""
        theta = as_batch(theta, (self.space_dim,))
        return self.weights * theta[..., None, :]

    def gram(self, theta):
        """``sum_i weights[a, i] weights[b, i] theta_i^2``, shape ``(..., k, k)``."""
        theta = as_batch(theta, (self.space_dim,))
        return (self.weights * theta[..., None, :] ** 2) @ self.weights.T

    def affine_structure(self, rng=0, rtol=1e-9):
        """Diagonal generator matrices ``diag(weights[a])`` and zero offsets, stored sparsely."""
        if self._affine_cache is None:
            self._affine_cache = (AffineStructure.diagonal(self.weights),)
        return self._affine_cache[0]

    def moment_map(self, theta):
        """``chi_a = sum_i weights[a, i] theta_i^2 / 2``, shape ``(..., k)``."""
        return 0.5 * anp.dot(theta**2, self.weights.T)

    def moment_map_jacobian(self, theta):
        """Equals the generators: the weights give symmetric generator matrices."""
        return self.generators(theta)

    def log_det_moment_gram(self, theta):
        """``log det`` of the moment map's constraint Gram (here the Gram itself)."""
        return log_det_psd(self.gram(theta))


class PairRescaling(TorusRescaling):
    """``(R_{>0})^k`` scaling coordinate group ``up[a]`` by ``g_a`` and ``down[a]`` by ``1 / g_a``.

    The groups are disjoint, so the Gram is diagonal, ``|theta_up[a]|^2 + |theta_down[a]|^2``, and the
    balanced slice ``|theta_up[a]| = |theta_down[a]|`` is reached in closed form.

    Parameters
    ----------
    space_dim : int
        ``D``.
    up, down : sequence of k integer index arrays
        Flat indices scaled up and down by each generator.
    name : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> action = ql.groups.PairRescaling(4, up=[[0], [1]], down=[[2], [3]])
    >>> action.act(np.array([2.0, 3.0]), np.ones(4))
    array([2.        , 3.        , 0.5       , 0.33333333])
    >>> action.balance(np.array([4.0, 1.0, 1.0, 1.0]))  # closed form: |theta_up| = |theta_down|
    array([2., 1., 2., 1.])
    """

    def __init__(self, space_dim, up, down, name=None):
        if len(up) != len(down):
            raise ValueError(f"got {len(up)} 'up' groups but {len(down)} 'down' groups")
        k = len(up)
        self._up = _indicator(up, k, space_dim)
        self._down = _indicator(down, k, space_dim)
        if (self._up + self._down).sum(axis=0).max() > 1:
            raise ValueError("the coordinate groups of a PairRescaling must be disjoint")
        if k and np.min(np.asarray((self._up + self._down).sum(axis=1)).ravel()) == 0:
            raise ValueError("every generator of a PairRescaling must scale some coordinate")
        # Disjoint nonempty groups: the weights are independent without a rank computation (an
        # O(k^2 D) SVD), and stay sparse until a dense method asks for them (``weights``).
        GroupAction.__init__(self, dim=k, space_dim=space_dim, name=name)
        self._touched = np.asarray((self._up + self._down).sum(axis=0)).ravel() > 0
        # Padded index arrays (k, largest group); index D points at an appended zero.
        self._up_index = _padded(up, space_dim)
        self._down_index = _padded(down, space_dim)
        # One coordinate per group (Hadamard-type products): plain indexing beats sparse products.
        single = k > 0 and all(len(g) == 1 for g in up) and all(len(g) == 1 for g in down)
        self._single = (_as_index(up), _as_index(down)) if single else None
        # pairs of contiguous blocks covering every coordinate (Hadamard products): a fast balance
        self._pair_blocks = (single and bool(self._touched.all())
                             and all(isinstance(index, slice) for index in self._single))
        # Balanced pairs have |u'| = |v'| = sqrt(|u| |v|) <= max(|u|, |v|): every route below (the
        # ratio form, copysign of the roots, zero for a degenerate pair) rounds that within 3 ulps.
        self.balance_entry_growth = 1.0 + 1e-15 if single else None

    @cached_property
    def weights(self):
        """Dense exponents ``(k, D)``: ``+1`` on the up groups, ``-1`` on the down groups."""
        return (self._up - self._down).toarray()

    def affine_structure(self, rng=0, rtol=1e-9):
        """Diagonal generator matrices ``diag(weights[a])``, from the sparse indicators."""
        if self._affine_cache is None:
            self._affine_cache = (AffineStructure.diagonal(self._up - self._down),)
        return self._affine_cache[0]

    def _group_sums(self, values):
        """Sum ``values`` (..., D) over the up and down groups: two arrays of shape (..., k)."""
        if self._single is not None:
            return values[..., self._single[0]], values[..., self._single[1]]
        flat = values.reshape(-1, self.space_dim)
        up = (self._up @ flat.T).T.reshape(values.shape[:-1] + (self.dim,))
        down = (self._down @ flat.T).T.reshape(values.shape[:-1] + (self.dim,))
        return up, down

    def orbit_norms(self, theta):
        """Squared norms of the up and down groups, each of shape ``(..., k)``."""
        theta = as_batch(theta, (self.space_dim,))
        return self._group_sums(theta**2)

    def _group_norms(self, theta):
        """Norms (not squared) of the up and down groups, each ``(..., k)``, free of overflow."""
        if self._single is not None:
            return np.abs(theta[..., self._single[0]]), np.abs(theta[..., self._single[1]])
        padded = np.concatenate([theta, np.zeros(theta.shape[:-1] + (1,))], axis=-1)
        return scaled_norm(padded[..., self._up_index]), scaled_norm(padded[..., self._down_index])

    def gram(self, theta):
        """Diagonal Gram ``diag(|up_a|^2 + |down_a|^2)``, shape ``(..., k, k)``."""
        up, down = self.orbit_norms(theta)
        return (up + down)[..., :, None] * np.eye(self.dim)

    def moment_map(self, theta):
        """``(|up_a|^2 - |down_a|^2) / 2``, shape ``(..., k)``."""
        if not isinstance(theta, np.ndarray):  # traced by autograd: the dense route differentiates
            return super().moment_map(theta)
        if self._single is not None:
            # one coordinate a side: two temporaries of shape (..., k) rather than the squares of all
            # of theta and two more (their pages faulted in afresh at large N D); the same numbers
            theta = as_batch(theta, (self.space_dim,))
            up, down = theta[..., self._single[0]], theta[..., self._single[1]]
            chi = np.multiply(up, up)
            chi -= np.multiply(down, down)
            chi *= 0.5
            return chi
        up, down = self.orbit_norms(theta)
        return 0.5 * (up - down)

    def log_det_moment_gram(self, theta):
        """``sum_a log(|up_a|^2 + |down_a|^2)``, shape ``(...,)``."""
        theta = as_batch(theta, (self.space_dim,))
        up, down = self._group_norms(theta)
        return 2.0 * sum_log(scaled_norm(np.stack([up, down], axis=-1)))

    def vertical_projection(self, tangent_vec, base_point):
        """Projection onto the orbit directions in ``O(D)``: the generators are mutually orthogonal.

        Parameters
        ----------
        tangent_vec, base_point : ndarray, shape (..., D)

        Returns
        -------
        vertical : ndarray, shape (..., D)
        """
        up_dot, down_dot = self._group_sums(base_point * tangent_vec)
        up_sq, down_sq = self._group_sums(base_point**2)
        norm = up_sq + down_sq
        with np.errstate(divide="ignore", invalid="ignore"):
            coefficient = np.where(norm > 0, (up_dot - down_dot) / norm, 0.0)
        return self._spread(coefficient, -coefficient, fill=0.0) * base_point

    def _spread(self, up_values, down_values, fill):
        """Per-coordinate values ``(..., D)``: ``up_values[a]`` on ``up[a]``, and so on; else ``fill``."""
        shape = up_values.shape[:-1] + (self.space_dim,)
        if self._single is not None:
            spread = np.full(shape, fill, dtype=np.result_type(up_values, down_values, fill))
            spread[..., self._single[0]] = up_values
            spread[..., self._single[1]] = down_values
            return spread
        flat_up = up_values.reshape(-1, self.dim)
        flat_down = down_values.reshape(-1, self.dim)
        spread = (self._up.T @ flat_up.T + self._down.T @ flat_down.T).T
        return np.where(self._touched, spread, fill).reshape(shape)

    def balance(self, theta):
        """Move along the orbit to ``|up_a| = |down_a|``; the predictor is unchanged.

        A degenerate orbit (one side zero) is sent to its limit point, where both sides vanish.
        Norms are taken without squaring and the factor ``sqrt(|down| / |up|)`` is applied as two
        fourth roots, so every finite input balances without overflow or underflow (the products
        ``up * down`` are kept to a few ulps wherever they are representable).

        Parameters
        ----------
        theta : ndarray, shape (..., D)

        Returns
        -------
        balanced : ndarray, shape (..., D)
        """
        fast = self._balance_pairs(theta)
        if fast is not None:
            return fast
        theta = as_batch(theta, (self.space_dim,))
        if self._single is not None:
            # One coordinate a side: both become sqrt|u| sqrt|v| with their signs (0 when one is 0).
            up_index, down_index = self._single
            u, v = theta[..., up_index], theta[..., down_index]
            magnitude = np.sqrt(np.abs(u)) * np.sqrt(np.abs(v))
            balanced = theta.copy()
            balanced[..., up_index] = np.copysign(magnitude, u)
            balanced[..., down_index] = np.copysign(magnitude, v)
            return balanced
        up, down = self._group_norms(theta)
        degenerate = ~((up > 0) & (down > 0))
        root = rescaling_root(np.where(degenerate, 1.0, up), np.where(degenerate, 1.0, down))
        up_factor = np.where(degenerate, 0.0, root)
        down_factor = np.where(degenerate, 0.0, 1.0 / root)
        factor = self._spread(up_factor, down_factor, fill=1.0)
        return theta * factor * factor

    def pair_blocks(self):
        """The contiguous up and down slices of one-coordinate pairs, or ``None``; see the base class."""
        return self._single if self._pair_blocks else None

    def _balance_pairs(self, theta):
        """The balance of one-coordinate pairs in a few passes, or ``None`` where it is not exact.

        ``u sqrt(r)`` and ``v / sqrt(r)`` with ``r = |v| / |u|`` keep ``u v`` and balance the pair to a
        few ulps whenever every ratio is a positive normal number, with one square root per pair where
        ``copysign(sqrt|u| sqrt|v|)`` takes two (about 1.7x faster at ``N = 10^4, d = 100``); otherwise
        (a zero, an overflow or underflow of the ratio, a non-finite entry, a bad shape) ``None`` sends
        the caller to the scale-safe routes, which also validate ``theta``.
        """
        if (not self._pair_blocks or type(theta) is not np.ndarray or theta.dtype != np.float64
                or theta.shape[-1:] != (self.space_dim,) or theta.size == 0):
            return None
        up_index, down_index = self._single
        up, down = theta[..., up_index], theta[..., down_index]
        with np.errstate(all="ignore"):
            ratio = np.divide(down, up)
            np.abs(ratio, out=ratio)  # |v / u| = |v| / |u| exactly: division rounds symmetrically
            if not (np.minimum.reduce(ratio, axis=None) >= _TINY
                    and np.maximum.reduce(ratio, axis=None) < np.inf):
                return None
            np.sqrt(ratio, out=ratio)
        out = np.empty_like(theta)
        np.multiply(up, ratio, out=out[..., up_index])  # views: written in place
        np.divide(down, ratio, out=out[..., down_index])
        return out


def _as_index(groups):
    """The single indices of one-coordinate groups: a slice when contiguous (a view), else an array."""
    index = np.array([int(np.ravel(g)[0]) for g in groups])
    if np.all(np.diff(index) == 1):
        return slice(int(index[0]), int(index[-1]) + 1)
    return index


def _padded(groups, space_dim):
    """Index array ``(k, largest group)``: each group's indices, padded with ``space_dim``."""
    width = max((len(np.ravel(g)) for g in groups), default=0)
    index = np.full((len(groups), width), space_dim, dtype=int)
    for a, g in enumerate(groups):
        index[a, : len(np.ravel(g))] = np.ravel(g)
    return index


def _indicator(groups, k, space_dim):
    rows = np.concatenate([np.full(len(g), a) for a, g in enumerate(groups)]) if k else []
    cols = np.concatenate([np.asarray(g, dtype=int) for g in groups]) if k else []
    if len(cols) and (np.min(cols) < 0 or np.max(cols) >= space_dim):
        raise ValueError(f"group indices must lie in [0, {space_dim})")
    data = np.ones(len(cols))
    return scipy.sparse.csr_matrix((data, (rows, cols)), shape=(k, space_dim))


class ColumnRescaling(PairRescaling):
    """Column ``j`` of matrix block ``first`` scaled by ``g_j``, column ``j`` of ``second`` by ``1/g_j``.

    The diagonal subgroup of ``W_Q -> W_Q A, W_K -> W_K A^{-T}`` in attention.

    Parameters
    ----------
    space : ParameterSpace
    first, second : str
        Names of two matrix blocks with the same number of columns.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> action = ql.models.Attention(d_emb=4, d_head=2).action  # rescales columns of W_Q and W_K
    >>> action
    ColumnRescaling(k=2, D=24)
    """

    def __init__(self, space, first, second):
        rows_first, cols = space.blocks[first]
        rows_second, cols_second = space.blocks[second]
        if cols != cols_second:
            raise ValueError(f"blocks {first!r} and {second!r} have different numbers of columns")
        start_first = space.block_slice(first).start
        start_second = space.block_slice(second).start
        up = [start_first + np.arange(rows_first) * cols + j for j in range(cols)]
        down = [start_second + np.arange(rows_second) * cols + j for j in range(cols)]
        super().__init__(space.dim, up, down, name="ColumnRescaling")


class LayerRescaling(TorusRescaling):
    """Rescalings of a depth-``L`` diagonal network ``beta = prod_l u_l`` (blocks of length d).

    Generator ``(l, i)`` scales ``u_l[i]`` up and ``u_{l+1}[i]`` down, so ``k = (L - 1) d``; the
    moment map ``(u_l[i]^2 - u_{l+1}[i]^2) / 2`` vanishes when all layers have equal magnitudes.

    Parameters
    ----------
    dim : int
        ``d``, the width of each layer.
    depth : int
        ``L >= 2``.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> action = ql.groups.LayerRescaling(dim=1, depth=3)  # u1 u2 u3, two generators
    >>> action.generators(np.array([1.0, 2.0, 3.0]))
    array([[ 1., -2.,  0.],
           [ 0.,  2., -3.]])
    """

    def __init__(self, dim, depth):
        self.width = integer(dim, "dim", minimum=1)
        self.depth = integer(depth, "depth", minimum=2)
        dim, depth = self.width, self.depth
        weights = np.zeros(((depth - 1) * dim, depth * dim))
        for layer in range(depth - 1):
            for i in range(dim):
                weights[layer * dim + i, layer * dim + i] = 1.0
                weights[layer * dim + i, (layer + 1) * dim + i] = -1.0
        super().__init__(weights, name="LayerRescaling")

    def _layers(self, theta):
        return theta.reshape(theta.shape[:-1] + (self.depth, self.width))

    def log_det_moment_gram(self, theta):
        """Per coordinate, the tridiagonal ``(L-1) x (L-1)`` Gram; ``log det`` summed, ``(...,)``."""
        theta = as_batch(theta, (self.space_dim,))
        layers = np.swapaxes(self._layers(theta), -1, -2)  # (..., d, L)
        # The Gram is quadratic in theta: scale each coordinate's layers by their largest magnitude
        # (no overflow or underflow of the squares) and add the scale back in the log.
        largest = np.max(np.abs(layers), axis=-1, keepdims=True)
        safe = np.where(largest > 0, largest, 1.0)
        sq = (layers / safe) ** 2
        gram = np.zeros(sq.shape[:-1] + (self.depth - 1, self.depth - 1))
        idx = np.arange(self.depth - 1)
        gram[..., idx, idx] = sq[..., :-1] + sq[..., 1:]
        gram[..., idx[:-1], idx[:-1] + 1] = -sq[..., 1:-1]
        gram[..., idx[:-1] + 1, idx[:-1]] = -sq[..., 1:-1]
        with np.errstate(divide="ignore"):
            log_scale = 2.0 * (self.depth - 1) * np.log(largest[..., 0])
        return np.sum(np.where(largest[..., 0] > 0, log_det_psd(gram) + log_scale, -np.inf), axis=-1)

    def balance(self, theta):
        """Equalise ``|u_l[i]|`` across layers to ``|prod_l u_l[i]|^(1/L)``, keeping every sign.

        The geometric mean is formed without the product, so it neither overflows nor underflows.
        """
        theta = as_batch(theta, (self.space_dim,))
        layers = self._layers(theta)
        magnitude = geometric_mean_abs(layers, axis=-2)[..., None, :]
        return (np.sign(layers) * magnitude).reshape(theta.shape)


class Scaling(TorusRescaling):
    """``R_{>0}`` acting by ``theta -> g theta`` (scale invariance of normalisation layers).

    The moment map ``|theta|^2 / 2`` has no zero away from the origin, so the gauge uses the level
    set ``(|theta|^2 - 1) / 2 = 0``: the unit sphere.

    Parameters
    ----------
    space_dim : int

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> ql.groups.Scaling(3).act(np.array([2.0]), np.ones(3))
    array([2., 2., 2.])
    """

    def __init__(self, space_dim):
        super().__init__(np.ones((1, space_dim)), name="Scaling")

    def moment_map(self, theta):
        """``(|theta|^2 - 1) / 2``, shape ``(..., 1)``."""
        return 0.5 * (anp.sum(theta**2, axis=-1, keepdims=True) - 1.0)

    def log_det_moment_gram(self, theta):
        """``log |theta|^2``, shape ``(...,)``."""
        theta = as_batch(theta, (self.space_dim,))
        return 2.0 * sum_log(scaled_norm(theta)[..., None])

    def balance(self, theta):
        """``theta / |theta|``; the origin, a fixed point with no direction, is refused.

        Raises
        ------
        ValueError
            If a point is zero.
        """
        theta = as_batch(theta, (self.space_dim,))
        norm = scaled_norm(theta)[..., None]
        if np.any(norm == 0):
            raise ValueError(f"theta has {int(np.count_nonzero(norm == 0))} zero point(s); the "
                             "origin is a fixed point of the scaling and has no direction")
        return theta / norm


class PowerRescaling(TorusRescaling):
    """``(u_i, v_i) -> (a_i u_i, a_i^{-p_i} v_i)``: the symmetry of ``sign(u_i) |u_i|^{p_i} v_i``.

    The balanced slice ``u_i^2 = p_i v_i^2`` is reached in closed form.

    Parameters
    ----------
    exponents : array_like, shape (d,)
        ``p > 0``; ``D = 2 d``.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> action = ql.groups.PowerRescaling([2.0])  # the symmetry of sign(u) |u|^2 v
    >>> u, v = action.balance(np.array([1.0, 8.0]))
    >>> round(float(u**2 - 2 * v**2), 12), round(float(u**2 * v), 12)  # on the slice; product kept
    (0.0, 8.0)
    """

    def __init__(self, exponents):
        self.exponents = np.asarray(exponents, dtype=float).reshape(-1)
        super().__init__(self.torus_weights(self.exponents), name="PowerRescaling")

    @staticmethod
    def torus_weights(exponents):
        """``[I, -diag(p)]``, shape ``(d, 2 d)``; traceable by autograd in ``exponents``."""
        eye = np.eye(np.shape(exponents)[-1])
        return anp.concatenate([eye, -exponents * eye], axis=1)

    def balance(self, theta):
        """Move along the orbit to ``u^2 = p v^2``; degenerate orbits go to their limit ``0``.

        In logarithms, so that no power of an entry overflows or underflows: on the slice
        ``log |u| = (log(p) / 2 + p log |u_0| + log |v_0|) / (p + 1)`` and ``|v| = |u| / sqrt(p)``,
        which keeps ``sign(u) |u|^p v`` to a few ulps per decade of exponent.

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
            log_u = (0.5 * np.log(p) + p * np.log(np.abs(u)) + np.log(np.abs(v))) / (p + 1.0)
        log_u = np.where(degenerate, -np.inf, log_u)
        return np.concatenate([np.sign(u) * np.exp(log_u),
                               np.sign(v) * np.exp(log_u - 0.5 * np.log(p))], axis=-1)

    def log_det_moment_gram(self, theta):
        """``sum_i log(u_i^2 + p_i^2 v_i^2)`` (the Gram is diagonal), without overflow; ``(...,)``."""
        theta = as_batch(theta, (self.space_dim,))
        d = self.exponents.size
        pairs = np.stack([theta[..., :d], self.exponents * theta[..., d:]], axis=-1)
        return 2.0 * sum_log(scaled_norm(pairs))
