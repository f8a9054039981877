import math

import numpy as np
import pytest

from quotientlearn.groups.magnitudes import (
    geometric_mean_abs,
    product_is_safe,
    rescaling_root,
    scaled_norm,
)


@pytest.mark.parametrize("scale", [1e-300, 1e-160, 1.0, 1e160, 1e300])
def test_scaled_norm_matches_an_overflow_free_reference(scale):
    values = np.random.default_rng(0).standard_normal((4, 5)) * scale
    expected = [math.hypot(*row) for row in values]
    np.testing.assert_allclose(scaled_norm(values), expected, rtol=1e-14)
    assert scaled_norm(np.zeros(3)) == 0.0


def test_scaled_norm_over_several_axes():
    values = np.random.default_rng(1).standard_normal((2, 3, 4))
    np.testing.assert_allclose(scaled_norm(values, axis=(-2, -1)),
                               np.linalg.norm(values.reshape(2, -1), axis=-1), rtol=1e-14)


@pytest.mark.parametrize("row", [[2.0, 8.0], [1e-300, 1e300, 1.0], [5e-324, 1e308], [1e-200] * 4,
                                 [1.0, -3.0, 0.0]])
def test_geometric_mean_never_forms_the_product(row):
    row = np.array(row)
    with np.errstate(divide="ignore"):
        expected = math.exp(np.mean(np.log(np.abs(row))))
    assert geometric_mean_abs(row) == pytest.approx(expected, rel=1e-13, abs=0)


def test_geometric_mean_fast_path_agrees_with_the_exponent_route():
    values = np.random.default_rng(2).standard_normal((100, 3))
    assert product_is_safe(np.abs(values), 3)
    fast = geometric_mean_abs(values)
    mantissa, exponent = np.frexp(np.abs(values))
    slow = np.prod(mantissa, -1) ** (1 / 3) * 2.0 ** (exponent.sum(-1) / 3)
    np.testing.assert_allclose(fast, slow, rtol=1e-14)
    assert not product_is_safe(np.array([1e-200, 1.0]), 2)
    assert product_is_safe(np.array([0.0, 1e100]), 2)


def test_rescaling_root_balances_beyond_the_float_range():
    up, down = np.array([5e-324, 1e-100, 1.0]), np.array([1e308, 1e100, 1.0])
    root = rescaling_root(up, down)
    assert np.all(np.isfinite(root)) and np.all(root > 0)
    balanced_up = up * root * root
    balanced_down = down / root / root
    np.testing.assert_allclose(balanced_up[1:], balanced_down[1:], rtol=1e-14)
    assert balanced_up[0] == pytest.approx(math.sqrt(5e-324 * 1e308), rel=0.3)  # a subnormal input
