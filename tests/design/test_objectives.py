"""Chunked design objectives: the same cost, gradient and Hessian whatever the chunking."""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad, hessian

from quotientlearn.design import OrthogonalBasis, make_target
from quotientlearn.design.objectives import ChunkedObjective, gradient_terms, value_terms


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    family = OrthogonalBasis(3)
    target = make_target(("sparse_in_basis", family.random_point(rng)))
    reference = rng.standard_normal((30, 3))
    return family, target, reference, family.random_point(rng), rng.standard_normal((3, 3))


@pytest.mark.parametrize("kind", ["values", "gradients"])
def test_chunking_changes_nothing_and_derivatives_are_exact(problem, kind):
    family, target, reference, psi, direction = problem
    if kind == "values":
        terms = value_terms(family, reference, target(reference), 0.2)
    else:
        terms = gradient_terms(family, reference, target.smoothing(reference, 0.4), 0.4)
    centred = kind == "values"
    whole = ChunkedObjective(terms, len(reference), 8, centred, memory_budget=10**6)
    pieces = ChunkedObjective(terms, len(reference), 8, centred, memory_budget=8 * 7)
    assert len(whole.chunks) == 1 and len(pieces.chunks) == 5

    def full(point):
        values = terms(point, slice(None))
        return anp.var(values) if centred else anp.mean(values)

    assert whole.cost(psi) == pytest.approx(float(full(psi)), rel=1e-13)
    assert pieces.cost(psi) == pytest.approx(float(full(psi)), rel=1e-13)
    np.testing.assert_allclose(pieces.gradient(psi), grad(full)(psi), rtol=1e-11, atol=1e-13)
    expected = np.tensordot(hessian(full)(psi), direction, axes=2)
    np.testing.assert_allclose(pieces.hessian_vector_product(psi, direction), expected,
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(whole.hessian_vector_product(psi, direction), expected,
                               rtol=1e-10, atol=1e-12)
    assert len(pieces.evaluations) == 1


def test_a_degenerate_point_costs_infinity(problem):
    family, target, reference, _, _ = problem
    psi = np.eye(3)
    points = reference.copy()
    points[4, 0] = 0.0  # on a degenerate orbit of the member psi = I
    objective = ChunkedObjective(value_terms(family, points, target(points), 0.0), len(points), 8,
                                 True)
    with np.errstate(divide="ignore", invalid="ignore"):
        assert objective.cost(psi) == np.inf
