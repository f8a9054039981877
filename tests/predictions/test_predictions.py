"""Predictions as objects: options, applicability checks, complete densities, a user's own method."""

import autograd.numpy as anp
import numpy as np
import pytest

import quotientlearn as ql
from quotientlearn.predictions import (
    Coordinates,
    Density,
    FibreIntegral,
    ItoRoute,
    Prediction,
    StationaryProblem,
    Theorem1,
)

T = 0.1
X = np.linspace(0.3, 2.0, 9)[:, None]


def quadratic(beta):
    return 0.5 * anp.sum((beta - 1.0) ** 2, axis=-1)


def problem(model, noise="isotropic", gauge_fixing=True, weight_decay=0.0):
    return StationaryProblem(model, quadratic, T, ql.dynamics.get_noise(noise), gauge_fixing,
                             weight_decay, Coordinates(model))


@pytest.fixture
def hadamard():
    return ql.models.Hadamard(1)


def test_objects_and_names_give_the_same_density(hadamard):
    by_name = ql.stationary_density(hadamard, quadratic, T, method="ito", reference=np.full(1, 0.5),
                                    n_nodes=24)
    by_object = ql.stationary_density(hadamard, quadratic, T,
                                      method=ItoRoute(reference=np.full(1, 0.5), n_nodes=24))
    np.testing.assert_array_equal(by_name.logpdf(X), by_object.logpdf(X))
    assert by_object.info["reference"] == [0.5]
    fibre = ql.stationary_density(hadamard, quadratic, T, gauge_fixing=False, weight_decay=0.5,
                                  method=FibreIntegral(fibre_points=301))
    assert fibre.info["fibre_quadrature"].startswith("trapezoid, 301^1")


def test_flat_options_beside_an_object_are_refused(hadamard):
    with pytest.raises(ValueError, match="n_nodes given beside a ItoRoute object"):
        ql.stationary_density(hadamard, quadratic, T, method=ItoRoute(), n_nodes=12)


@pytest.mark.parametrize("options, message", [
    (dict(n_nodes=0), "n_nodes must be a positive integer"),
    (dict(curl_tolerance=-1.0), "curl_tolerance must be finite and positive"),
])
def test_ito_options_are_checked(options, message):
    with pytest.raises(ValueError, match=message):
        ItoRoute(**options)


def test_each_method_checks_that_it_describes_the_dynamics(hadamard):
    assert Theorem1().check(problem(hadamard)) == {}
    assert "hypothesis under test" in Theorem1().check(problem(hadamard, "horizontal"))["note"]
    with pytest.raises(ValueError, match="isotropic noise without gauge fixing"):
        FibreIntegral().check(problem(hadamard, "horizontal", False, 0.5))
    with pytest.raises(ValueError, match="weight_decay > 0"):
        FibreIntegral().check(problem(hadamard, "isotropic", False))
    assert FibreIntegral().check(problem(hadamard, "isotropic", False, 0.5)) == {}
    with pytest.raises(ValueError, match="leaves the slice"):
        ItoRoute().check(problem(hadamard, "isotropic", False))
    # horizontal noise keeps the slice: the Itô route applies without gauge fixing, and says so
    assert "must be invariant" in ItoRoute().check(problem(hadamard, "horizontal", False))["assumption"]


def test_densities_are_built_complete(hadamard):
    ito = ql.stationary_density(hadamard, quadratic, T, method="ito")
    theorem1 = ql.stationary_density(hadamard, quadratic, T)
    assert ito.field is not None and theorem1.field is None
    assert ito.field(np.ones((2, 1))).shape == (2, 1)
    assert ito.method == "ito" and theorem1.method == "theorem1"
    assert theorem1.info == {"noise": "isotropic", "gauge_fixing": True, "weight_decay": 0.0,
                             "temperature": T}


def test_a_users_prediction_plugs_into_the_front_door(hadamard):
    class NoCorrection(Prediction):
        """exp(-U/T): the law without any gauge correction."""

        name = "no-correction"

        def check(self, problem):
            return {"note": "ignores the gauge correction"}

        def density(self, problem):
            def log_density(c):
                theta = problem.coordinates.slice_point(c)
                return -problem.potential.value(theta) / problem.temperature

            return Density(log_density, problem.coordinates.shape, self.name,
                           {**problem.info(), **self.check(problem)})

    density = ql.stationary_density(hadamard, quadratic, T, method=NoCorrection())
    exact = -0.5 * (X[:, 0] - 1) ** 2 / T
    assert np.ptp(density.logpdf(X) - exact) < 1e-12
    assert density.info["note"] == "ignores the gauge correction"
    theorem1 = ql.stationary_density(hadamard, quadratic, T)
    assert np.ptp(density.logpdf(X) - theorem1.logpdf(X)) > 1.0  # power: differs by log|beta|


def test_the_prediction_base_names_what_is_missing():
    with pytest.raises(NotImplementedError, match="Bare must implement Prediction.density"):
        type("Bare", (Prediction,), {})().density(None)
