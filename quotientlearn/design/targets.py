"""Target regularisers ``R(beta)`` for inverse design, in log-determinant units.

A target is matched when a parameterisation's ``log det G_C`` on the balanced slice equals ``R(beta)``
up to a constant; the implicit bias at temperature ``T`` is then ``(T/2) R(beta)`` plus a constant
(docs/theory.md sections 4-5). Every regulariser is written with ``autograd.numpy`` so that its gradient in
``beta`` is available (:func:`quotientlearn.design.fit` matches gradients;
:func:`quotientlearn.design.well_conditioned_reference` screens by them). The targets that are sums of
``log |l . beta|`` (all but ``"low_rank"`` and ``"group_sparse"``) also carry their Gaussian-smoothed
gradient in closed form (:mod:`quotientlearn.design.smoothing`).

The catalogue's targets (constants dropped):

============================== ============================================================
``"sparse"``                   ``sum_i log |beta_i|``
``("sparse_in_basis", B)``     ``sum_i log |(B beta)_i|``
``"tv"``                       ``sum_i log |beta_i - beta_{i-1}|`` with ``beta_{-1} = 0``
                               (a log-penalty on the jumps, not the l1 total variation)
``"low_rank"``                 ``sum_i log s_i + sum_{i<j} log(s_i + s_j)`` over the top ``r``
                               singular values (the factorisation's gauge log-det; for ``r = 1``
                               the log-determinant ``log s_1``)
``("group_sparse", sizes)``    ``sum_g log |beta_g|`` over contiguous groups of the given sizes
``("weighted_sparse", w)``     ``sum_i w_i log |beta_i|`` (a tunable strength per coordinate)
============================== ============================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field

import autograd.numpy as anp
import numpy as np
from autograd import elementwise_grad

from quotientlearn import validation
from quotientlearn.design.smoothing import log_linear_gradient
from quotientlearn.spaces import as_batch

__all__ = ["TARGETS", "Target", "make_target"]

#: Names of the catalogue targets and the keyword (or spec parameter) each one needs.
TARGETS = {
    "sparse": "dim",
    "sparse_in_basis": "basis B, as ('sparse_in_basis', B)",
    "tv": "dim",
    "low_rank": "shape=(m, n) and rank",
    "group_sparse": "group sizes, as ('group_sparse', sizes)",
    "weighted_sparse": "weights, as ('weighted_sparse', w)",
}


@dataclass(frozen=True)
class Target:
    """A target regulariser ``R``: the bias a designed parameterisation should induce.

    Attributes
    ----------
    name : str
    beta_shape : tuple of int
        Shape of one predictor value.
    regulariser : callable
        ``R(beta)``, shape ``(..., *beta_shape) -> (...,)``, written with ``autograd.numpy``.
    params : dict
        The spec's parameters (basis, group sizes, weights, rank), for :func:`parameterize`.
    smoothing : callable or None
        ``(beta, sigma) -> E_z grad R(beta + sigma z)``, ``z ~ N(0, I)``, shape
        ``(..., *beta_shape)``: the Gaussian-smoothed gradient in closed form, or ``None`` when ``R``
        has none (:func:`~quotientlearn.design.fit` then estimates it by Monte Carlo).

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> target = ql.design.make_target("tv", dim=3)  # a log-penalty on the jumps
    >>> target.name, target.beta_shape
    ('tv', (3,))
    >>> round(float(target(np.array([1.0, 3.0, 2.0]))), 6)  # log 1 + log 2 + log 1
    0.693147
    """

    name: str
    beta_shape: tuple
    regulariser: object = field(repr=False)
    params: dict = field(default_factory=dict, repr=False)
    smoothing: object = field(default=None, repr=False)

    def __call__(self, beta):
        """``R(beta)`` after checking the shape, shape ``(...,)``."""
        beta = as_batch(beta, self.beta_shape, "beta")
        with np.errstate(divide="ignore"):
            return self.regulariser(beta)

    def gradient(self, beta):
        """``grad R(beta)`` by autograd, shape ``(..., *beta_shape)``; ``beta`` is checked."""
        beta = as_batch(beta, self.beta_shape, "beta")
        with np.errstate(divide="ignore", invalid="ignore"):
            return elementwise_grad(self.regulariser)(beta)


def _log_abs(values):
    return anp.log(anp.abs(values))


def _log_linear(name, forms, weights, params):
    """``R(beta) = sum_k weights_k log |forms_k . beta|``, with its smoothed gradient."""
    forms, weights = np.asarray(forms, dtype=float), np.asarray(weights, dtype=float)

    def regulariser(beta):
        return anp.sum(weights * _log_abs(anp.dot(beta, forms.T)), axis=-1)

    def smoothing(beta, sigma):
        return log_linear_gradient(beta, forms, weights, sigma)

    return Target(name, (forms.shape[1],), regulariser, params, smoothing)


def _square_matrix(value, name):
    matrix = validation.real_array(value, name)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or not np.all(np.isfinite(matrix)):
        raise ValueError(f"{name} must be a finite square matrix; got shape {matrix.shape}")
    if np.linalg.cond(matrix) > 1e12:
        raise ValueError(f"{name} must be invertible (its condition number exceeds 1e12)")
    return matrix


def _positive_int(value, name):
    # A missing parameter is a malformed spec (ValueError); a parameter of the wrong type
    # (2.5, "3", True) is a TypeError, as everywhere at the package's boundary.
    if value is None:
        raise ValueError(f"{name} is missing: it must be a positive integer")
    return validation.positive_int(value, name)


def make_target(spec, *, dim=None, shape=None, rank=None):
    """Build a catalogue :class:`Target` from its spec.

    Parameters
    ----------
    spec : str, tuple or Target
        ``"sparse"``, ``("sparse_in_basis", B)``, ``"tv"``, ``"low_rank"``,
        ``("group_sparse", sizes)`` or ``("weighted_sparse", weights)``; a :class:`Target` is
        returned unchanged.
    dim : int, optional
        Length of ``beta`` for ``"sparse"`` and ``"tv"``.
    shape : tuple of int, optional
        ``(m, n)`` for ``"low_rank"``.
    rank : int, optional
        ``r`` for ``"low_rank"``.

    Returns
    -------
    target : Target

    Raises
    ------
    TypeError
        On a parameter of the wrong type (``dim=2.5``, complex weights).
    ValueError
        On an unknown name or a missing or malformed parameter.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> target = ql.design.make_target("sparse", dim=3)  # R(beta) = sum_i log|beta_i|
    >>> target
    Target(name='sparse', beta_shape=(3,))
    >>> float(target(np.array([1.0, 2.0, 0.5])))
    0.0
    """
    if isinstance(spec, Target):
        return spec
    name, param = (spec, None) if isinstance(spec, str) else (None, None)
    if isinstance(spec, tuple | list) and len(spec) == 2 and isinstance(spec[0], str):
        name, param = spec
    if name not in TARGETS:
        raise ValueError(f"unknown target {spec!r}; catalogue targets: {', '.join(TARGETS)} "
                         "(a name, or (name, parameter) for those that need one)")

    if name == "sparse":
        dim = _positive_int(dim, "dim (the length of beta) for target 'sparse'")
        return _log_linear(name, np.eye(dim), np.ones(dim), {})
    if name == "tv":
        dim = _positive_int(dim, "dim (the length of beta) for target 'tv'")
        # The jumps beta_i - beta_{i-1}, with beta_{-1} = 0.
        return _log_linear(name, np.eye(dim) - np.eye(dim, k=-1), np.ones(dim), {})
    if name == "sparse_in_basis":
        basis = _square_matrix(param, "the basis B of target 'sparse_in_basis'")
        return _log_linear(name, basis, np.ones(len(basis)), {"basis": basis})
    if name == "weighted_sparse":
        weights = validation.real_array(param, "the weights of target 'weighted_sparse'")
        if weights.ndim != 1 or weights.size == 0 or not np.all(np.isfinite(weights)):
            raise ValueError("the weights of target 'weighted_sparse' must be a non-empty finite "
                             f"vector; got {param!r}")
        return _log_linear(name, np.eye(weights.size), weights, {"weights": weights})
    if name == "group_sparse":
        if param is None or np.ndim(param) != 1 or len(param) == 0:
            raise ValueError("target 'group_sparse' needs the group sizes, as "
                             f"('group_sparse', [n_1, n_2, ...]); got {param!r}")
        sizes = tuple(_positive_int(n, "every group size") for n in param)
        ends = np.cumsum(sizes)
        starts = ends - np.array(sizes)

        def log_group_norms(beta):
            norms = [anp.sqrt(anp.sum(beta[..., a:b] ** 2, axis=-1)) for a, b in zip(starts, ends,
                                                                                      strict=True)]
            return anp.sum(anp.log(anp.stack(norms, axis=-1)), axis=-1)

        return Target(name, (int(ends[-1]),), log_group_norms, {"group_sizes": sizes})
    # low_rank
    if shape is None or len(tuple(shape)) != 2:
        raise ValueError(f"target 'low_rank' needs shape=(m, n); got {shape!r}")
    m, n = (_positive_int(s, "each entry of shape") for s in shape)
    rank = _positive_int(rank, "rank for target 'low_rank'")
    if rank > min(m, n):
        raise ValueError(f"rank must lie in [1, min(m, n)] = [1, {min(m, n)}]; got {rank}")
    upper = np.triu_indices(rank, k=1)

    def log_det_low_rank(beta):
        values = anp.linalg.svd(beta, compute_uv=False)[..., :rank]
        pair_sums = (values[..., :, None] + values[..., None, :])[..., upper[0], upper[1]]
        return anp.sum(anp.log(values), axis=-1) + anp.sum(anp.log(pair_sums), axis=-1)

    return Target(name, (m, n), log_det_low_rank, {"rank": rank})
