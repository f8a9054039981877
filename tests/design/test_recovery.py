"""Recovery criteria and the classical reference."""

import numpy as np
from scipy.stats import ortho_group

from quotientlearn.design import fastica_basis, row_direction_error, signed_permutation_error


def test_signed_permutation_error():
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    signed = np.diag([1.0, -1.0, 1.0, -1.0])[[2, 0, 3, 1]]
    assert signed_permutation_error(signed @ basis, basis) < 1e-12
    assert signed_permutation_error(np.eye(4), basis) > 0.1
    assert signed_permutation_error(np.ones((4, 4)) / 2, np.eye(4)) == np.inf


def test_row_direction_error_ignores_row_scales():
    rows = np.random.default_rng(1).standard_normal((5, 5))
    scaled = np.diag([2.0, -0.5, 3.0, 1.0, -7.0]) @ rows[[4, 2, 0, 1, 3]]
    assert row_direction_error(scaled, rows) < 1e-12
    assert row_direction_error(rows + 0.3 * np.eye(5)[::-1], rows) > 1e-3


def test_fastica_recovers_a_basis_from_sparse_samples_to_its_sampling_error():
    d, n = 8, 20_000
    basis = ortho_group.rvs(d, random_state=4)
    rng = np.random.default_rng(5)
    coefficients = rng.standard_normal((n, d)) * (rng.random((n, d)) < 0.2) / np.sqrt(0.2)
    fitted = fastica_basis(coefficients @ basis, seed=0)
    np.testing.assert_allclose(fitted @ fitted.T, np.eye(d), atol=1e-8)
    error = signed_permutation_error(fitted, basis)
    # The sampling error of a fourth-moment estimate from 2e4 samples: ~1e-2, not 1e-12.
    assert 1e-4 < error < 0.05
    # Power: Gaussian samples carry no basis.
    gaussian = fastica_basis(rng.standard_normal((n, d)), seed=0)
    assert signed_permutation_error(gaussian, basis) > 0.1
