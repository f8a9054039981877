"""Lie group actions on a parameter space, with generic autograd defaults.

The points acted on have shape ``(..., *shape)``: ``(..., D)`` for the flat parameter vector of the zoo, a
manifold's own geomstats shape otherwise (``(..., n, n)`` for SPD matrices). Fundamental vector fields are
tangent vectors of that shape; the Gram, projections and moment map here use the Euclidean inner product
of the flattened entries (the metric of a curved space is put back in by
:class:`~quotientlearn.bundle.SymmetryBundle`). A :class:`GroupAction` needs only ``act(group_elem,
theta)`` (and ``exp`` when group elements are not given by Lie-algebra coordinates). Everything else —
fundamental vector fields, their Gram matrix, the vertical projection, the affine structure of a linear
action, its moment map with the log-determinant of its constraint Gram, and the balancing move onto the
moment map's zero set — is derived here with autograd and linear algebra. For an affine action (every
action in docs/theory.md) the structure is probed once and stored sparsely
(:mod:`quotientlearn.groups.affine`), and these defaults evaluate it block by block; other actions fall
back to autograd generators. Subclasses override these methods with closed forms, which the tests hold
against the defaults; callers simply call the methods.
"""

from __future__ import annotations

import math
import warnings

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval

from quotientlearn.groups.affine import AffineStructure, minimum_norm_step, probe_affine_structure
from quotientlearn.numerics import (
    DegenerateOrbitWarning,
    GaugeConvergenceWarning,
    jacobian,
    log_det_psd,
    sum_log,
)
from quotientlearn.spaces import as_batch
from quotientlearn.validation import integer, rng_from_seed

__all__ = [
    "AffineStructure",
    "DegenerateOrbitWarning",
    "GaugeConvergenceWarning",
    "GroupAction",
    "autograd_generators",
    "log_det_psd",
    "newton_onto_level_set",
    "sum_log",
]


def autograd_generators(action, theta):
    """Fundamental vector fields by forward-mode autograd: ``d/dt act(exp(t e_a), theta)`` at ``t = 0``.

    Parameters
    ----------
    action : GroupAction
    theta : ndarray, shape (..., *shape)

    Returns
    -------
    generators : ndarray, shape (..., k, *shape)

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> action = ql.models.Hadamard(dim=1).action
    >>> ql.groups.autograd_generators(action, np.array([2.0, 0.5]))  # equals the closed form
    array([[ 2. , -0.5]])
    """
    batch = np.shape(getval(theta))[: np.ndim(getval(theta)) - len(action.shape)]
    identity = np.zeros(batch + (action.dim,))
    fields = jacobian(lambda coords: anp.reshape(action.act_algebra(coords, theta),
                                                 batch + (action.space_dim,)), identity, mode="forward")
    return anp.reshape(anp.swapaxes(fields, -1, -2), batch + (action.dim,) + action.shape)


