import numpy as np
import pytest
from geomstats.geometry.euclidean import Euclidean

from quotientlearn.spaces import ParameterSpace


def test_blocks_split_and_join_roundtrip():
    space = ParameterSpace({"P": (3, 2), "Q": (2, 4)})
    assert space.dim == 14
    assert isinstance(space, Euclidean)
    theta = np.random.default_rng(0).standard_normal((5, 7, 14))
    blocks = space.split(theta)
    assert blocks["P"].shape == (5, 7, 3, 2) and blocks["Q"].shape == (5, 7, 2, 4)
    np.testing.assert_array_equal(space.join(blocks), theta)
    np.testing.assert_array_equal(blocks["P"][1, 2], theta[1, 2, :6].reshape(3, 2))


def test_join_broadcasts_batch_axes():
    space = ParameterSpace({"u": (2,), "v": (2,)})
    theta = space.join(u=np.ones((3, 2)), v=np.zeros(2))
    assert theta.shape == (3, 4)


def test_wrong_shape_names_expected_shape():
    space = ParameterSpace({"u": (3,), "v": (3,)})
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 6\); got shape \(4, 5\)"):
        space.validate(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="missing blocks"):
        space.join(u=np.zeros(3))
    with pytest.raises(ValueError, match="block 'v' must have shape"):
        space.join(u=np.zeros(3), v=np.zeros(2))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_theta_raises(bad):
    space = ParameterSpace({"theta": (3,)})
    theta = np.zeros((2, 3))
    theta[1, 2] = bad
    with pytest.raises(ValueError, match="1 non-finite"):
        space.validate(theta)


def test_sample_is_seeded():
    space = ParameterSpace({"theta": (4,)})
    np.testing.assert_array_equal(space.sample((3,), 7), space.sample((3,), 7))
    assert space.sample((2, 3), 0).shape == (2, 3, 4)
