"""The fused compiled Euler step (numba, ``numerics.COMPILED_DRAWS``) gives the numpy path's bits.

Every comparison runs the same simulation with the switch off (numpy, the reference) and on (the fused
kernel where it applies) and asserts equal arrays, records and generator states, not closeness: the
kernel does numpy's IEEE operations in numpy's order and draws numpy's numbers. Equal bits imply equal
distributions; the power of the comparison is shown by a seed and a step size that change the bits.
"""

import sys

import autograd.numpy as anp
import numpy as np
import pytest

import quotientlearn as ql
from quotientlearn import numerics
from quotientlearn.checkpoint import Checkpoint
from quotientlearn.dynamics import (
    Engine,
    EulerMaruyama,
    GaugeProjection,
    Loss,
    Potential,
    StochasticHeun,
    compiled,
    engine,
    get_noise,
)

pytest.importorskip("numba")


def _quadratic(beta):
    return 0.5 * anp.sum((beta - 1.0) ** 2, axis=-1)


GIVEN = Loss(_quadratic, gradient=lambda beta: beta - 1.0)


@pytest.fixture
def small_chunks(monkeypatch):
    # 1024 entries a chunk: a few hundred particles already span several chunks
    monkeypatch.setattr(engine, "_CHUNK_ENTRIES", 2**10)


def _run(monkeypatch, model, fused, loss=GIVEN, seed=4, dt=1e-3, **kwargs):
    """simulate with the compiled switch ``fused``: the samples and the generator's final state."""
    monkeypatch.setattr(numerics, "COMPILED_DRAWS", fused)
    rng = np.random.default_rng(seed)
    kwargs = {"n_steps": 12, "n_particles": 1001, "progress": False,
              "init": model.balanced(np.linspace(0.5, 1.5, model.width)),
              "observables": {"beta": lambda theta, beta: beta}, "record_every": 4, **kwargs}
    samples = ql.simulate(model, loss, 0.1, dt=dt, seed=rng, **kwargs)
    return samples, rng.bit_generator.state


def _assert_same(first, second):
    (samples, state), (other, other_state) = first, second
    np.testing.assert_array_equal(samples.theta, other.theta)
    np.testing.assert_array_equal(samples.records["beta"], other.records["beta"])
    assert state == other_state


@pytest.mark.parametrize("model", [ql.models.Hadamard(1), ql.models.Hadamard(3), ql.models.Hadamard(100),
                                   ql.models.CumsumHadamard(4),
                                   ql.models.BasisHadamard(np.array([[2.0, 1.0], [0.0, 1.0]]))],
                         ids=["hadamard-1", "hadamard-3", "hadamard-100", "cumsum-4", "basis-2"])
def test_fused_step_is_bit_identical_to_the_numpy_path(monkeypatch, small_chunks, model):
    # 1001 particles: one full chunk or several and a partial last one (512 rows at d = 1, 5 at d = 100)
    numpy_run = _run(monkeypatch, model, fused=False)
    fused_run = _run(monkeypatch, model, fused=True)
    _assert_same(numpy_run, fused_run)
    # the fused route did run (and the numpy route did not, when the switch is off)
    drift = Potential(model, GIVEN)
    args = (drift, get_noise("isotropic"), model, GaugeProjection(model.gauge), 1e-3, 0.01, 1e8,
            np.random.default_rng(0))
    assert isinstance(EulerMaruyama().fused_step(*args), compiled.ProductEulerStep)
    monkeypatch.setattr(numerics, "COMPILED_DRAWS", False)
    assert EulerMaruyama().fused_step(*args) is None


def test_the_comparison_has_power(monkeypatch, small_chunks):
    # a different seed, or a step size off by one part in 10^12, changes the bits
    model = ql.models.Hadamard(3)
    fused_run = _run(monkeypatch, model, fused=True)
    for changed in (_run(monkeypatch, model, fused=False, seed=5),
                    _run(monkeypatch, model, fused=False, dt=1e-3 * (1 + 1e-12))):
        assert not np.array_equal(changed[0].theta, fused_run[0].theta)


@pytest.mark.parametrize("width", [1, 5])  # the kernel's loop over rows alone, and its general loop
@pytest.mark.parametrize("case", ["autograd loss", "no gauge fixing", "zero temperature", "whole batch"])
def test_fused_step_matches_in_every_configuration_it_serves(monkeypatch, small_chunks, case, width):
    # an autograd loss (its gradient stays numpy's: the same trace on the same beta), no constraint
    # (the kernel steps and checks only), T = 0 (nothing drawn), and a run of one chunk
    model = ql.models.Hadamard(width)
    kwargs = {"autograd loss": {"loss": _quadratic}, "no gauge fixing": {"gauge_fixing": False},
              "zero temperature": {}, "whole batch": {"n_particles": 30}}[case]
    runs = []
    for fused in (False, True):
        if case == "zero temperature":
            monkeypatch.setattr(numerics, "COMPILED_DRAWS", fused)
            runs.append(ql.simulate(model, GIVEN, 0.0, n_steps=10, n_particles=500, seed=0,
                                    progress=False).theta)
        else:
            runs.append(_run(monkeypatch, model, fused, **kwargs)[0].theta)
    np.testing.assert_array_equal(runs[0], runs[1])


