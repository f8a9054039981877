"""The one dynamics engine under :func:`~quotientlearn.simulate` and :func:`quotientlearn.sgd.train`.

An :class:`Engine` composes a drift (a potential's ``-grad U``, or a minibatch gradient), a noise model,
a scheme and an optional constraint step (the gauge projection), and runs them on a leading particle
(or seed) axis: every step is a handful of batched numpy operations on one ``(N, D)`` array. Around
the steps it records observables (:class:`Recorder`), handles divergence (raise
:class:`DivergenceError`, or drop the particles that diverged), checkpoints atomically and resumes bit
for bit (:class:`~quotientlearn.checkpoint.Checkpoint`), turns Ctrl-C into a checkpoint at the next
step boundary, and shows progress.
"""

from __future__ import annotations

import math
import signal
import threading
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from quotientlearn.dynamics.constraints import Constraint
from quotientlearn.dynamics.errors import DivergenceError, DivergenceWarning
from quotientlearn.validation import rng_from_seed

__all__ = ["DIVERGENCE_BOUND", "Engine", "Recorder", "Run", "as_generator"]


def as_generator(seed):
    """A ``numpy.random.Generator`` from a seed: :func:`~quotientlearn.validation.rng_from_seed`.

    Raises
    ------
    TypeError
        When ``seed`` is not an int, a sequence of ints, a Generator or None (``1.5``, ``True``).
    ValueError
        When it is a negative int.

    Examples
    --------
    >>> import numpy as np
    >>> from quotientlearn.dynamics import as_generator
    >>> rng = as_generator(0)
    >>> as_generator(rng) is rng  # a Generator passes through
    True
    """
    return rng_from_seed(seed)


class Recorder:
    """Observables recorded at given steps, as arrays of shape ``(n_records, N0, ...)``.

    Parameters
    ----------
    observe : callable
        ``theta (N, D) -> dict of str to ndarray (N, ...)`` for the surviving particles.
    steps : array_like of int
        Increasing step numbers at which to record (0 is the initial state).
    n_particles : int
        ``N0``, the initial number of particles; a particle dropped after divergence keeps NaN (float
        records) in its later rows.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> from quotientlearn import dynamics
    >>> model = ql.models.Hadamard(dim=1)
    >>> drift = dynamics.Potential(model, lambda beta: 0.5 * (beta[..., 0] - 1.0) ** 2)
    >>> engine = dynamics.Engine(drift, dynamics.get_noise("isotropic"), dynamics.EulerMaruyama(),
    ...                          temperature=0.1, dt=1e-3, model=model,
    ...                          constraint=dynamics.GaugeProjection(model.gauge))
    >>> start = np.tile(model.balanced(np.ones(1)), (8, 1))  # 8 particles, shape (8, 2)
    >>> recorder = dynamics.Recorder(lambda theta: {"beta": model.predictor(theta)},
    ...                             steps=np.array([0, 50, 100]), n_particles=8)
    >>> run = engine.run(start, 100, np.random.default_rng(0), recorder=recorder, progress=False)
    >>> run.records["beta"].shape, run.record_steps  # (n_records, N, *beta_shape)
    ((3, 8, 1), array([  0,  50, 100]))
    """

    def __init__(self, observe, steps, n_particles):
        self.observe = observe
        self.steps = np.asarray(steps, dtype=int)
        self.n_particles = int(n_particles)
        self.records = {}
        self.position = 0

    @property
    def next_step(self):
        """The next step to record, or -1 when the schedule is done."""
        return int(self.steps[self.position]) if self.position < self.steps.size else -1

    def restore(self, records, step):
        """Continue from ``records`` saved after ``step`` steps."""
        self.records = dict(records)
        self.position = int(np.searchsorted(self.steps, step, side="right"))

    def record(self, theta, alive):
        """Record the observables of the particles ``alive`` (indices or ``slice(None)``)."""
        for name, value in self.observe(theta).items():
            value = np.asarray(value)
            if name not in self.records:
                shape = (self.steps.size, self.n_particles) + value.shape[1:]
                floating = np.issubdtype(value.dtype, np.floating)
                self.records[name] = np.full(shape, np.nan if floating else 0, dtype=value.dtype)
            self.records[name][self.position, alive] = value
        self.position += 1


