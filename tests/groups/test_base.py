"""The generic (autograd) action against hand-derived generators, and the generic moment map."""

import autograd.numpy as anp
import numpy as np
import pytest

from quotientlearn.groups import GroupAction, PairRescaling, autograd_generators


def rotation_action():
    """SO(2) rotating (x, y): nonlinear in the group element, linear in theta, antisymmetric."""

    def act(angle, theta):
        c, s = anp.cos(angle[..., 0]), anp.sin(angle[..., 0])
        x, y = theta[..., 0], theta[..., 1]
        return anp.stack([c * x - s * y, s * x + c * y], axis=-1)

    return GroupAction(dim=1, space_dim=2, act=act)


def test_autograd_generators_match_hand_derivation():
    theta = np.random.default_rng(0).standard_normal((4, 2))
    xi = rotation_action().generators(theta)
    np.testing.assert_allclose(xi[..., 0, :], np.stack([-theta[:, 1], theta[:, 0]], -1), atol=1e-14)


def test_affine_structure_is_probed_and_nonlinear_actions_are_recognised():
    structure = rotation_action().affine_structure()
    np.testing.assert_allclose(structure.matrices[0], [[0, -1], [1, 0]], atol=1e-14)
    np.testing.assert_allclose(structure.offsets, 0, atol=1e-14)

    def act(c, theta):  # theta_0 -> theta_0 + c theta_0^2 / ... : generator quadratic in theta
        return anp.stack([theta[..., 0] + c[..., 0] * theta[..., 1] ** 2, theta[..., 1]], -1)

    assert GroupAction(dim=1, space_dim=2, act=act).affine_structure() is None
    with pytest.raises(ValueError, match="not an affine action"):
        GroupAction(dim=1, space_dim=2, act=act).moment_map(np.ones(2))


def test_rotation_moment_map_is_empty_so_rotations_stay_residual():
    # An antisymmetric generator has an identically zero moment map: no gauge constraint.
    assert rotation_action().moment_map(np.ones((3, 2))).shape == (3, 0)


def test_generic_moment_map_matches_closed_form_up_to_rotation_of_the_basis():
    d = 3
    generic = GroupAction(
        dim=d, space_dim=2 * d,
        act=lambda c, th: anp.concatenate([th[..., :d] * anp.exp(c), th[..., d:] * anp.exp(-c)], -1),
    )
    closed = PairRescaling(2 * d, [[i] for i in range(d)], [[d + i] for i in range(d)])
    theta = np.random.default_rng(1).standard_normal((5, 2 * d))
    np.testing.assert_allclose(
        np.linalg.norm(generic.moment_map(theta), axis=-1),
        np.linalg.norm(closed.moment_map(theta), axis=-1), rtol=1e-12)
    np.testing.assert_allclose(autograd_generators(closed, theta), closed.generators(theta),
                               atol=1e-14)


def test_bad_theta_shape_is_refused():
    with pytest.raises(ValueError, match=r"\(\.\.\., 2\)"):
        rotation_action().generators(np.zeros(3))
