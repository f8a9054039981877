"""The result of a simulation: final states of independent particles, records and run metadata."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Samples"]


@dataclass
class Samples:
    """Final states of independent particles (i.i.d. draws from the law at the final time).

    Attributes
    ----------
    theta : ndarray, shape (N, *space.shape)
        Final parameters of the particles that did not diverge (``(N, D)`` on flat space; a manifold's
        own point shape otherwise, on the manifold to ``metadata["max_manifold_residual"]``).
    beta : ndarray, shape (N, *beta_shape)
        Their predictors.
    records : dict of str to ndarray
        Observables recorded every ``record_every`` steps, each of shape ``(n_records, N0, ...)``
        where ``N0`` is the initial number of particles (NaN after a particle was dropped); the same
        structure as ``TrainResult.records`` of :func:`quotientlearn.sgd.train`.
    record_steps : ndarray, shape (n_records,)
        The step numbers at which they were recorded.
    n_diverged : int
        Particles dropped because they left the finite numbers (only with ``drop_diverged=True``).
    metadata : dict
        Model, noise, temperature, step size, scheme, seed, wall time, final gauge residual, ...

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Hadamard(dim=1)
    >>> samples = ql.simulate(model, lambda beta: 0.5 * (beta[..., 0] - 1.0) ** 2, 0.1,
    ...                       n_steps=50, n_particles=20, seed=0, progress=False)
    >>> samples.n_particles, samples.theta.shape, samples.beta.shape
    (20, (20, 2), (20, 1))
    """

    theta: np.ndarray
    beta: np.ndarray
    records: dict = field(default_factory=dict)
    record_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    n_diverged: int = 0
    metadata: dict = field(default_factory=dict)

    @property
    def traces(self):
        """The records (their name in earlier versions)."""
        return self.records

    @property
    def trace_steps(self):
        """The record steps (their name in earlier versions)."""
        return self.record_steps

    @property
    def n_particles(self):
        """Number of surviving particles ``N``."""
        return int(self.theta.shape[0])

    def __repr__(self):
        noise = self.metadata.get("noise", "?")
        return (f"Samples(N={self.n_particles}, D={self.theta.shape[-1]}, noise={noise!r}, "
                f"n_diverged={self.n_diverged}, records={sorted(self.records)})")
