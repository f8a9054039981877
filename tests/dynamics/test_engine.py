"""The one engine under simulate and sgd.train: the same dynamics give the same trajectory, and both
layers checkpoint and resume bit for bit."""

import autograd.numpy as anp
import numpy as np
import pytest

import quotientlearn as ql
from quotientlearn import sgd
from quotientlearn.checkpoint import Checkpoint
from quotientlearn.dynamics import Engine, EulerMaruyama, Potential, Recorder, get_noise


def _regression(n_particles, seed=0):
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((5, 3))
    targets = features @ np.array([1.0, -0.5, 0.0]) + 0.1 * rng.standard_normal(5)
    theta0 = 0.5 * rng.standard_normal((n_particles, 6))
    return features, targets, theta0


def test_langevin_sgd_with_lr_dt_is_isotropic_simulate_without_gauge_fixing():
    # Both layers run the engine's Euler-Maruyama step: with lr = dt, the same loss and the same
    # seed, every particle follows the same path. The two compute the gradient in different orders
    # (autograd through the loss vs the objective's closed form), so they agree to rounding.
    n, temperature, lr, n_steps = 40, 0.05, 1e-2, 300
    features, targets, theta0 = _regression(n)
    model = ql.models.Hadamard(3)

    def loss(beta):
        return anp.mean((anp.matmul(beta, features.T) - targets) ** 2, axis=-1)

    samples = ql.simulate(model, loss, temperature, noise="isotropic", gauge_fixing=False, dt=lr,
                          n_steps=n_steps, n_particles=n, init=theta0, seed=7,
                          observables={"theta": lambda theta, beta: theta}, record_every=50)
    objective = sgd.FeatureRegression(np.broadcast_to(features, (n,) + features.shape),
                                      np.broadcast_to(targets, (n, 5)), model)
    trained = sgd.train(objective, theta0, lr, n_steps, 7, temperature=temperature,
                        record=lambda theta: {"theta": theta}, record_every=50)
    np.testing.assert_array_equal(trained.record_steps[1:], samples.record_steps)
    np.testing.assert_allclose(trained.records["theta"][1:], samples.records["theta"], rtol=0,
                               atol=1e-12)
    np.testing.assert_allclose(trained.theta, samples.theta, rtol=0, atol=1e-12)
    # power: the noise matters, so another seed gives other paths
    other = sgd.train(objective, theta0, lr, n_steps, 8, temperature=temperature).theta
    assert np.max(np.abs(other - samples.theta)) > 0.05


class _Killed(Exception):
    pass


