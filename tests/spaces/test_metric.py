"""A user's metric on R^D: the derivative routes of ``d_l g_ij`` (closed form, central, forward)."""

import autograd.numpy as anp
import numpy as np
import pytest
from geomstats.geometry.euclidean import Euclidean
from geomstats.geometry.riemannian_metric import RiemannianMetric

import quotientlearn as ql
from quotientlearn.spaces import MetricEuclidean, as_space


class Diagonal(RiemannianMetric):
    """``g = diag(1 + x_i^2 + x_{i+1}^2)`` (indices mod D): derivatives off the diagonal of ``d_l g_ii``."""

    def metric_matrix(self, base_point=None):
        entries = 1.0 + base_point**2 + anp.roll(base_point, -1, axis=-1) ** 2
        return entries[..., :, None] * anp.eye(base_point.shape[-1])


class DiagonalWithDerivative(Diagonal):
    def inner_product_derivative_matrix(self, base_point=None):
        dim = base_point.shape[-1]
        eye = np.eye(dim)
        # d_k g_ii = 2 x_i delta_ik + 2 x_{i+1} delta_{i+1,k}, at [..., i, i, k]
        rows = 2.0 * (base_point[..., :, None] * eye + np.roll(base_point, -1, axis=-1)[..., :, None]
                      * np.roll(eye, 1, axis=-1))  # [..., i, k]
        return rows[..., :, None, :] * eye[:, :, None]


class Dense(RiemannianMetric):
    """``g = I + x x^T`` (positive definite, every entry depends on the point)."""

    def metric_matrix(self, base_point=None):
        return np.eye(base_point.shape[-1]) + base_point[..., :, None] * base_point[..., None, :]


class DenseWithDerivative(Dense):
    def inner_product_derivative_matrix(self, base_point=None):
        eye = np.eye(base_point.shape[-1])
        # d_k (x_i x_j) = delta_ik x_j + x_i delta_jk, at [..., i, j, k]
        return (eye[:, None, :] * base_point[..., None, :, None]
                + base_point[..., :, None, None] * eye[None, :, :])


class WrongLayout(Dense):
    def inner_product_derivative_matrix(self, base_point=None):
        return 2.0 * DenseWithDerivative.inner_product_derivative_matrix(self, base_point)


def space(metric, dim=4, **options):
    euclidean = Euclidean(dim)
    euclidean.equip_with_metric(metric)
    return MetricEuclidean(euclidean, **options) if options else as_space(euclidean)


def relative_error(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


@pytest.mark.parametrize("plain,closed", [(Diagonal, DiagonalWithDerivative), (Dense, DenseWithDerivative)])
def test_a_closed_form_derivative_is_used_and_agrees_with_the_differences(plain, closed):
    supplied, differences = space(closed), space(plain)
    assert supplied.metric_derivatives == "inner_product_derivative_matrix"
    assert differences.metric_derivatives == "central differences"
    assert supplied.diagonal == differences.diagonal == (plain is Diagonal)
    rng = np.random.default_rng(3)
    point = rng.standard_normal((7, 4))
    factor = rng.standard_normal((7, 4, 4))
    covariance = factor @ np.swapaxes(factor, -1, -2)
    a, b = rng.standard_normal((2, 7, 4))
    # central differences are accurate to ~1e-10 relative: the closed form must agree to 1e-8
    assert relative_error(supplied.metric_derivative(point), differences.metric_derivative(point)) < 1e-8
    assert relative_error(supplied.christoffels(point), differences.christoffels(point)) < 1e-8
    assert relative_error(supplied.acceleration_trace(covariance, point),
                          differences.acceleration_trace(covariance, point)) < 1e-8
    assert relative_error(supplied.geodesic_acceleration(a, b, point),
                          differences.geodesic_acceleration(a, b, point)) < 1e-8


@pytest.mark.parametrize("metric", [Diagonal, Dense])
def test_forward_differences_agree_with_central_ones_to_their_accuracy(metric):
    forward = space(metric, derivative="forward differences")
    central = space(metric, derivative="central differences")
    assert forward.metric_derivatives == "forward differences"
    point = np.random.default_rng(4).standard_normal((50, 4))
    error = relative_error(forward.retraction_correction(forward.cometric(point), point),
                           central.retraction_correction(central.cometric(point), point))
    assert 1e-12 < error < 1e-6  # different schemes (so not the same numbers), both accurate


def test_simulation_with_the_closed_form_derivative_matches_the_differences():
    def loss(beta):
        return 0.5 * anp.sum(beta**2, axis=-1)

    runs = [ql.simulate(ql.models.Custom(predictor=lambda x: x, space=space(metric)), loss, 0.5,
                        gauge_fixing=False, dt=1e-2, n_steps=50, n_particles=200, seed=1,
                        init=np.full(4, 0.3), progress=False).theta
            for metric in (DiagonalWithDerivative, Diagonal)]
    # the same noise draws; the drifts differ by the differences' ~1e-10
    np.testing.assert_allclose(runs[0], runs[1], rtol=0, atol=1e-7)
    assert np.std(runs[0]) > 0.1


def test_a_derivative_that_disagrees_with_the_metric_is_refused():
    with pytest.raises(ValueError, match=r"check: metric derivative.*\[\.\.\., i, j, k\]") as error:
        space(WrongLayout)
    assert "max |difference| = " in str(error.value)


def test_asking_for_a_derivative_the_metric_does_not_have_is_refused():
    with pytest.raises(ValueError, match="autodiff default"):
        space(Dense, derivative="metric")
    with pytest.raises(ValueError, match="derivative must be one of"):
        space(Dense, derivative="exact")
