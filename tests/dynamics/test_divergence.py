"""Divergence is leaving a stated bound, checked after every step and every projection (issue 10)."""

import autograd.numpy as anp
import numpy as np
import pytest

import quotientlearn as ql
from quotientlearn.dynamics import DIVERGENCE_BOUND, Engine, EulerMaruyama, Potential, get_noise


def quadratic(beta):
    return 0.5 * anp.sum((beta - 1.0) ** 2, axis=-1)


def test_drop_diverged_drops_what_the_projection_would_have_refused():
    """Issue 10's case: huge finite particles reached the projection, which raised on inf."""
    model = ql.models.Hadamard(3)
    with pytest.warns(ql.DivergenceWarning, match="diverged and were dropped"):
        samples = ql.simulate(model, quadratic, 1.0, dt=0.5, n_steps=40, n_particles=64, seed=3,
                              drop_diverged=True, progress=False)
    assert samples.n_diverged > 0 and samples.n_particles == 64 - samples.n_diverged
    assert np.max(np.abs(samples.theta)) <= DIVERGENCE_BOUND
    assert samples.metadata["max_gauge_residual"] < 1e-8


@pytest.mark.parametrize("n_steps", [37, 40, 45])
def test_no_survivor_is_returned_beyond_the_bound(n_steps):
    # With the bound at the float range, survivors at 1.6e73 came back; at the stated bound none does.
    model = ql.models.Hadamard(3)
    with pytest.warns(ql.DivergenceWarning):
        samples = ql.simulate(model, quadratic, 1.0, dt=0.5, n_steps=n_steps, n_particles=64, seed=3,
                              drop_diverged=True, progress=False, divergence_bound=1e4)
    assert np.max(np.abs(samples.theta)) <= 1e4


def test_a_huge_step_raises_instead_of_returning_1e112():
    with pytest.raises(ql.DivergenceError, match=r"divergence_bound = 1e\+08"):
        ql.simulate(ql.models.Hadamard(3), quadratic, 1.0, dt=1e3, n_steps=40, n_particles=64, seed=3,
                    progress=False)


def test_the_bound_is_checked_after_the_projection():
    """A constraint step that throws particles past the bound: they are dropped at that step."""

    class Inflate:
        def project(self, theta):
            out = theta.copy()
            out[:2] *= 1e12  # the first two rows leave the bound, finite
            return out

    model = ql.models.Hadamard(1)
    engine = Engine(Potential(model, quadratic, 0.0, 0.0), get_noise("isotropic"), EulerMaruyama(), 0.0,
                    1e-3, model=model, constraint=Inflate())
    theta = np.ones((5, 2))
    with pytest.warns(ql.DivergenceWarning, match="2 of 5"):
        run = engine.run(theta, 1, np.random.default_rng(0), drop_diverged=True)
    np.testing.assert_array_equal(run.alive, [2, 3, 4])
    with pytest.raises(ql.DivergenceError, match="at step 1"):
        engine.run(theta, 1, np.random.default_rng(0))


def test_divergence_bound_is_validated_and_the_initial_state_checked():
    model = ql.models.Hadamard(1)
    with pytest.raises(ValueError, match="divergence_bound must be finite or \\+inf and positive"):
        ql.simulate(model, quadratic, 0.1, n_steps=1, n_particles=2, divergence_bound=0.0)
    with pytest.raises(ValueError, match="initial state exceeds the divergence bound"):
        ql.simulate(model, quadratic, 0.1, n_steps=1, n_particles=2, init=np.array([1e9, 1e-9]),
                    gauge_fixing=False)
    samples = ql.simulate(model, quadratic, 0.1, n_steps=1, n_particles=2, init=np.array([1e9, 1e-9]),
                          gauge_fixing=False, divergence_bound=np.inf, progress=False)
    assert samples.n_diverged == 0


def test_sgd_train_has_the_same_bound():
    rng = np.random.default_rng(0)
    features, targets = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 4))
    objective = ql.sgd.FeatureRegression(features, targets)
    with pytest.raises(ql.DivergenceError, match="lr"):
        ql.sgd.train(objective, np.zeros((2, 3)), 10.0, 50, 0)


