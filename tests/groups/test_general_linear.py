import numpy as np
import pytest

from quotientlearn.groups import FactorPairGL
from quotientlearn.groups.general_linear import symmetric_basis
from quotientlearn.spaces import ParameterSpace


def test_group_exponential_matches_scipy():
    from scipy.linalg import expm

    space = ParameterSpace({"P": (4, 3), "Q": (3, 2)})
    a = np.random.default_rng(0).standard_normal((4, 3, 3)) * 2.0
    np.testing.assert_allclose(FactorPairGL(space, "P", "Q").exp(a.reshape(4, 9)), expm(a),
                               rtol=1e-12, atol=1e-12)


def test_symmetric_basis_is_orthonormal_and_symmetric():
    basis = symmetric_basis(3)
    assert basis.shape == (9, 6)
    np.testing.assert_allclose(basis.T @ basis, np.eye(6), atol=1e-15)
    mats = basis.T.reshape(6, 3, 3)
    np.testing.assert_allclose(mats, np.swapaxes(mats, 1, 2))


@pytest.mark.parametrize("transposed", [False, True])
def test_act_preserves_product_and_balance_reaches_slice(transposed):
    blocks = {"P": (4, 2), "Q": (3, 2) if transposed else (2, 3)}
    space = ParameterSpace(blocks)
    action = FactorPairGL(space, "P", "Q", second_transposed=transposed)
    rng = np.random.default_rng(1)
    theta = rng.standard_normal((5, space.dim))
    group = np.eye(2) + 0.3 * rng.standard_normal((5, 2, 2))

    def product(th):
        first, second = action.factors(th)
        return first @ second

    np.testing.assert_allclose(product(action.act(group, theta)), product(theta), atol=1e-12)
    balanced = action.balance(theta)
    np.testing.assert_allclose(product(balanced), product(theta), atol=1e-12)
    first_gram, second_gram = action.factor_grams(balanced)
    np.testing.assert_allclose(first_gram, second_gram, atol=1e-12)


def test_mismatched_inner_dimension_is_refused():
    space = ParameterSpace({"P": (4, 2), "Q": (3, 3)})
    with pytest.raises(ValueError, match="inner dimension"):
        FactorPairGL(space, "P", "Q")


def _factor_model(m, n, r):
    from quotientlearn.models import MatrixFactorization

    return MatrixFactorization(m, n, r)


def test_balance_is_the_symmetric_positive_transform():
    """Away from degenerate orbits the balanced point is (P A, A^-1 Q) with A SPD, as documented."""
    model = _factor_model(5, 4, 3)
    theta = np.random.default_rng(2).standard_normal((50, model.dim))
    first, _ = model.action.factors(theta)
    new_first, _ = model.action.factors(model.gauge.project(theta))
    transform = np.linalg.pinv(first) @ new_first
    np.testing.assert_allclose(transform, np.swapaxes(transform, -1, -2), atol=1e-12)
    assert np.min(np.linalg.eigvalsh(transform)) > 0


@pytest.mark.parametrize("case", ["zeros", "one factor zero", "rank-one factors", "repeated column",
                                  "orthogonal null spaces"])
def test_rank_deficient_factors_balance_without_linalg_errors(case):
    """Issue 10: rank >= 3 factorisations raised LinAlgError as soon as a factor lost rank."""
    model = _factor_model(3, 3, 3)
    rng = np.random.default_rng(3)
    first, second = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    if case == "zeros":
        first[:], second[:] = 0.0, 0.0
    elif case == "one factor zero":
        first[:] = 0.0
    elif case == "rank-one factors":
        first = np.outer(first[:, 0], [1.0, -2.0, 0.5])
        second = np.outer([0.3, 1.0, 2.0], second[0])
    elif case == "repeated column":
        first[:, 2] = first[:, 0]
    else:  # P spans e1, Q's rows span e2: the product is zero, the slice only a limit
        first = np.outer(first[:, 0], [1.0, 0.0, 0.0])
        second = np.outer([0.0, 1.0, 0.0], second[0])
    theta = model.space.join(P=first, Q=second)
    balanced = model.gauge.project(theta)
    assert np.all(np.isfinite(balanced))
    np.testing.assert_allclose(model.predictor(balanced), first @ second, atol=1e-13)
    new_first, new_second = model.action.factors(balanced)
    np.testing.assert_allclose(new_first.T @ new_first, new_second @ new_second.T, atol=1e-13)