@pytest.mark.parametrize("noise", ["horizontal", "label"])
def test_simulate_resumes_bit_identically_after_a_crash(tmp_path, noise):
    # Gauge-fixed DiagonalNet with state-dependent noise: the future depends on the RNG state and
    # on every particle, which the checkpoint must restore exactly. A crash (an exception in an
    # observable at step 160) leaves the periodic checkpoint of step 150.
    model = ql.models.DiagonalNet(2, 3)

    def loss(beta):
        return 0.5 * anp.sum((beta - 1.0) ** 2, axis=-1)

    kwargs = dict(noise=noise, dt=1e-2, n_steps=300, n_particles=25, seed=2,
                  init=model.balanced(np.array([0.8, 1.2])), record_every=20)
    observables = {"beta": lambda theta, beta: beta}
    reference = ql.simulate(model, loss, 0.1, observables=observables, **kwargs)

    def crashing(theta, beta, calls=[0]):  # noqa: B006 - a counter shared across calls
        calls[0] += 1
        if calls[0] == 8:
            raise _Killed
        return beta

    path = tmp_path / "simulate.npz"
    with pytest.raises(_Killed):
        ql.simulate(model, loss, 0.1, observables={"beta": crashing},
                    checkpoint=Checkpoint(path, every_steps=50), **kwargs)
    assert Checkpoint(path).load(np.random.default_rng(0))["step"] == 150
    resumed = ql.simulate(model, loss, 0.1, observables=observables, resume=True,
                          checkpoint=Checkpoint(path, every_steps=50), **kwargs)
    assert resumed.metadata["resumed_from"] == 150
    np.testing.assert_array_equal(resumed.theta, reference.theta)
    np.testing.assert_array_equal(resumed.records["beta"], reference.records["beta"])
    assert not np.array_equal(reference.records["beta"][-1], reference.records["beta"][-2])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_dropped_particles_stay_dropped_after_a_resume(tmp_path):
    # Five particles diverge within the first steps; the checkpoint keeps which ones survive, so a
    # run resumed after a crash reports the same survivors and the same records (NaN for the dropped).
    model = ql.models.Hadamard(1)
    init = np.concatenate([np.tile(model.balanced(np.array([3.0])), (5, 1)),
                           np.tile(model.balanced(np.array([0.1])), (15, 1))])
    kwargs = dict(dt=0.5, n_steps=40, n_particles=20, init=init, drop_diverged=True,
                  record_every=5, seed=1)

    def quartic(beta):
        return anp.sum(beta**4, axis=-1)

    def crashing(theta, beta, calls=[0]):  # noqa: B006 - a counter shared across calls
        calls[0] += 1
        if calls[0] == 6:                   # the record at step 30, after the save at step 20
            raise _Killed
        return beta[:, 0]

    observables = {"b": lambda theta, beta: beta[:, 0]}
    reference = ql.simulate(model, quartic, 0.01, observables=observables, **kwargs)
    path = tmp_path / "dropped.npz"
    with pytest.raises(_Killed):
        ql.simulate(model, quartic, 0.01, observables={"b": crashing},
                    checkpoint=Checkpoint(path, every_steps=20), **kwargs)
    resumed = ql.simulate(model, quartic, 0.01, observables=observables, resume=True,
                          checkpoint=Checkpoint(path, every_steps=20), **kwargs)
    assert resumed.metadata["resumed_from"] == 20
    assert reference.n_diverged == resumed.n_diverged == 5
    np.testing.assert_array_equal(resumed.theta, reference.theta)
    np.testing.assert_array_equal(resumed.records["b"], reference.records["b"])
    assert np.all(np.isnan(resumed.records["b"][-1, :5]))


def test_the_engine_runs_a_users_drift_and_records_step_zero():
    # The engine is public: a user's drift (an Ornstein-Uhlenbeck pull to 1) with the built-in noise.
    class Pull(ql.dynamics.Drift):
        def evaluate(self, theta, batch):
            return 1.0 - theta, None

    engine = Engine(Pull(), get_noise("isotropic"), EulerMaruyama(), temperature=0.0, dt=0.1)
    recorder = Recorder(lambda theta: {"mean": theta.mean(axis=-1)}, [0, 1, 2], 3)
    run = engine.run(np.zeros((3, 2)), 2, np.random.default_rng(0), recorder=recorder)
    np.testing.assert_allclose(run.records["mean"][:, 0], [0.0, 0.1, 0.19])
    np.testing.assert_allclose(run.theta, 0.19)


