"""A user's own model from a predictor function and a group action."""

from __future__ import annotations

import numpy as np

from quotientlearn.groups.base import GroupAction
from quotientlearn.models.base import Model
from quotientlearn.spaces import ParameterSpace
from quotientlearn.validation import integer, real, real_array, rng_from_seed

__all__ = ["Custom", "invariance_violation"]


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
    theta : ndarray, shape (D,)
        The point where it is largest.
    """
    rng = rng_from_seed(rng, "rng")
    theta = model.sample((n_points,), rng)
    moved = model.action.act_algebra(model.action.random_algebra((n_points,), rng, scale), theta)
    before = np.reshape(model.predictor(theta), (n_points, -1))
    after = np.reshape(model.predictor(moved), (n_points, -1))
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
        ``predictor(theta) -> beta``, with ``autograd.numpy``, broadcasting over leading axes.
    action : GroupAction
    dim : int, optional
        ``D``; taken from ``blocks`` or ``action.space_dim`` when omitted.
    blocks : dict of str to tuple, optional
        Named blocks of the flat vector.
    balanced : callable, optional
        ``balanced(beta) -> theta`` on the slice, if known in closed form.
    gauge : Gauge, optional
    predictor_rank : int, optional
        See :class:`~quotientlearn.models.base.Model`.
    validate : bool
        Check at construction that ``act`` preserves the predictor (raises ``ValueError``).
    tol : float
        Largest relative invariance violation accepted by the validation.

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

    def __init__(self, predictor, action, dim=None, blocks=None, balanced=None, gauge=None,
                 predictor_rank=None, validate=True, tol=1e-8):
        if not callable(predictor):
            raise TypeError(f"predictor must be a callable theta -> beta; got {type(predictor).__name__}")
        if not isinstance(action, GroupAction):
            raise TypeError(f"action must be a GroupAction; got {type(action).__name__}")
        if balanced is not None and not callable(balanced):
            raise TypeError(f"balanced must be a callable beta -> theta or None; got "
                            f"{type(balanced).__name__}")
        dim = None if dim is None else integer(dim, "dim", minimum=1)
        if blocks is None:
            blocks = {"theta": (dim if dim is not None else action.space_dim,)}
        space = ParameterSpace(blocks)
        if dim is not None and dim != space.dim:
            raise ValueError(f"dim={dim} disagrees with the blocks, which have D={space.dim}")
        self._predictor_fn = predictor
        self._balanced_fn = balanced
        tol = real(tol, "tol", minimum=0.0)
        probe = predictor(np.zeros(space.dim) + 0.5)
        if not np.all(np.isfinite(real_array(probe, "predictor(theta)"))):
            raise ValueError("predictor(theta) is not finite at theta = (0.5, ..., 0.5)")
        super().__init__(space, action, np.shape(probe), gauge, predictor_rank)
        if validate:
            violation, where = invariance_violation(self)
            if not violation <= tol:
                raise ValueError(
                    f"the action does not preserve the predictor: largest relative violation "
                    f"{violation:.3e} (tolerance {tol:.0e}) at theta = {np.array2string(where, precision=4)}"
                )

    def traceable_predictor(self, theta):
        """The user's predictor function."""
        return self._predictor_fn(theta)

    def balanced(self, beta):
        """The user's ``balanced(beta)``, if given."""
        if self._balanced_fn is None:
            return super().balanced(beta)
        return self._balanced_fn(self.validate_beta(beta))
