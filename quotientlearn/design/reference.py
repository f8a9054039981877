"""Reference predictors for the design objective, chosen where the target is well conditioned.

The design objective compares log-determinants at reference points. Near a point where the target
``R`` is singular (a zero coefficient of a sparsity target), ``R`` is steep: a small error in ``psi``
moves such a point's term a lot, and its log-singularity walls in ``psi``-space sit next to the
optimum, so a solver lowering the smoothing can end on the wrong side of one. Keeping only Gaussian
points where ``|grad R|`` is bounded keeps every wall a fixed distance from the optimum. For
``R = sum_i log |(B beta)_i|`` with orthogonal ``B``, ``|grad R|^2 = sum_i 1 / (B beta)_i^2``, so the
bound is a lower bound on every coefficient.
"""

from __future__ import annotations

import numpy as np
from autograd import elementwise_grad

from quotientlearn.design.targets import Target

__all__ = ["well_conditioned_reference"]


def well_conditioned_reference(target, size, rng=None, max_gradient_norm=20.0, scale=1.0,
                               max_rounds=100):
    """Gaussian predictors ``N(0, scale^2 I)`` kept where ``|grad R(beta)| <= max_gradient_norm``.

    Parameters
    ----------
    target : Target
        Its regulariser must be traceable by autograd.
    size : int
        Number of points ``N``.
    rng : int or numpy.random.Generator, optional
    max_gradient_norm : float or None
        ``None`` keeps every point where ``R`` is finite.
    scale : float
        Standard deviation of the Gaussian proposals.
    max_rounds : int
        Proposal rounds before giving up.

    Returns
    -------
    reference : ndarray, shape (N, *beta_shape)

    Raises
    ------
    ValueError
        On bad arguments, or when fewer than ``size`` points pass after ``max_rounds`` rounds (the
        bound is too strict for this target).

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> target = ql.design.make_target("sparse", dim=3)
    >>> ql.design.well_conditioned_reference(target, 10, rng=0).shape
    (10, 3)
    """
    if not isinstance(target, Target):
        raise ValueError(f"target must be a ql.design.Target; got {type(target).__name__}")
    if isinstance(size, bool) or int(size) != size or int(size) < 1:
        raise ValueError(f"size must be a positive integer; got {size!r}")
    if max_gradient_norm is not None and not max_gradient_norm > 0:
        raise ValueError(f"max_gradient_norm must be positive or None; got {max_gradient_norm!r}")
    if not scale > 0:
        raise ValueError(f"scale must be positive; got {scale!r}")
    size, rng = int(size), np.random.default_rng(rng)
    gradient = elementwise_grad(target.regulariser)
    kept, count = [], 0
    for _ in range(int(max_rounds)):
        proposals = scale * rng.standard_normal((2 * size,) + target.beta_shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            finite = np.isfinite(target.regulariser(proposals))
            if max_gradient_norm is not None:
                axes = tuple(range(1, proposals.ndim))
                norms = np.sqrt(np.sum(gradient(proposals) ** 2, axis=axes))
                finite &= norms <= max_gradient_norm
        kept.append(proposals[finite])
        count += int(finite.sum())
        if count >= size:
            return np.concatenate(kept)[:size]
    raise ValueError(f"only {count} of {2 * size * int(max_rounds)} Gaussian proposals have "
                     f"|grad R| <= {max_gradient_norm}; raise max_gradient_norm")
