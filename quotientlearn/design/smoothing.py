"""Gaussian smoothing of bias gradients: the continuation that :func:`~quotientlearn.design.fit` follows.

Smoothing a function ``f`` of ``beta`` by a Gaussian, ``S_sigma f(beta) = E_z f(beta + sigma z)``,
is linear, so a family member and a target that differ by a constant still differ by a constant after
it: the answer of the design problem stays an exact zero of the smoothed objective at every level.
That is what makes it a continuation of the answer (the earlier schedule smoothed the family only,
and its minimisers wander away from the answer; see ``docs/design.md``).

For the log-determinants of the product families and the catalogue's targets the smoothing has a
closed form: every term is ``log |l . beta|`` for a unit vector ``l``, and
``d/dx E log |x + sigma g| = E[1 / (x + sigma g)] = sqrt(2) D(x / (sigma sqrt(2))) / sigma`` with
``D`` Dawson's function (the Hilbert transform of a Gaussian). Other targets are smoothed by Monte
Carlo: :func:`stein_gradient`.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from autograd.extend import defjvp, defvjp, primitive
from scipy.special import dawsn

from quotientlearn.memory import chunk_slices

__all__ = ["gaussian_reciprocal", "log_linear_gradient", "smoothed_log_abs_gradient",
           "stein_gradient"]

_SQRT2 = np.sqrt(2.0)


@primitive
def gaussian_reciprocal(x):
    """``E[1 / (x + g)]`` (principal value) for ``g ~ N(0, 1)``: ``sqrt(2) D(x / sqrt(2))``.

    Bounded (its extremes are ``+-0.765`` at ``|x| = 1.31``), odd, ``~ 1/x`` for large
    ``|x|``; differentiable to any order by autograd (``d/dx = 1 - x E[1 / (x + g)]``).

    Parameters
    ----------
    x : ndarray

    Returns
    -------
    value : ndarray, same shape
    """
    return _SQRT2 * dawsn(np.asarray(x) / _SQRT2)


defvjp(gaussian_reciprocal, lambda ans, x: lambda g: g * (1.0 - x * ans))
defjvp(gaussian_reciprocal, lambda g, ans, x: g * (1.0 - x * ans))


def smoothed_log_abs_gradient(x, sigma):
    """``d/dx E log |x + sigma g|``: ``1/x`` at ``sigma = 0``, bounded by ``0.77 / sigma`` otherwise.

    Parameters
    ----------
    x : ndarray or autograd box
    sigma : float
        ``>= 0``.

    Returns
    -------
    value : ndarray or autograd box, same shape as ``x``
    """
    if sigma == 0:
        return 1.0 / x
    return gaussian_reciprocal(x / sigma) / sigma


def log_linear_gradient(beta, forms, weights, sigma):
    """Gradient of ``S_sigma R`` for ``R(beta) = sum_k weights_k log |forms_k . beta|``.

    Parameters
    ----------
    beta : ndarray, shape (..., d)
    forms : ndarray, shape (K, d)
        Nonzero rows ``l_k``.
    weights : ndarray, shape (K,)
    sigma : float
        Standard deviation of the Gaussian, ``>= 0`` (``0``: the exact gradient).

    Returns
    -------
    gradient : ndarray, shape (..., d)
    """
    unit = forms / np.linalg.norm(forms, axis=1, keepdims=True)
    # |l| beta + sigma |l| z has unit-variance noise along l once divided by |l|: log|l| is a constant.
    return anp.dot(weights * smoothed_log_abs_gradient(anp.dot(beta, unit.T), sigma), unit)


def stein_gradient(function, points, sigma, draws, rng, memory_budget=None):
    """Monte Carlo ``E_z grad f(beta + sigma z)`` from values of ``f`` only (Stein's identity).

    ``E[f(b + sigma z) z] / sigma`` with antithetic pairs ``+-z``, which removes the even part of
    ``f`` from the noise. Its variance is finite for log-singular ``f`` (a plain average of
    ``grad f`` is not: ``E[1 / (x + sigma g)^2]`` diverges). Chunked over ``points`` by the memory
    budget.

    Parameters
    ----------
    function : callable
        ``(M, *shape) -> (M,)``.
    points : ndarray, shape (N, *shape)
    sigma : float
        ``> 0``.
    draws : int
        Antithetic pairs per point.
    rng : numpy.random.Generator
    memory_budget : int or str, optional
        See :func:`quotientlearn.memory.memory_budget`.

    Returns
    -------
    gradient : ndarray, shape (N, *shape)
    """
    shape = points.shape[1:]
    size = int(np.prod(shape))
    out = np.empty_like(points)
    # z, the two shifted copies and the function's own work on them (a few arrays of that size).
    per_point = 8.0 * draws * size * 8
    for chunk in chunk_slices(len(points), per_point, memory_budget):
        block = points[chunk]
        z = rng.standard_normal((draws,) + block.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            up = np.asarray(function((block + sigma * z).reshape((-1,) + shape)))
            down = np.asarray(function((block - sigma * z).reshape((-1,) + shape)))
        weights = (up - down).reshape(draws, len(block))
        out[chunk] = np.einsum("mn,mn...->n...", weights, z) / (2.0 * sigma * draws)
    return out
