"""``PreconditionedHadamard``: the paper's first model, ``beta = u * v``, seen by an adaptive optimiser.

Adaptive optimisers (RMSProp, Adam) divide each coordinate's step by the root mean square of its
gradient. For ``beta = u * v`` the gradient in ``u_i`` is ``v_i dL/dbeta_i`` (and ``u_i dL/dbeta_i`` in
``v_i``), so near stationarity, where gradient noise dominates, the preconditioner is
``1 / sqrt(v_i^2 + eps^2)`` on ``u_i`` and ``1 / sqrt(u_i^2 + eps^2)`` on ``v_i`` (``eps`` the optimiser's
damping, up to the noise scale). This model puts that geometry on ``R^{2d}`` as the diagonal metric

    g = diag(sqrt(v^2 + eps^2), sqrt(u^2 + eps^2)),

so that ``noise="preconditioned"`` simulates ``d theta = -g^{-1} grad L dt + sqrt(2 T g^{-1}) dW`` (the
optimiser's shape of noise) and ``noise="isotropic"`` Riemannian Langevin in that metric. The rescaling
``(u, v) -> (a u, v / a)`` is not an isometry of ``g``. On the balanced slice ``|u| = |v|`` the metric is
``sqrt(|w| + eps^2) I``, so ``J_chi g^{-1} J_chi^T = diag(2 |w_i| / sqrt(|w_i| + eps^2))``; the Itô
route of preconditioned noise gives ``p(w) ∝ exp(-L/T) sqrt(|w| + eps^2) / |w|`` per coordinate: the
optimiser's geometry weakens the sparsity bias from ``1/|w|`` to ``~1/sqrt|w|`` for ``|w| >> eps^2``.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from geomstats.geometry.euclidean import Euclidean
from geomstats.geometry.riemannian_metric import RiemannianMetric

from quotientlearn.models.hadamard import Hadamard
from quotientlearn.spaces import as_space

__all__ = ["AdaptiveMetric", "PreconditionedHadamard"]


class AdaptiveMetric(RiemannianMetric):
    """``diag(sqrt(v^2 + eps^2), sqrt(u^2 + eps^2))`` on ``R^{2d}`` (``theta = (u, v)``).

    Parameters
    ----------
    space : Euclidean
    epsilon : float
    """

    def __init__(self, space, epsilon=0.1):
        super().__init__(space)
        self.epsilon = float(epsilon)

    def metric_matrix(self, base_point=None):
        """The diagonal metric, shape ``(..., 2d, 2d)``, written with ``autograd.numpy``."""
        width = base_point.shape[-1] // 2
        swapped = anp.concatenate([base_point[..., width:], base_point[..., :width]], axis=-1)
        diagonal = anp.sqrt(swapped**2 + self.epsilon**2)
        return diagonal[..., :, None] * anp.eye(2 * width)


class PreconditionedHadamard(Hadamard):
    """``beta = u * v`` on ``R^{2d}`` with the adaptive-optimiser metric :class:`AdaptiveMetric`.

    Parameters
    ----------
    dim : int
        ``d``.
    epsilon : float
        The metric's damping ``eps > 0``.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.PreconditionedHadamard(1, 0.3)  # beta = u v, metric diag(sqrt(v^2 + eps^2), ...)
    >>> model.predictor(np.array([2.0, 0.5]))
    array([1.])
    >>> model.space.is_flat  # a metric on R^2: the geometry is not the identity
    False
    """

    def __init__(self, dim, epsilon=0.1):
        self.epsilon = float(epsilon)
        if not self.epsilon > 0:
            raise ValueError(f"epsilon must be positive; got {epsilon!r}")
        euclidean = Euclidean(2 * int(dim))
        euclidean.equip_with_metric(AdaptiveMetric, epsilon=self.epsilon)
        super().__init__(dim, space=as_space(euclidean))

    def log_det_gram_on_slice(self, beta):
        """``sum_i log(2 |w_i| / sqrt(|w_i| + eps^2))``: ``J_chi g^{-1} J_chi^T`` on the slice, ``(...,)``."""
        magnitude = np.abs(self.validate_beta(beta))
        return super().log_det_gram_on_slice(beta) - 0.5 * np.sum(
            np.log(magnitude + self.epsilon**2), axis=-1)
