import numpy as np
import pytest
from geomstats.geometry.fiber_bundle import FiberBundle

from quotientlearn import models


@pytest.fixture
def model():
    return models.MatrixFactorization(3, 3, 2)


def test_bundle_is_a_geomstats_fiber_bundle(model):
    assert isinstance(model.bundle, FiberBundle)
    theta = model.sample((2,), 0)
    np.testing.assert_allclose(model.bundle.riemannian_submersion(theta), model.predictor(theta))
    beta = model.predictor(theta)
    np.testing.assert_allclose(model.bundle.riemannian_submersion(model.bundle.lift(beta)), beta,
                               atol=1e-12)


def test_horizontal_and_vertical_classification(model):
    theta = model.sample((3,), 1)
    vector = np.random.default_rng(2).standard_normal(theta.shape)
    horizontal = model.bundle.horizontal_projection(vector, theta)
    vertical = model.bundle.vertical_projection(vector, theta)
    assert np.all(model.bundle.is_horizontal(horizontal, theta))
    assert np.all(model.bundle.is_vertical(vertical, theta))
    assert not np.any(model.bundle.is_horizontal(vector, theta))
    # vertical vectors are invisible to the predictor
    np.testing.assert_allclose(model.bundle.tangent_riemannian_submersion(vertical, theta), 0,
                               atol=1e-12)


def test_horizontal_lift_inverts_the_differential_and_is_horizontal(model):
    theta = model.gauge.project(model.sample((2,), 3))
    # rank-2 3x3 matrices form a proper submanifold: take a target tangent to it
    target = model.bundle.tangent_riemannian_submersion(
        np.random.default_rng(4).standard_normal((2, model.dim)), theta)
    lift = model.bundle.horizontal_lift(target, fiber_point=theta)
    np.testing.assert_allclose(model.bundle.tangent_riemannian_submersion(lift, theta), target,
                               atol=1e-10)
    assert np.all(model.bundle.is_horizontal(lift, theta))


def test_quotient_metric_gives_horizontal_vectors_their_length(model):
    theta = model.sample((), 5)
    vector = np.random.default_rng(6).standard_normal(model.dim)
    horizontal = model.bundle.horizontal_projection(vector, theta)
    image = model.bundle.tangent_riemannian_submersion(horizontal, theta).ravel()
    metric = model.bundle.quotient_metric_matrix(theta)
    assert image @ metric @ image == pytest.approx(horizontal @ horizontal, rel=1e-10)


def test_projection_shapes_are_checked(model):
    with pytest.raises(ValueError, match="tangent_vec must have shape"):
        model.bundle.horizontal_projection(np.zeros(3), np.zeros(model.dim))
