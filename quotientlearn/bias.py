"""The implicit bias: the gauge correction ``(T/2) log det G_C`` and the effective loss.

Theorem 1 (docs/theory.md section 2): conditioned on the gauge slice, the stationary density of isotropic
Langevin dynamics is ``exp(-L/T) det G_C^{-1/2}`` with respect to the slice's surface measure, i.e. the
effective loss ``L + (T/2) log det G_C``. In predictor coordinates (Lebesgue ``d beta``) the slice's
volume factor ``sqrt det g_S = pdet(dphi dphi^T)^{-1/2}`` joins it.

On a curved parameter space (or with a metric ``g``) the constraint Gram is ``J_chi g^{-1} J_chi^T`` and
volumes are Riemannian: the slice's volume per unit coordinate volume is ``sqrt det(V^T G V)`` for the
slice tangents ``V`` (:func:`log_slice_volume_in_coordinates`). That this is the stationary law of the
dynamics on a curved slice is a hypothesis the predictions test, not an assumption (docs/theory.md,
section 7).
"""

from __future__ import annotations

import numpy as np

from quotientlearn.numerics import log_det_psd, minus_inf_where_degenerate
from quotientlearn.validation import temperature as validate_temperature

__all__ = [
    "effective_loss",
    "implicit_bias",
    "implicit_bias_of_predictor",
    "log_residual_orbit_volume",
    "log_slice_volume",
    "log_slice_volume_in_coordinates",
    "validate_temperature",
]

_COORDINATES = ("slice", "predictor")


def implicit_bias(model, theta, temperature):
    """Gauge correction ``(T/2) log det G_C(theta)``.

    Parameters
    ----------
    model : Model
    theta : array_like, shape (..., *space.shape)
    temperature : float

    Returns
    -------
    bias : ndarray, shape (...,)
        ``-inf`` (with a warning) on degenerate orbits.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Hadamard(dim=2)
    >>> theta = model.balanced(np.array([0.5, 2.0]))  # on the slice the Gram is diag(2 |beta|)
    >>> round(float(ql.implicit_bias(model, theta, temperature=0.1)), 6)  # 0.05 (log 1 + log 4)
    0.069315
    """
    temperature = validate_temperature(temperature)
    return 0.5 * temperature * model.gauge.log_det_constraint_gram(theta)


def log_residual_orbit_volume(model, theta):
    """``(1/2) log det`` of the Gram of the residual symmetry directions at a slice point.

    A gauge with fewer constraints than the group has dimensions (the balanced gauge of ``GL(r)``
    fixes only its symmetric part) leaves a residual group acting *within* the slice (``O(r)``). Its
    orbits are the fibres of the slice over predictor space, so pushing a slice density forward to the
    predictor integrates over them and multiplies by their volume. The residual directions are the
    Lie-algebra kernel of ``J_chi Xi^T`` (generators tangent to the slice); the result is zero when
    the gauge fixes the whole group.

    Parameters
    ----------
    model : Model
    theta : array_like, shape (..., D)

    Returns
    -------
    log_volume : ndarray, shape (...,)

    Examples
    --------
    The rotations ``O(2)`` of a balanced ``2 x 2`` factorisation have orbits of length
    ``sqrt(s_1 + s_2)``; a torus gauge leaves no residual symmetry:

    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.MatrixFactorization(2, 2, rank=2)
    >>> theta = model.balanced(np.diag([4.0, 1.0]))
    >>> bool(np.isclose(ql.log_residual_orbit_volume(model, theta), 0.5 * np.log(5.0)))
    True
    >>> float(ql.log_residual_orbit_volume(ql.models.Hadamard(2), np.ones(4)))
    0.0
    """
    space = model.space
    theta = space.validate(theta)
    generators = space.flatten_batch(model.action.generators(theta))
    constraint_jacobian = model.gauge.chi_jacobian(theta)
    n_constraints = constraint_jacobian.shape[-2]
    if n_constraints >= generators.shape[-2]:
        return np.zeros(space.batch_shape(theta))
    tangency = constraint_jacobian @ np.swapaxes(generators, -1, -2)  # (..., c, k)
    _, _, right = np.linalg.svd(tangency, full_matrices=True)
    residual = right[..., n_constraints:, :] @ generators  # orthonormal algebra directions
    return 0.5 * log_det_psd(residual @ np.swapaxes(_lowered_rows(space, residual, theta), -1, -2))


def _lowered_rows(space, rows, theta):
    """``G r`` for rows ``(..., r, D)`` of tangent vectors (the rows themselves on flat space)."""
    if space.is_flat:
        return rows
    point = np.expand_dims(theta, len(space.batch_shape(theta)))
    return space.flatten_batch(space.lower_index(space.unflatten_batch(rows), point))


def log_slice_volume_in_coordinates(model, theta, coordinate_jacobian):
    """Log Riemannian volume of the slice per unit coordinate volume, at slice points.

    ``(1/2) log det(V^T G V)`` for the slice tangents ``V`` (``J_c V = I``, ``J_chi V = 0``:
    :meth:`~quotientlearn.gauge.Gauge.slice_tangents`), plus the residual orbit volume of
    :func:`log_residual_orbit_volume`. Needs full-rank coordinates ``c`` of the base.

    Parameters
    ----------
    model : Model
    theta : ndarray, shape (n, *space.shape)
        Slice points.
    coordinate_jacobian : ndarray, shape (n, m, D)
        ``J_c`` on the flattened entries.

    Returns
    -------
    log_volume : ndarray, shape (n,)
    """
    tangents = np.swapaxes(model.gauge.slice_tangents(theta, coordinate_jacobian), -1, -2)  # (n, m, D)
    gram = tangents @ np.swapaxes(_lowered_rows(model.space, tangents, theta), -1, -2)
    return 0.5 * log_det_psd(gram) + log_residual_orbit_volume(model, theta)


