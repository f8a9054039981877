"""``SPDSpectrum(n)``: an SPD matrix with the affine-invariant metric, predictor its eigenvalues.

``O(n)`` acts by congruence ``P -> Q P Q^T``, an isometry whose orbits (the matrices with given
eigenvalues) have varying volume: at ``diag(e^x)`` the Gram of the generators ``(E_ij - E_ji)/sqrt 2`` is
diagonal with entries ``8 sinh^2((x_i - x_j) / 2)``. The gauge slice is the diagonal matrices
(``chi = `` the off-diagonal entries), reached in closed form by diagonalising.

Because the action is an isometry, the predictor's law under isotropic (Riemannian) noise does not
depend on the gauge: gauge fixing or not, it is the push-forward of ``exp(-U/T) dvol_g``,
``p(lambda) ∝ exp(-L/T) prod_{i<j} |sinh((x_i - x_j)/2)| prod_i 1/lambda_i`` (``x = log lambda``): the
orbit volume *multiplies*. Theorem 1's form on this slice, ``det(J_chi g^{-1} J_chi^T)^{-1/2}`` with
``J_chi g^{-1} J_chi^T = diag(lambda_i lambda_j / 2)``, is the Gibbs law *conditioned* on the slice and
does not describe these dynamics (experiment ``manifold-check``).
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from geomstats.geometry.positive_reals import PositiveReals
from geomstats.geometry.product_manifold import ProductManifold
from geomstats.geometry.spd_matrices import SPDMatrices

from quotientlearn.bundle import SymmetryBundle
from quotientlearn.gauge import Gauge
from quotientlearn.groups.orthogonal import Congruence
from quotientlearn.models.base import Model
from quotientlearn.spaces import as_batch, as_space

__all__ = ["DiagonalGauge", "SPDSpectrum"]


def _sym(matrix):
    return 0.5 * (matrix + anp.swapaxes(matrix, -1, -2))


class DiagonalGauge(Gauge):
    """The slice of diagonal matrices: ``chi = (P_ij)_{i<j}``, projection by diagonalisation.

    Parameters
    ----------
    action : Congruence
    space : Space, optional
        Bound by the model when not given.
    """

    def __init__(self, action, space=None):
        self._rows, self._cols = np.triu_indices(action.n, 1)
        super().__init__(action, chi=self._off_diagonal, space=space)

    def _off_diagonal(self, theta):
        return theta[..., self._rows, self._cols]

    def chi_jacobian(self, theta):
        """The constant selection of the upper off-diagonal entries, shape ``(..., c, n^2)``."""
        theta = self._validate(theta)
        n = self.action.n
        jacobian = np.zeros((len(self._rows), n * n))
        jacobian[np.arange(len(self._rows)), self._rows * n + self._cols] = 1.0
        return np.broadcast_to(jacobian, theta.shape[:-2] + jacobian.shape)

    def project(self, theta):
        """``diag(eigenvalues)`` in ascending order: the slice point with the same spectrum.

        Raises
        ------
        ValueError
            When ``theta`` is off ``SPD(n)`` beyond the space's tolerance (check: membership).
        """
        theta = as_batch(theta, self.action.shape)
        values = np.linalg.eigvalsh(_sym(theta))
        # Symmetric with positive eigenvalues is on SPD(n): the membership check reuses this step's
        # eigenvalues; only a point failing it pays for the full check (tolerance, size of the violation).
        if not (np.all(values[..., 0] > 0) and np.array_equal(theta, np.swapaxes(theta, -1, -2))):
            self._validate(theta)
        return values[..., :, None] * np.eye(self.action.n)


class SPDSpectrum(Model):
    """``P`` in ``SPD(n)`` (affine-invariant metric), ``O(n)`` by congruence, predictor the eigenvalues.

    Parameters
    ----------
    n : int
        Matrix size; the predictor has ``n`` entries, in ascending order.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.SPDSpectrum(2)
    >>> p = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> model.predictor(p)  # the eigenvalues, ascending
    array([1., 3.])
    >>> model.gauge.project(p)  # the diagonal slice point of its orbit
    array([[1., 0.],
           [0., 3.]])
    """

    def __init__(self, n):
        self.n = int(n)
        if self.n < 2:
            raise ValueError(f"n must be at least 2 (O(1) is discrete); got {n}")
        space = as_space(SPDMatrices(self.n))
        action = Congruence(self.n)

        def quotient():
            return ProductManifold([PositiveReals(equip=False) for _ in range(self.n)], point_ndim=1,
                                   equip=False)

        super().__init__(space, action, (self.n,), gauge=DiagonalGauge(action, space),
                         bundle=lambda model: SymmetryBundle(model, base_space=quotient))

    def traceable_predictor(self, theta):
        """The eigenvalues of ``sym(P)`` in ascending order, shape ``(..., n)``."""
        return anp.linalg.eigh(_sym(theta))[0]

    def predictor_and_pullback(self, theta):
        """The eigenvalues and ``w -> Q diag(w) Q^T`` (``P = Q diag(lambda) Q^T``)."""
        values, vectors = np.linalg.eigh(_sym(theta))

        def pullback(cotangent):
            return (vectors * cotangent[..., None, :]) @ np.swapaxes(vectors, -1, -2)

        return values, pullback

    def validate_beta(self, beta):
        """``beta`` after checking shape, positivity and ascending order (the predictor's order)."""
        beta = super().validate_beta(beta)
        if np.any(beta <= 0):
            raise ValueError(f"eigenvalues of an SPD matrix are positive; got min {np.min(beta):.3e}")
        if np.any(np.diff(beta, axis=-1) < 0):
            raise ValueError("SPDSpectrum predicts eigenvalues in ascending order; sort beta")
        return beta

    def balanced(self, beta):
        """``diag(beta)``, shape ``(..., n, n)``."""
        beta = self.validate_beta(beta)
        return beta[..., :, None] * np.eye(self.n)

    def log_det_gram_on_slice(self, beta):
        """``log det J_chi g^{-1} J_chi^T = sum_{i<j} log(lambda_i lambda_j / 2)``, shape ``(...,)``."""
        logs = np.log(self.validate_beta(beta))
        rows, cols = np.triu_indices(self.n, 1)
        return np.sum(logs[..., rows] + logs[..., cols] - np.log(2.0), axis=-1)

    def sample(self, size=(), rng=None):
        """Random SPD matrices ``Q diag(e^x) Q^T`` away from degenerate orbits, ``(*size, n, n)``.

        ``Q`` is Haar-distributed and the log-eigenvalues have gaps ``0.1 + Exp(0.4)``: eigenvalue
        collisions, where the orbit loses dimensions and the slice is singular, are kept away from.
        """
        size = (size,) if np.isscalar(size) else tuple(size)
        rng = np.random.default_rng(rng)
        gaps = 0.1 + rng.exponential(0.4, size + (self.n,))
        logs = np.cumsum(gaps, axis=-1)
        logs -= np.mean(logs, axis=-1, keepdims=True)
        rotation = self.action.haar_sample(size, rng)
        return (rotation * np.exp(logs)[..., None, :]) @ np.swapaxes(rotation, -1, -2)

    def log_orbit_volume_on_slice(self, beta):
        """``(1/2) log det`` of the Gram ``g(xi_a, xi_b)`` at ``diag(beta)``: ``sum log(2 sqrt 2 |sinh|)``."""
        logs = np.log(self.validate_beta(beta))
        rows, cols = np.triu_indices(self.n, 1)
        gaps = np.abs(logs[..., rows] - logs[..., cols])
        with np.errstate(divide="ignore"):
            return np.sum(np.log(2.0 * np.sqrt(2.0) * np.sinh(0.5 * gaps)), axis=-1)
