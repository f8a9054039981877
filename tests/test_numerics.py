"""The one autodiff helper: Jacobians in both modes and Hessians, against closed forms."""

import sys

import autograd.numpy as anp
import numpy as np
import pytest

from quotientlearn import numerics
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


@pytest.mark.parametrize("bit_generator", [np.random.PCG64, np.random.Philox, np.random.SFC64,
                                           np.random.MT19937])
def test_compiled_draws_are_numpys_draws(monkeypatch, bit_generator):
    # numba's Generator runs numpy's ziggurat on the same bit generator: the same numbers, and the
    # generator left in the same state (the next draw agrees too).
    pytest.importorskip("numba")
    monkeypatch.setattr(numerics, "COMPILED_DRAWS", True)
    ours, reference = np.random.Generator(bit_generator(5)), np.random.Generator(bit_generator(5))
    for shape in ((1000, 3), (0, 2), (7,), (5000,)):  # compiled from 2048 draws, numpy's below
        np.testing.assert_array_equal(numerics.standard_normal(ours, shape),
                                      reference.standard_normal(shape))
    assert ours.integers(2**62) == reference.integers(2**62)


@pytest.mark.parametrize("noise", ["isotropic", "horizontal"])
def test_simulate_is_bit_identical_with_compiled_draws(monkeypatch, noise):
    pytest.importorskip("numba")
    import autograd.numpy as anp

    import quotientlearn as ql

    runs = []
    for compiled in (False, True):
        monkeypatch.setattr(numerics, "COMPILED_DRAWS", compiled)
        runs.append(ql.simulate(ql.models.Hadamard(30), lambda b: 0.5 * anp.sum((b - 1.0) ** 2, axis=-1),
                                0.1, noise=noise, n_steps=20, n_particles=3000, seed=1,
                                progress=False).theta)
    np.testing.assert_array_equal(runs[0], runs[1])


def test_compiled_draws_without_numba_say_how_to_install_it(monkeypatch):
    monkeypatch.setattr(numerics, "COMPILED_DRAWS", True)
    monkeypatch.setattr(numerics, "_COMPILED_FILL", [])
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba fails
    with pytest.raises(ImportError, match=r"quotientlearn\[fast\]"):
        numerics.standard_normal(np.random.default_rng(0), (4096,))
