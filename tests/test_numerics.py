"""The one autodiff helper: Jacobians in both modes and Hessians, against closed forms."""

import autograd.numpy as anp
import numpy as np
import pytest

from quotientlearn.numerics import DegenerateOrbitWarning, jacobian, jacobian_and_hessian, log_det_psd


def cubic(x):
    """(n, 3) -> (n, 2): [x0^2 x1, x2^3 + x0 x2]."""
    return anp.stack([x[..., 0] ** 2 * x[..., 1], x[..., 2] ** 3 + x[..., 0] * x[..., 2]], axis=-1)


def exact(x):
    x0, x1, x2 = x[..., 0], x[..., 1], x[..., 2]
    zero = np.zeros_like(x0)
    jac = np.stack([np.stack([2 * x0 * x1, x0**2, zero], -1),
                    np.stack([x2, zero, 3 * x2**2 + x0], -1)], -2)
    hess = np.zeros(x.shape[:-1] + (2, 3, 3))
    hess[..., 0, 0, 0], hess[..., 0, 0, 1], hess[..., 0, 1, 0] = 2 * x1, 2 * x0, 2 * x0
    hess[..., 1, 2, 2], hess[..., 1, 0, 2], hess[..., 1, 2, 0] = 6 * x2, 1.0, 1.0
    return jac, hess


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_jacobian_is_exact_per_row(mode):
    x = np.random.default_rng(0).standard_normal((4, 5, 3))
    np.testing.assert_allclose(jacobian(cubic, x, mode=mode), exact(x)[0], rtol=1e-14, atol=1e-14)


def test_jacobian_and_hessian_are_exact():
    x = np.random.default_rng(1).standard_normal((6, 3))
    jac, hess = jacobian_and_hessian(cubic, x)
    np.testing.assert_allclose(jac, exact(x)[0], rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(hess, exact(x)[1], rtol=1e-14, atol=1e-14)


def test_constant_fields_broadcast_over_the_batch_and_empty_inputs_work():
    x = np.ones((4, 2))
    np.testing.assert_array_equal(jacobian(lambda c: c[..., :1] + np.arange(3.0), x[:, :1],
                                           mode="forward"), np.ones((4, 3, 1)))
    assert jacobian(lambda c: np.ones((4, 3)) + 0 * anp.sum(c), np.zeros((4, 0)),
                    mode="forward").shape == (4, 3, 0)
    with pytest.raises(ValueError, match="mode must be"):
        jacobian(cubic, x, mode="sideways")


def test_singular_log_det_is_minus_inf_with_a_warning():
    with pytest.warns(DegenerateOrbitWarning, match="1 point"):
        values = log_det_psd(np.stack([np.eye(2), np.zeros((2, 2))]))
    np.testing.assert_array_equal(values, [0.0, -np.inf])
