import numpy as np
import pytest

from quotientlearn import models
from quotientlearn.gauge import Gauge, GaugeConvergenceWarning


@pytest.mark.parametrize("name", list(models.zoo()))
def test_closed_form_and_newton_projections_reach_the_same_slice(name):
    model = models.zoo()[name]
    theta = model.sample((6,), 0)
    closed = model.gauge.project(theta)
    if not model.gauge.is_moment_map:
        # A slice that is not a moment map's zero set may meet an orbit several times (the polar gauge
        # of the Stiefel projector: one sheet per sign pattern of the top block); Newton is local, so
        # start it along the orbit near the closed-form point.
        theta = model.action.act_algebra(model.action.random_algebra((6,), 1, 0.3), closed)
    newton = model.gauge.newton_project(theta)
    assert np.all(model.gauge.contains(closed)) and np.all(model.gauge.contains(newton))
    np.testing.assert_allclose(model.predictor(closed), model.predictor(newton), atol=1e-11)
    # the slice is unique up to the residual symmetry, which leaves the bias unchanged
    np.testing.assert_allclose(model.gauge.log_det_constraint_gram(closed),
                               model.gauge.log_det_constraint_gram(newton), rtol=1e-10, atol=1e-13)


def test_newton_from_far_off_slice_is_damped_and_converges():
    model = models.Hadamard(2)
    theta = np.array([[1e-4, 1e3, 1e3, 1e-4], [5.0, -1e-3, 1e-3, 2.0]])
    projected = model.gauge.newton_project(theta)
    np.testing.assert_allclose(model.predictor(projected), model.predictor(theta), rtol=1e-10)
    assert np.all(model.gauge.contains(projected))


def test_newton_reports_non_convergence():
    model = models.Hadamard(1)
    gauge = Gauge(model.action, max_iter=1)
    with pytest.warns(GaugeConvergenceWarning, match="relative residual"):
        gauge.newton_project(np.array([1e-3, 1e3]))


def test_constraint_gram_is_gram_for_torus_moment_map():
    model = models.ShallowReLU(3, 2)
    theta = model.sample((3,), 1)
    np.testing.assert_allclose(model.gauge.constraint_gram(theta), model.bundle.gram(theta),
                               rtol=1e-13)
