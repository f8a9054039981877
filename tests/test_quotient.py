"""geomstats-native quotient structure: the model space's fibre bundle, the quotient metric, alignment,
the integrability tensor."""

import autograd.numpy as anp
import numpy as np
import pytest
from geomstats.geometry.euclidean import Euclidean
from geomstats.geometry.grassmannian import Grassmannian
from geomstats.geometry.pre_shape import PreShapeSpace
from geomstats.geometry.product_manifold import ProductManifold
from scipy.optimize import minimize_scalar

import quotientlearn as ql
from quotientlearn import models
from quotientlearn.groups.orthogonal import RightOrthogonal

ZOO = models.zoo()


@pytest.mark.parametrize("name", list(ZOO))
def test_the_space_carries_the_models_bundle(name):
    model = ZOO[name]
    assert model.space.fiber_bundle is model.bundle
    assert model.space.group_action is model.action


def test_stiefel_quotient_is_the_grassmannian_with_half_its_canonical_metric():
    # a horizontal A at U has canonical norm |A|^2, its image A U^T + U A^T has |.|_F^2 = 2 |A|^2,
    # and geomstats' Grassmannian metric is tr(X^T Y): the quotient metric is half of it
    model = models.StiefelProjector(4, 2)
    quotient = model.space.equip_with_quotient()
    assert isinstance(quotient, Grassmannian) and model.space.quotient is quotient
    grassmannian = Grassmannian(4, 2)
    rng = np.random.default_rng(0)
    points = model.predictor(model.sample((2, 5), rng))
    np.testing.assert_allclose(quotient.metric.dist(points[0], points[1]),
                               grassmannian.metric.dist(points[0], points[1]) / np.sqrt(2.0), rtol=1e-8)
    tangent = grassmannian.to_tangent(rng.standard_normal((5, 4, 4)), points[0])
    np.testing.assert_allclose(quotient.metric.inner_product(tangent, tangent, points[0]),
                               0.5 * grassmannian.metric.inner_product(tangent, tangent, points[0]),
                               rtol=1e-10)
    # the logarithm: a horizontal lift at the aligned point, pushed forward
    np.testing.assert_allclose(quotient.metric.log(points[1], points[0]),
                               grassmannian.metric.log(points[1], points[0]), atol=1e-8)


def test_spd_spectrum_quotient_is_the_log_metric_on_eigenvalues():
    model = models.SPDSpectrum(3)
    quotient = model.space.equip_with_quotient()
    assert isinstance(quotient, ProductManifold)
    rng = np.random.default_rng(1)
    spectra = model.predictor(model.sample((2, 4), rng))
    tangent = rng.standard_normal((4, 3))
    # at diag(lambda) horizontal vectors are diagonal: |d lambda / lambda|^2
    np.testing.assert_allclose(quotient.metric.inner_product(tangent, tangent, spectra[0]),
                               np.sum((tangent / spectra[0]) ** 2, axis=-1), rtol=1e-10)
    # the distance of the orbits (generic Gauss-Newton alignment): that of the sorted spectra
    np.testing.assert_allclose(quotient.metric.dist(spectra[0], spectra[1]),
                               np.linalg.norm(np.log(spectra[0] / spectra[1]), axis=-1), rtol=1e-7)


def test_generic_alignment_finds_the_closest_point_of_the_fibre():
    # the torus of Hadamard(2): per coordinate pair, min over a > 0 of (a u - u0)^2 + (v / a - v0)^2
    model = models.Hadamard(2)
    rng = np.random.default_rng(2)
    point, base = np.abs(model.sample((2,), rng)) + 0.2
    aligned = model.bundle.align(point, base)
    np.testing.assert_allclose(model.predictor(aligned), model.predictor(point), rtol=1e-12)
    for i in range(2):
        u, v, u0, v0 = point[i], point[2 + i], base[i], base[2 + i]
        best = minimize_scalar(lambda c, u=u, v=v, u0=u0, v0=v0: (np.exp(c) * u - u0) ** 2
                               + (v * np.exp(-c) - v0) ** 2, bracket=(-2, 2), tol=1e-14)
        np.testing.assert_allclose(aligned[i], np.exp(best.x) * u, rtol=1e-7)


