"""Property-based checks: the balanced lift inverts the predictor for any predictor value."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from quotientlearn import models

values = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False).filter(lambda x: abs(x) > 1e-6)


@settings(max_examples=60, deadline=None)
@given(arrays(float, (4,), elements=values))
def test_hadamard_family_balanced_roundtrip(beta):
    for model in (models.Hadamard(4), models.CumsumHadamard(4), models.DiagonalNet(4, depth=3)):
        theta = model.balanced(beta)
        np.testing.assert_allclose(model.predictor(theta), beta, rtol=1e-12, atol=1e-12)
        assert model.gauge.contains(theta)


@settings(max_examples=60, deadline=None)
@given(arrays(float, (5,), elements=values))
def test_group_sparse_balanced_roundtrip_and_bias(beta):
    model = models.GroupSparse([2, 3])
    theta = model.balanced(beta)
    np.testing.assert_allclose(model.predictor(theta), beta, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(model.gauge.log_det_constraint_gram(theta),
                               model.log_det_gram_on_slice(beta), rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(arrays(float, (6,), elements=st.floats(-50, 50).filter(lambda x: abs(x) > 1e-3)))
def test_pair_rescaling_vertical_projection_matches_generic(theta):
    # Away from degenerate orbits: there the generic pseudo-inverse truncates tiny Gram
    # eigenvalues (rcond) while the closed form stays exact.
    from quotientlearn.bundle import generic_vertical_projection

    model = models.Hadamard(3)
    vector = np.linspace(-1.0, 2.0, 6)
    np.testing.assert_allclose(
        model.bundle.vertical_projection(vector, theta),
        generic_vertical_projection(model.action.generators(theta), vector), atol=1e-10)
