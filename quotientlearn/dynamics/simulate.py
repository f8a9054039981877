"""``simulate``: vectorised stochastic dynamics of many independent particles.

Each particle follows ``d theta = -grad U dt + sqrt(2 T) C^{1/2} dW`` (noise model ``C``, see
:mod:`quotientlearn.dynamics.noise`), optionally projected onto the gauge slice after every step. This
is a thin layer over the :class:`~quotientlearn.dynamics.engine.Engine`: it validates the arguments,
builds the potential, the noise model, the scheme and the gauge projection, and wraps the engine's
run in :class:`~quotientlearn.dynamics.samples.Samples`.
"""

from __future__ import annotations

import numpy as np

from quotientlearn.dynamics.constraints import GaugeProjection
from quotientlearn.dynamics.drift import Potential
from quotientlearn.dynamics.engine import DIVERGENCE_BOUND, Engine, Recorder, as_generator
from quotientlearn.dynamics.noise import get_noise
from quotientlearn.dynamics.samples import Samples
from quotientlearn.dynamics.schemes import get_scheme
from quotientlearn.validation import check_memory, integer, real, real_array
from quotientlearn.validation import temperature as validate_temperature

__all__ = ["simulate"]


#: Runs whose state and temporaries take less than this many bytes skip the memory check.
_UNCHECKED_BYTES = 2**24


def _initial_state(model, init, n_particles, rng, constraint):
    """The ``(N, *shape)`` start, projected by ``constraint`` (if any)."""
    if init is None:
        # Random parameters moved along their orbits onto the slice: the dynamics start balanced.
        theta = model.sample((n_particles,), rng)
        if model.action.dim:
            theta = model.gauge.project(theta)
        return constraint.project(theta) if constraint is not None else theta
    init = real_array(init, "init")
    shape = model.space.shape
    if init.shape not in (shape, (n_particles,) + shape):
        raise ValueError(f"init must have shape {shape} or (n_particles, *shape) = "
                         f"{(n_particles,) + shape}; got {init.shape}")
    if not np.all(np.isfinite(init)):
        raise ValueError("init has non-finite entries")
    init = model.space.validate(init, "init")
    if constraint is not None:
        # one point for all particles is projected once (the projection acts row by row)
        init = constraint.project(init if init.ndim > len(shape) else init[None])
    # C order (copying a broadcast view would keep its strides' order: Fortran for (N, D)), the
    # layout the chunked step and the compiled kernels stream through row by row
    return np.array(np.broadcast_to(init, (n_particles,) + shape), order="C")


def _observer(model, observables):
    def observe(theta):
        beta = model.traceable_predictor(theta)
        return {name: fn(theta, beta) for name, fn in observables.items()}

    return observe