@dataclass
class Run:
    """What an :class:`Engine` run returns.

    Attributes
    ----------
    theta : ndarray, shape (N, D)
        Final states of the surviving particles.
    alive : ndarray of int, shape (N,)
        Their indices among the ``N0`` initial particles.
    records : dict of str to ndarray, shape (n_records, N0, ...)
    record_steps : ndarray of int, shape (n_records,)
    n_steps : int
    resumed_from : int
        The step a resumed run continued from (0 for a fresh run).
    seconds : float
        Wall time of the steps run in this call.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> from quotientlearn import dynamics
    >>> model = ql.models.Hadamard(dim=1)
    >>> drift = dynamics.Potential(model, lambda beta: 0.5 * (beta[..., 0] - 1.0) ** 2)
    >>> engine = dynamics.Engine(drift, dynamics.get_noise("isotropic"), dynamics.EulerMaruyama(),
    ...                          temperature=0.1, dt=1e-3, model=model,
    ...                          constraint=dynamics.GaugeProjection(model.gauge))
    >>> start = np.tile(model.balanced(np.ones(1)), (8, 1))  # 8 particles, shape (8, 2)
    >>> run = engine.run(start, 100, np.random.default_rng(0), progress=False)
    >>> run.alive  # indices of the particles still running (all, unless drop_diverged dropped some)
    array([0, 1, 2, 3, 4, 5, 6, 7])
    """

    theta: np.ndarray
    alive: np.ndarray
    records: dict = field(default_factory=dict)
    record_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    n_steps: int = 0
    resumed_from: int = 0
    seconds: float = 0.0


class _InterruptGuard:
    """Turn SIGINT into a flag checked between steps, so a checkpoint is always a step boundary."""

    def __init__(self, active):
        self.active = active and threading.current_thread() is threading.main_thread()
        self.interrupted = False
        self._previous = None

    def _handle(self, signum, frame):
        self.interrupted = True

    def __enter__(self):
        if self.active:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self.active:
            signal.signal(signal.SIGINT, self._previous)
        return False


class _NoProgressBar:
    """What ``progress=False`` shows: nothing (and costs no tqdm instance, ~0.1 ms a run)."""

    n = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n):
        pass


def _progress_bar(progress, total, initial, desc):
    """A tqdm bar (by default shown on a terminal after a few seconds), or none for ``progress=False``."""
    if progress is not None and not progress:
        return _NoProgressBar()
    return tqdm(total=total, initial=initial, desc=desc, unit="step", delay=3.0, mininterval=1.0,
                disable=None if progress is None else not progress, leave=False)


_RECORD_PREFIX = "record/"

#: Entries of one ``(rows, D)`` chunk of particles: 512 KB, so that a step's passes over a chunk stay
#: in cache (and large temporaries are not paged in afresh at every step). Measured interleaved
#: (benchmarks/bench_performance.py's loop, CPU time, N = 10^4): 2^16 matched 2^15 at d = 100 and
#: was ~7% faster at d = 1000 (autograd losses, whose trace is paid per chunk: ~5% and ~14%);
#: 2^14 and 2^17 were slower.
_CHUNK_ENTRIES = 2**16


def _chunked(fn, theta, rows):
    """``fn`` applied to consecutive row chunks of ``theta`` (N, D), in order, into one new array."""
    if rows >= len(theta):
        return fn(theta)
    out = np.empty_like(theta)
    for start in range(0, len(theta), rows):
        out[start:start + rows] = fn(theta[start:start + rows])
    return out


_MAXIMUM, _MINIMUM = np.maximum.reduce, np.minimum.reduce


#: Default divergence bound on ``|theta_i|``. The learning problems here have parameters of order 1 to
#: 100; an explicit step that has lost stability grows faster than exponentially and passes 1e8 within
#: a few steps, whereas a bound near the float range (1e300) let "survivors" at 1e22-1e73 through,
#: one or two steps from overflow. Problems with legitimately larger parameters pass a larger bound.
DIVERGENCE_BOUND = 1e8


