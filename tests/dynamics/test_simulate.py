"""simulate(): shapes, traces, bad input, divergence, and the Hadamard stationary laws of docs/theory.md."""

import autograd.numpy as anp
import numpy as np
import pytest

import quotientlearn as ql
from quotientlearn import stats


def quadratic(beta):
    return 0.5 * anp.sum((beta - 1.0) ** 2, axis=-1)


def log_theorem1(x):  # exp(-L/T) / |beta| at T = 0.1
    return -0.5 * (x - 1.0) ** 2 / 0.1 - np.log(np.abs(x))


def log_horizontal(x):  # exp(-L/T) / sqrt|beta| at T = 0.1
    return -0.5 * (x - 1.0) ** 2 / 0.1 - 0.5 * np.log(np.abs(x))


@pytest.fixture
def hadamard():
    return ql.models.Hadamard(1)


def test_shapes_traces_and_metadata(hadamard):
    samples = ql.simulate(hadamard, quadratic, 0.1, dt=1e-2, n_steps=50, n_particles=30, seed=3,
                          observables={"beta": lambda theta, beta: beta[:, 0]}, record_every=10)
    assert samples.theta.shape == (30, 2) and samples.beta.shape == (30, 1)
    assert samples.traces["beta"].shape == (5, 30)
    np.testing.assert_array_equal(samples.trace_steps, [10, 20, 30, 40, 50])
    np.testing.assert_allclose(samples.traces["beta"][-1], samples.beta[:, 0])
    assert samples.n_diverged == 0 and samples.metadata["noise"] == "isotropic"
    # gauge fixing keeps every particle on the balanced slice |u| = |v|
    assert samples.metadata["max_gauge_residual"] < 1e-12


def test_seed_reproducible_and_independent(hadamard):
    kwargs = dict(dt=1e-2, n_steps=20, n_particles=10)
    a = ql.simulate(hadamard, quadratic, 0.1, seed=5, **kwargs)
    b = ql.simulate(hadamard, quadratic, 0.1, seed=5, **kwargs)
    c = ql.simulate(hadamard, quadratic, 0.1, seed=6, **kwargs)
    np.testing.assert_array_equal(a.theta, b.theta)
    assert not np.allclose(a.theta, c.theta)


def test_horizontal_increments_are_horizontal_and_label_along_gradients():
    model = ql.models.DiagonalNet(2, depth=3)
    rng = np.random.default_rng(0)
    theta = model.sample((7,), rng)

    from quotientlearn.dynamics.noise import get_noise
    _, pullback = model.predictor_and_pullback(theta)
    horizontal = get_noise("horizontal").increment(model, theta, pullback, rng)
    assert np.all(model.bundle.is_horizontal(horizontal, theta))
    assert np.linalg.norm(horizontal) > 1.0
    label = get_noise("label").increment(model, theta, pullback, rng)
    assert np.all(model.bundle.is_horizontal(label, theta))
    # J^T xi' lies in the row space of the predictor Jacobian
    jac = model.predictor_jacobian(theta)
    coef = np.linalg.lstsq(np.swapaxes(jac, -1, -2)[0], label[0], rcond=None)[0]
    np.testing.assert_allclose(np.swapaxes(jac, -1, -2)[0] @ coef, label[0], atol=1e-12)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"noise": "pink"}, ValueError, "valid noise models: isotropic, horizontal, label"),
        ({"temperature": -1.0}, ValueError, "temperature"),
        ({"dt": 0.0}, ValueError, "dt must be finite and positive"),
        ({"n_particles": 2.5}, TypeError, "n_particles must be an integer"),
        ({"scheme": "rk4"}, ValueError, "valid schemes: euler, heun"),
        ({"scheme": "heun", "noise": "label"}, ValueError, "additive"),
        ({"init": np.ones(3)}, ValueError, r"init must have shape \(2,\)"),
        ({"weight_decay": -0.1}, ValueError, "weight_decay"),
    ],
)
def test_bad_input(hadamard, kwargs, error, message):
    args = dict(temperature=0.1, dt=1e-2, n_steps=2, n_particles=4)
    args.update(kwargs)
    temperature = args.pop("temperature")
    with pytest.raises(error, match=message):
        ql.simulate(hadamard, quadratic, temperature, **args)


@pytest.mark.filterwarnings("ignore:invalid value encountered in log")
def test_non_finite_or_misshapen_loss(hadamard):
    with pytest.raises(ValueError, match="non-finite"):
        ql.simulate(hadamard, lambda b: anp.log(b[..., 0] - 10.0), 0.1, n_steps=1, n_particles=4)
    with pytest.raises(ValueError, match="one value per particle"):
        ql.simulate(hadamard, lambda b: b, 0.1, n_steps=1, n_particles=4)


