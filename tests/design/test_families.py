"""Families: their traceable Gram log-determinants against the generic route and the built model."""

import numpy as np
import pytest
from autograd import grad
from hypothesis import given, settings
from hypothesis import strategies as st

import quotientlearn as ql
from quotientlearn.design import Family, Mixing, OrthogonalBasis, SparsityStrength
from quotientlearn.design.smoothing import stein_gradient

FAMILIES = {
    "orthogonal-stiefel": lambda: OrthogonalBasis(4),
    "orthogonal-so": lambda: OrthogonalBasis(4, group="special_orthogonal"),
    "strength": lambda: SparsityStrength(4),
    "mixing-lower": lambda: Mixing(4),
    "mixing-general": lambda: Mixing(4, "general"),
}


@pytest.mark.parametrize("name", FAMILIES)
def test_closed_form_log_det_gradient_matches_autograd(name):
    family = FAMILIES[name]()
    rng = np.random.default_rng(4)
    psi, beta = family.random_point(rng), rng.standard_normal((15, 4))
    np.testing.assert_allclose(family.log_det_gradient(psi, beta),
                               Family.log_det_gradient(family, psi, beta), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", FAMILIES)
def test_smoothed_log_det_gradient_is_the_gaussian_average(name):
    # E_z grad log det G(beta + sigma z) by Stein's identity with 200,000 antithetic pairs per point;
    # its standard error is below 0.01 here, so 0.05 is a 5-sigma bound.
    family = FAMILIES[name]()
    rng = np.random.default_rng(5)
    psi, beta, sigma = family.random_point(rng), rng.standard_normal((3, 4)), 0.7
    estimate = stein_gradient(lambda points: family.log_det_gram(psi, points), beta, sigma,
                              200_000, rng)
    closed = family.log_det_gradient(psi, beta, sigma)
    np.testing.assert_allclose(closed, estimate, atol=0.05)
    # Power: the unsmoothed gradient is far from the average at this sigma.
    assert np.max(np.abs(family.log_det_gradient(psi, beta) - estimate)) > 0.3


def test_generic_family_has_no_smoothed_gradient():
    family = FAMILIES["orthogonal-stiefel"]()
    with pytest.raises(NotImplementedError, match="objective='values'"):
        Family.log_det_gradient(family, family.random_point(0), np.ones((2, 4)), 0.5)


def test_families_reuse_their_members_closed_forms():
    # The family's slice point and Gram are the member model's, evaluated with psi traced.
    family = OrthogonalBasis(4)
    rng = np.random.default_rng(6)
    psi, beta = family.random_point(rng), rng.standard_normal((5, 4))
    np.testing.assert_array_equal(family.balanced(psi, beta), family.model(psi).balanced(beta))
    strength = SparsityStrength(4)
    exponents = strength.random_point(rng)
    np.testing.assert_allclose(strength.balanced(exponents, beta),
                               strength.model(exponents).balanced(beta), rtol=1e-14)
    np.testing.assert_allclose(strength.generators(exponents, strength.balanced(exponents, beta)),
                               strength.model(exponents).action.generators(
                                   strength.balanced(exponents, beta)), rtol=1e-14)


@pytest.mark.parametrize("name", FAMILIES)
def test_closed_form_log_det_matches_generic_route_and_model(name):
    family = FAMILIES[name]()
    rng = np.random.default_rng(1)
    psi = family.random_point(rng)
    # A random point lies on the manifold: retracting the zero vector returns it.
    np.testing.assert_allclose(family.manifold.retraction(psi, np.zeros_like(psi)), psi,
                               atol=1e-12)
    beta = rng.standard_normal((20, 4))
    closed = family.log_det_gram(psi, beta)
    generic = Family.log_det_gram(family, psi, beta)
    np.testing.assert_allclose(closed, generic, rtol=1e-11, atol=1e-11)
    # The smoothed form tends to the exact one.
    np.testing.assert_allclose(family.log_det_gram(psi, beta, 1e-9), closed, atol=1e-6)
    np.testing.assert_allclose(Family.log_det_gram(family, psi, beta, 1e-9), closed, atol=1e-6)
    model = family.model(psi)
    theta = family.balanced(psi, beta)
    np.testing.assert_allclose(model.predictor(theta), beta, atol=1e-10)
    assert np.all(model.gauge.contains(theta))
    np.testing.assert_allclose(model.gauge.log_det_constraint_gram(theta), closed, atol=1e-10)
    np.testing.assert_allclose(ql.implicit_bias_of_predictor(model, beta, 0.2),
                               family.bias(psi, beta, 0.2), atol=1e-10)


def test_strength_family_model_passes_the_geometry_checks():
    family = SparsityStrength(3)
    model = family.model(family.exponents_for_weights([0.5, 1.0, 1.6]))
    ql.testing.check_model(model, tol=1e-8).raise_if_failed()


def test_strength_family_bias_weights():
    family = SparsityStrength(3)
    weights = np.array([0.5, 1.0, 1.6])
    psi = family.exponents_for_weights(weights)
    np.testing.assert_allclose(family.weights_of_exponents(psi)[0], weights)
    rng = np.random.default_rng(2)
    beta = rng.standard_normal((30, 3))
    difference = family.log_det_gram(psi, beta) - np.sum(weights * np.log(np.abs(beta)), axis=-1)
    assert np.ptp(difference) < 1e-12
    with pytest.raises(ValueError, match=r"\(0, 2\)"):
        family.exponents_for_weights([0.5, 1.0, 2.0])


def test_log_det_is_differentiable_in_psi():
    family = OrthogonalBasis(3)
    rng = np.random.default_rng(3)
    psi, beta = family.random_point(rng), rng.standard_normal((5, 3))
    direction = rng.standard_normal((3, 3))

    def total(point):
        return np.sum(family.log_det_gram(point, beta, 0.1))

    h = 1e-6
    numeric = (total(psi + h * direction) - total(psi - h * direction)) / (2 * h)
    assert np.sum(grad(total)(psi) * direction) == pytest.approx(numeric, rel=1e-6)


def test_degenerate_orbit_gives_minus_inf():
    family = OrthogonalBasis(2)
    psi = np.eye(2)
    with np.errstate(divide="ignore"):
        values = family.log_det_gram(psi, np.array([[1.0, 0.0], [1.0, 2.0]]))
    assert values[0] == -np.inf and np.isfinite(values[1])


@pytest.mark.parametrize(("factory", "message"), [
    (lambda: OrthogonalBasis(0), "positive integer"),
    (lambda: OrthogonalBasis(3, group="unitary"), "group must be one of"),
    (lambda: Mixing(3, structure="upper"), "structure must be"),
    (lambda: SparsityStrength(-1), "positive integer"),
])
def test_bad_family_arguments(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_singular_mixing_has_no_model():
    with pytest.raises(ValueError, match="singular"):
        Mixing(3).model(np.zeros((3, 3)))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), dim=st.integers(1, 6))
def test_orthogonal_basis_bias_is_blind_to_signed_permutations(seed, dim):
    # Why basis recovery is judged up to a signed permutation: those members have the same bias.
    rng = np.random.default_rng(seed)
    family = OrthogonalBasis(dim)
    psi = family.random_point(rng)
    signed = rng.choice([-1.0, 1.0], dim)[:, None] * np.eye(dim)[rng.permutation(dim)]
    beta = rng.standard_normal((10, dim))
    np.testing.assert_allclose(family.log_det_gram(signed @ psi, beta),
                               family.log_det_gram(psi, beta), rtol=1e-12, atol=1e-12)
