"""Every closed-form space against geomstats itself and against the generic geomstats route."""

import autograd.numpy as anp
import geomstats.backend as gs
import numpy as np
import pytest
from geomstats.geometry.euclidean import Euclidean
from geomstats.geometry.hypersphere import Hypersphere
from geomstats.geometry.poincare_ball import PoincareBall
from geomstats.geometry.product_manifold import ProductManifold
from geomstats.geometry.riemannian_metric import RiemannianMetric
from geomstats.geometry.spd_matrices import SPDMatrices
from geomstats.geometry.special_orthogonal import SpecialOrthogonal
from geomstats.geometry.stiefel import Stiefel

from quotientlearn.spaces import (
    GeomstatsSpace,
    MetricEuclidean,
    ParameterSpace,
    PoincareBallSpace,
    ProductSpace,
    RotationSpace,
    SPDSpace,
    SphereSpace,
    StiefelSpace,
    as_space,
)

MANIFOLDS = {
    "sphere": (lambda: Hypersphere(2), SphereSpace),
    "sphere-4": (lambda: Hypersphere(4), SphereSpace),
    "SO(3)": (lambda: SpecialOrthogonal(3), RotationSpace),
    "SO(4)": (lambda: SpecialOrthogonal(4), RotationSpace),
    "Stiefel(4,2)": (lambda: Stiefel(4, 2), StiefelSpace),
    "SPD(3)": (lambda: SPDMatrices(3), SPDSpace),
    "Poincare(3)": (lambda: PoincareBall(3), PoincareBallSpace),
    "S2 x SPD(2)": (lambda: ProductManifold([Hypersphere(2), SPDMatrices(2)]), ProductSpace),
    "S2 x S2": (lambda: ProductManifold([Hypersphere(2), Hypersphere(2)]), ProductSpace),
}


@pytest.fixture(params=list(MANIFOLDS), ids=list(MANIFOLDS))
def case(request):
    make, expected = MANIFOLDS[request.param]
    manifold = make()
    space = as_space(manifold)
    assert type(space) is expected
    rng = np.random.default_rng(7)
    point = space.sample((4,), rng)
    tangent_a = space.to_tangent(rng.standard_normal(point.shape), point)
    tangent_b = space.to_tangent(rng.standard_normal(point.shape), point)
    return manifold, space, as_space(manifold, generic=True), point, tangent_a, tangent_b


def test_samples_on_the_manifold_and_geomstats_agrees(case):
    manifold, space, _, point, a, _ = case
    assert np.max(space.membership_residual(point)) < 1e-12
    assert np.all(manifold.belongs(point, atol=1e-10))
    assert np.all(manifold.is_tangent(a, point, atol=1e-10))


