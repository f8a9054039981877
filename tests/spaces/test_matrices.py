"""The batch-last kernels of the matrix manifolds against numpy.linalg / scipy, and their steps."""

import numpy as np
import pytest
import scipy.linalg
from geomstats.geometry.hypersphere import Hypersphere
from geomstats.geometry.poincare_ball import PoincareBall
from geomstats.geometry.spd_matrices import SPDMatrices
from geomstats.geometry.special_orthogonal import SpecialOrthogonal
from geomstats.geometry.stiefel import Stiefel

from quotientlearn.spaces import as_space
from quotientlearn.spaces.matrices import (
    _batch_first,
    _batch_last,
    _cholesky_last,
    _forward_substitution,
    _polar,
)


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_cholesky_and_triangular_solve_match_numpy_linalg(n):
    spd = as_space(SPDMatrices(n))
    rng = np.random.default_rng(n)
    point = spd.sample((7, 2), rng)
    rhs = rng.standard_normal((7, 2, n, 4))
    factor = _batch_first(_cholesky_last(_batch_last(point)), (7, 2))
    np.testing.assert_allclose(factor, np.linalg.cholesky(point), rtol=0, atol=1e-13)
    solution = _batch_first(_forward_substitution(_batch_last(factor), _batch_last(rhs)), (7, 2))
    np.testing.assert_allclose(solution, np.linalg.solve(factor, rhs), rtol=0, atol=1e-12)


def test_cholesky_of_a_matrix_that_is_not_positive_definite_is_nan():
    indefinite = np.array([[[1.0, 2.0], [2.0, 1.0]]])
    with np.errstate(invalid="ignore"):
        assert np.isnan(_cholesky_last(_batch_last(indefinite))).any()


@pytest.mark.parametrize("scale", [0.0, 1e-6, 1e-3, 0.1, 0.4, 3.0])  # 3.0: the SVD takes over
def test_polar_factor_matches_the_svd(scale):
    rng = np.random.default_rng(0)
    stiefel = as_space(Stiefel(6, 3))
    point = stiefel.sample((50,), rng)
    perturbed = point + scale * rng.standard_normal(point.shape)
    left, _, right = np.linalg.svd(perturbed, full_matrices=False)
    polar = _polar(perturbed)
    np.testing.assert_allclose(polar, left @ right, rtol=0, atol=1e-13)
    assert np.max(stiefel.membership_residual(polar)) < 1e-14


def test_spd_retraction_equals_the_solve_formula_and_stays_positive_definite():
    spd = as_space(SPDMatrices(3))
    rng = np.random.default_rng(1)
    point = spd.sample((40,), rng)
    for scale in (1e-3, 0.3, 3.0):
        velocity = scale * spd.random_normal_tangent(point, rng)
        expected = point + velocity + 0.5 * velocity @ np.linalg.solve(point, velocity)
        expected = 0.5 * (expected + np.swapaxes(expected, -1, -2))
        moved = spd.retraction(velocity, point)
        np.testing.assert_allclose(moved, expected, rtol=1e-12, atol=1e-12 * np.max(np.abs(expected)))
        assert np.array_equal(moved, np.swapaxes(moved, -1, -2))
        assert np.min(np.linalg.eigvalsh(moved)) > 0


def test_spd_noise_is_the_cholesky_image_of_a_symmetric_gaussian():
    # L S L^T with S = sym(G): the entries drawn are S's upper triangle, N(0, 1) on the diagonal and
    # N(0, 1/2) off it, row-major
    spd = as_space(SPDMatrices(3))
    point = spd.sample((5,), 2)
    noise = spd.random_normal_tangent(point, np.random.default_rng(3))
    entries = np.random.default_rng(3).standard_normal((5, 6))
    rows, columns = np.triu_indices(3)
    symmetric = np.zeros((5, 3, 3))
    symmetric[:, rows, columns] = entries * np.where(rows == columns, 1.0, np.sqrt(0.5))
    symmetric[:, columns, rows] = symmetric[:, rows, columns]
    factor = np.linalg.cholesky(point)
    np.testing.assert_allclose(noise, factor @ symmetric @ np.swapaxes(factor, -1, -2), atol=1e-14)