@pytest.mark.parametrize("drop_diverged", [True, False])
def test_fused_step_diverges_like_the_numpy_path(monkeypatch, small_chunks, drop_diverged):
    # particles in middle chunks start huge and leave the bound at the first step: the kernel hands
    # the chunk back unprojected, and the engine drops the same particles (same survivors' bits and
    # warning) or raises the same error
    model = ql.models.Hadamard(10)
    init = np.tile(model.balanced(np.ones(10)), (700, 1))
    init[[300, 301, 555]] *= 5e3  # beta ~ 2.5e7: the first step passes 1e8
    outcomes = []
    for fused in (False, True):
        monkeypatch.setattr(numerics, "COMPILED_DRAWS", fused)
        rng = np.random.default_rng(3)
        kwargs = dict(n_steps=3, n_particles=700, init=init, seed=rng, progress=False)
        if drop_diverged:
            with pytest.warns(ql.DivergenceWarning, match="3 of 700") as caught:
                samples = ql.simulate(model, GIVEN, 0.1, drop_diverged=True, **kwargs)
            outcomes.append((samples.theta, samples.n_diverged, str(caught[0].message),
                             rng.bit_generator.state))
        else:
            with pytest.raises(ql.DivergenceError) as error:
                ql.simulate(model, GIVEN, 0.1, **kwargs)
            outcomes.append(str(error.value))
    if drop_diverged:
        assert outcomes[0][1] == 3 and outcomes[0][1:] == outcomes[1][1:]
        np.testing.assert_array_equal(outcomes[0][0], outcomes[1][0])
    else:
        assert outcomes[0] == outcomes[1] and "at step 1" in outcomes[0]


@pytest.mark.parametrize(("start", "dt", "gradient"),
                         [([[1e-160, 1e160]], 1e-3, 0.0), ([[1.0, 2.0]], 0.5, 1.0)],
                         ids=["ratio overflows", "u hits 0"])
def test_pairs_the_closed_form_balance_refuses_go_the_scale_safe_route(start, dt, gradient):
    # |v / u| = inf (u tiny, v huge), or u exactly 0 after the step (T = 0, c = -dt g = -1/2 and
    # c v + u = 0): the balance's closed form does not apply, so the kernel hands back the stepped
    # chunk and the engine's projection takes the scale-safe route, as on the numpy path
    model = ql.models.Hadamard(1)
    theta = np.array(start)
    loss = Loss(_quadratic, gradient=lambda beta: np.full_like(beta, gradient))
    step = compiled.ProductEulerStep(model, loss, dt, 0.0, 1e300, np.random.default_rng(0), balance=True)
    out = np.empty_like(theta)
    assert not step(theta, out)
    stepped = EulerMaruyama().step(theta, Potential(model, loss), get_noise("isotropic"), model, dt, 0.0,
                                   np.random.default_rng(0))
    np.testing.assert_array_equal(out, stepped)
    assert model.gauge.action._balance_pairs(stepped) is None  # indeed not the closed form's case
    runs = []
    for fused in (False, True):
        switch = numerics.COMPILED_DRAWS
        numerics.COMPILED_DRAWS = fused
        try:
            run = Engine(Potential(model, loss), get_noise("isotropic"), EulerMaruyama(), 0.0, dt,
                         model=model, constraint=GaugeProjection(model.gauge), bound=1e300)
            runs.append(run.run(theta.copy(), 1, np.random.default_rng(0), progress=False).theta)
        finally:
            numerics.COMPILED_DRAWS = switch
    np.testing.assert_array_equal(runs[0], runs[1])
    assert np.all(np.isfinite(runs[0]))


def test_kernel_steps_and_balances_a_chunk_as_numpy_does():
    # the kernel alone on a crafted chunk with a nonzero pull-back, drawing from the generator: the
    # Euler step then the pair balance, and the generator left where numpy leaves it
    model = ql.models.Hadamard(7)
    theta = np.random.default_rng(1).uniform(0.5, 2.0, (33, 14))
    drift, noise, constraint = Potential(model, GIVEN), get_noise("isotropic"), GaugeProjection(model.gauge)
    ours, reference = np.random.default_rng(9), np.random.default_rng(9)
    out = np.empty_like(theta)
    assert compiled.ProductEulerStep(model, GIVEN, 0.01, 0.3, 1e8, ours, balance=True)(theta, out)
    expected = constraint.project(EulerMaruyama().step(theta, drift, noise, model, 0.01, 0.3, reference))
    np.testing.assert_array_equal(out, expected)
    assert ours.integers(2**62) == reference.integers(2**62)


