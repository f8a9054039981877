"""An unnormalised stationary density in predictor (or chart) coordinates."""

from __future__ import annotations

import numpy as np

__all__ = ["Density"]


class Density:
    """An unnormalised stationary density in predictor (or chart) coordinates.

    Parameters
    ----------
    log_unnormalised : callable
        ``c (n, *shape) -> (n,)``.
    shape : tuple of int
        Shape of one coordinate point (``model.beta_shape`` or the chart's shape).
    method : str
    info : dict, optional
        Assumptions and diagnostics (e.g. the measured curl of the Itô field).
    field : callable, optional
        The Itô route's field ``grad log p``, ``(n, m) -> (n, m)`` (it has a ``curl`` check).

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Hadamard(dim=1)
    >>> def loss(beta):
    ...     return 0.5 * (beta[..., 0] - 1.0) ** 2
    >>> density = ql.stationary_density(model, loss, 0.1)  # Theorem 1: exp(-L/T) / |beta|
    >>> density
    Density(method='theorem1', shape=(1,))
    >>> density.logpdf(np.array([[0.5], [1.0]])).shape
    (2,)
    """

    def __init__(self, log_unnormalised, shape, method, info=None, field=None):
        self._log = log_unnormalised
        self.shape = tuple(shape)
        self.method = method
        self.info = dict(info or {})
        self.field = field

    @property
    def size(self):
        """Number of coordinates of one point."""
        return int(np.prod(self.shape, dtype=int))

    def __repr__(self):
        return f"Density(method={self.method!r}, shape={self.shape})"

    def logpdf(self, beta):
        """Unnormalised log density.

        Parameters
        ----------
        beta : array_like, shape (..., *shape)

        Returns
        -------
        logpdf : ndarray, shape (...,)
        """
        beta = np.asarray(beta, dtype=float)
        n = len(self.shape)
        if beta.shape[beta.ndim - n:] != self.shape:
            raise ValueError(f"beta must have shape (..., {', '.join(map(str, self.shape))}); got "
                             f"{beta.shape}")
        batch = beta.shape[: beta.ndim - n]
        flat = beta.reshape((-1,) + self.shape)
        return np.asarray(self._log(flat), dtype=float).reshape(batch)

    def restriction(self, origin, direction):
        """The 1-D log density ``t -> logpdf(origin + t direction)`` (the marginal when separable).

        Parameters
        ----------
        origin, direction : array_like, shape (*shape)

        Returns
        -------
        logpdf : callable
            ``t (n,) -> (n,)``.
        """
        origin = np.broadcast_to(np.asarray(origin, dtype=float), self.shape)
        direction = np.broadcast_to(np.asarray(direction, dtype=float), self.shape)
        return lambda t: self.logpdf(origin + np.asarray(t, dtype=float).reshape(
            np.shape(t) + (1,) * len(self.shape)) * direction)

    def log_ratio_spread(self, other, points):
        """:func:`quotientlearn.stats.log_ratio_spread` of this density and ``other``."""
        from quotientlearn.stats import log_ratio_spread  # stats reads densities: import on use

        return log_ratio_spread(self, other, points)

    def total_variation(self, other, window, n_grid=4001):
        """:func:`quotientlearn.stats.total_variation` of this 1-D density and ``other``."""
        from quotientlearn.stats import total_variation

        return total_variation(self, other, window, n_grid)
