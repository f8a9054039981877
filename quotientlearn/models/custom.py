"""A user's own model from a predictor function, a parameter space and a group action."""

from __future__ import annotations

import numpy as np

from quotientlearn.groups.base import GroupAction
from quotientlearn.models.base import Model
from quotientlearn.spaces import ParameterSpace, as_space
from quotientlearn.validation import integer, real, real_array, rng_from_seed

__all__ = ["Custom", "action_leaves_space", "invariance_violation"]


def _act_on_samples(model, n_points, rng, scale):
    rng = rng_from_seed(rng, "rng")
    theta = model.sample((n_points,), rng)
    moved = model.action.act_algebra(model.action.random_algebra((n_points,), rng, scale), theta)
    return theta, np.asarray(moved, dtype=float)


def action_leaves_space(model, n_points=8, rng=0, scale=0.3):
    """Largest distance to the manifold of points moved by random group elements.

    Parameters
    ----------
    model : Model
    n_points : int
    rng : int or numpy.random.Generator
    scale : float
        Standard deviation of the Lie-algebra coordinates.

    Returns
    -------
    residual : float
        ``max space.membership_residual(g . theta)`` (0 on flat space).
    theta : ndarray, shape (*space.shape)
        The point where it is largest.
    """
    theta, moved = _act_on_samples(model, n_points, rng, scale)
    residual = np.asarray(model.space.membership_residual(moved))
    worst = int(np.argmax(residual))
    return float(residual[worst]), theta[worst]


def invariance_violation(model, n_points=8, rng=0, scale=0.3):
    """Largest relative change of the predictor under random group elements.

    Parameters
    ----------
    model : Model
    n_points : int
        Number of random parameter points (each acted on by its own random group element).
    rng : int or numpy.random.Generator
    scale : float
        Standard deviation of the Lie-algebra coordinates.

    Returns
    -------
    violation : float
        ``max |phi(g theta) - phi(theta)| / (1 + max |phi(theta)|)``.
    theta : ndarray, shape (*space.shape)
        The point where it is largest.
    """
    theta, moved = _act_on_samples(model, n_points, rng, scale)
    before = np.reshape(model.traceable_predictor(theta), (n_points, -1))
    after = np.reshape(model.traceable_predictor(moved), (n_points, -1))
    per_point = np.max(np.abs(after - before), axis=-1) / (1.0 + np.max(np.abs(before)))
    worst = int(np.argmax(per_point))
    return float(per_point[worst]), theta[worst]


