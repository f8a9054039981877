"""The sparse, block-structured affine path against the dense formulas it replaces."""

import autograd.numpy as anp
import numpy as np
import pytest

import quotientlearn as ql
from quotientlearn.groups import GroupAction
from quotientlearn.groups.affine import AffineStructure, _expm, probe_affine_structure
from quotientlearn.groups.base import autograd_generators
from quotientlearn.numerics import jacobian


def hadamard_action(d):
    return GroupAction(dim=d, space_dim=2 * d, act=lambda c, th: anp.concatenate(
        [th[..., :d] * anp.exp(c), th[..., d:] * anp.exp(-c)], -1))


def factorization_action(m, n, rank):
    zoo = ql.models.MatrixFactorization(m, n, rank)
    return GroupAction(dim=rank * rank, space_dim=zoo.dim, act=zoo.action.act_algebra)


def affine_plane_action():
    """Scaling of (x, y) about the point (1, 2) and a translation of z: offsets and a 2 x 2 block."""

    def act(c, th):
        x, y, z = th[..., 0], th[..., 1], th[..., 2]
        scale = anp.exp(c[..., 0])
        return anp.stack([1.0 + scale * (x - 1.0), 2.0 + scale * (y - 2.0) + 0.0 * c[..., 1],
                          z + c[..., 1]], -1)

    return GroupAction(dim=2, space_dim=3, act=act)


def mixing_action():
    """A 2 x 2 symmetric (hyperbolic) block mixing coordinates 0 and 1, repeated on (2, 3)."""

    def act(c, th):
        ch, sh = anp.cosh(c[..., 0]), anp.sinh(c[..., 0])
        blocks = [th[..., 0:2], th[..., 2:4]]
        out = [anp.stack([ch * b[..., 0] + sh * b[..., 1], sh * b[..., 0] + ch * b[..., 1]], -1)
               for b in blocks]
        return anp.concatenate(out + [th[..., 4:]], -1)

    return GroupAction(dim=1, space_dim=5, act=act)


ACTIONS = {
    "hadamard": lambda: hadamard_action(4),
    "factorization r2": lambda: factorization_action(3, 4, 2),
    "factorization r3": lambda: factorization_action(4, 3, 3),
    "affine plane": affine_plane_action,
    "mixing": mixing_action,
    "layers": lambda: GroupAction(dim=9, space_dim=12, act=ql.groups.LayerRescaling(3, 4).act_algebra),
}


def dense_structure(action, rng=0):
    """The dense probe the sparse one replaced: one forward-mode column per coordinate."""
    base = np.random.default_rng(rng).standard_normal(action.space_dim)
    columns = jacobian(lambda point: autograd_generators(action, point), base, mode="forward")
    return columns, autograd_generators(action, base) - columns @ base


@pytest.fixture(params=sorted(ACTIONS))
def action(request):
    return ACTIONS[request.param]()


def test_sparse_probe_matches_the_dense_structure(action):
    matrices, offsets = dense_structure(action)
    structure = action.affine_structure()
    np.testing.assert_allclose(structure.matrices, matrices, atol=1e-12)
    np.testing.assert_allclose(structure.offsets, offsets, atol=1e-12)


def test_block_evaluations_match_dense_formulas(action):
    structure = action.affine_structure()
    matrices, offsets = structure.matrices, structure.offsets
    theta = np.random.default_rng(3).standard_normal((5, action.space_dim))
    xi = np.einsum("aij,nj->nai", matrices, theta) + offsets
    np.testing.assert_allclose(action.generators(theta), xi, atol=1e-12)
    np.testing.assert_allclose(action.gram(theta), xi @ np.swapaxes(xi, -1, -2), atol=1e-11)
    np.testing.assert_allclose(action.generators(theta), autograd_generators(action, theta), atol=1e-12)
    # moment map and its Jacobian in the structure's orthonormal basis
    sym = 0.5 * (matrices + np.swapaxes(matrices, -1, -2))
    basis = structure.moment_basis
    np.testing.assert_allclose(basis @ basis.T, np.eye(len(basis)), atol=1e-12)
    chi = np.einsum("ca,na->nc", basis,
                    0.5 * np.einsum("aij,ni,nj->na", sym, theta, theta) + theta @ offsets.T)
    np.testing.assert_allclose(action.moment_map(theta), chi, atol=1e-12)
    grads = np.einsum("ca,nai->nci", basis, np.einsum("aij,nj->nai", sym, theta) + offsets)
    np.testing.assert_allclose(action.moment_map_jacobian(theta), grads, atol=1e-12)
    np.testing.assert_allclose(action.log_det_moment_gram(theta),
                               np.linalg.slogdet(grads @ np.swapaxes(grads, -1, -2))[1], atol=1e-10)
    # the traced route (autograd through the moment map) agrees with the block route
    np.testing.assert_allclose(jacobian(action.moment_map, theta), grads, atol=1e-12)
    vector = np.random.default_rng(4).standard_normal(theta.shape)
    gram = xi @ np.swapaxes(xi, -1, -2)
    coefficients = np.linalg.lstsq(gram[0], xi[0] @ vector[0], rcond=None)[0]
    np.testing.assert_allclose(action.vertical_projection(vector, theta)[0], coefficients @ xi[0],
                               atol=1e-10)


