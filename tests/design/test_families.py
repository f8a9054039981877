"""Families: their traceable Gram log-determinants against the generic route and the built model."""

import numpy as np
import pytest
from autograd import grad
from hypothesis import given, settings
from hypothesis import strategies as st

import quotientlearn as ql
from quotientlearn.design import Family, Mixing, OrthogonalBasis, SparsityStrength

FAMILIES = {
    "orthogonal-stiefel": lambda: OrthogonalBasis(4),
    "orthogonal-so": lambda: OrthogonalBasis(4, group="special_orthogonal"),
    "strength": lambda: SparsityStrength(4),
    "mixing-lower": lambda: Mixing(4),
    "mixing-general": lambda: Mixing(4, "general"),
}


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


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_power_rescaling_balance_keeps_the_predictor_and_reaches_the_slice(seed):
    rng = np.random.default_rng(seed)
    exponents = np.exp(rng.uniform(-1.5, 1.5, 3))
    model = SparsityStrength(3).model(exponents)
    theta = rng.standard_normal((5, 6)) * np.exp(rng.uniform(-2, 2, (5, 6)))
    balanced = model.gauge.project(theta)
    np.testing.assert_allclose(model.predictor(balanced), model.predictor(theta), rtol=1e-10,
                               atol=1e-12)
    assert np.all(model.gauge.contains(balanced, atol=1e-9))