def test_fused_step_resumes_bit_identically(monkeypatch, small_chunks, tmp_path):
    # a crash at the 3rd record leaves the checkpoint of step 8; the resumed fused run is the
    # uninterrupted numpy run
    model = ql.models.Hadamard(3)
    reference, _ = _run(monkeypatch, model, fused=False, n_steps=16)
    path = tmp_path / "fused.npz"

    def crashing(theta, beta, calls=[0]):  # noqa: B006 - a counter shared across calls
        calls[0] += 1
        if calls[0] == 4:
            raise KeyError("crash")
        return beta

    with pytest.raises(KeyError):
        _run(monkeypatch, model, fused=True, n_steps=16, observables={"beta": crashing},
             checkpoint=Checkpoint(path, every_steps=8))
    monkeypatch.setattr(numerics, "COMPILED_DRAWS", True)
    resumed = ql.simulate(model, GIVEN, 0.1, dt=1e-3, n_steps=16, n_particles=1001, progress=False,
                          init=model.balanced(np.linspace(0.5, 1.5, 3)), seed=np.random.default_rng(4),
                          observables={"beta": lambda theta, beta: beta}, record_every=4, resume=True,
                          checkpoint=Checkpoint(path, every_steps=8))
    assert resumed.metadata["resumed_from"] == 8
    np.testing.assert_array_equal(resumed.theta, reference.theta)
    np.testing.assert_array_equal(resumed.records["beta"], reference.records["beta"])


def test_fused_step_is_not_offered_where_it_would_not_be_exact(monkeypatch):
    # weight decay, a gauge penalty, horizontal and label noise, Heun, a Custom model, a constraint
    # that is not the pair balance (or not a Constraint): each keeps the numpy path
    monkeypatch.setattr(numerics, "COMPILED_DRAWS", True)
    model = ql.models.Hadamard(2)
    action = ql.groups.GroupAction(
        dim=1, space_dim=2,
        act=lambda c, th: anp.stack([th[..., 0] * anp.exp(c[..., 0]), th[..., 1] * anp.exp(-c[..., 0])], -1))
    custom = ql.models.Custom(predictor=lambda th: th[..., :1] * th[..., 1:], action=action)
    isotropic, rng, gauge = get_noise("isotropic"), np.random.default_rng(0), GaugeProjection(model.gauge)

    class Unit(ql.dynamics.Constraint):
        def project(self, theta):
            return theta / np.linalg.norm(theta, axis=-1, keepdims=True)

    class DuckTyped:  # the engine runs constraints that only have `project`
        project = Unit.project

    cases = {
        "weight decay": (EulerMaruyama(), Potential(model, GIVEN, weight_decay=0.1), isotropic, model, gauge),
        "gauge penalty": (EulerMaruyama(), Potential(model, GIVEN, gauge_penalty=1.0), isotropic, model,
                          gauge),
        "horizontal": (EulerMaruyama(), Potential(model, GIVEN), get_noise("horizontal"), model, gauge),
        "label": (EulerMaruyama(), Potential(model, GIVEN), get_noise("label"), model, gauge),
        "heun": (StochasticHeun(), Potential(model, GIVEN), isotropic, model, gauge),
        "custom": (EulerMaruyama(), Potential(custom, GIVEN), isotropic, custom,
                   GaugeProjection(custom.gauge)),
        "other constraint": (EulerMaruyama(), Potential(model, GIVEN), isotropic, model, Unit()),
        "duck-typed constraint": (EulerMaruyama(), Potential(model, GIVEN), isotropic, model, DuckTyped()),
    }
    for name, (scheme, drift, noise, owner, constraint) in cases.items():
        assert scheme.fused_step(drift, noise, owner, constraint, 1e-3, 0.01, 1e8, rng) is None, name
    # and the gauge, group action and constraint declare the pair blocks only for the pair balance
    assert gauge.pair_blocks() == (slice(0, 2), slice(2, 4))
    assert GaugeProjection(custom.gauge).pair_blocks() is None and Unit().pair_blocks() is None


def test_fused_step_without_numba_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(compiled, "_KERNEL", [])
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba fails
    monkeypatch.setattr(numerics, "COMPILED_DRAWS", True)
    model = ql.models.Hadamard(2)
    with pytest.raises(ImportError, match=r"quotientlearn\[fast\]"):
        EulerMaruyama().fused_step(Potential(model, GIVEN), get_noise("isotropic"), model,
                                   GaugeProjection(model.gauge), 1e-3, 0.01, 1e8, np.random.default_rng(0))