def test_divergence_error_names_step_and_fraction(hadamard):
    quartic = lambda b: anp.sum(b**4, axis=-1)  # noqa: E731
    with pytest.raises(ql.DivergenceError, match=r"diverged at step \d+ .*smaller dt") as info:
        ql.simulate(hadamard, quartic, 0.1, dt=0.5, n_steps=200, n_particles=50,
                    init=hadamard.balanced(np.array([3.0])))
    assert 0 < info.value.fraction <= 1 and info.value.step >= 1


def test_drop_diverged_keeps_the_rest(hadamard):
    quartic = lambda b: anp.sum(b**4, axis=-1)  # noqa: E731
    init = np.concatenate([np.tile(hadamard.balanced(np.array([3.0])), (5, 1)),
                           np.tile(hadamard.balanced(np.array([0.1])), (15, 1))])
    with pytest.warns(ql.DivergenceWarning, match="5 of 20 particles diverged"):
        samples = ql.simulate(hadamard, quartic, 0.0, dt=0.5, n_steps=20, n_particles=20, init=init,
                              drop_diverged=True, observables={"b": lambda t, b: b[:, 0]})
    assert samples.n_diverged == 5 and samples.n_particles == 15
    assert np.all(np.isnan(samples.traces["b"][-1, :5]))


@pytest.mark.slow
def test_hadamard_isotropic_gauge_fixed_fits_theorem1_and_horizontal_fits_sqrt(hadamard, sized):
    # docs/theory.md sections 2-3: T = 0.1, window [0.3, 2]. dt = 2e-3 over t = 10 (relaxation time ~0.5):
    # the O(dt) bias of the window law (measured in benchmarks/bench_dynamics.py: ~1e-3 in the
    # conditional mean) is below the KS resolution 1/sqrt(n) ~ 0.02 at these sizes.
    n = sized(full=20_000, ci=3_000)
    init = hadamard.balanced(np.ones(1))
    iso = ql.simulate(hadamard, quadratic, 0.1, noise="isotropic", dt=2e-3, n_steps=5000,
                      n_particles=n, seed=11, init=init).beta[:, 0]
    hor = ql.simulate(hadamard, quadratic, 0.1, noise="horizontal", dt=2e-3, n_steps=5000,
                      n_particles=n, seed=12, init=init).beta[:, 0]
    window = (0.3, 2.0)
    assert stats.ks_test(iso, log_theorem1, window).pvalue > 0.01
    assert stats.ks_test(iso, log_horizontal, window).pvalue < 1e-4  # power
    assert stats.ks_test(hor, log_horizontal, window).pvalue > 0.01
    assert stats.ks_test(hor, log_theorem1, window).pvalue < 1e-4  # power


def test_soft_gauge_penalty_holds_particles_near_the_slice(hadamard):
    # Isotropic noise without gauge fixing lets the balance chi = (u^2 - v^2)/2 diffuse; a penalty
    # kappa |chi|^2 / 2 confines it (at T = 0.1, kappa = 50: |chi| ~ sqrt(T / (kappa |xi|^2)) ~ 0.03).
    kwargs = dict(gauge_fixing=False, dt=2e-3, n_steps=2000, n_particles=500, seed=4,
                  init=hadamard.balanced(np.ones(1)))
    free = ql.simulate(hadamard, quadratic, 0.1, **kwargs)
    held = ql.simulate(hadamard, quadratic, 0.1, gauge_penalty=50.0, **kwargs)
    spread_free = np.std(hadamard.gauge.chi(free.theta))
    spread_held = np.std(hadamard.gauge.chi(held.theta))
    assert spread_held < 0.1 < spread_free
    assert held.metadata["gauge_penalty"] == 50.0


def _custom_product(d):
    action = ql.groups.GroupAction(
        dim=d, space_dim=2 * d,
        act=lambda c, th: anp.concatenate([th[..., :d] * anp.exp(c), th[..., d:] * anp.exp(-c)], -1))
    return ql.models.Custom(predictor=lambda th: th[..., :d] * th[..., d:], action=action)


@pytest.mark.parametrize("model", [ql.models.Hadamard(2), ql.models.MatrixFactorization(3, 3, 2),
                                   ql.models.ShallowReLU(2, 3), _custom_product(2)], ids=repr)
def test_one_init_point_is_projected_once_for_every_particle(model):
    # One init point is projected before it is copied to every particle: the start is, bit for bit,
    # the projection of every copy (closed-form and Newton projections act row by row).
    point = model.sample((), 3)
    start = ql.simulate(model, lambda b: 0.0 * anp.sum(b, axis=tuple(range(1, anp.ndim(b)))), 0.1,
                        n_steps=0, n_particles=5, init=point, progress=False).theta
    expected = model.gauge.project(np.broadcast_to(point, (5,) + point.shape))
    np.testing.assert_array_equal(start, expected)
    assert not np.array_equal(expected[0], point)  # power: the projection moved the point
