"""One step of the stochastic integrators, vectorised over particles.

:class:`EulerMaruyama` has weak order 1. :class:`StochasticHeun` is the predictor–corrector with the
same Gaussian increment (and the same minibatch) in both stages; for additive (isotropic) noise it has
weak order 2 for the unconstrained dynamics. With a gauge projection after each step nothing guarantees
order 2 (the predictor's drift and diffusion change along the orbit between projections); what is
measured, in benchmarks/bench_dynamics.py ``--resolve-heun`` (8e6 particles, gauge-fixed ``u v``,
E[beta] at T = 0.05, dt = 0.24 ... 0.08), is a weak-order slope of 2.50 ± 0.11 for Heun against
1.13 ± 0.02 for Euler, with biases -1.3e-3 against -6.5e-3 at dt = 0.16.

On a curved parameter space (or ``R^D`` with a metric) :class:`RiemannianEuler` steps along the
manifold: the Riemannian gradient and a tangent increment, moved by the exponential map (``"geodesic"``)
or by a second-order retraction (``"euler"`` there), with the Itô drift a coordinate step misses
(:meth:`~quotientlearn.spaces.Space.retraction_correction`). Its stationary law for isotropic noise is
``exp(-U/T) dvol_g`` up to the weak order-1 bias in ``dt`` (measured in benchmarks/bench_manifolds.py).

A scheme is a small object; a new one subclasses :class:`Scheme`.
"""

from __future__ import annotations

import numpy as np

from quotientlearn import numerics

__all__ = ["SCHEMES", "EulerMaruyama", "RiemannianEuler", "Scheme", "StochasticHeun", "get_scheme"]


