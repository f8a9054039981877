import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quotientlearn.groups import (
    ColumnRescaling,
    DegenerateOrbitWarning,
    LayerRescaling,
    PairRescaling,
    PowerRescaling,
    Scaling,
    TorusRescaling,
)
from quotientlearn.models import PowerProduct
from quotientlearn.spaces import ParameterSpace


def test_torus_acts_by_exponent_weights():
    action = TorusRescaling([[1.0, -1.0, 0.0], [0.0, 2.0, 1.0]])
    theta = np.array([1.0, 2.0, 3.0])
    g = np.array([2.0, 3.0])
    np.testing.assert_allclose(action.act(g, theta), [2.0, 2.0 / 2 * 9, 9.0])
    np.testing.assert_allclose(action.act_algebra(np.log(g), theta), action.act(g, theta))


def test_dependent_weights_are_refused():
    with pytest.raises(ValueError, match="linearly independent"):
        TorusRescaling([[1.0, 1.0], [2.0, 2.0]])


def test_pair_rescaling_balance_keeps_products_and_equalises_norms():
    action = PairRescaling(5, [[0, 1], [2]], [[3], [4]])
    theta = np.random.default_rng(0).standard_normal((6, 5))
    balanced = action.balance(theta)
    up, down = action.orbit_norms(balanced)
    np.testing.assert_allclose(up, down, rtol=1e-13)
    np.testing.assert_allclose(balanced[:, :2] * balanced[:, 3:4], theta[:, :2] * theta[:, 3:4])
    np.testing.assert_allclose(np.diagonal(action.gram(theta), axis1=-2, axis2=-1),
                               np.stack([theta[:, :2].__pow__(2).sum(1) + theta[:, 3] ** 2,
                                         theta[:, 2] ** 2 + theta[:, 4] ** 2], -1))


def test_pair_rescaling_refuses_overlapping_groups():
    with pytest.raises(ValueError, match="disjoint"):
        PairRescaling(3, [[0, 1]], [[1]])


def test_degenerate_orbit_balances_to_the_limit_point_and_warns_with_minus_inf():
    action = PairRescaling(4, [[0], [1]], [[2], [3]])
    theta = np.array([0.0, 1.0, 2.0, 4.0])  # first pair: u = 0, a degenerate orbit
    np.testing.assert_allclose(action.balance(theta), [0.0, 2.0, 0.0, 2.0])
    with pytest.warns(DegenerateOrbitWarning):
        value = action.log_det_moment_gram(np.zeros(4))
    assert value == -np.inf


def test_column_rescaling_scales_columns():
    space = ParameterSpace({"A": (2, 3), "B": (4, 3)})
    action = ColumnRescaling(space, "A", "B")
    theta = np.random.default_rng(1).standard_normal(space.dim)
    moved = space.split(action.act(np.array([2.0, 1.0, 0.5]), theta))
    blocks = space.split(theta)
    np.testing.assert_allclose(moved["A"], blocks["A"] * [2.0, 1.0, 0.5])
    np.testing.assert_allclose(moved["B"], blocks["B"] / [2.0, 1.0, 0.5])


def test_layer_rescaling_log_det_matches_dense_gram():
    action = LayerRescaling(3, 4)
    theta = np.random.default_rng(2).standard_normal((5, 12))
    np.testing.assert_allclose(action.log_det_moment_gram(theta),
                               np.linalg.slogdet(action.gram(theta))[1], rtol=1e-12)


def test_scaling_gauge_is_the_unit_sphere():
    action = Scaling(4)
    theta = np.random.default_rng(3).standard_normal((3, 4))
    np.testing.assert_allclose(np.linalg.norm(action.balance(theta), axis=-1), 1.0)
    np.testing.assert_allclose(action.moment_map(action.balance(theta)), 0.0, atol=1e-15)


@pytest.mark.parametrize("theta,expected", [
    ([1e-100, 1e100], [1.0, 1.0]),  # gave [inf, 0]
    ([1.0, 1e-170], [1e-85, 1e-85]),  # gave [0, 0]
    ([-1e-160, 1e-160], [-1e-160, 1e-160]),
    ([1e200, -1e200], [1e200, -1e200]),
])
def test_pair_rescaling_balance_keeps_extreme_products(theta, expected):
    """Issue 10: the pair balance squared its entries and lost the product u v."""
    action = PairRescaling(2, [[0]], [[1]])
    np.testing.assert_allclose(action.balance(np.array(theta)), expected, rtol=1e-14)


