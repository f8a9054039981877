"""Gaussian smoothing: Dawson's closed form against quadrature, targets' closed forms against Monte Carlo."""

import numpy as np
import pytest
from autograd import elementwise_grad
from scipy.integrate import quad
from scipy.stats import norm, ortho_group

from quotientlearn.design import make_target
from quotientlearn.design.smoothing import (
    gaussian_reciprocal,
    smoothed_log_abs_gradient,
    stein_gradient,
)


@pytest.mark.parametrize("x", [-7.0, -1.3, -0.2, 0.0, 0.05, 0.9, 2.5, 12.0])
def test_gaussian_reciprocal_is_the_principal_value(x):
    # PV int phi(g) / (g - (-x)) dg, by QUADPACK's Cauchy weight on [-40, 40] (the tails are 1e-300).
    principal_value = quad(norm.pdf, -40.0, 40.0, weight="cauchy", wvar=-x, limit=400)[0]
    assert gaussian_reciprocal(x) == pytest.approx(principal_value, abs=1e-10)


def test_gaussian_reciprocal_derivatives_by_autograd():
    x = np.linspace(-6, 6, 25)
    h = 1e-5
    numeric = (gaussian_reciprocal(x + h) - gaussian_reciprocal(x - h)) / (2 * h)
    np.testing.assert_allclose(elementwise_grad(gaussian_reciprocal)(x), numeric, atol=1e-8)
    first = elementwise_grad(gaussian_reciprocal)
    numeric2 = (first(x + h) - first(x - h)) / (2 * h)
    np.testing.assert_allclose(elementwise_grad(first)(x), numeric2, atol=1e-6)


def test_smoothed_log_abs_gradient_limits():
    x = np.array([-3.0, 0.4, 5.0])
    np.testing.assert_array_equal(smoothed_log_abs_gradient(x, 0.0), 1.0 / x)
    # Far from the singularity E[1 / (x + sigma g)] = 1/x + sigma^2 / x^3 + O(sigma^4 / x^5).
    np.testing.assert_allclose(smoothed_log_abs_gradient(x, 1e-3), 1 / x + 1e-6 / x**3, rtol=1e-9)
    # Bounded by 0.77 / sigma.
    grid = np.linspace(-10, 10, 2001)
    assert np.max(np.abs(smoothed_log_abs_gradient(grid, 0.5))) == pytest.approx(0.765 / 0.5,
                                                                               rel=1e-3)


@pytest.mark.parametrize("spec", ["sparse", "tv", "basis", "weighted"])
def test_target_closed_form_smoothing_is_the_gaussian_average(spec):
    d = 4
    targets = {"sparse": ("sparse",), "tv": ("tv",),
               "basis": (("sparse_in_basis", ortho_group.rvs(d, random_state=3) + 0.3 * np.eye(d)),),
               "weighted": (("weighted_sparse", [0.3, 1.0, 1.5, 2.5]),)}
    target = make_target(*targets[spec], dim=d)
    rng = np.random.default_rng(7)
    beta, sigma = rng.standard_normal((3, d)), 0.6
    # 200,000 antithetic pairs: standard error below 0.01 for these points and sigma.
    estimate = stein_gradient(target.regulariser, beta, sigma, 200_000, rng)
    np.testing.assert_allclose(target.smoothing(beta, sigma), estimate, atol=0.05)
    np.testing.assert_allclose(target.smoothing(beta, 0.0), target.gradient(beta), rtol=1e-12)
    # Power: the exact gradient is not the smoothed one.
    assert np.max(np.abs(target.gradient(beta) - estimate)) > 0.2


def test_targets_without_closed_form_smoothing():
    assert make_target("low_rank", shape=(3, 2), rank=1).smoothing is None
    assert make_target(("group_sparse", [2, 1])).smoothing is None


def test_tv_target_values_are_the_log_jumps():
    beta = np.random.default_rng(8).standard_normal((6, 5))
    jumps = np.diff(beta, axis=-1, prepend=0.0)
    np.testing.assert_allclose(make_target("tv", dim=5)(beta), np.log(np.abs(jumps)).sum(-1),
                               rtol=1e-13)


def test_stein_gradient_chunks_by_the_memory_budget():
    rng_points = np.random.default_rng(9).standard_normal((40, 3))

    def function(points):
        return np.sum(np.sin(points), axis=-1)

    one = stein_gradient(function, rng_points, 0.3, 2000, np.random.default_rng(1))
    # 8 * 2000 * 3 * 8 bytes per point: a 1.2 MB budget forces chunks of 3 points.
    many = stein_gradient(function, rng_points, 0.3, 2000, np.random.default_rng(1),
                          memory_budget=1_200_000)
    assert one.shape == many.shape == (40, 3)
    # Same estimator, different draws per chunk: both within the Monte Carlo error (standard error
    # about sqrt(3 / 2000) = 0.04 per entry) of E grad f(b + sigma z) = cos(b) exp(-sigma^2 / 2).
    exact = np.cos(rng_points) * np.exp(-0.3**2 / 2)
    for estimate in (one, many):
        assert np.sqrt(np.mean((estimate - exact) ** 2)) < 0.1
