"""The closed forms of docs/theory.md section 4, checked against the numbers the issue states."""

import numpy as np
import pytest

import quotientlearn as ql
from quotientlearn import models
from quotientlearn.groups.base import log_det_psd
from quotientlearn.groups.general_linear import symmetric_basis


def balanced_factor_pair(singular_values, m=4, n=3, seed=0):
    rng = np.random.default_rng(seed)
    r = len(singular_values)
    left = np.linalg.qr(rng.standard_normal((m, r)))[0]
    right = np.linalg.qr(rng.standard_normal((n, r)))[0]
    model = models.MatrixFactorization(m, n, r)
    return model, model.balanced(left @ np.diag(singular_values) @ right.T)


def test_matrix_factorization_symmetric_gram_eigenvalues():
    model, theta = balanced_factor_pair([4.0, 2.0, 0.5])
    basis = symmetric_basis(3)
    constraint_gram = model.gauge.constraint_gram(theta)
    np.testing.assert_allclose(constraint_gram, basis.T @ model.bundle.gram(theta) @ basis,
                               atol=1e-12)
    np.testing.assert_allclose(np.linalg.eigvalsh(constraint_gram), [1, 2.5, 4, 4.5, 6, 8],
                               rtol=1e-12)


def test_matrix_factorization_full_gl_gram_eigenvalues():
    s = np.array([4.0, 2.0, 0.5])
    model, theta = balanced_factor_pair(s)
    expected = np.sort((s[:, None] + s[None, :]).ravel())
    np.testing.assert_allclose(np.linalg.eigvalsh(model.bundle.gram(theta)), expected, rtol=1e-12)


def test_matrix_factorization_log_det_for_15_5():
    model, theta = balanced_factor_pair([15.0, 5.0], m=20, n=20)
    value = model.gauge.log_det_constraint_gram(theta) - 2 * np.log(2)
    assert value == pytest.approx(7.3132, abs=5e-5)
    assert np.log(15) + np.log(5) == pytest.approx(4.3175, abs=5e-5)
    assert np.log(20) == pytest.approx(2.9957, abs=5e-5)
    # and the closed form in predictor coordinates agrees with the gauge's slogdet
    beta = model.predictor(theta)
    assert model.log_det_gram_on_slice(beta) == pytest.approx(value + 2 * np.log(2), rel=1e-12)


def test_hadamard_gram_and_bias_on_slice():
    beta = np.array([[0.3, -2.0, 1.5], [1e-3, 4.0, -0.7]])
    model = models.Hadamard(3)
    theta = model.balanced(beta)
    np.testing.assert_allclose(model.bundle.gram(theta), 2 * np.abs(beta)[..., None] * np.eye(3),
                               rtol=1e-14)
    temperature = 0.1
    np.testing.assert_allclose(ql.implicit_bias(model, theta, temperature),
                               temperature / 2 * np.log(2 * np.abs(beta)).sum(-1), rtol=1e-13)
    # in predictor coordinates the slice volume adds another factor: exp(-L/T) / |beta| in all
    np.testing.assert_allclose(
        ql.implicit_bias_of_predictor(model, beta, temperature, coordinates="predictor"),
        temperature * np.log(2 * np.abs(beta)).sum(-1), rtol=1e-12)


def test_translation_gram_constant_and_bias_independent_of_theta():
    model = models.Translation(5)
    theta = model.sample((20,), 0) * 3.0
    np.testing.assert_allclose(model.bundle.gram(theta), 5.0)
    bias = ql.implicit_bias(model, theta, 0.3)
    np.testing.assert_allclose(bias, bias[0], rtol=0, atol=0)
    assert bias[0] == pytest.approx(0.15 * np.log(5))


def test_diagonal_net_slice_log_det():
    model = models.DiagonalNet(2, depth=4)
    beta = np.array([0.5, -3.0])
    expected = 2 * np.log(4) + 1.5 * np.log(np.abs(beta)).sum()
    assert model.log_det_gram_on_slice(beta) == pytest.approx(expected, rel=1e-13)
    assert model.gauge.log_det_constraint_gram(model.balanced(beta)) == pytest.approx(expected)


def test_relu_and_attention_column_bias():
    relu = models.ShallowReLU(3, 2)
    theta = relu.gauge.project(relu.sample((), 0))
    blocks = relu.space.split(theta)
    expected = np.log(2 * np.abs(blocks["v"]) * np.linalg.norm(blocks["W"], axis=-1)).sum()
    assert relu.gauge.log_det_constraint_gram(theta) == pytest.approx(expected, rel=1e-12)

    attention = models.Attention(4, 2, "columns")
    theta = attention.gauge.project(attention.sample((), 1))
    blocks = attention.space.split(theta)
    expected = np.log(2 * np.linalg.norm(blocks["W_Q"], axis=0)
                      * np.linalg.norm(blocks["W_K"], axis=0)).sum()
    assert attention.gauge.log_det_constraint_gram(theta) == pytest.approx(expected, rel=1e-12)


def test_group_sparse_and_basis_models():
    model = models.GroupSparse([2, 3])
    beta = np.array([0.0, 0.5, 1.0, -2.0, 0.3])
    norms = [0.5, np.linalg.norm([1.0, -2.0, 0.3])]
    assert model.log_det_gram_on_slice(beta) == pytest.approx(np.log(2 * np.array(norms)).sum())

    tv = models.CumsumHadamard(4)
    step = np.array([1.0, 1.0, -0.5, -0.5])
    np.testing.assert_allclose(tv.coefficients(step), [1.0, 0.0, -1.5, 0.0])
    np.testing.assert_allclose(tv.predictor(tv.balanced(step)), step, atol=1e-15)


def test_scale_invariant_bias_vanishes_on_the_sphere():
    model = models.ScaleInvariant(4)
    theta = model.gauge.project(model.sample((6,), 0))
    np.testing.assert_allclose(ql.implicit_bias(model, theta, 1.0), 0.0, atol=1e-14)


def test_generic_log_det_matches_slogdet_for_torus_closed_forms():
    model = models.DiagonalNet(3, depth=3)
    theta = model.sample((4,), 2)
    np.testing.assert_allclose(model.gauge.log_det_constraint_gram(theta),
                               log_det_psd(model.bundle.gram(theta)), rtol=1e-12)


@pytest.mark.parametrize("name", list(models.zoo()))
def test_closed_form_pullback_matches_autograd(name):
    # The drift of every simulation step uses predictor_and_pullback; the zoo's closed forms must
    # equal autograd's reverse mode (the base-class default) to rounding.
    model = models.zoo()[name]
    rng = np.random.default_rng(0)
    theta = model.sample((5,), rng)
    cotangent = rng.standard_normal((5,) + model.beta_shape)
    beta, pullback = model.predictor_and_pullback(theta)
    reference_beta, reference_pullback = models.Model.predictor_and_pullback(model, theta)
    np.testing.assert_allclose(beta, reference_beta, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(pullback(cotangent), reference_pullback(cotangent), rtol=1e-12,
                               atol=1e-12)
