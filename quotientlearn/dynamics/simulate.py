"""``simulate``: vectorised stochastic dynamics of many independent particles.

Each particle follows ``d theta = -grad U dt + sqrt(2 T) C^{1/2} dW`` (noise model ``C``, see
:mod:`quotientlearn.dynamics.noise`), optionally projected onto the gauge slice after every step. All
particles advance together as one ``(N, D)`` array; there is no loop over particles.
"""

from __future__ import annotations

import math
import time

import numpy as np
from tqdm.auto import tqdm

from quotientlearn.bias import validate_temperature
from quotientlearn.dynamics.errors import DivergenceError
from quotientlearn.dynamics.integrators import SCHEMES, Force
from quotientlearn.dynamics.noise import get_noise
from quotientlearn.dynamics.samples import Samples

__all__ = ["simulate"]

_PROGRESS_CHUNK = 200


def _positive(value, name, integer=False, allow_zero=False):
    try:
        number = int(value) if integer else float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number; got {value!r}") from None
    if integer and number != value:
        raise ValueError(f"{name} must be an integer; got {value!r}")
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        bound = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be finite and {bound}; got {value!r}")
    return number


def _initial_state(model, init, n_particles, rng):
    if init is None:
        # Random parameters moved along their orbits onto the slice: the dynamics start balanced.
        theta = model.sample((n_particles,), rng)
        return model.gauge.project(theta) if model.action.dim else theta
    init = np.asarray(init, dtype=float)
    if init.shape not in ((model.dim,), (n_particles, model.dim)):
        raise ValueError(
            f"init must have shape ({model.dim},) or (n_particles, D) = ({n_particles}, {model.dim}); "
            f"got {init.shape}"
        )
    if not np.all(np.isfinite(init)):
        raise ValueError("init has non-finite entries")
    return np.array(np.broadcast_to(init, (n_particles, model.dim)))


def _observe(observables, theta, beta):
    return {name: np.asarray(fn(theta, beta)) for name, fn in observables.items()}