@dataclass(frozen=True)
class Engine:
    """Vectorised stochastic dynamics ``d theta = b dt + sqrt(2 T) C^{1/2} dW`` of independent particles.

    Parameters
    ----------
    drift : Drift
    noise : NoiseModel
    scheme : Scheme
    temperature : float
        ``T >= 0``; at 0 no noise is drawn.
    dt : float
        Step size.
    model : Model, optional
        Passed to the noise model (horizontal and label noise need it).
    constraint : Constraint, optional
        Applied after every step (e.g. :class:`~quotientlearn.dynamics.constraints.GaugeProjection`).
    step_name : str
        How the layer calls the step size (``"dt"``, ``"lr"``), for error messages.
    offers_drop : bool
        Whether the layer offers ``drop_diverged`` (the divergence message then suggests it).
    bound : float
        A particle has *diverged* when a coordinate is non-finite or exceeds ``bound`` in magnitude
        (default :data:`DIVERGENCE_BOUND`); checked after every step and again after every
        constraint step, so no projection ever sees (or returns) a diverged particle (the second check
        is skipped when the constraint's :attr:`~quotientlearn.dynamics.Constraint.entry_growth`
        proves that the projection stays within the bound).

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> from quotientlearn import dynamics
    >>> model = ql.models.Hadamard(dim=1)
    >>> drift = dynamics.Potential(model, lambda beta: 0.5 * (beta[..., 0] - 1.0) ** 2)
    >>> engine = dynamics.Engine(drift, dynamics.get_noise("isotropic"), dynamics.EulerMaruyama(),
    ...                          temperature=0.1, dt=1e-3, model=model,
    ...                          constraint=dynamics.GaugeProjection(model.gauge))
    >>> start = np.tile(model.balanced(np.ones(1)), (8, 1))  # 8 particles, shape (8, 2)
    >>> run = engine.run(start, 100, np.random.default_rng(0), progress=False)
    >>> run.theta.shape, run.n_steps
    ((8, 2), 100)
    """

    drift: object
    noise: object
    scheme: object
    temperature: float
    dt: float
    model: object = None
    constraint: object = None
    step_name: str = "dt"
    offers_drop: bool = True
    bound: float = DIVERGENCE_BOUND

    def run(self, theta, n_steps, rng, recorder=None, checkpoint=None, resume=False,
            drop_diverged=False, progress=None, desc=None, overwrite_theta=False):
        """Run ``n_steps`` steps from ``theta``.

        Parameters
        ----------
        theta : ndarray, shape (N, D)
        n_steps : int
        rng : numpy.random.Generator
            Drives every random draw; its state is checkpointed.
        recorder : Recorder, optional
        checkpoint : Checkpoint, optional
            Saved periodically, on Ctrl-C (at the next step boundary, then ``KeyboardInterrupt`` is
            re-raised) and at the end.
        resume : bool
            Continue from ``checkpoint`` if it holds a state; the result is then bit-identical to an
            uninterrupted run.
        drop_diverged : bool
            Drop particles that diverge (leave ``|theta_i| <= bound``) instead of raising
            :class:`DivergenceError`; it is raised anyway when every particle diverges.
        progress : bool, optional
            Show a progress bar; by default one appears on a terminal after a few seconds.
        desc : str, optional
            Label of the progress bar.
        overwrite_theta : bool
            Let later states be written into ``theta``'s memory (as scipy's ``overwrite_a``): one
            ``(N, D)`` array fewer to allocate and page in. ``theta``'s values after the call are then
            undefined.

        Returns
        -------
        run : Run
        """
        n_particles = theta.shape[0]
        alive = np.arange(n_particles)
        step = 0
        if not self._within_bound(theta):
            raise ValueError(f"the initial state exceeds the divergence bound {self.bound:g} (largest "
                             f"|theta_i| = {np.max(np.abs(theta)):.3g}); pass a larger divergence_bound")
        state = checkpoint.load(rng) if (checkpoint is not None and resume) else None
        if state is not None:
            arrays = state["arrays"]
            step, theta = state["step"], arrays.pop("theta")
            alive = arrays.pop("alive", alive)
            if recorder is not None:
                recorder.restore({name[len(_RECORD_PREFIX):]: value for name, value in arrays.items()
                                  if name.startswith(_RECORD_PREFIX)}, step)
        resumed_from = step
        records = recorder.records if recorder is not None else {}
        record_steps = recorder.steps if recorder is not None else np.zeros(0, dtype=int)
        if state is not None and state["finished"]:
            return Run(theta, alive, records, record_steps, n_steps, resumed_from)
        observed = recorder is not None and recorder.next_step == step
        if observed:
            recorder.record(theta, slice(None) if alive.size == n_particles else alive)

        def save(finished=False):
            if checkpoint is not None:
                saved = {f"{_RECORD_PREFIX}{name}": value for name, value in
                         (recorder.records.items() if recorder is not None else ())}
                checkpoint.save(step, rng, finished=finished, theta=theta, alive=alive, **saved)

        drift, noise, scheme, model = self.drift, self.noise, self.scheme, self.model
        project = self.constraint.project if self.constraint is not None else None
        # Particles are independent: a drift that says so is stepped, checked and projected chunk by
        # chunk, in order, which draws the same random numbers in the same order (bit-identical
        # results) with every pass over a chunk in cache.
        rows = (max(1, (scheme.chunk_entries or _CHUNK_ENTRIES) // max(1, theta[:1].size))
                if drift.independent_rows else len(theta))
        dt = self.dt
        scale = math.sqrt(2.0 * self.temperature * dt)

        def advance(part):
            return scheme.step(part, drift, noise, model, dt, scale, rng)

        # A compiled step of the whole chunk sequence (the numpy path's results; see Scheme.fused_step)
        fused = (scheme.fused_step(drift, noise, model, self.constraint, dt, scale, self.bound, rng)
                 if drift.independent_rows else None)

        within_bound, proof, exactly_within_bound = (self._within_bound, self._proof,
                                                     self._exactly_within_bound)
        keeps_bound_below = self._projection_keeps_bound_below()
        next_record = recorder.next_step if recorder is not None else -1
        chunk = max(1, min(200, n_steps // 100))
        # The chunked step writes into an array of the engine's own: the one that held the state
        # before the last (reusing it spares the page faults of a fresh array at every step), or the
        # caller's start where it may be overwritten (unless an observable was given it at step 0).
        owned = (overwrite_theta and state is None and not observed and type(theta) is np.ndarray
                 and theta.dtype == np.float64 and theta.flags.c_contiguous and theta.flags.writeable)
        spare = None
        start = time.perf_counter()
        # Overflow on the way to a divergence is expected: it is caught below, with a clear error.
        with _InterruptGuard(checkpoint is not None) as guard, \
                np.errstate(over="ignore", invalid="ignore"), \
                _progress_bar(progress, total=n_steps, initial=step, desc=desc) as bar:
            while step < n_steps:
                step += 1
                if rows >= len(theta) and fused is None:
                    theta = advance(theta)
                    squares = proof(theta)
                    if squares is None and not exactly_within_bound(theta):
                        theta, alive = self._check(theta, alive, step, drop_diverged)
                    if project is not None:
                        theta = project(theta)
                        if not (squares is not None and squares < keeps_bound_below
                                or within_bound(theta)):
                            theta, alive = self._check(theta, alive, step, drop_diverged)
                    owned = False
                else:
                    previous = theta if owned else None
                    out = spare if spare is not None and spare.shape == theta.shape else None
                    theta, alive = self._advance_in_chunks(theta, alive, step, rows, advance,
                                                           project, drop_diverged, out,
                                                           keeps_bound_below, fused)
                    owned, spare = True, previous
                if step == next_record:
                    recorder.record(theta, slice(None) if alive.size == n_particles else alive)
                    next_record = recorder.next_step
                    owned = False  # an observable may keep theta: its array is not written again
                if step % chunk == 0 or step == n_steps:
                    bar.update(step - bar.n)
                if guard.interrupted:
                    save()
                    raise KeyboardInterrupt
                if checkpoint is not None and checkpoint.due(step):
                    save()
        save(finished=True)
        if alive.size < n_particles:
            lost = n_particles - alive.size
            warnings.warn(
                f"{lost} of {n_particles} particles diverged and were dropped; the survivors are not "
                f"samples of the unconditioned dynamics (biased towards where the step is stable): "
                f"use a smaller {self.step_name}", DivergenceWarning, stacklevel=3)
        return Run(theta, alive, records, record_steps, n_steps, resumed_from,
                   time.perf_counter() - start)

    def _proof(self, theta):
        """``sum theta_i^2`` when it proves every ``|theta_i| < bound`` (one BLAS pass), else ``None``."""
        # The sum of squares is at least every rounded square (a sum of non-negative terms, rounded
        # monotonically, in any order or with FMA), so a sum below bound**2 proves |theta_i| < bound for
        # every i, in about half the time of the exact reductions (only on contiguous arrays, which
        # vdot reads without a copy). NaN, infinities and an overflowing sum compare False.
        if theta.flags.c_contiguous:
            squares = float(np.vdot(theta, theta))
            if squares < self.bound * self.bound:
                return squares
        return None

    def _within_bound(self, theta):
        """Whether every coordinate is finite and within ``bound``: :meth:`_proof`, else exactly."""
        return self._proof(theta) is not None or self._exactly_within_bound(theta)

    def _exactly_within_bound(self, theta):
        """Whether every coordinate is finite and within ``bound``, by two reductions."""
        # max and min propagate NaN (which compares False) and meet any infinity, so they flag every
        # non-finite coordinate as well as the bound. The ufuncs' own reductions, without `initial`
        # (which takes a slower loop), cost half of `ndarray.max` on small arrays.
        return theta.size == 0 or bool(_MAXIMUM(theta, axis=None) <= self.bound
                                       and _MINIMUM(theta, axis=None) >= -self.bound)

    def _projection_keeps_bound_below(self):
        """A sum of squares below which the constraint's result provably stays within the bound.

        With ``|project(theta)_i| <= c max_j |theta_j|`` (the constraint's ``entry_growth``) and
        ``max_j theta_j^2 <= S (1 + 2^-53)`` for the proven sum ``S``, every projected entry is within
        the bound when ``S < bound^2 / (c^2 (1 + 1e-12))`` (the margin covers this test's own
        rounding). ``-1`` (never) when the constraint declares no growth bound.
        """
        growth = self.constraint.entry_growth if isinstance(self.constraint, Constraint) else None
        if growth is None:
            return -1.0
        return self.bound * self.bound / (growth * growth * (1.0 + 1e-12))

    def _advance_in_chunks(self, theta, alive, step, rows, advance, project, drop_diverged, out,
                           keeps_bound_below, fused=None):
        """One step of independent particles, chunk by chunk: ``(theta, alive)`` after the step.

        Each chunk is stepped, checked, projected and checked while it is in cache, and written into
        ``out`` (a new array when ``None``); the check after the projection is skipped where the
        proven sum of squares is below ``keeps_bound_below``. The results, and what happens on a
        divergence, are those of the step, check, projection and check of the whole batch: a chunk
        that fails a check sends the rest of the step through exactly that sequence (the projection
        draws nothing, and rows before the failed chunk passed both checks, so none of them is
        dropped). ``fused`` (a :meth:`~quotientlearn.dynamics.Scheme.fused_step`) does a chunk's
        sequence in one call, or leaves its stepped rows in ``out`` for the sequence below.
        """
        out = np.empty_like(theta) if out is None else out
        for start in range(0, len(theta), rows):
            if fused is None:
                part = advance(theta[start:start + rows])
            else:
                part = out[start:start + rows]
                if fused(theta[start:start + rows], part):
                    continue
            squares = self._proof(part)
            if squares is not None or self._exactly_within_bound(part):
                if project is None:
                    out[start:start + rows] = part
                    continue
                projected = project(part)
                if (squares is not None and squares < keeps_bound_below
                        or self._within_bound(projected)):
                    out[start:start + rows] = projected
                    continue
            # a check failed: the rest of the step goes through the whole-batch sequence
            out[start:start + rows] = part
            for rest in range(start + rows, len(theta), rows):
                out[rest:rest + rows] = advance(theta[rest:rest + rows])
            out, alive = self._check(out, alive, step, drop_diverged)
            if project is not None:
                tail = _chunked(project, out[start:], rows)
                out, alive = self._check(np.concatenate([out[:start], tail]), alive, step,
                                         drop_diverged)
            return out, alive
        return out, alive

    def _check(self, theta, alive, step, drop_diverged):
        """Drop (or raise on) the particles that left ``|theta_i| <= bound``; ``(theta, alive)``."""
        if self._within_bound(theta):
            return theta, alive
        with np.errstate(invalid="ignore"):
            # one row per particle, points of any shape (matrices on a manifold)
            bad = ~(np.max(np.abs(theta.reshape(len(theta), -1)), axis=-1) <= self.bound)  # NaN: bad
        n_bad = int(np.count_nonzero(bad))  # >= 1: the rows see what _within_bound saw
        if not drop_diverged or n_bad == len(alive):
            raise DivergenceError(step, n_bad / len(alive), self.dt, n_bad, len(alive),
                                  step_name=self.step_name, droppable=self.offers_drop,
                                  bound=self.bound)
        return theta[~bad], alive[~bad]