class GroupAction:
    """A Lie group G of dimension ``k`` acting on a parameter space and leaving the predictor invariant.

    Give ``act`` (and optionally ``exp``) as callables, or subclass and override the methods. It is
    also a geomstats group action: ``action(group_elem, point)`` acts.

    Parameters
    ----------
    dim : int
        ``k``, the dimension of the group (0: no continuous symmetry).
    space_dim : int, optional
        ``D``, the length of the flat parameter vector (points of shape ``(..., D)``).
    act : callable, optional
        ``act(group_elem, theta) -> theta'``; must broadcast over leading axes and be written with
        ``autograd.numpy`` so that generators can be differentiated.
    exp : callable, optional
        Maps Lie-algebra coordinates of shape ``(..., k)`` to group elements. Without it, group
        elements *are* algebra coordinates and ``act(zeros(k), theta)`` must equal ``theta``.
    name : str, optional
    shape : tuple of int, optional
        The shape of the points acted on, for a manifold (``space.shape``, e.g. ``(3, 3)``); instead
        of ``space_dim``.

    Attributes
    ----------
    compact : bool
        The group is compact and :meth:`haar_sample` draws its Haar measure (the fibre integral then
        averages over the orbit instead of integrating group coordinates).

    Examples
    --------
    The rescaling ``(x1 e^c, x2 e^-c)`` of ``beta = x1 x2``, given by its action alone:

    >>> import autograd.numpy as anp
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> action = ql.groups.GroupAction(
    ...     dim=1, space_dim=2,
    ...     act=lambda c, theta: theta * anp.stack([anp.exp(c[..., 0]), anp.exp(-c[..., 0])], -1))
    >>> action.generators(np.array([2.0, 0.5]))  # derived by autograd: (x1, -x2)
    array([[ 2. , -0.5]])
    """

    compact = False
    #: Whether :meth:`balance` checks its input as :meth:`~quotientlearn.gauge.Gauge.project` would
    #: (shape ``(..., *shape)``, finite float entries, the same errors), so that the gauge need not
    #: check it first: a pass over ``theta`` fewer at every step of the dynamics.
    balance_validates = False
    #: ``c`` such that every entry of :meth:`balance`'s result is at most ``c max_j |theta_j|`` in
    #: magnitude (rounding included), or ``None`` when no such bound is known. The dynamics then skip
    #: the divergence check after a projection that cannot leave the bound (it costs a pass per step).
    balance_entry_growth = None

    def __init__(self, dim, space_dim=None, act=None, exp=None, name=None, shape=None):
        # dim = 0 is the trivial group (no continuous symmetry): no generators, nothing to gauge.
        self.dim = integer(dim, "dim", minimum=0)
        if shape is None:
            if space_dim is None:
                raise ValueError("give space_dim (points of R^D) or shape (points of a manifold)")
            shape = (integer(space_dim, "space_dim", minimum=1),)
        self.shape = tuple(integer(s, "shape", minimum=1) for s in shape)
        self.space_dim = math.prod(self.shape)
        for label, fn in (("act", act), ("exp", exp)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{label} must be a callable; got {type(fn).__name__}")
        self._act = act
        self._exp = exp
        self.name = name or type(self).__name__
        self._affine_cache = None

    def __repr__(self):
        return f"{self.name}(k={self.dim}, D={self.space_dim})"

    def __call__(self, group_elem, point):
        """Geomstats' group-action protocol: :meth:`act`."""
        return self.act(group_elem, point)

    def _flat(self, points):
        """``(..., *shape) -> (..., D)`` (the identity for flat points)."""
        shape = np.shape(getval(points))
        return anp.reshape(points, shape[: len(shape) - len(self.shape)] + (self.space_dim,))

    def _flat_fields(self, fields):
        """Generators ``(..., k, *shape) -> (..., k, D)``."""
        shape = np.shape(getval(fields))
        return anp.reshape(fields, shape[: len(shape) - len(self.shape)] + (self.space_dim,))

    # ----------------------------------------------------------------- group elements and action
    def exp(self, algebra_coords):
        """Group elements from Lie-algebra coordinates ``(..., k)``."""
        return algebra_coords if self._exp is None else self._exp(algebra_coords)

    def act(self, group_elem, theta):
        """Act with group element(s) on ``theta`` of shape ``(..., D)``."""
        if self._act is None:
            raise NotImplementedError(f"{self.name} defines no act(group_elem, theta)")
        return self._act(group_elem, theta)

    def act_algebra(self, algebra_coords, theta):
        """``act(exp(algebra_coords), theta)``; coordinates have shape ``(..., k)``."""
        return self.act(self.exp(algebra_coords), theta)

    def haar_sample(self, size=(), rng=None):
        """Group elements drawn from the Haar measure, for a compact group (``compact = True``)."""
        raise NotImplementedError(f"{self.name} is not a compact group with a Haar sampler")

    def random_algebra(self, size=(), rng=None, scale=0.3):
        """Gaussian Lie-algebra coordinates of shape ``(*size, k)``, for tests and checks."""
        size = (size,) if np.isscalar(size) else tuple(size)
        return scale * rng_from_seed(rng, "rng").standard_normal(size + (self.dim,))

    # ------------------------------------------------------------------------- vector fields
    def _structure_for(self, theta):
        """The affine structure for plain (untraced) arrays of flat points ``(..., D)``, else ``None``.

        Points of a manifold's shape take the autograd route.
        """
        if getval(theta) is not theta or len(self.shape) != 1:
            return None
        return self.affine_structure()

    def generators(self, theta):
        """Fundamental vector fields ``xi_a(theta)``.

        From the sparse affine structure when the action is affine (on flat points), else by
        forward-mode autograd.

        Parameters
        ----------
        theta : array_like, shape (..., *shape)

        Returns
        -------
        generators : ndarray, shape (..., k, *shape)
        """
        theta = as_batch(theta, self.shape)
        structure = self._structure_for(theta)
        if structure is not None:
            return structure.generators(theta)
        return autograd_generators(self, theta)

    def gram(self, theta):
        """Euclidean Gram matrix ``<xi_a, xi_b>`` of the generators, shape ``(..., k, k)``."""
        theta = as_batch(theta, self.shape)
        structure = self._structure_for(theta)
        if structure is not None:
            return structure.gram(theta)
        xi = self._flat_fields(self.generators(theta))
        return xi @ np.swapaxes(xi, -1, -2)

    def vertical_projection(self, tangent_vec, base_point):
        """Orthogonal projection onto the orbit directions, ``Xi^T Gram^{-1} Xi v``.

        The generic default solves with the Gram (its pseudo-inverse on degenerate orbits), component
        by component for an affine action; actions whose generators are mutually orthogonal override
        it in ``O(D)``.

        Parameters
        ----------
        tangent_vec, base_point : ndarray, shape (..., *shape)

        Returns
        -------
        vertical : ndarray, shape (..., *shape)
        """
        structure = self._structure_for(base_point)
        if structure is not None and getval(tangent_vec) is tangent_vec:
            return structure.vertical_projection(np.asarray(tangent_vec, dtype=float),
                                                 np.asarray(base_point, dtype=float))
        generators = self._flat_fields(self.generators(base_point))
        gram = generators @ np.swapaxes(generators, -1, -2)
        rhs = np.einsum("...ad,...d->...a", generators, self._flat(tangent_vec))
        try:
            coefficients = np.linalg.solve(gram, rhs[..., None])[..., 0]
        except np.linalg.LinAlgError:  # a degenerate orbit in the batch
            coefficients = np.einsum("...ab,...b->...a", np.linalg.pinv(gram, hermitian=True), rhs)
        return np.reshape(np.einsum("...a,...ad->...d", coefficients, generators),
                          np.shape(tangent_vec))

    # ----------------------------------------------------------------------- affine structure
    def affine_structure(self, rng=0, rtol=1e-9):
        """The sparse affine structure of the generators, or ``None`` if the action is not affine.

        Probed once by batched autograd passes and verified at a random point
        (:func:`~quotientlearn.groups.affine.probe_affine_structure`); cached.

        Returns
        -------
        structure : AffineStructure or None
        """
        if self._affine_cache is None:
            self._affine_cache = (probe_affine_structure(self, rng, rtol),)
        return self._affine_cache[0]

    # --------------------------------------------------------------------------- moment map
    def _affine_or_raise(self):
        structure = self.affine_structure()
        if structure is None:
            raise ValueError(
                f"{self.name} is not an affine action, so it has no default moment map (and no "
                "balanced gauge or implicit bias without one); pass a gauge function chi to "
                "Gauge(action, chi=...)"
            )
        return structure

    def moment_map(self, theta):
        """Noether charges ``chi_c = C_ca (theta^T sym(A_a) theta / 2 + b_a . theta)``.

        The independent combinations ``C`` (orthonormal, one block per independent component of the
        action) drop the directions (e.g. rotations in GL(r)) whose moment map vanishes identically;
        those remain as a residual symmetry of the slice.

        Parameters
        ----------
        theta : array_like, shape (..., *shape)

        Returns
        -------
        chi : ndarray, shape (..., c)
        """
        structure = self._affine_or_raise()
        theta = self._flat(theta)
        if getval(theta) is theta:
            return structure.moment_map(np.asarray(theta, dtype=float))
        # traced by autograd: the dense quadratic forms (small problems only)
        quadratic = anp.einsum("aij,...i,...j->...a", structure.matrices, theta, theta)
        linear = anp.einsum("ai,...i->...a", structure.offsets, theta)
        return anp.einsum("ca,...a->...c", structure.moment_basis, 0.5 * quadratic + linear)

    def moment_map_jacobian(self, theta):
        """Jacobian of :meth:`moment_map` on the flattened entries, shape ``(..., c, D)``."""
        return self._affine_or_raise().moment_map_jacobian(np.asarray(self._flat(theta), dtype=float))

    def log_det_moment_gram(self, theta):
        """``log det J_chi J_chi^T`` of the moment map, shape ``(...,)``; ``-inf`` on degenerate orbits.

        Parameters
        ----------
        theta : array_like, shape (..., *shape)

        Returns
        -------
        log_det : ndarray, shape (...,)
        """
        return self._affine_or_raise().log_det_moment_gram(self._flat(as_batch(theta, self.shape)))

    def balance(self, theta):
        """Move ``theta`` along its orbit onto the zero set of the moment map (the balanced slice).

        The generic default takes damped Newton steps along the orbit, component by component
        (:meth:`AffineStructure.balance <quotientlearn.groups.affine.AffineStructure.balance>`);
        actions with a closed form override it.

        Parameters
        ----------
        theta : array_like, shape (..., *shape)

        Returns
        -------
        balanced : ndarray, shape (..., *shape)
        """
        theta = as_batch(theta, self.shape)
        return np.reshape(self._affine_or_raise().balance(self._flat(theta)), np.shape(theta))

    def pair_blocks(self):
        """``(up, down)`` slices when :meth:`balance` is the closed-form pair balance, else ``None``.

        Declared by :class:`~quotientlearn.groups.PairRescaling` of contiguous one-coordinate pairs
        ``(theta[up][i], theta[down][i])``: there, on float64 points whose ratios ``|down_i / up_i|``
        are all positive normal numbers, :meth:`balance` is ``up sqrt(r)``, ``down / sqrt(r)`` with
        ``r = |down / up|``, which a compiled step may then compute itself. The default: ``None``.
        """
        return None


def newton_onto_level_set(action, theta, chi, chi_jacobian, tol=1e-13, max_iter=200):
    """Move points along their orbits onto ``{chi = 0}`` by damped Newton steps in the Lie algebra.

    Each step is ``theta <- act(exp(delta), theta)`` with ``delta`` the minimum-norm solution of
    ``J_chi Xi^T delta = -chi`` (a solve with ``M M^T``, the pseudo-inverse only where it is
    singular), clipped to unit norm so that the exponential of a large step cannot overshoot, and, on
    a manifold's points, halved until the residual decreases. Vectorised over the batch; converged
    points stop moving.

    Parameters
    ----------
    action : GroupAction
    theta : array_like, shape (..., *shape)
    chi : callable
        ``theta (..., *shape) -> (..., c)``, zero on the target set.
    chi_jacobian : callable
        ``theta (..., *shape) -> (..., c, D)`` on the flattened entries.
    tol : float
        Tolerance on ``|chi| / (1 + |theta|^2)``.
    max_iter : int

    Returns
    -------
    projected : ndarray, shape (..., *shape)
        With a :class:`GaugeConvergenceWarning` when ``max_iter`` steps did not reach ``tol``.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> action = ql.models.Hadamard(dim=1).action
    >>> ql.groups.newton_onto_level_set(action, np.array([2.0, 0.5]), action.moment_map,
    ...                                 action.moment_map_jacobian)  # |u| = |v|, u v unchanged
    array([1., 1.])
    """
    theta = np.array(as_batch(theta, action.shape), dtype=float)
    backtrack = len(action.shape) != 1

    def relative(values, points):
        return (np.max(np.abs(values), axis=-1, initial=0.0)
                / (1.0 + np.sum(action._flat(points) ** 2, axis=-1)))

    values = chi(theta)
    for _ in range(max_iter):
        if not np.all(np.isfinite(values)):
            bad = int(np.count_nonzero(~np.all(np.isfinite(values), axis=-1)))
            raise ValueError(f"the gauge function chi is not finite at {bad} point(s) on the way to "
                             "the slice; check chi's domain")
        active = relative(values, theta) > tol
        if not np.any(active):
            return theta
        generators = action._flat_fields(action.generators(theta))
        newton = chi_jacobian(theta) @ np.swapaxes(generators, -1, -2)
        step = minimum_norm_step(newton, values)
        norm = np.linalg.norm(step, axis=-1, keepdims=True)
        step = np.where(active[..., None], step / np.maximum(norm, 1.0), 0.0)
        # backtracking on |chi| (the Newton step is a descent direction of |chi|^2) for actions on a
        # manifold's points: far from the slice a full step can overshoot, e.g. when diagonalising by
        # rotations. Flat points keep the undamped path, which AffineStructure.balance follows too.
        merit = np.sum(values**2, axis=-1)
        for _ in range(30 if backtrack else 1):
            candidate = action.act_algebra(step, theta)
            candidate_values = chi(candidate)
            worse = active & ~(np.sum(candidate_values**2, axis=-1) <= merit)
            if not np.any(worse):
                break
            step = np.where(worse[..., None], 0.5 * step, step)
        theta, values = candidate, candidate_values
    residual = relative(values, theta)
    warnings.warn(
        f"gauge projection stopped after {max_iter} Newton steps with relative residual "
        f"{np.max(residual):.2e} (tolerance {tol:.0e})",
        GaugeConvergenceWarning,
        stacklevel=3,
    )
    return theta