def test_projection_and_metric_against_geomstats(case):
    manifold, space, _, point, a, b = case
    raw = np.random.default_rng(1).standard_normal(point.shape)
    expected = np.stack([manifold.to_tangent(raw[i], point[i]) for i in range(len(point))])
    np.testing.assert_allclose(space.to_tangent(raw, point), expected, atol=1e-12)
    np.testing.assert_allclose(space.inner_product(a, b, point),
                               manifold.metric.inner_product(a, b, point), rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(space.exp(0.4 * a, point), manifold.metric.exp(0.4 * a, point),
                               atol=1e-11)


def test_index_gymnastics(case):
    _, space, _, point, a, b = case
    covector = np.random.default_rng(2).standard_normal(point.shape)
    raised = space.raise_index(covector, point)
    # g(K w, u) = <w, u> for tangent u, and K w is tangent
    np.testing.assert_allclose(space.inner_product(raised, b, point),
                               np.sum(space.flatten(covector * b), axis=-1), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(space.to_tangent(raised, point), raised, atol=1e-12)
    np.testing.assert_allclose(np.sum(space.flatten(space.lower_index(a, point) * b), axis=-1),
                               space.inner_product(a, b, point), rtol=1e-10, atol=1e-12)
    cometric = space.cometric(point)
    np.testing.assert_allclose(np.einsum("...ij,...j->...i", cometric, space.flatten(covector)),
                               space.flatten(raised), atol=1e-12)
    basis = space.tangent_basis(point)
    assert basis.shape == point.shape[:1] + (space.point_size, space.dim)
    np.testing.assert_allclose(np.swapaxes(basis, -1, -2) @ basis, np.broadcast_to(
        np.eye(space.dim), (len(point), space.dim, space.dim)), atol=1e-12)


def test_closed_forms_against_the_generic_geomstats_route(case):
    _, space, generic, point, a, b = case
    np.testing.assert_allclose(space.cometric(point), generic.cometric(point), atol=1e-11)
    np.testing.assert_allclose(space.lower_index(a, point), generic.lower_index(a, point), atol=1e-10)
    # the generic acceleration is a central difference of geomstats' exp (accuracy ~1e-6)
    scale = 1.0 + np.max(np.abs(space.geodesic_acceleration(a, b, point)))
    np.testing.assert_allclose(space.geodesic_acceleration(a, b, point),
                               generic.geodesic_acceleration(a, b, point), atol=1e-5 * scale)
    np.testing.assert_allclose(space.laplacian_drift(point), generic.laplacian_drift(point),
                               atol=3e-5 * (1.0 + np.max(np.abs(space.laplacian_drift(point)))))
    np.testing.assert_allclose(space.laplacian_drift(point),
                               space.acceleration_trace(space.cometric(point), point), atol=1e-12)


def test_retraction_agrees_with_exp_to_second_order(case):
    _, space, _, point, a, _ = case
    errors = [np.max(np.abs(space.retraction(t * a, point) - space.exp(t * a, point)))
              for t in (2e-2, 1e-2)]
    # third order: halving t divides the gap by ~8 (exactly 0 where the retraction is exp)
    assert errors[1] <= errors[0] / 6 + 1e-15


def test_noise_is_orthonormal_in_the_metric(case):
    _, space, _, point, _, _ = case
    x = point[0]
    n = 100_000
    samples = space.flatten(space.random_normal_tangent(np.broadcast_to(x, (n,) + x.shape).copy(),
                                                        np.random.default_rng(3)))
    covariance = samples.T @ samples / n
    cometric = space.cometric(x)
    # Monte Carlo: entries have standard error ~ sqrt(2 / n) K_ii ~ 0.0045 K_ii; 6 sigma
    assert np.max(np.abs(covariance - cometric)) < 6 * np.sqrt(2 / n) * np.max(np.diag(cometric))


def test_steps_stay_on_the_manifold(case):
    _, space, _, point, _, _ = case
    rng = np.random.default_rng(4)
    for step in (space.exp, space.retraction):
        moved = point
        for _ in range(300):  # a random walk of 300 steps of length ~0.2 sqrt(dim)
            moved = step(0.2 * space.random_normal_tangent(moved, rng), moved)
        assert np.max(space.membership_residual(moved)) < 1e-10


def test_euclidean_with_its_own_metric_is_the_flat_space():
    space = as_space(Euclidean(3))
    assert isinstance(space, ParameterSpace) and space.is_flat
    product = as_space(ProductManifold([Euclidean(2), Euclidean(1)]))
    assert isinstance(product, ParameterSpace) and product.shape == (3,)


class PoincareAsUserMetric(RiemannianMetric):
    """The Poincaré metric written by a user with geomstats' numpy backend (not traceable)."""

    def metric_matrix(self, base_point=None):
        factor = 2 / (1 - gs.sum(base_point**2, axis=-1))
        return gs.einsum("...,ij->...ij", factor**2, gs.eye(base_point.shape[-1]))


class PoincareAutogradMetric(RiemannianMetric):
    """The same metric written with autograd.numpy (traceable)."""

    def metric_matrix(self, base_point=None):
        factor = 2 / (1 - anp.sum(base_point**2, axis=-1))
        return (factor**2)[..., None, None] * anp.eye(base_point.shape[-1])


# Christoffel symbols come from central differences of metric_matrix (relative error ~1e-10, growing
# with the conformal factor near the boundary); ``derivatives`` is the route of the cometric's
# derivative in the Itô route.
@pytest.mark.parametrize("metric,derivatives,tol", [
    (PoincareAsUserMetric, "central differences", 1e-7), (PoincareAutogradMetric, "autograd", 1e-7)])
def test_a_user_metric_on_euclidean_space_matches_the_closed_form(metric, derivatives, tol):
    euclidean = Euclidean(3)
    euclidean.equip_with_metric(metric)
    space = as_space(euclidean)
    assert isinstance(space, MetricEuclidean) and space.derivatives == derivatives
    assert space.is_chart and not space.retraction_is_second_order
    ball = as_space(PoincareBall(3))
    rng = np.random.default_rng(0)
    point = ball.sample((5,), rng)
    a, b = rng.standard_normal((2,) + point.shape)
    np.testing.assert_allclose(space.cometric(point), ball.cometric(point), rtol=1e-12)
    np.testing.assert_allclose(space.inner_product(a, b, point), ball.inner_product(a, b, point),
                               rtol=1e-12)
    accel = ball.geodesic_acceleration(a, b, point)
    np.testing.assert_allclose(space.geodesic_acceleration(a, b, point), accel,
                               atol=tol * (1 + np.max(np.abs(accel))))
    # a coordinate step misses the whole Itô drift: the correction of Brownian noise is a(K)
    np.testing.assert_allclose(space.retraction_correction(space.cometric(point), point),
                               ball.laplacian_drift(point), atol=tol * 10)



def test_a_diagonal_metrics_ito_drift_equals_the_dense_contraction():
    # the diagonal route sums only the nonzero d_l g_ii; it must equal the dense Christoffel contraction
    # -Gamma^k_ij C^ij for any symmetric C (off-diagonal entries included)
    euclidean = Euclidean(4)
    euclidean.equip_with_metric(PoincareAutogradMetric)
    space = as_space(euclidean)
    assert space.diagonal
    rng = np.random.default_rng(2)
    point = 0.4 * rng.uniform(-1.0, 1.0, (6, 4))
    factor = rng.standard_normal((6, 4, 4))
    covariance = factor @ np.swapaxes(factor, -1, -2)
    dense = -np.einsum("...kij,...ij->...k", space.christoffels(point), covariance)
    np.testing.assert_allclose(space.acceleration_trace(covariance, point), dense,
                               atol=1e-12 * np.max(np.abs(dense)))

def test_the_generic_route_wraps_any_geomstats_manifold():
    space = as_space(Hypersphere(2), generic=True)
    assert isinstance(space, GeomstatsSpace)
    point = space.sample((3,), 0)
    assert np.max(np.abs(np.linalg.norm(point, axis=-1) - 1)) < 1e-12
    assert space.name() == "Hypersphere(dim=2, shape=(3,))"