def test_potential_drift_matches_minus_the_loss_gradient():
    model = ql.models.MatrixFactorization(3, 2, 2)
    theta = model.sample((4,), 0)

    def loss(m):
        return anp.sum(anp.sin(m), axis=(-2, -1))

    drift, _ = Potential(model, loss).evaluate(theta)
    from autograd import grad
    expected = -grad(lambda th: anp.sum(loss(model.traceable_predictor(th))))(theta)
    np.testing.assert_allclose(drift, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("noise", ["isotropic", "horizontal", "label"])
def test_chunked_steps_are_bit_identical_to_one_batch(noise):
    # A Potential's rows are independent, so the engine steps and projects them in chunks (here 16
    # chunks of 164 particles for D = 200); the same run as one batch gives the same bits.
    class WholeBatch(Potential):
        independent_rows = False

    model = ql.models.Hadamard(100)
    theta = model.balanced(np.ones((2600, 100)))

    def loss(beta):
        return 0.5 * anp.sum((beta - 1.0) ** 2, axis=-1)

    runs = []
    for drift in (Potential(model, loss), WholeBatch(model, loss)):
        engine = Engine(drift, get_noise(noise), EulerMaruyama(), 0.1, 1e-3, model=model,
                        constraint=ql.dynamics.GaugeProjection(model.gauge))
        runs.append(engine.run(theta.copy(), 5, np.random.default_rng(3)).theta)
    np.testing.assert_array_equal(runs[0], runs[1])


class _InflateRows(ql.dynamics.Constraint):
    """The gauge projection, then the rows whose first coordinate exceeds ``threshold`` x 1e12."""

    def __init__(self, gauge, threshold):
        self.gauge, self.threshold = gauge, threshold

    def project(self, theta):
        out = self.gauge.project(theta)
        out[out[:, 0] > self.threshold] *= 1e12
        return out


@pytest.mark.parametrize("stage", ["step", "projection"])
@pytest.mark.parametrize("drop_diverged", [True, False])
def test_chunked_steps_diverge_like_one_batch(stage, drop_diverged):
    # The chunked engine checks and projects each chunk in cache; a chunk that fails a check sends the
    # rest of the step through the whole-batch sequence. Particles in middle chunks (of 164) diverge
    # at the step (a huge start) or at the projection (a constraint throwing them past the bound):
    # the same particles are dropped with the same survivors' bits, or the same error is raised.
    class WholeBatch(Potential):
        independent_rows = False

    model = ql.models.Hadamard(100)
    theta = model.balanced(np.ones((2600, 100)))
    if stage == "step":
        theta[[700, 701, 1500]] *= 5e3  # beta ~ 2.5e7: the first step leaves the bound
        constraint = ql.dynamics.GaugeProjection(model.gauge)
    else:
        theta[[700, 701, 1500], 0] = 3.0
        constraint = _InflateRows(model.gauge, 1.5)  # balanced: u_0 = sqrt(3) > 1.5

    def loss(beta):
        return 0.5 * anp.sum((beta - 1.0) ** 2, axis=-1)

    outcomes = []
    for drift in (Potential(model, loss), WholeBatch(model, loss)):
        engine = Engine(drift, get_noise("isotropic"), EulerMaruyama(), 0.1, 1e-3, model=model,
                        constraint=constraint)
        if drop_diverged:
            with pytest.warns(ql.DivergenceWarning, match="3 of 2600"):
                run = engine.run(theta.copy(), 3, np.random.default_rng(3), drop_diverged=True)
            outcomes.append((run.theta, run.alive))
        else:
            with pytest.raises(ql.DivergenceError) as error:
                engine.run(theta.copy(), 3, np.random.default_rng(3))
            outcomes.append(str(error.value))
    if drop_diverged:
        np.testing.assert_array_equal(outcomes[0][1], np.delete(np.arange(2600), [700, 701, 1500]))
        np.testing.assert_array_equal(outcomes[0][1], outcomes[1][1])
        np.testing.assert_array_equal(outcomes[0][0], outcomes[1][0])
    else:
        assert outcomes[0] == outcomes[1] and "at step 1" in outcomes[0]


def test_euler_step_folds_dt_into_the_cotangent_to_rounding():
    # The Euler step asks the drift for dt b: Potential scales the loss's cotangent (N, m) instead
    # of the drift (N, D), which changes the rounding only. Same random numbers, 300 steps, weight
    # decay and the projection: the paths agree with the textbook order (dt times the drift) to
    # ~1e-13, while a step size wrong by one part in 10^6 moves them by ~1e-8 (the test's power).
    # The particles stay near beta = 1: near a degenerate orbit (u v ~ 0) the balance takes a square
    # root of the product, which turns any change of rounding into differences of ~1e-8.
    from quotientlearn.dynamics import Drift

    class Textbook(Potential):
        evaluate_scaled = Drift.evaluate_scaled  # evaluate, then one multiplication by dt

    model = ql.models.Hadamard(20)
    theta = model.balanced(1.0 + 0.2 * np.random.default_rng(0).standard_normal((500, 20)))

    def loss(beta):
        return 0.5 * anp.sum((beta - 1.0) ** 2, axis=-1)

    def final(drift, dt=1e-2):
        engine = Engine(drift, get_noise("isotropic"), EulerMaruyama(), 0.02, dt, model=model,
                        constraint=ql.dynamics.GaugeProjection(model.gauge))
        return engine.run(theta, 300, np.random.default_rng(5), progress=False).theta

    folded = final(Potential(model, loss, weight_decay=0.1))
    textbook = final(Textbook(model, loss, weight_decay=0.1))
    np.testing.assert_allclose(folded, textbook, rtol=0, atol=1e-12)
    assert not np.array_equal(folded, textbook)  # the rounding did change: the fold is in effect
    wrong = final(Textbook(model, loss, weight_decay=0.1), dt=1e-2 * (1 + 1e-6))
    assert np.max(np.abs(wrong - textbook)) > 1e-9
    # at factor 1 the folded route is evaluate bit for bit
    drift = Potential(model, loss, weight_decay=0.1)
    np.testing.assert_array_equal(drift.evaluate_scaled(theta, None, 1.0)[0],
                                  Textbook(model, loss, weight_decay=0.1).evaluate(theta)[0])


def test_an_observable_may_keep_the_state_it_was_given():
    # The chunked step writes into the array of the state before last; an array an observable saw
    # (and may keep) is never written again.
    model = ql.models.Hadamard(100)
    theta = model.balanced(np.ones((1000, 100)))  # chunks of 327 rows (2^16 entries) and 19
    kept = []

    def keep(state):
        kept.append((state, state.copy()))
        return {"first": state[:, 0]}

    engine = Engine(Potential(model, lambda beta: 0.5 * anp.sum((beta - 1.0) ** 2, axis=-1)),
                    get_noise("isotropic"), EulerMaruyama(), 0.1, 1e-3, model=model,
                    constraint=ql.dynamics.GaugeProjection(model.gauge))
    engine.run(theta, 6, np.random.default_rng(0), progress=False,
               recorder=Recorder(keep, steps=[0, 1, 2, 3, 4, 5, 6], n_particles=1000))
    assert len(kept) == 7
    for state, copy in kept:
        np.testing.assert_array_equal(state, copy)


def test_overwrite_theta_reuses_the_start_without_changing_the_run():
    # With overwrite_theta the chunked step writes the state of step 2 (and every other one) into the
    # caller's start instead of a fresh array; the results are the same bits. A start an observable
    # was given at step 0 is never written.
    model = ql.models.Hadamard(100)
    engine = Engine(Potential(model, lambda beta: 0.5 * anp.sum((beta - 1.0) ** 2, axis=-1)),
                    get_noise("isotropic"), EulerMaruyama(), 0.1, 1e-3, model=model,
                    constraint=ql.dynamics.GaugeProjection(model.gauge))
    start = model.balanced(np.ones((1000, 100)))  # chunks of 327 rows

    def run(overwrite, recorder=None, theta=None):
        theta = start.copy() if theta is None else theta
        result = engine.run(theta, 4, np.random.default_rng(0), progress=False, recorder=recorder,
                            overwrite_theta=overwrite)
        return theta, result.theta

    given, kept = run(False)
    overwritten, reused = run(True)
    np.testing.assert_array_equal(kept, reused)
    assert np.shares_memory(reused, overwritten) and not np.shares_memory(kept, given)
    np.testing.assert_array_equal(given, start)  # power: without the flag the start is untouched
    observed, _ = run(True, Recorder(lambda state: {"first": state[:, 0]}, [0, 4], 1000))
    np.testing.assert_array_equal(observed, start)