def test_stiefel_retraction_is_second_order_against_scipy_expm():
    # the canonical geodesic is expm(W) U with W = A U^T - U A^T, A = (I - U U^T / 2) v (scipy's expm,
    # independent of the space's own exp); the retraction's gap shrinks like t^3
    stiefel = as_space(Stiefel(6, 3))
    rng = np.random.default_rng(4)
    point = stiefel.sample((3,), rng)
    tangent = stiefel.random_normal_tangent(point, rng)
    gaps = []
    for t in (0.04, 0.02, 0.01):
        velocity = t * tangent
        geodesic = []
        for u, v in zip(point, velocity, strict=True):
            a = v - 0.5 * u @ (u.T @ v)
            geodesic.append(scipy.linalg.expm(a @ u.T - u @ a.T) @ u)
        np.testing.assert_allclose(stiefel.exp(velocity, point), geodesic, atol=1e-14)
        moved = stiefel.retraction(velocity, point)
        assert np.max(stiefel.membership_residual(moved)) < 1e-14
        gaps.append(np.max(np.abs(moved - np.array(geodesic))))
    assert 6 < gaps[0] / gaps[1] < 10 and 6 < gaps[1] / gaps[2] < 10, gaps


@pytest.mark.parametrize("manifold", [SPDMatrices(3), Stiefel(6, 3), SpecialOrthogonal(3),
                                      Hypersphere(2), PoincareBall(3)],
                         ids=["SPD(3)", "Stiefel(6,3)", "SO(3)", "S2", "Poincare(3)"])
def test_noise_drawn_in_pieces_equals_noise_drawn_at_once(manifold):
    # the engine steps independent particles chunk by chunk; one draw per call, row-major, makes the
    # chunks' tangent noise the same numbers as one batch's
    space = as_space(manifold)
    point = space.sample((9,), 5)
    whole = space.random_normal_tangent(point, np.random.default_rng(6))
    rng = np.random.default_rng(6)
    pieces = np.concatenate([space.random_normal_tangent(point[:4], rng),
                             space.random_normal_tangent(point[4:], rng)])
    np.testing.assert_array_equal(whole, pieces)


def test_stiefel_noise_takes_its_vertical_part_from_the_skew_part_of_u_t_h():
    # noise = H - U (sym(A) + (1 - sqrt 2) skew(A)), A = U^T H, from n k draws a point: its normal part is
    # (I - U U^T) H and its vertical part U^T noise = sqrt(2) skew(A) (N(0, 1) entries, independent of
    # the normal part; the law is checked by test_noise_is_orthonormal_in_the_metric). Fails with the
    # factor 1 (vertical variance 1/2) or with extra draws for Omega (the stream moves on).
    stiefel = as_space(Stiefel(6, 3))
    point = stiefel.sample((5,), 7)
    rng = np.random.default_rng(8)
    noise = stiefel.random_normal_tangent(point, rng)
    reference = np.random.default_rng(8)
    h = reference.standard_normal((5, 6, 3))
    a = np.swapaxes(point, -1, -2) @ h
    skew = 0.5 * (a - np.swapaxes(a, -1, -2))
    expected = (h - point @ (np.swapaxes(point, -1, -2) @ h)) + point @ (np.sqrt(2.0) * skew)
    np.testing.assert_allclose(noise, expected, atol=1e-14)
    assert rng.standard_normal() == reference.standard_normal()


@pytest.mark.parametrize("manifold", [SPDMatrices(3), Stiefel(6, 3)], ids=["SPD(3)", "Stiefel(6,3)"])
def test_step_layout_is_the_same_points_that_the_step_methods_take_without_a_copy(manifold):
    space = as_space(manifold)
    point = space.sample((7,), 9)
    laid_out = space.step_layout(point)
    np.testing.assert_array_equal(laid_out, point)
    assert np.shares_memory(_batch_last(laid_out), laid_out)  # no second copy
    assert not np.shares_memory(_batch_last(point), point)
    tangent = space.to_tangent(np.random.default_rng(10).standard_normal(point.shape), point)
    for method in (space.retraction, space.raise_index):
        np.testing.assert_array_equal(method(tangent, laid_out), method(tangent, point))
    np.testing.assert_array_equal(space.random_normal_tangent(laid_out, np.random.default_rng(11)),
                                  space.random_normal_tangent(point, np.random.default_rng(11)))