def simulate(model, loss, temperature, noise="isotropic", gauge_fixing=True, weight_decay=0.0,
             dt=1e-3, n_steps=10_000, n_particles=10_000, seed=0, scheme="euler", init=None,
             gauge_penalty=0.0, observables=None, record_every=None, drop_diverged=False,
             progress=None, checkpoint=None, resume=False, divergence_bound=DIVERGENCE_BOUND):
    """Simulate independent particles of the noisy learning dynamics.

    Parameters
    ----------
    model : Model
    loss : callable
        ``loss(beta) -> (N,)`` for ``beta`` of shape ``(N, *beta_shape)``, written with
        ``autograd.numpy``.
    temperature : float
        ``T >= 0``.
    noise : {"isotropic", "horizontal", "label", "preconditioned"} or NoiseModel
        On a curved space ``"isotropic"`` is Riemannian Langevin (stationary law
        ``exp(-U/T) dvol_g``); ``"preconditioned"`` is ``g^{-1}`` drift and noise in the coordinates of
        ``R^D``, without Itô drift.
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
    scheme : {"euler", "heun", "geodesic"} or Scheme
        ``"heun"`` (predictor–corrector) needs additive noise (``"isotropic"``) on flat space. On a curved
        space (or with a metric) ``"euler"`` is a second-order retraction step and ``"geodesic"`` an
        exponential-map step (:class:`~quotientlearn.dynamics.RiemannianEuler`).
    init : array_like, shape (*space.shape) or (N, *space.shape), optional
        Initial parameters; default: random parameters projected onto the slice.
    gauge_penalty : float
        ``kappa``: a soft gauge, ``kappa |chi|^2 / 2`` added to the potential.
    observables : dict of str to callable, optional
        ``fn(theta, beta) -> (N, ...)``, recorded every ``record_every`` steps into
        ``Samples.records``.
    record_every : int, optional
        Default: ``max(1, n_steps // 100)``.
    drop_diverged : bool
        Drop particles that diverge instead of raising :class:`DivergenceError` (raised anyway when
        all of them do); ``Samples.n_diverged`` counts them.
    progress : bool, optional
        Show a progress bar; by default one appears on a terminal when a run lasts more than a few
        seconds.
    checkpoint : quotientlearn.checkpoint.Checkpoint, optional
        Saved periodically, on Ctrl-C and at the end.
    resume : bool
        Continue from ``checkpoint``; the result is bit-identical to an uninterrupted run.
    divergence_bound : float
        A particle has diverged when a coordinate is non-finite or exceeds this in magnitude (checked
        after every step and after every gauge projection); ``inf`` keeps only the finiteness test.

    Returns
    -------
    samples : Samples

    Raises
    ------
    ValueError
        On bad arguments or a loss that is non-finite, or of the wrong shape, at the initial state.
    TypeError
        When the loss is not written with ``autograd.numpy``.
    DivergenceError
        When particles diverge and ``drop_diverged`` is False.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Hadamard(dim=1)
    >>> def loss(beta):
    ...     return 0.5 * (beta[..., 0] - 1.0) ** 2
    >>> samples = ql.simulate(model, loss, 0.1, noise="isotropic", gauge_fixing=True, dt=2e-3,
    ...                       n_steps=100, n_particles=50, seed=0, progress=False)
    >>> samples.theta.shape, samples.beta.shape
    ((50, 2), (50, 1))
    >>> bool(samples.metadata["max_gauge_residual"] < 1e-10)  # every particle on the slice
    True
    """
    temperature = validate_temperature(temperature)
    noise_model = get_noise(noise)
    scheme = get_scheme(scheme).on_space(model.space, noise_model)
    if scheme.needs_additive_noise and not noise_model.additive:
        raise ValueError(f"scheme {scheme.name!r} needs additive noise ('isotropic'); "
                         f"got {noise_model.name!r}")
    if not callable(loss):
        raise ValueError(f"loss must be a callable beta -> (N,); got {type(loss).__name__}")
    dt = real(dt, "dt", minimum=0.0, exclusive_minimum=True)
    n_steps = integer(n_steps, "n_steps", minimum=0)
    n_particles = integer(n_particles, "n_particles", minimum=1)
    weight_decay = real(weight_decay, "weight_decay", minimum=0.0)
    gauge_penalty = real(gauge_penalty, "gauge_penalty", minimum=0.0)
    divergence_bound = real(divergence_bound, "divergence_bound", minimum=0.0, exclusive_minimum=True,
                            allow_inf=True)
    observables = dict(observables or {})
    for name, fn in observables.items():
        if not callable(fn):
            raise ValueError(f"observable {name!r} must be a callable (theta, beta) -> (N, ...)")
    record_every = (max(1, n_steps // 100) if record_every is None
                    else integer(record_every, "record_every", minimum=1))

    # The state, the step and the drift are (N, D) float64 arrays, and the noise and a scheme's
    # temporaries at least one more: refuse a size that cannot fit before allocating any of them.
    # (Reading the system's limits costs ~0.1 ms: a small run, which no machine refuses, skips it.)
    n_bytes = 4 * 8 * n_particles * model.dim
    if n_bytes > _UNCHECKED_BYTES:
        check_memory(n_bytes, f"n_particles = {n_particles} with D = {model.dim}")
    rng = as_generator(seed)
    gauge_fixing = bool(gauge_fixing) and model.action.dim > 0  # no symmetry: nothing to fix
    constraint = GaugeProjection(model.gauge) if gauge_fixing else None
    theta = _initial_state(model, init, n_particles, rng, constraint)
    potential = Potential(model, loss, weight_decay, gauge_penalty)
    values = potential.checked_values(theta)
    if values.shape != (n_particles,):
        raise ValueError(
            f"loss must return one value per particle, shape ({n_particles},); got {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(
            f"loss is non-finite at {int(np.sum(~np.isfinite(values)))} initial particle(s); "
            "check the loss and init")

    recorder = None
    if observables:
        steps = np.arange(1, n_steps // record_every + 1) * record_every
        recorder = Recorder(_observer(model, observables), steps, n_particles)
    engine = Engine(potential, noise_model, scheme, temperature, dt, model=model,
                    constraint=constraint, bound=divergence_bound)
    run = engine.run(theta, n_steps, rng, recorder=recorder, checkpoint=checkpoint, resume=resume,
                     drop_diverged=drop_diverged, progress=progress,
                     desc=f"simulate {noise_model.name}")
    theta = run.theta
    metadata = {
        "model": repr(model), "noise": noise_model.name, "temperature": temperature,
        "gauge_fixing": gauge_fixing, "weight_decay": weight_decay,
        "gauge_penalty": gauge_penalty, "dt": dt, "n_steps": n_steps, "time": dt * n_steps,
        "n_particles": n_particles, "scheme": scheme.name,
        "seed": "generator" if isinstance(seed, np.random.Generator) else seed,
        "seconds": run.seconds, "resumed_from": run.resumed_from,
        "max_gauge_residual": GaugeProjection(model.gauge).residual(theta) if model.action.dim else 0.0,
        "max_manifold_residual": float(np.max(model.space.membership_residual(theta), initial=0.0)),
    }
    return Samples(theta=theta, beta=model.predictor(theta), records=run.records,
                   record_steps=run.record_steps, n_diverged=n_particles - len(run.alive),
                   metadata=metadata)
