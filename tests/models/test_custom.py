import autograd.numpy as anp
import numpy as np
import pytest

import quotientlearn as ql
from quotientlearn.gauge import Gauge


def hadamard_action(d, sign=-1.0):
    return ql.groups.GroupAction(
        dim=d, space_dim=2 * d,
        act=lambda c, th: anp.concatenate([th[..., :d] * anp.exp(c),
                                           th[..., d:] * anp.exp(sign * c)], -1),
    )


def test_custom_model_derives_everything_and_matches_the_zoo():
    d = 3
    custom = ql.models.Custom(predictor=lambda th: th[..., :d] * th[..., d:],
                              action=hadamard_action(d))
    zoo = ql.models.Hadamard(d)
    theta = zoo.sample((5,), 0)
    np.testing.assert_allclose(custom.bundle.gram(theta), zoo.bundle.gram(theta), rtol=1e-13)
    np.testing.assert_allclose(custom.gauge.project(theta), zoo.gauge.project(theta), atol=1e-12)
    np.testing.assert_allclose(ql.implicit_bias(custom, theta, 0.2), ql.implicit_bias(zoo, theta, 0.2),
                               rtol=1e-12)
    ql.testing.check_model(custom, seed=3).raise_if_failed()


def test_action_that_breaks_the_predictor_is_refused_with_the_violation():
    d = 2
    with pytest.raises(ValueError, match=r"largest relative violation \d\.\d+e[-+]\d+"):
        ql.models.Custom(predictor=lambda th: th[..., :d] * th[..., d:],
                         action=hadamard_action(d, sign=+1.0))
    # with validation off the user takes responsibility
    ql.models.Custom(predictor=lambda th: th[..., :d] * th[..., d:],
                     action=hadamard_action(d, sign=+1.0), validate=False)


def test_custom_gauge_function_uses_newton_projection():
    d = 2
    # slice |u|^2 = 2 |v|^2 instead of the balanced one
    chi = lambda th: th[..., :d] ** 2 - 2.0 * th[..., d:] ** 2  # noqa: E731
    action = hadamard_action(d)
    model = ql.models.Custom(predictor=lambda th: th[..., :d] * th[..., d:], action=action,
                             gauge=Gauge(action, chi=chi))
    theta = model.sample((4,), 1)
    projected = model.gauge.project(theta)
    np.testing.assert_allclose(model.predictor(projected), model.predictor(theta), atol=1e-12)
    assert np.all(model.gauge.contains(projected))
    assert not np.any(model.gauge.contains(theta))


def test_custom_without_balanced_says_how_to_get_a_slice_point():
    d = 2
    model = ql.models.Custom(predictor=lambda th: th[..., :d] * th[..., d:],
                             action=hadamard_action(d))
    with pytest.raises(NotImplementedError, match="gauge.project"):
        model.balanced(np.ones(d))


def test_dimension_mismatch_is_refused():
    with pytest.raises(ValueError, match="D=4"):
        ql.models.Custom(predictor=lambda th: th, action=hadamard_action(3), dim=4, validate=False)