def test_procrustes_alignment_is_a_critical_point_of_the_distance():
    # at the aligned point the logarithm to the base point is horizontal (the generic optimality)
    model = models.StiefelProjector(5, 3)
    point, base = model.sample((2, 4), np.random.default_rng(5))
    aligned = model.bundle.align(point, base)
    log = model.space.metric.log(base, aligned)
    assert np.all(model.bundle.is_horizontal(model.space.to_tangent(log, aligned), aligned, atol=1e-6))


def test_flat_quotient_metric_is_read_off_on_the_balanced_slice():
    model = models.Hadamard(3)
    quotient = model.space.equip_with_quotient()
    assert isinstance(quotient, Euclidean)
    beta = np.array([0.5, -1.2, 2.0])
    tangent = np.array([0.3, 0.1, -0.4])
    expected = tangent @ model.bundle.quotient_metric_matrix(model.balanced(beta)) @ tangent
    np.testing.assert_allclose(quotient.metric.inner_product(tangent, tangent, beta), expected,
                               rtol=1e-12)
    np.testing.assert_allclose(expected, np.sum(tangent**2 / (2 * np.abs(beta))), rtol=1e-12)


def test_no_geomstats_base_is_a_clear_error():
    with pytest.raises(ValueError, match="no geomstats manifold is known"):
        models.MatrixFactorization(3, 3, 2).space.equip_with_quotient()
    with pytest.raises(ValueError, match="carries no symmetry"):
        ql.spaces.ParameterSpace({"x": (2,)}).equip_with_quotient()


def _kendall_model(k_landmarks, dim):
    """Pre-shapes (centred, unit-norm k x m matrices) with SO(m) on the right: Kendall's bundle."""
    space = PreShapeSpace(k_landmarks, dim)
    model = models.Custom(predictor=lambda x: anp.matmul(x, anp.swapaxes(x, -1, -2)), space=space,
                          action=RightOrthogonal(k_landmarks, dim))
    return space, model


def test_integrability_tensor_matches_geomstats_kendall_bundle():
    space, model = _kendall_model(4, 3)
    space.equip_with_group_action("rotations")
    space.equip_with_quotient()
    geomstats_bundle = space.fiber_bundle
    rng = np.random.default_rng(3)
    point = model.sample((), rng)
    a, b = (model.bundle.horizontal_projection(model.space.to_tangent(rng.standard_normal(point.shape),
                                                                        point), point)
            for _ in range(2))
    ours = model.bundle.integrability_tensor(a, b, point)
    theirs = geomstats_bundle.integrability_tensor(a, b, point)
    np.testing.assert_allclose(ours, theirs, atol=1e-7 * np.max(np.abs(theirs)))
    # O'Neill: A_X Y = -A_Y X for horizontal X, Y, and it is vertical
    np.testing.assert_allclose(model.bundle.integrability_tensor(b, a, point), -ours,
                               atol=1e-7 * np.max(np.abs(ours)))
    assert np.all(model.bundle.is_vertical(ours, point, atol=1e-6))


def test_integrability_tensor_of_the_non_isometric_rescaling():
    """Hadamard's torus is not an isometry, so this is no Riemannian submersion: A is not skew.

    For one pair, xi = (u, -v) and D xi = diag(1, -1); for horizontal X, Y the tensor is
    ``V D_X(P_H Y) = -xi (X_u Y_u - X_v Y_v) / (u^2 + v^2)``, zero on the balanced slice only.
    """
    model = models.Hadamard(2)
    bundle = model.bundle
    rng = np.random.default_rng(4)
    point = model.sample((), rng)
    hx, hy = (bundle.horizontal_projection(rng.standard_normal(4), point) for _ in range(2))
    u, v = point[:2], point[2:]
    coefficient = -(hx[:2] * hy[:2] - hx[2:] * hy[2:]) / (u**2 + v**2)
    expected = np.concatenate([coefficient * u, -coefficient * v])
    np.testing.assert_allclose(bundle.integrability_tensor(hx, hy, point), expected, atol=1e-8)
    assert np.max(np.abs(expected)) > 1e-2  # off the slice the tensor is not zero
    balanced = model.gauge.project(point)
    hx = bundle.horizontal_projection(rng.standard_normal(4), balanced)
    np.testing.assert_allclose(bundle.integrability_tensor(hx, hx, balanced), 0.0, atol=1e-8)