def test_grouped_pair_rescaling_balances_without_overflow():
    action = PairRescaling(4, [[0, 1]], [[2, 3]])
    theta = np.array([3e200, -4e200, 1e-200, 0.0])
    balanced = action.balance(theta)
    np.testing.assert_allclose(balanced[:2] * balanced[2], theta[:2] * theta[2], rtol=1e-14)
    np.testing.assert_allclose(np.linalg.norm(balanced[:2]), np.linalg.norm(balanced[2:]), rtol=1e-14)
    assert np.isfinite(action.log_det_moment_gram(theta))


@pytest.mark.parametrize("scale", [1e-160, 1e160])
def test_layer_rescaling_balances_near_underflow_and_overflow(scale):
    action = LayerRescaling(2, 3)
    theta = np.array([1.0, -2.0, 3.0, 0.5, -0.25, 4.0]) * scale
    balanced = action.balance(theta)
    layers = balanced.reshape(3, 2)
    assert np.all(np.isfinite(balanced)) and np.all(balanced != 0)
    np.testing.assert_allclose(np.abs(layers), np.abs(layers[0]) * np.ones((3, 1)), rtol=1e-14)
    # the product (1e-480 or 1e480 times the unscaled one) is kept: compare in units of the scale
    np.testing.assert_allclose((layers / scale).prod(0), (theta / scale).reshape(3, 2).prod(0),
                               rtol=1e-13)
    assert np.isfinite(action.log_det_moment_gram(theta))


def test_scaling_balances_tiny_points_and_refuses_the_origin():
    action = Scaling(3)
    np.testing.assert_allclose(action.balance(np.array([1e-160, 0.0, -1e-160])),
                               [2**-0.5, 0.0, -(2**-0.5)], rtol=1e-15)
    with pytest.raises(ValueError, match="no direction"):
        action.balance(np.zeros(3))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_power_rescaling_balance_keeps_the_predictor_and_reaches_the_slice(seed):
    rng = np.random.default_rng(seed)
    exponents = np.exp(rng.uniform(-1.5, 1.5, 3))
    model = PowerProduct(exponents)
    theta = rng.standard_normal((5, 6)) * np.exp(rng.uniform(-2, 2, (5, 6)))
    balanced = model.gauge.project(theta)
    np.testing.assert_allclose(model.predictor(balanced), model.predictor(theta), rtol=1e-10,
                               atol=1e-12)
    assert np.all(model.gauge.contains(balanced, atol=1e-9))


def test_power_rescaling_weights_and_generators():
    exponents = np.array([0.5, 2.0])
    action = PowerRescaling(exponents)
    np.testing.assert_array_equal(action.weights, [[1, 0, -0.5, 0], [0, 1, 0, -2.0]])
    theta = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(action.generators(theta), [[1, 0, -1.5, 0], [0, 2, 0, -8]])


def test_fast_pair_balance_agrees_with_the_scale_safe_route():
    # Contiguous one-coordinate pairs take a five-pass route; it must agree with the scale-safe one
    # to a few ulps, and hand every batch holding an extreme or degenerate pair to it.
    d = 6
    action = PairRescaling(2 * d, [[i] for i in range(d)], [[d + i] for i in range(d)])
    rng = np.random.default_rng(0)
    theta = rng.standard_normal((50, 2 * d)) * np.exp(rng.uniform(-20, 20, (50, 2 * d)))
    fast = action._balance_pairs(theta)
    assert fast is not None
    # a degenerate point in the batch sends the whole batch down the scale-safe route
    slow = action.balance(np.concatenate([theta, np.zeros((1, 2 * d))]))[:-1]
    np.testing.assert_allclose(fast, slow, rtol=8 * np.finfo(float).eps, atol=0)
    extreme = np.ones((1, 2 * d))
    extreme[0, 0], extreme[0, d] = 1e-300, 1e300  # |v| / |u| overflows
    assert action._balance_pairs(extreme) is None
    np.testing.assert_allclose(action.balance(extreme)[0, [0, d]], [1.0, 1.0], rtol=1e-14)
