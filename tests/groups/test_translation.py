import numpy as np

from quotientlearn.groups import Translation


def test_translation_generator_is_constant_and_balance_centres():
    action = Translation(4)
    theta = np.random.default_rng(0).standard_normal((3, 4))
    np.testing.assert_array_equal(action.generators(theta), np.ones((3, 1, 4)))
    np.testing.assert_allclose(action.act(np.full((3, 1), 2.0), theta), theta + 2.0)
    np.testing.assert_allclose(action.balance(theta).sum(-1), 0.0, atol=1e-15)
    np.testing.assert_allclose(action.gram(theta), 4.0)
