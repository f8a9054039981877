import numpy as np
import pytest

from quotientlearn.groups import FactorPairGL
from quotientlearn.groups.general_linear import _expm, symmetric_basis
from quotientlearn.spaces import ParameterSpace


def test_expm_matches_scipy():
    from scipy.linalg import expm

    a = np.random.default_rng(0).standard_normal((4, 3, 3)) * 2.0
    np.testing.assert_allclose(_expm(a), expm(a), rtol=1e-12, atol=1e-12)


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