class Scheme:
    """One step ``theta -> theta'`` of ``d theta = b dt + sqrt(2 T) C^{1/2} dW``.

    Attributes
    ----------
    name : str
    needs_additive_noise : bool
        Whether the scheme is only valid for a noise model with constant covariance.
    chunk_entries : int or None
        Entries (particles x entries of a point) the engine steps at once when particles are
        independent; ``None``: the engine's default (2**16, 512 KB a ``(rows, D)`` array).

    Examples
    --------
    >>> from quotientlearn import dynamics
    >>> scheme = dynamics.get_scheme("euler")
    >>> isinstance(scheme, dynamics.Scheme), scheme.needs_additive_noise
    (True, False)
    >>> dynamics.get_scheme("heun").needs_additive_noise  # Heun needs constant noise
    True
    """

    name = "scheme"
    needs_additive_noise = False
    chunk_entries = None

    def __repr__(self):
        return f"{type(self).__name__}()"

    def on_space(self, space, noise):
        """The scheme to run on ``space`` with ``noise``: this one on flat space.

        Raises
        ------
        ValueError
            When the scheme does not apply there.
        """
        if not space.is_flat:
            raise ValueError(f"scheme {self.name!r} steps in R^D with the identity metric; on "
                             f"{space.name()} use 'euler' (a retraction step) or 'geodesic'")
        return self

    def step(self, theta, drift, noise, model, dt, scale, rng):
        """Advance every particle by one step.

        Parameters
        ----------
        theta : ndarray, shape (N, D)
        drift : Drift
        noise : NoiseModel
        model : Model or None
            Passed to the noise model.
        dt : float
        scale : float
            ``sqrt(2 T dt)``; at 0 no noise is drawn.
        rng : numpy.random.Generator

        Returns
        -------
        theta : ndarray, shape (N, D)
            A new array.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement Scheme.step")

    def fused_step(self, drift, noise, model, constraint, dt, scale, bound, rng):
        """A compiled chunk step doing :meth:`step`, the divergence check and ``constraint`` in one pass.

        The engine asks once per run; the default is ``None``: the numpy path (the reference).

        Parameters
        ----------
        drift, noise, model, dt, scale, rng
            As for :meth:`step`.
        constraint : Constraint or None
            The engine's constraint step.
        bound : float
            The engine's divergence bound.

        Returns
        -------
        fused : callable or None
            ``fused(theta (n, D), out (n, D)) -> bool`` for a chunk of independent particles, with the
            numpy path's results bit for bit: ``True`` when ``out`` holds the stepped, constrained
            particles and both divergence checks passed; ``False`` when ``out`` holds the stepped
            particles only (the engine then checks and constrains them as on the numpy path).
        """
        return None


class EulerMaruyama(Scheme):
    """``theta + b dt + sqrt(2 T dt) C^{1/2} xi`` (on a curved space: :class:`RiemannianEuler`).

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Hadamard(dim=1)
    >>> def loss(beta):
    ...     return 0.5 * (beta[..., 0] - 1.0) ** 2
    >>> samples = ql.simulate(model, loss, 0.1, scheme="euler", n_steps=20, n_particles=4, seed=0,
    ...                       progress=False)  # the default scheme
    >>> samples.beta.shape
    (4, 1)
    """

    name = "euler"

    def on_space(self, space, noise):
        """Itself on flat space; the retraction step of :class:`RiemannianEuler` elsewhere."""
        return self if space.is_flat else RiemannianEuler("retraction").on_space(space, noise)

    def step(self, theta, drift, noise, model, dt, scale, rng):
        """One Euler–Maruyama step; see :meth:`Scheme.step`."""
        # dt b (folded into the drift's smallest array) and in place on the fresh arrays: two passes
        # fewer over (N, D) than the textbook expression
        step, pullback = drift.evaluate_scaled(theta, drift.sample(rng), dt)
        if scale:
            increment = noise.increment(model, theta, pullback, rng)
            increment *= scale
            increment += step
            step = increment
        step += theta
        return step

    def fused_step(self, drift, noise, model, constraint, dt, scale, bound, rng):
        """The drift's compiled Euler step (:meth:`Drift.fused_euler_step`) when compiled draws are on.

        It needs :data:`quotientlearn.numerics.COMPILED_DRAWS` (the switch of numba's kernels), a noise
        model whose increment is the standard normal draw (``noise.standard_increment``) and numpy's
        own Generator (whose draws numba reproduces); otherwise ``None``. See :meth:`Scheme.fused_step`.
        """
        if not (numerics.COMPILED_DRAWS and noise.standard_increment
                and type(rng) is np.random.Generator):
            return None
        return drift.fused_euler_step(constraint, dt, scale, bound, rng)


class StochasticHeun(Scheme):
    """Predictor–corrector for additive noise: ``theta + (b(theta) + b(theta~)) dt / 2 + increment``.

    Examples
    --------
    Weak order 2 for additive (isotropic) noise:

    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Hadamard(dim=1)
    >>> def loss(beta):
    ...     return 0.5 * (beta[..., 0] - 1.0) ** 2
    >>> samples = ql.simulate(model, loss, 0.1, scheme="heun", dt=0.01, n_steps=20, n_particles=4,
    ...                       seed=0, progress=False)
    >>> samples.metadata["scheme"]
    'heun'
    """

    name = "heun"
    needs_additive_noise = True

    def step(self, theta, drift, noise, model, dt, scale, rng):
        """One stochastic Heun step; see :meth:`Scheme.step`."""
        batch = drift.sample(rng)
        first, pullback = drift.evaluate(theta, batch)
        increment = scale * noise.increment(model, theta, pullback, rng) if scale else 0.0
        predicted = theta + dt * first + increment
        with np.errstate(invalid="ignore", over="ignore"):
            second, _ = drift.evaluate(predicted, batch)
        return theta + 0.5 * dt * (first + second) + increment


class RiemannianEuler(Scheme):
    """The Euler step on a manifold: ``R_theta(-grad_g U dt + T c dt + sqrt(2 T dt) C^{1/2} xi)``.

    ``grad_g U`` is the Riemannian gradient (the space raises the Euclidean one), the increment is a
    tangent vector (:meth:`~quotientlearn.dynamics.NoiseModel.tangent_increment`), ``R`` the exponential
    map (``step="exp"``) or the space's second-order retraction (``step="retraction"``), and ``c`` the
    Itô drift a coordinate step misses (nonzero only for a metric on ``R^D``). Noise defined in
    coordinates (``"preconditioned"``) takes the plain coordinate step. Weak order 1.

    Parameters
    ----------
    step : {"retraction", "exp"}
    chunk_entries : int
        See :class:`Scheme`; :meth:`on_space` takes the space's (``Space.chunk_entries``).
    """

    name = "geodesic"

    def __init__(self, step="exp", chunk_entries=None):
        if step not in ("retraction", "exp"):
            raise ValueError(f"step must be 'retraction' or 'exp'; got {step!r}")
        self.mode = step
        self.name = "geodesic" if step == "exp" else "retraction"
        self.chunk_entries = chunk_entries

    def __repr__(self):
        return f"RiemannianEuler(step={self.mode!r})"

    def on_space(self, space, noise):
        """The step with the space's chunk size, after checking the space offers it and the noise fits."""
        if not noise.intrinsic and not space.is_chart:
            raise ValueError(
                f"{noise.name} noise is defined in the coordinates of R^D (a metric on R^D); "
                f"{space.name()} is not a coordinate space: use noise='isotropic'")
        if self.mode == "exp" and not space.has_exp:
            raise ValueError(f"{space.name()} has no closed-form exponential map: use scheme='euler' "
                             "(a coordinate step with its Itô drift)")
        if space.chunk_entries == self.chunk_entries:
            return self
        return RiemannianEuler(self.mode, space.chunk_entries)

    def step(self, theta, drift, noise, model, dt, scale, rng):
        """One Riemannian Euler step; see :meth:`Scheme.step`."""
        space = model.space
        covector, pullback = drift.evaluate(theta, drift.sample(rng))
        theta = space.step_layout(theta)  # after the drift: the loss's autograd takes the caller's layout
        velocity = space.raise_index(covector, theta)
        velocity *= dt
        if scale:
            velocity += scale * noise.tangent_increment(model, theta, pullback, rng)
            if noise.intrinsic and self.mode == "retraction" and not space.retraction_is_second_order:
                temperature = scale**2 / (2.0 * dt)
                correction = space.retraction_correction(noise.covariance(model, theta), theta)
                velocity += (temperature * dt) * correction
        if not noise.intrinsic or self.mode == "retraction":
            return space.retraction(velocity, theta)
        return space.exp(velocity, theta)


#: name -> scheme class (``"geodesic"``: the exponential-map step of a curved space)
SCHEMES = {"euler": EulerMaruyama, "heun": StochasticHeun, "geodesic": RiemannianEuler}


def get_scheme(scheme):
    """The scheme called ``scheme``, or ``scheme`` itself if it is a :class:`Scheme`.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid ones.

    Examples
    --------
    >>> from quotientlearn import dynamics
    >>> dynamics.get_scheme("heun")
    StochasticHeun()
    >>> sorted(dynamics.SCHEMES)
    ['euler', 'geodesic', 'heun']
    """
    if isinstance(scheme, Scheme):
        return scheme
    if not isinstance(scheme, str) or scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; valid schemes: {', '.join(SCHEMES)}")
    return SCHEMES[scheme]()
