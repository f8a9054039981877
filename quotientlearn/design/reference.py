"""Reference predictors for the design objective, chosen where the target is well conditioned.

The design objective compares log-determinants at reference points. Near a point where the target
``R`` is singular (a zero coefficient of a sparsity target), ``R`` is steep: a small error in ``psi``
moves such a point's term a lot, and its log-singularity walls in ``psi``-space sit next to the
optimum, so a solver lowering the smoothing can end on the wrong side of one. Keeping only Gaussian
points where ``|grad R|`` is bounded keeps every wall a fixed distance from the optimum. For
``R = sum_i log |(B beta)_i|`` with orthogonal ``B``, ``|grad R|^2 = sum_i 1 / (B beta)_i^2``, so the
bound is a lower bound on every coefficient.

The typical ``|grad R|`` grows with the dimension (about ``1.5 d`` at the median for the sparsity
target), so the default bound is relative: the best-conditioned fraction ``keep`` of the Gaussian
proposals. An absolute ``max_gradient_norm`` is accepted too.
"""

from __future__ import annotations

import numpy as np

from quotientlearn.design.targets import Target

__all__ = ["well_conditioned_reference"]


def well_conditioned_reference(target, size, rng=None, max_gradient_norm=None, keep=0.5, scale=1.0,
                               max_rounds=100):
    """Gaussian predictors ``N(0, scale^2 I)`` where ``|grad R(beta)|`` is smallest.

    Parameters
    ----------
    target : Target
        Its regulariser must be traceable by autograd.
    size : int
        Number of points ``N``.
    rng : int or numpy.random.Generator, optional
    max_gradient_norm : float, optional
        An absolute bound: keep proposals with ``|grad R| <= max_gradient_norm`` (up to
        ``max_rounds`` rounds of ``2 N`` proposals). By default the bound is relative (``keep``).
    keep : float
        In ``(0, 1]``: draw ``N / keep`` proposals and keep the ``N`` with the smallest
        ``|grad R|`` (``1``: every proposal where ``R`` is finite). Ignored with
        ``max_gradient_norm``.
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
    if not 0 < keep <= 1:
        raise ValueError(f"keep must lie in (0, 1]; got {keep!r}")
    if not scale > 0:
        raise ValueError(f"scale must be positive; got {scale!r}")
    size, rng = int(size), np.random.default_rng(rng)
    n_proposals = 2 * size if max_gradient_norm is not None else int(np.ceil(size / keep))
    kept, count = [], 0
    for _ in range(int(max_rounds)):
        proposals = scale * rng.standard_normal((n_proposals,) + target.beta_shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            finite = np.isfinite(target.regulariser(proposals))
            norms = np.sqrt(np.sum(target.gradient(proposals) ** 2,
                                   axis=tuple(range(1, proposals.ndim))))
        finite &= np.isfinite(norms)
        if max_gradient_norm is None:
            order = np.argsort(np.where(finite, norms, np.inf), kind="stable")[:size]
            kept.append(proposals[order[finite[order]]])
        else:
            kept.append(proposals[finite & (norms <= max_gradient_norm)])
        count += len(kept[-1])
        if count >= size:
            return np.concatenate(kept)[:size]
    bound = (f"|grad R| <= {max_gradient_norm}; raise max_gradient_norm"
             if max_gradient_norm is not None else "a finite target")
    raise ValueError(f"only {count} of {n_proposals * int(max_rounds)} Gaussian proposals have "
                     f"{bound}")