class Custom(Model):
    """A model built from callables: the extension point for a user's parameterisation.

    Generators, Gram, projections, the balanced gauge (moment map, Newton projection), the bias and
    the predictions are then derived generically with autograd.

    Parameters
    ----------
    predictor : callable
        ``predictor(theta) -> beta``, with ``autograd.numpy``, broadcasting over leading axes; ``theta``
        has the space's point shape.
    action : GroupAction, optional
        Acting on points of the space's shape; ``None``: no continuous symmetry.
    dim : int, optional
        ``D`` of a flat space; taken from ``blocks`` or ``action.space_dim`` when omitted.
    blocks : dict of str to tuple, optional
        Named blocks of a flat vector.
    balanced : callable, optional
        ``balanced(beta) -> theta`` on the slice, if known in closed form.
    gauge : Gauge, optional
    predictor_rank : int, optional
        See :class:`~quotientlearn.models.base.Model`.
    validate : bool
        Check at construction that ``act`` keeps points on the manifold and preserves the predictor
        (raises ``ValueError``).
    tol : float
        Largest relative invariance violation (and distance to the manifold) accepted by the validation.
    space : geomstats Manifold or Space, optional
        The parameter space: any geomstats manifold equipped with its metric (``Hypersphere(2)``,
        ``SPDMatrices(3)``, ``Euclidean(D)`` with a user's ``RiemannianMetric``, ...), converted by
        :func:`quotientlearn.spaces.as_space`. Default: flat ``R^D``.
    bundle : callable, optional
        See :class:`~quotientlearn.models.base.Model`.

    Raises
    ------
    ValueError
        When the action moves points off the manifold or changes the predictor (the check and the size
        of the violation are named), or the arguments disagree.

    Examples
    --------
    A depth-2 product ``beta = x1 x2`` with the rescaling ``(x1 e^c, x2 e^-c)``, written by hand:

    >>> import autograd.numpy as anp
    >>> import quotientlearn as ql
    >>> action = ql.groups.GroupAction(
    ...     dim=1, space_dim=2,
    ...     act=lambda c, th: anp.stack([th[..., 0] * anp.exp(c[..., 0]),
    ...                                  th[..., 1] * anp.exp(-c[..., 0])], -1))
    >>> model = ql.models.Custom(predictor=lambda th: th[..., :1] * th[..., 1:], action=action)
    >>> ql.testing.check_model(model).passed
    True
    """

    def __init__(self, predictor, action=None, dim=None, blocks=None, balanced=None, gauge=None,
                 predictor_rank=None, validate=True, tol=1e-8, space=None, bundle=None):
        if not callable(predictor):
            raise TypeError(f"predictor must be a callable theta -> beta; got {type(predictor).__name__}")
        if action is not None and not isinstance(action, GroupAction):
            raise TypeError(f"action must be a GroupAction or None; got {type(action).__name__}")
        if balanced is not None and not callable(balanced):
            raise TypeError(f"balanced must be a callable beta -> theta or None; got "
                            f"{type(balanced).__name__}")
        if space is not None:
            if blocks is not None or dim is not None:
                raise ValueError("give either space (a manifold) or dim/blocks (a flat vector), not both")
            space = as_space(space)
        else:
            dim = None if dim is None else integer(dim, "dim", minimum=1)
            if blocks is None:
                if dim is None and action is None:
                    raise ValueError("give space (a geomstats manifold), dim, blocks or an action")
                blocks = {"theta": (dim if dim is not None else action.space_dim,)}
            space = ParameterSpace(blocks)
            if dim is not None and dim != space.dim:
                raise ValueError(f"dim={dim} disagrees with the blocks, which have D={space.dim}")
        if action is None:
            action = GroupAction(0, shape=space.shape, act=lambda group_elem, theta: theta,
                                 name="NoSymmetry")
        self._predictor_fn = predictor
        self._balanced_fn = balanced
        tol = real(tol, "tol", minimum=0.0)
        probe_point = np.full(space.shape, 0.5) if space.is_flat else space.sample((), 0)
        probe = predictor(probe_point)
        if not np.all(np.isfinite(real_array(probe, "predictor(theta)"))):
            raise ValueError(f"predictor(theta) is not finite at theta = {probe_point}")
        super().__init__(space, action, np.shape(probe), gauge, predictor_rank, bundle)
        if validate and action.dim:
            residual, where = action_leaves_space(self)
            if not residual <= max(tol, space.atol):
                raise ValueError(
                    f"the action moves points off the manifold {space.name()}: "
                    f"{space.membership_check} = {residual:.3e} after acting (tolerance "
                    f"{max(tol, space.atol):.0e}; check: action keeps the manifold) from theta = "
                    f"{np.array2string(np.asarray(where), precision=4)}")
            violation, where = invariance_violation(self)
            if not violation <= tol:
                raise ValueError(
                    f"the action does not preserve the predictor: largest relative violation "
                    f"{violation:.3e} (tolerance {tol:.0e}; check: predictor invariance) at theta = "
                    f"{np.array2string(np.asarray(where), precision=4)}")

    def traceable_predictor(self, theta):
        """The user's predictor function."""
        return self._predictor_fn(theta)

    def balanced(self, beta):
        """The user's ``balanced(beta)``, if given."""
        if self._balanced_fn is None:
            return super().balanced(beta)
        return self._balanced_fn(self.validate_beta(beta))