def simulate(model, loss, temperature, noise="isotropic", gauge_fixing=True, weight_decay=0.0,
             dt=1e-3, n_steps=10_000, n_particles=10_000, seed=0, scheme="euler", init=None,
             gauge_penalty=0.0, observables=None, record_every=None, drop_diverged=False,
             progress=None):
    """Simulate independent particles of the noisy learning dynamics.

    Parameters
    ----------
    model : Model
    loss : callable
        ``loss(beta) -> (N,)`` for ``beta`` of shape ``(N, *beta_shape)``, written with
        ``autograd.numpy``.
    temperature : float
        ``T >= 0``.
    noise : {"isotropic", "horizontal", "label"} or noise model
    gauge_fixing : bool
        Project onto the gauge slice (``model.gauge.project``) after every step.
    weight_decay : float
        ``lam``: adds ``lam |theta|^2 / 2`` to the potential.
    dt : float
        Step size.
    n_steps : int
    n_particles : int
        ``N``.
    seed : int or numpy.random.Generator
    scheme : {"euler", "heun"}
        ``"heun"`` (predictor–corrector) needs additive noise (``"isotropic"``).
    init : array_like, shape (D,) or (N, D), optional
        Initial parameters; default: random parameters projected onto the slice.
    gauge_penalty : float
        ``kappa``: a soft gauge, ``kappa |chi|^2 / 2`` added to the potential.
    observables : dict of str to callable, optional
        ``fn(theta, beta) -> (N, ...)``, recorded every ``record_every`` steps into ``Samples.traces``.
    record_every : int, optional
        Default: ``max(1, n_steps // 100)``.
    drop_diverged : bool
        Drop particles that leave the finite numbers instead of raising :class:`DivergenceError`.
    progress : bool, optional
        Show a progress bar; by default one appears when a run lasts more than a few seconds.

    Returns
    -------
    samples : Samples

    Raises
    ------
    ValueError
        On bad arguments or a loss that is non-finite, or of the wrong shape, at the initial state.
    DivergenceError
        When particles diverge and ``drop_diverged`` is False.
    """
    temperature = validate_temperature(temperature)
    noise_model = get_noise(noise)
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; valid schemes: {', '.join(SCHEMES)}")
    if scheme == "heun" and not noise_model.additive:
        raise ValueError(f"scheme 'heun' needs additive noise ('isotropic'); got {noise_model.name!r}")
    if not callable(loss):
        raise ValueError(f"loss must be a callable beta -> (N,); got {type(loss).__name__}")
    dt = _positive(dt, "dt")
    n_steps = int(_positive(n_steps, "n_steps", integer=True, allow_zero=True))
    n_particles = int(_positive(n_particles, "n_particles", integer=True))
    weight_decay = _positive(weight_decay, "weight_decay", allow_zero=True)
    gauge_penalty = _positive(gauge_penalty, "gauge_penalty", allow_zero=True)
    observables = dict(observables or {})
    for name, fn in observables.items():
        if not callable(fn):
            raise ValueError(f"observable {name!r} must be a callable (theta, beta) -> (N, ...)")
    record_every = max(1, n_steps // 100) if record_every is None else int(
        _positive(record_every, "record_every", integer=True))

    rng = np.random.default_rng(seed)
    theta = _initial_state(model, init, n_particles, rng)
    gauge_fixing = bool(gauge_fixing) and model.action.dim > 0  # no symmetry: nothing to fix
    if gauge_fixing:
        theta = model.gauge.project(theta)
    force = Force(model, loss, weight_decay, gauge_penalty)
    values, _, _ = force(theta)
    values = np.asarray(values)
    if values.shape != (n_particles,):
        raise ValueError(
            f"loss must return one value per particle, shape ({n_particles},); got {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(
            f"loss is non-finite at {int(np.sum(~np.isfinite(values)))} initial particle(s); "
            "check the loss and init")

    step_fn = SCHEMES[scheme]
    project = model.gauge.project
    scale = math.sqrt(2.0 * temperature * dt)
    alive = np.arange(n_particles)
    n_records = n_steps // record_every if observables else 0
    traces, trace_steps = {}, np.arange(1, n_records + 1) * record_every
    start = time.perf_counter()
    bar = tqdm(total=n_steps, desc=f"simulate {noise_model.name}", unit="step", delay=3.0,
               mininterval=1.0, disable=(progress is False), leave=False)
    try:
        for step in range(1, n_steps + 1):
            with np.errstate(over="ignore", invalid="ignore"):
                theta, _ = step_fn(force, noise_model, model, theta, dt, scale, rng)
            # A non-finite sum flags any non-finite coordinate (and overflow) in one pass.
            bad = ~np.isfinite(np.sum(theta, axis=-1))
            if np.any(bad):
                n_bad = int(np.count_nonzero(bad))
                if not drop_diverged:
                    raise DivergenceError(step, n_bad / len(alive), dt, n_bad, len(alive))
                theta, alive = theta[~bad], alive[~bad]
                if len(alive) == 0:
                    raise DivergenceError(step, 1.0, dt, n_bad, n_bad)
            if gauge_fixing:
                theta = project(theta)
            if n_records and step % record_every == 0 and step // record_every <= n_records:
                observed = _observe(observables, theta, model.traceable_predictor(theta))
                for name, value in observed.items():
                    if name not in traces:
                        traces[name] = np.full((n_records, n_particles) + value.shape[1:], np.nan)
                    traces[name][step // record_every - 1, alive] = value
            if step % _PROGRESS_CHUNK == 0 or step == n_steps:
                bar.update(step - bar.n)
    finally:
        bar.close()
    seconds = time.perf_counter() - start
    beta = model.predictor(theta)
    chi = model.gauge.chi(theta) if model.action.dim else np.zeros((len(theta), 0))
    metadata = {
        "model": repr(model), "noise": noise_model.name, "temperature": temperature,
        "gauge_fixing": bool(gauge_fixing), "weight_decay": weight_decay,
        "gauge_penalty": gauge_penalty, "dt": dt, "n_steps": n_steps, "time": dt * n_steps,
        "n_particles": n_particles, "scheme": scheme,
        "seed": "generator" if isinstance(seed, np.random.Generator) else seed,
        "seconds": seconds, "max_gauge_residual": float(np.max(np.abs(chi))) if chi.size else 0.0,
    }
    return Samples(theta=theta, beta=beta, traces=traces, trace_steps=trace_steps,
                   n_diverged=n_particles - len(alive), metadata=metadata)
