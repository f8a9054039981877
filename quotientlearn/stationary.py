"""``stationary_density``: the predicted stationary law of the predictor, three independent ways.

The methods are objects of :mod:`quotientlearn.predictions`, each holding its options and checking
that it describes the dynamics it is asked about:

- ``"theorem1"`` (:class:`~quotientlearn.predictions.Theorem1`): the closed form of docs/theory.md
  section 2, derived for isotropic noise with gauge fixing; for other dynamics the hypothesis under
  test.
- ``"ito"`` (:class:`~quotientlearn.predictions.ItoRoute`): the exact route of section 3 for any noise
  model, generic by autograd.
- ``"fibre"`` (:class:`~quotientlearn.predictions.FibreIntegral`): the push-forward of the full Gibbs
  law (isotropic noise, weight decay, no gauge fixing) by the co-area formula.

Every density is unnormalised.
"""

from __future__ import annotations

from quotientlearn.bias import validate_temperature
from quotientlearn.dynamics.noise import get_noise
from quotientlearn.predictions import (
    METHODS,
    Coordinates,
    Density,
    FibreIntegral,
    ItoRoute,
    NonConservativeWarning,
    Prediction,
    StationaryProblem,
)
from quotientlearn.validation import non_negative

__all__ = ["METHODS", "Density", "NonConservativeWarning", "stationary_density"]


def _method(method, reference, n_nodes, fibre_range, fibre_points):
    """The prediction object: ``method`` itself, or the named one built from the flat keywords."""
    flat = {"reference": reference, "n_nodes": n_nodes, "fibre_range": fibre_range,
            "fibre_points": fibre_points}
    if isinstance(method, Prediction):
        given = sorted(name for name, value in flat.items() if value is not None)
        if given:
            raise ValueError(f"{', '.join(given)} given beside a {type(method).__name__} object: "
                             "pass the options to the object instead")
        return method
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid methods: {', '.join(METHODS)}, or a "
                         "quotientlearn.predictions.Prediction")
    # Each flat keyword configures its own method and is ignored by the others (as it always was).
    if method == "ito":
        return ItoRoute(reference=reference, n_nodes=48 if n_nodes is None else n_nodes)
    if method == "fibre":
        return FibreIntegral(6.0 if fibre_range is None else fibre_range, fibre_points)
    return METHODS[method]()


def stationary_density(model, loss, temperature, noise="isotropic", gauge_fixing=True,
                       weight_decay=0.0, method="theorem1", coordinates=None, reference=None,
                       n_nodes=None, fibre_range=None, fibre_points=None):
    """The predicted stationary density of the predictor.

    Parameters
    ----------
    model : Model
        Must have ``balanced(beta)`` (all zoo models; a ``Custom`` model when given one).
    loss : callable
        ``loss(beta) -> (n,)``; written with ``autograd.numpy`` for the Itô route.
    temperature : float
        ``T > 0``.
    noise : {"isotropic", "horizontal", "label"} or NoiseModel
    gauge_fixing : bool
    weight_decay : float
    method : {"theorem1", "ito", "fibre"} or Prediction
        A name, or a prediction object holding its own options
        (e.g. ``ql.predictions.ItoRoute(reference=..., n_nodes=24)``).
    coordinates : (callable, callable), optional
        ``(to_chart, from_chart)``: chart coordinates of the predictor manifold when it is lower
        dimensional than ``beta`` (e.g. an angle on the circle of ``ScaleInvariant(2)``). The density
        is then with respect to ``dc``.
    reference : array_like, optional
        ``method="ito"``: the point where the potential is 0 (default: ones, or the identity matrix).
    n_nodes : int, optional
        ``method="ito"``: Gauss–Legendre nodes of the line integral (default 48).
    fibre_range : float, optional
        ``method="fibre"``: half-width of the box of group coordinates (default 6).
    fibre_points : int, optional
        ``method="fibre"``: nodes per axis (k <= 2) or importance samples (k > 2).

    Returns
    -------
    density : Density
        ``density.logpdf(beta)``, unnormalised, with ``density.info`` stating the assumptions.

    Raises
    ------
    ValueError
        Unknown method or noise, non-positive temperature, or dynamics the method does not describe.

    Examples
    --------
    Theorem 1 for ``beta = u v``: ``p(beta) ∝ exp(-L/T) / |beta|``.

    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Hadamard(dim=1)
    >>> def loss(beta):
    ...     return 0.5 * (beta[..., 0] - 1.0) ** 2
    >>> density = ql.stationary_density(model, loss, 0.1, method="theorem1")
    >>> log_p = density.logpdf(np.array([[0.5], [1.0]]))  # unnormalised, shape (2,)
    >>> bool(np.isclose(log_p[1] - log_p[0], 0.125 / 0.1 + np.log(0.5)))
    True
    """
    temperature = validate_temperature(temperature)
    if temperature <= 0:
        raise ValueError(f"a stationary density needs temperature > 0; got {temperature}")
    prediction = _method(method, reference, n_nodes, fibre_range, fibre_points)
    problem = StationaryProblem(model, loss, temperature, get_noise(noise), bool(gauge_fixing),
                                non_negative(weight_decay, "weight_decay"),
                                Coordinates(model, coordinates))
    return prediction.density(problem)