def test_a_rank_one_factor_at_1e20_keeps_the_predictor():
    """Issue 10: an entry of the predictor went from -7e20 to +2.5e21 after balancing."""
    model = _factor_model(3, 3, 2)
    rng = np.random.default_rng(4)
    first = 1e20 * np.outer(rng.standard_normal(3), [1.0, 2.0])
    second = rng.standard_normal((2, 3))
    balanced = model.gauge.project(model.space.join(P=first, Q=second))
    np.testing.assert_allclose(model.predictor(balanced), first @ second, rtol=1e-13)


@pytest.mark.parametrize("exponents", [(-150, 150), (-300, 0), (200, -250), (-150, -150)])
def test_extreme_scales_keep_the_predictor(exponents):
    model = _factor_model(4, 3, 2)
    rng = np.random.default_rng(5)
    first = rng.standard_normal((4, 2)) * 10.0 ** exponents[0]
    second = rng.standard_normal((2, 3)) * 10.0 ** exponents[1]
    balanced = model.gauge.project(model.space.join(P=first, Q=second))
    np.testing.assert_allclose(model.predictor(balanced), first @ second, rtol=1e-12)
    new_first, new_second = model.action.factors(balanced)
    scale = np.sum(new_first**2)
    np.testing.assert_allclose(new_first.T @ new_first / scale, new_second @ new_second.T / scale,
                               atol=1e-13)


def test_wide_head_attention_balances_and_lifts():
    """d_head > d_emb: the product has rank d_emb < r; the lift pads with zero columns."""
    from quotientlearn.models import Attention

    model = Attention(2, 3, "gl")
    theta = np.random.default_rng(6).standard_normal((4, model.dim))
    beta = model.predictor(theta)
    np.testing.assert_allclose(model.predictor(model.gauge.project(theta)), beta, atol=1e-13)
    np.testing.assert_allclose(model.predictor(model.balanced(beta)), beta, atol=1e-13)


def test_log_det_gram_scales_instead_of_overflowing():
    model = _factor_model(3, 2, 2)
    theta = np.random.default_rng(7).standard_normal(model.dim)
    value = model.gauge.log_det_constraint_gram(theta)
    # G_C is quadratic in theta: log det G_C(c theta) = log det G_C(theta) + 3 * 2 log c.
    np.testing.assert_allclose(model.gauge.log_det_constraint_gram(1e200 * theta),
                               value + 6 * np.log(1e200), rtol=1e-12)


def test_the_two_routes_give_the_same_balanced_point_where_both_apply():
    """The cheap SPD route for well-conditioned points, the SVD route for the rest: same A."""
    from quotientlearn.groups.general_linear import _balance_by_svd, _balance_well_conditioned

    model = _factor_model(5, 4, 3)
    first, second = model.action.factors(np.random.default_rng(8).standard_normal((40, model.dim)))
    fast_first, fast_second, done = _balance_well_conditioned(first, second)
    assert np.all(done)
    svd_first, svd_second = _balance_by_svd(first, second, 3)
    np.testing.assert_allclose(fast_first, svd_first, atol=1e-11)
    np.testing.assert_allclose(fast_second, svd_second, atol=1e-11)
    # near rank deficiency, and magnitudes beyond 1e50, are left to the SVD route
    first[0, :, 0] = first[0, :, 1] * (1 + 1e-9)
    first[1] *= 1e60
    assert not np.any(_balance_well_conditioned(first, second)[2][:2])
