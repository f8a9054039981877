import warnings

import numpy as np
import pytest

import quotientlearn as ql
from quotientlearn import models


def test_degenerate_orbit_gives_minus_inf_with_warning_never_nan():
    model = models.Hadamard(2)
    theta = np.array([[0.0, 1.0, 0.0, 2.0], [1.0, 1.0, 1.0, 1.0]])  # first pair u = v = 0
    with pytest.warns(ql.DegenerateOrbitWarning, match="degenerate"):
        bias = ql.implicit_bias(model, theta, 0.1)
    assert bias[0] == -np.inf and np.isfinite(bias[1])
    with pytest.warns(ql.DegenerateOrbitWarning):
        generic = ql.implicit_bias(models.MatrixFactorization(2, 2, 2), np.zeros(8), 0.1)
    assert generic == -np.inf


def test_no_warning_on_regular_points():
    model = models.Hadamard(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ql.implicit_bias(model, model.sample((3,), 0), 0.1)


def test_non_finite_theta_and_bad_temperature_raise():
    model = models.Hadamard(2)
    with pytest.raises(ValueError, match="non-finite"):
        ql.implicit_bias(model, np.array([np.nan, 1.0, 1.0, 1.0]), 0.1)
    for bad in (-0.1, np.inf, np.nan):
        with pytest.raises(ValueError, match="temperature"):
            ql.implicit_bias(model, np.ones(4), bad)
    with pytest.raises(ValueError, match="coordinates"):
        ql.implicit_bias_of_predictor(model, np.ones(2), 0.1, coordinates="quotient")


def test_effective_loss_adds_the_bias():
    model = models.Hadamard(2)
    theta = model.sample((4,), 0)
    loss = lambda beta: 0.5 * ((beta - 1.0) ** 2).sum(-1)  # noqa: E731
    np.testing.assert_allclose(
        ql.effective_loss(model, loss, theta, 0.2),
        loss(model.predictor(theta)) + 0.1 * np.log(model.gauge.constraint_gram(theta)
                                                     .diagonal(axis1=-2, axis2=-1)).sum(-1))


def test_slice_volume_matches_hadamard_closed_form():
    # slice u = v = sqrt|beta|: |d theta / d beta|^2 = 1 / (2 |beta|) per coordinate
    model = models.Hadamard(3)
    beta = np.array([0.2, -1.0, 3.0])
    assert ql.log_slice_volume(model, beta) == pytest.approx(0.5 * np.log(1 / (2 * np.abs(beta))).sum())


def test_slice_volume_of_rank_deficient_predictor_uses_pseudo_determinant():
    model = models.MatrixFactorization(3, 3, 1)   # rank-1 matrices: a 5-dim manifold in R^9
    beta = np.outer([1.0, 2.0, -1.0], [0.5, 0.0, 1.0])
    assert np.isfinite(ql.log_slice_volume(model, beta))