@pytest.mark.parametrize("bound", [1e8, 1.0, 1e200, np.inf])
def test_the_bound_check_is_the_exact_test(bound):
    # The engine's check proves the bound from the sum of squares when it can and falls back to exact
    # max/min reductions otherwise: on every array it must say exactly whether all |theta_i| <= bound,
    # including entries at the bound and one ulp above it, non-finite entries, squares that overflow,
    # sums of squares above bound**2 with every entry within it, and non-contiguous or empty arrays.
    engine = Engine(None, None, None, 0.0, 1e-3, bound=bound)
    rng = np.random.default_rng(0)
    finite_bound = bound if np.isfinite(bound) else 1e300
    above = np.nextafter(finite_bound, np.inf)
    arrays = [np.zeros((0, 2)), np.zeros((3, 2)), rng.standard_normal((50, 4)),
              np.full((4, 2), finite_bound), np.full((4, 2), -finite_bound),
              np.full((4000, 3), 0.9 * finite_bound),  # sum of squares beyond bound**2, entries within
              np.full((2, 2), 1e300), rng.standard_normal((30, 6))[:, ::2],  # not contiguous
              rng.standard_normal((5, 3, 3))]
    for position in [(0, 0), (3, 1)]:
        for value in (above, -above, np.nan, np.inf, -np.inf, 2.0 * finite_bound):
            array = 0.5 * np.ones((4, 2))
            array[position] = value
            arrays.append(array)
    with np.errstate(over="ignore", invalid="ignore"):
        for array in arrays:
            expected = bool(np.all(np.abs(array) <= bound))
            assert engine._within_bound(array) is expected, (array.ravel()[:4], bound)
    # power: the check does refuse out-of-bound and non-finite arrays, and accepts in-bound ones
    assert engine._within_bound(np.array([[0.5, above]])) is (bound == np.inf)
    assert not engine._within_bound(np.array([[np.nan, 0.5]]))
    assert engine._within_bound(np.array([[0.5, -np.inf]])) is (bound == np.inf)
    assert engine._within_bound(np.full((4000, 3), 0.9 * finite_bound))


class _InflateFirstRow(ql.dynamics.GaugeProjection):
    """The gauge projection, then row 0 pushed past the bound: a constraint breaking its declaration."""

    def __init__(self, gauge, entry_growth):
        super().__init__(gauge)
        self.declared = entry_growth

    @property
    def entry_growth(self):
        return self.declared

    def project(self, theta):
        out = super().project(theta)
        out[0] *= 1e12
        return out


@pytest.mark.parametrize("n_particles", [5, 40_000])  # one batch, and chunks
def test_a_declared_entry_growth_replaces_the_check_after_the_projection(n_particles):
    # The gauge projection of the product models declares that it cannot leave the bound, and the
    # engine then skips the check after it: the results are those of the checked run, bit for bit.
    # A constraint that breaks its declaration shows the check is skipped (its particle survives
    # beyond the bound), and is caught when it declares nothing.
    model = ql.models.Hadamard(1)
    projection = ql.dynamics.GaugeProjection(model.gauge)
    assert projection.entry_growth == 1.0 + 1e-15

    def run(constraint, n_steps=3):
        engine = Engine(Potential(model, quadratic), get_noise("isotropic"), EulerMaruyama(), 0.1,
                        1e-3, model=model, constraint=constraint)
        theta = np.tile(model.balanced(np.ones(1)), (n_particles, 1))
        return engine.run(theta, n_steps, np.random.default_rng(0))

    checked = _InflateFirstRow(model.gauge, None)
    checked.project = projection.project  # no inflation: the plain projection, checked every step
    np.testing.assert_array_equal(run(projection).theta, run(checked).theta)
    # (after one step: the next step's check catches it)
    assert np.max(np.abs(run(_InflateFirstRow(model.gauge, 1.0), 1).theta)) > DIVERGENCE_BOUND
    with pytest.raises(ql.DivergenceError, match="at step 1"):
        run(_InflateFirstRow(model.gauge, None), 1)