def log_slice_volume(model, beta):
    """Log volume of the slice per unit predictor volume, at ``balanced(beta)``.

    ``-(1/2) log pdet(dphi dphi^T)`` (the pseudo-determinant over the ``predictor_rank`` largest
    eigenvalues: the predictor manifold may be a proper submanifold, e.g. rank-r matrices) plus the
    residual orbit volume of :func:`log_residual_orbit_volume`. Without residual symmetry this is
    ``(1/2) log det g_S`` of docs/theory.md section 2 (the balanced slice is horizontal). On a curved
    space or with a metric it is :func:`log_slice_volume_in_coordinates` in predictor coordinates,
    which needs a full-rank predictor.

    Parameters
    ----------
    model : Model
    beta : array_like, shape (..., *beta_shape)

    Returns
    -------
    log_volume : ndarray, shape (...,)
        ``+inf`` (with a :class:`~quotientlearn.groups.DegenerateOrbitWarning`) where ``dphi`` loses
        rank, e.g. ``beta = 0``: the slice volume per unit predictor volume diverges there. The
        residual orbits shrink at such points too, but along fewer directions than ``dphi`` loses
        (for ``M = P Q``: ``k(k-1)/2`` against ``k(m+n-k)`` when ``k`` singular values vanish), so
        the limit is ``+inf``, never the NaN of ``inf - inf``.

    Examples
    --------
    For ``beta = u * v`` the quotient cometric is ``diag(2 |beta|)``:

    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> volume = ql.log_slice_volume(ql.models.Hadamard(dim=2), np.array([0.5, 2.0]))
    >>> bool(np.isclose(volume, -0.5 * np.log(1.0 * 4.0)))
    True
    """
    theta = model.balanced(beta)
    if not model.space.is_flat:
        if model.predictor_rank < model.beta_size:
            raise ValueError(
                f"the predictor of {model!r} moves on a {model.predictor_rank}-dimensional manifold "
                f"inside R^{model.beta_size}: the slice volume needs full-rank coordinates; use "
                "stationary_density(..., coordinates=(to_chart, from_chart))")
        return log_slice_volume_in_coordinates(model, theta, model.predictor_jacobian(theta))
    jac = model.predictor_jacobian(theta)
    cometric = jac @ np.swapaxes(jac, -1, -2)
    eigenvalues = np.linalg.eigvalsh(cometric)[..., ::-1][..., : model.predictor_rank]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_pdet = minus_inf_where_degenerate(np.sum(np.log(np.clip(eigenvalues, 0.0, None)), axis=-1))
        volume = -0.5 * log_pdet + log_residual_orbit_volume(model, theta)
    return np.where(log_pdet == -np.inf, np.inf, volume)


def implicit_bias_of_predictor(model, beta, temperature, coordinates="slice"):
    """The implicit bias as a function of the predictor, at its balanced slice point.

    Parameters
    ----------
    model : Model
    beta : array_like, shape (..., *beta_shape)
    temperature : float
    coordinates : {"slice", "predictor"}
        ``"slice"``: ``(T/2) log det G_C`` (density w.r.t. the slice's surface measure).
        ``"predictor"``: additionally ``-T`` times :func:`log_slice_volume`, so that
        ``exp(-(L + bias) / T)`` is the density w.r.t. Lebesgue ``d beta`` (Hausdorff measure on
        the predictor manifold), residual orbits integrated out.

    Returns
    -------
    bias : ndarray, shape (...,)

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Hadamard(dim=2)
    >>> beta = np.array([[0.5, 2.0], [1.0, 1.0]])  # two predictors, shape (2, 2)
    >>> ql.implicit_bias_of_predictor(model, beta, temperature=0.1).round(6)  # (T/2) sum log(2 |beta_i|)
    array([0.069315, 0.069315])
    """
    if coordinates not in _COORDINATES:
        raise ValueError(f"unknown coordinates {coordinates!r}; choose one of {_COORDINATES}")
    temperature = validate_temperature(temperature)
    bias = 0.5 * temperature * model.log_det_gram_on_slice(beta)
    if coordinates == "predictor":
        bias = bias - temperature * log_slice_volume(model, beta)
    return bias


def effective_loss(model, loss, theta, temperature):
    """``L(phi(theta)) + (T/2) log det G_C(theta)``.

    Parameters
    ----------
    model : Model
    loss : callable
        ``loss(beta) -> (...,)``.
    theta : array_like, shape (..., D)
    temperature : float

    Returns
    -------
    value : ndarray, shape (...,)

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Hadamard(dim=2)
    >>> theta = model.balanced(np.array([0.5, 2.0]))
    >>> def loss(beta):
    ...     return 0.5 * ((beta - 1.0) ** 2).sum(-1)
    >>> round(float(ql.effective_loss(model, loss, theta, temperature=0.1)), 6)  # 0.625 + 0.069315
    0.694315
    """
    return np.asarray(loss(model.predictor(theta))) + implicit_bias(model, theta, temperature)