def test_balance_reaches_the_slice_along_the_orbit(action):
    theta = np.random.default_rng(5).standard_normal((6, action.space_dim))
    balanced = action.balance(theta)
    scale = 1.0 + np.sum(balanced**2, axis=-1, keepdims=True)
    assert np.max(np.abs(action.moment_map(balanced)) / scale) < 1e-12
    # the same orbit: a Newton projection through the user's act reaches the same point
    reference = ql.groups.newton_onto_level_set(action, theta, action.moment_map,
                                                action.moment_map_jacobian)
    np.testing.assert_allclose(balanced, reference, atol=1e-10)


def test_hadamard_decomposes_into_one_batched_type():
    structure = hadamard_action(50).affine_structure()
    (component,) = structure.components
    assert component.n == 50 and component.k == 1 and len(component.blocks) == 2
    assert all(block.diagonal and block.size == 1 for block in component.blocks)
    # GL(r) on a factor pair: one component, rows of P and columns of Q as two repeated block types
    (gl,) = factorization_action(5, 4, 3).affine_structure().components
    assert gl.n == 1 and gl.k == 9 and gl.c == 6
    assert sorted((b.size, b.copies) for b in gl.blocks) == [(3, 4), (3, 5)]


def test_custom_models_balance_like_the_zoo():
    for zoo, action in [(ql.models.Hadamard(7), hadamard_action(7)),
                        (ql.models.MatrixFactorization(4, 3, 2), factorization_action(4, 3, 2))]:
        theta = zoo.sample((8,), 1)
        custom = ql.models.Custom(predictor=zoo.traceable_predictor, action=action, dim=zoo.dim)
        projected = custom.gauge.project(theta)
        np.testing.assert_allclose(custom.predictor(projected), zoo.predictor(theta), atol=1e-12)
        np.testing.assert_allclose(custom.gauge.log_det_constraint_gram(projected),
                                   zoo.gauge.log_det_constraint_gram(zoo.gauge.project(theta)),
                                   atol=1e-9)


def test_non_affine_actions_fall_back_to_autograd():
    def act(c, theta):
        return anp.stack([theta[..., 0] + c[..., 0] * theta[..., 1] ** 2, theta[..., 1]], -1)

    action = GroupAction(dim=1, space_dim=2, act=act)
    assert probe_affine_structure(action) is None
    theta = np.array([[0.3, 2.0]])
    np.testing.assert_allclose(action.generators(theta), [[[4.0, 0.0]]])


def test_degenerate_orbits_do_not_break_the_batch():
    action = hadamard_action(2)
    theta = np.array([[1.0, 0.0, 2.0, 0.0], [0.5, 1.5, 2.0, -1.0]])
    with pytest.warns(ql.DegenerateOrbitWarning):
        log_det = action.log_det_moment_gram(theta)
    assert log_det[0] == -np.inf and np.isfinite(log_det[1])
    vertical = action.vertical_projection(np.ones_like(theta), theta)
    assert np.all(np.isfinite(vertical))


def test_structure_from_dense_round_trips():
    rng = np.random.default_rng(0)
    matrices = rng.standard_normal((2, 3, 3)) * (rng.random((2, 3, 3)) < 0.5)
    offsets = rng.standard_normal((2, 3))
    structure = AffineStructure.from_dense(matrices, offsets)
    np.testing.assert_array_equal(structure.matrices, matrices)
    np.testing.assert_array_equal(structure.offsets, offsets)


@pytest.mark.parametrize("scale", [1e-9, 0.3, 1.0, 4.0])
def test_batched_expm_matches_scipy(scale):
    import scipy.linalg

    stack = scale * np.random.default_rng(1).standard_normal((20, 4, 4))
    expected = np.stack([scipy.linalg.expm(m) for m in stack])
    np.testing.assert_allclose(_expm(stack), expected, rtol=1e-12, atol=1e-14 * np.abs(expected).max())
