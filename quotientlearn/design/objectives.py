"""Design objectives over reference points as pymanopt problems, evaluated chunk by chunk.

Both objectives are means over reference points ``beta_j`` of per-point terms ``m_j(psi)``:

- ``"values"``: ``m_j = log det G_psi(beta_j) - R(beta_j)`` and the cost ``Var_j[m_j]`` (docs/theory.md
  section 5; the variance removes the free constant);
- ``"gradients"``: ``m_j = |grad_beta log det G_psi(beta_j) - g_j|^2 / mean_k |g_k|^2`` with
  ``g = grad R`` and the cost ``mean_j m_j``: the relative mismatch of the drifts, dimensionless so
  that one gradient tolerance serves every size and smoothing level. The bias acts on the dynamics
  through its gradient (the drift), so matching gradients matches what training feels; it needs no
  constant, and each point gives ``d`` equations instead of one, so ``O(d)`` points identify a
  ``d x d`` basis where values need ``O(d^2)``.

The cost, its Euclidean gradient and Hessian-vector products are accumulated over chunks of points
sized by a memory budget (:mod:`quotientlearn.memory`), each chunk differentiated by autograd, so the
working memory of one evaluation is bounded whatever the number of points. For the variance the
gradient and Hessian are assembled exactly from the chunks (the mean enters both).
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
import pymanopt
from autograd import grad

from quotientlearn.memory import chunk_slices

__all__ = ["ChunkedObjective", "gradient_terms", "value_terms"]


def value_terms(family, reference, target_values, smoothing):
    """Per-point ``log det G_psi(beta_j) - R(beta_j)`` (Gram smoothing ``eps = smoothing``).

    Returns
    -------
    terms : callable
        ``(psi, chunk) -> (n_chunk,)``, traceable in ``psi``.
    """

    def terms(psi, chunk):
        return family.log_det_gram(psi, reference[chunk], smoothing) - target_values[chunk]

    return terms


def gradient_terms(family, reference, target_gradients, smoothing):
    """Per-point ``|grad log det G_psi(beta_j) - g_j|^2 / mean_k |g_k|^2`` (Gaussian ``sigma``).

    Returns
    -------
    terms : callable
        ``(psi, chunk) -> (n_chunk,)``, traceable in ``psi``.
    """
    axes = tuple(range(1, reference.ndim))
    normaliser = float(np.mean(np.sum(target_gradients**2, axis=axes)))

    def terms(psi, chunk):
        residual = family.log_det_gradient(psi, reference[chunk], smoothing) - target_gradients[chunk]
        return anp.sum(residual**2, axis=axes) / normaliser

    return terms


class ChunkedObjective:
    """``mean_j m_j`` or ``Var_j[m_j]`` with derivatives, accumulated over chunks of points.

    Parameters
    ----------
    terms : callable
        ``(psi, chunk) -> (n_chunk,)`` per-point terms, traceable in ``psi`` by autograd.
    n_points : int
    bytes_per_point : float
        Peak working memory of one point's terms under second-order differentiation.
    centred : bool
        ``True``: the variance of the terms; ``False``: their mean.
    memory_budget : int or str, optional
        See :func:`quotientlearn.memory.memory_budget`.
    """

    def __init__(self, terms, n_points, bytes_per_point, centred, memory_budget=None):
        self.terms = terms
        self.n_points = int(n_points)
        self.centred = bool(centred)
        self.chunks = chunk_slices(self.n_points, bytes_per_point, memory_budget)
        self.evaluations = []
        self._cache_key, self._cache = None, {}

    def _cached(self, psi, name, compute):
        key = psi.tobytes()
        if key != self._cache_key:
            self._cache_key, self._cache = key, {}
        if name not in self._cache:
            self._cache[name] = compute()
        return self._cache[name]

    def values(self, psi):
        """The per-point terms at ``psi``, shape ``(N,)``."""
        return self._cached(psi, "values", lambda: np.concatenate(
            [np.asarray(self.terms(psi, chunk), dtype=float) for chunk in self.chunks]))

    def _centre(self, psi):
        return float(np.mean(self.values(psi))) if self.centred else 0.0

    def _chunk_cost(self, chunk, centre):
        """The chunk's share of the cost, as a function of ``psi`` (the centre held fixed)."""
        if self.centred:
            return lambda psi: anp.sum((self.terms(psi, chunk) - centre) ** 2) / self.n_points
        return lambda psi: anp.sum(self.terms(psi, chunk)) / self.n_points

    def _mean_gradient(self, psi):
        """``grad_psi mean_j m_j`` (the centre's gradient, for the variance's Hessian)."""
        return self._cached(psi, "mean_gradient", lambda: sum(
            grad(lambda p, c=chunk: anp.sum(self.terms(p, c)) / self.n_points)(psi)
            for chunk in self.chunks))

    def _chunk_hessian_vector_product(self, chunk, centre, psi, vector):
        # Reverse over reverse: every autograd primitive has a VJP, not every one a JVP (slogdet).
        gradient = grad(self._chunk_cost(chunk, centre))
        return grad(lambda point: anp.sum(gradient(point) * vector))(psi)

    def cost(self, psi):
        """The objective at ``psi``; ``inf`` where it is not finite (a degenerate orbit)."""
        values = self.values(psi)
        value = float(np.var(values) if self.centred else np.mean(values))
        value = value if np.isfinite(value) else np.inf
        self.evaluations.append(value)
        return value

    def gradient(self, psi):
        """Euclidean gradient, shape of ``psi``.

        With the centre held fixed at the current mean, the variance's gradient is exact (the
        derivative in the centre vanishes there).
        """
        centre = self._centre(psi)
        return self._cached(psi, "gradient", lambda: sum(
            grad(self._chunk_cost(chunk, centre))(psi) for chunk in self.chunks))

    def hessian_vector_product(self, psi, vector):
        """Euclidean Hessian applied to ``vector``, shape of ``psi``.

        The variance adds ``-2 (grad mean . v) grad mean`` to the fixed-centre Hessian.
        """
        centre = self._centre(psi)
        product = sum(self._chunk_hessian_vector_product(chunk, centre, psi, vector)
                      for chunk in self.chunks)
        if self.centred:
            mean_gradient = self._mean_gradient(psi)
            product = product - 2.0 * np.sum(mean_gradient * vector) * mean_gradient
        return product

    def problem(self, manifold):
        """A pymanopt problem with this cost, gradient and Hessian (numpy backend)."""

        @pymanopt.function.numpy(manifold)
        def cost(point):
            return self.cost(point)

        @pymanopt.function.numpy(manifold)
        def euclidean_gradient(point):
            return self.gradient(point)

        @pymanopt.function.numpy(manifold)
        def euclidean_hessian(point, vector):
            return self.hessian_vector_product(point, vector)

        return pymanopt.Problem(manifold, cost, euclidean_gradient=euclidean_gradient,
                                euclidean_hessian=euclidean_hessian)
