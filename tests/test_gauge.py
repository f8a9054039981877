import numpy as np
import pytest
from geomstats.geometry.hypersphere import Hypersphere
from geomstats.geometry.poincare_ball import PoincareBall
from geomstats.geometry.special_orthogonal import SpecialOrthogonal

import quotientlearn as ql
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


# Points off a curved parameter manifold: each public entry of the gauge refuses them, naming the
# membership check and the distance (a projection along the orbit would keep them off).
OFF_MANIFOLD = {
    "Stiefel": (lambda: models.StiefelProjector(3, 2), 1.001 * np.eye(3)[:, :2],
                r"max \|U\^T U - I\| = 2\.001e-03"),
    "SPD, indefinite": (lambda: models.SPDSpectrum(2), np.diag([1.0, -1e-3]), r"= 1\.000e-03"),
    "SPD, asymmetric": (lambda: models.SPDSpectrum(2), np.array([[1.0, 1e-3], [0.0, 1.0]]),
                        r"= 1\.000e-03"),
    "sphere": (lambda: models.Custom(predictor=lambda x: x, space=Hypersphere(2)),
               np.array([0.0, 0.0, 1.001]), r"\|\|x\| - 1\| = 1\.000e-03"),
    "SO(3)": (lambda: models.Custom(predictor=lambda x: x, space=SpecialOrthogonal(3)), 1.001 * np.eye(3),
              r"= 3\.0\d\de-03"),
    "Poincare ball": (lambda: models.Custom(predictor=lambda x: x, space=PoincareBall(2)),
                      np.array([0.6, 0.801]), r"max\(\|x\| - 1, 0\) = 8\.002e-04"),
}


@pytest.mark.parametrize("name", OFF_MANIFOLD)
@pytest.mark.parametrize("entry", ["project", "chi", "contains", "log_det_constraint_gram", "bias"])
def test_gauge_entries_refuse_a_point_off_the_manifold(name, entry):
    make, theta, size = OFF_MANIFOLD[name]
    model = make()
    run = {"project": model.gauge.project, "chi": model.gauge.chi, "contains": model.gauge.contains,
           "log_det_constraint_gram": model.gauge.log_det_constraint_gram,
           "bias": lambda t: ql.implicit_bias(model, t, 0.1)}[entry]
    with pytest.raises(ValueError, match=rf"off the manifold .*{size}.*check: membership"):
        run(theta)
    on = model.sample((), 0)
    assert np.all(np.isfinite(run(on)))  # the same entry accepts a point on the manifold


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_closed_form_balance_refuses_non_finite_points_through_the_gauge(bad):
    # the gauge leaves the check to an action whose balance validates (balance_validates): the
    # error must be the one the gauge's own check gives
    for model in (models.Hadamard(2), models.Hadamard(1)):
        theta = np.ones((3, model.dim))
        theta[1, 0] = bad
        with pytest.raises(ValueError, match="1 non-finite entries"):
            model.gauge.project(theta)
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 4\)"):
        models.Hadamard(2).gauge.project(np.ones((3, 5)))
