"""The closed-form catalogue: each model's bias equals its target up to a constant."""

import numpy as np
import pytest

import quotientlearn as ql
from quotientlearn.design import make_target, parameterize
from quotientlearn.groups.base import GroupAction, log_det_psd
from quotientlearn.models import PowerProduct

TEMPERATURE = 0.3


def _basis(d, seed=3):
    rng = np.random.default_rng(seed)
    return np.linalg.qr(rng.standard_normal((d, d)))[0] + 0.4 * np.eye(d)


SPECS = {
    "sparse": ("sparse", {"dim": 5}, ql.models.Hadamard),
    "sparse_in_basis": (("sparse_in_basis", _basis(5)), {}, ql.models.BasisHadamard),
    "tv": ("tv", {"dim": 6}, ql.models.CumsumHadamard),
    "low_rank": ("low_rank", {"shape": (5, 4), "rank": 3}, ql.models.MatrixFactorization),
    "group_sparse": (("group_sparse", [2, 3, 1]), {}, ql.models.GroupSparse),
    "weighted_sparse": (("weighted_sparse", [0.4, 1.0, 1.7]), {}, PowerProduct),
}


def _slice_points(model, n, seed):
    """``n`` random predictors of slice points (rank-r matrices for the factorisation)."""
    rng = np.random.default_rng(seed)
    return model.predictor(model.gauge.project(model.sample((n,), rng)))


@pytest.mark.parametrize("name", SPECS)
def test_bias_minus_target_is_constant_on_100_slice_points(name):
    spec, kwargs, model_class = SPECS[name]
    model = parameterize(spec, **kwargs)
    target = make_target(spec, **kwargs)
    assert isinstance(model, model_class)
    assert model.beta_shape == target.beta_shape
    beta = _slice_points(model, 100, seed=7)
    scaled_target = 0.5 * TEMPERATURE * target(beta)
    bias = ql.implicit_bias_of_predictor(model, beta, TEMPERATURE)
    # Constant to 1e-8 relative to the target's own variation over the points.
    spread = np.ptp(scaled_target)
    assert spread > 0.1
    assert np.ptp(bias - scaled_target) <= 1e-8 * spread
    # The same through the generic gauge: closed-form constraint Gram at balanced(beta)...
    theta = model.balanced(beta)
    np.testing.assert_allclose(model.predictor(theta), beta, atol=1e-9)
    gauge_bias = 0.5 * TEMPERATURE * model.gauge.log_det_constraint_gram(theta)
    assert np.ptp(gauge_bias - scaled_target) <= 1e-8 * spread
    # ... and the moment map's Jacobian derived by autograd, with no closed form involved.
    jacobian = GroupAction.moment_map_jacobian(model.action, theta)
    generic = 0.5 * TEMPERATURE * log_det_psd(jacobian @ np.swapaxes(jacobian, -1, -2))
    assert np.ptp(generic - scaled_target) <= 1e-8 * spread


@pytest.mark.parametrize(("wrong", "kwargs"), [("sparse", {"dim": 6}), ("tv", {"dim": 6})])
def test_check_has_power_against_a_different_target(wrong, kwargs):
    # The TV model's bias is not the sparsity target, nor the sparse model's the TV target.
    model = parameterize("tv" if wrong == "sparse" else "sparse", dim=6)
    beta = _slice_points(model, 100, seed=8)
    target = 0.5 * TEMPERATURE * make_target(wrong, **kwargs)(beta)
    bias = ql.implicit_bias_of_predictor(model, beta, TEMPERATURE)
    assert np.ptp(bias - target) > 0.1 * np.ptp(target)


def test_low_rank_target_is_the_log_determinant_for_rank_one():
    rng = np.random.default_rng(0)
    matrix = np.outer(rng.standard_normal(4), rng.standard_normal(3))
    value = make_target("low_rank", shape=(4, 3), rank=1)(matrix)
    assert value == pytest.approx(np.log(np.linalg.norm(matrix, 2)), rel=1e-12)


@pytest.mark.parametrize(("spec", "kwargs", "message"), [
    ("dense", {}, "unknown target"),
    ("sparse", {}, "dim"),
    ("low_rank", {"shape": (4, 3)}, "rank"),
    ("low_rank", {"shape": (4, 3), "rank": 5}, r"rank must lie in \[1, min"),
    (("sparse_in_basis", np.zeros((3, 3))), {}, "invertible"),
    (("sparse_in_basis", np.ones((2, 3))), {}, "square"),
    (("group_sparse", []), {}, "group sizes"),
    (("group_sparse", [2, 0]), {}, "group size"),
])
def test_bad_targets_are_rejected_with_what_is_expected(spec, kwargs, message):
    with pytest.raises(ValueError, match=message):
        parameterize(spec, **kwargs)


@pytest.mark.parametrize(("spec", "kwargs", "message"), [
    ("sparse", {"dim": 2.5}, "dim .* must be an integer"),
    ("tv", {"dim": True}, "dim .* must be an integer"),
    (("weighted_sparse", [1 + 1j, 1.0]), {}, "weights .* must be real; got complex"),
    (("weighted_sparse", ["a", "b"]), {}, "weights .* must be an array of real numbers"),
    (("sparse_in_basis", 1j * np.eye(2)), {}, "basis B .* must be real"),
    (("group_sparse", [2, 1.5]), {}, "every group size must be an integer"),
])
def test_parameters_of_the_wrong_type_are_type_errors_naming_them(spec, kwargs, message):
    with pytest.raises(TypeError, match=message):
        make_target(spec, **kwargs)


def test_weighted_sparsity_outside_the_closed_form_range_points_to_fit():
    with pytest.raises(ValueError, match="ql.design.fit"):
        parameterize(("weighted_sparse", [0.5, 2.5]))


def test_target_checks_the_shape_of_beta():
    with pytest.raises(ValueError, match=r"beta must have shape \(\.\.\., 4\)"):
        make_target("sparse", dim=4)(np.ones(3))
