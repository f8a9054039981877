"""Discrete minibatch SGD / full-batch GD (momentum 0, weight decay 0), vectorised over seeds.

Parameters of ``S`` independent runs are one array of shape ``(S, D)``; every step is a handful of
batched numpy operations on it, so ``S`` seeds cost little more than one. An *objective* supplies the
data stream and the loss; :func:`train` runs the loop, records observables, checkpoints and resumes.

Objectives (closed-form gradients; each also has an ``autograd.numpy`` loss, and the tests check that
the two agree):

- :class:`TeacherStudentReLU`: two-layer bias-free ReLU student of a teacher, fresh Gaussian inputs.
- :class:`TeacherStudentAttention`: single-head attention scores ``W_Q W_K^T`` of a teacher.
- :class:`MaskedFactorization`: ``M = P Q`` fitted on a random part of the observed entries.
- :class:`FeatureRegression`: linear model on fixed features, optionally reparameterised
  ``w = T (u * v)`` (Hadamard, cosine-basis or cumulative-sum products), with an l1 penalty and
  optional label noise.

Losses are mean squared errors (``mean((f - y)^2)``, PyTorch's ``MSELoss``). With ``temperature > 0``
each step adds Langevin noise ``sqrt(2 lr T) N(0, I)``, the Euler--Maruyama step of
``d theta = -grad L dt + sqrt(2T) dW`` with ``dt = lr``.
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass

import autograd.numpy as anp
import numpy as np
from tqdm.auto import tqdm

from quotientlearn.validation import integer, real
from quotientlearn.validation import temperature as validate_temperature

__all__ = [
    "FeatureRegression",
    "MaskedFactorization",
    "TeacherStudentAttention",
    "TeacherStudentReLU",
    "TrainResult",
    "train",
]


def _seeded(array, name, trailing_ndim):
    array = np.asarray(array, dtype=float)
    if array.ndim != trailing_ndim + 1:
        raise ValueError(f"{name} must have a leading seed axis and {trailing_ndim} more; "
                         f"got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} has non-finite entries")
    return array


# ------------------------------------------------------------------------------------ objectives
class TeacherStudentReLU:
    """``f(x) = sum_j v_j relu(w_j . x)`` learning a teacher of the same shape from fresh inputs.

    Each step draws ``x ~ N(0, I)`` of shape ``(S, batch_size, d_in)`` and labels
    ``y = f_teacher(x) + label_noise * eps``.

    Parameters
    ----------
    model : quotientlearn.models.ShallowReLU
        Layout of ``theta`` (blocks ``W`` of shape ``(width, d_in)`` and ``v`` of shape ``(width,)``).
    teacher : array_like, shape (S, D)
    batch_size : int
    label_noise : float
    """

    def __init__(self, model, teacher, batch_size, label_noise):
        self.model = model
        self.teacher = _seeded(teacher, "teacher", 1)
        if self.teacher.shape[1] != model.dim:
            raise ValueError(f"teacher must have shape (S, {model.dim}); got {self.teacher.shape}")
        self.n_seeds, self.dim = self.teacher.shape[0], model.dim
        self.batch_size = integer(batch_size, "batch_size", minimum=1)
        self.label_noise = float(label_noise)
        self._teacher = model.space.split(self.teacher)

    def output(self, theta, inputs):
        """Network outputs, shape ``(S, B)``, for ``theta (S, D)`` and ``inputs (S, B, d_in)``."""
        blocks = self.model.space.split(theta)
        hidden = anp.maximum(anp.matmul(inputs, anp.swapaxes(blocks["W"], -1, -2)), 0.0)
        return anp.sum(hidden * blocks["v"][:, None, :], axis=-1)

    def sample_batch(self, rng):
        """``(x, y)`` of shapes ``(S, B, d_in)`` and ``(S, B)``."""
        inputs = rng.standard_normal((self.n_seeds, self.batch_size, self.model.d_in))
        labels = self.output(self.teacher, inputs)
        return inputs, labels + self.label_noise * rng.standard_normal(labels.shape)

    def loss(self, theta, batch):
        """Mean squared error per seed, shape ``(S,)`` (autograd-traceable)."""
        inputs, labels = batch
        return anp.mean((self.output(theta, inputs) - labels) ** 2, axis=-1)

    def gradient(self, theta, batch):
        """Closed-form gradient of :meth:`loss`, shape ``(S, D)``."""
        inputs, labels = batch
        blocks = self.model.space.split(theta)
        pre = inputs @ np.swapaxes(blocks["W"], -1, -2)                    # (S, B, width)
        hidden = np.maximum(pre, 0.0)
        residual = np.sum(hidden * blocks["v"][:, None, :], axis=-1) - labels
        weight = (2.0 / self.batch_size) * residual                         # dL/df, (S, B)
        grad_v = np.sum(hidden * weight[..., None], axis=1)
        back = (weight[..., None] * blocks["v"][:, None, :]) * (pre > 0)    # dL/dpre
        grad_w = np.swapaxes(back, -1, -2) @ inputs                         # (S, width, d_in)
        return np.concatenate([grad_w.reshape(self.n_seeds, -1), grad_v], axis=-1)


class TeacherStudentAttention:
    """Single-head attention ``out = softmax(c X W_Q W_K^T X^T) X`` learning a teacher's scores.

    Values and output map are the identity (``W_V = W_O = I``), so only ``W_Q W_K^T`` is learned;
    ``c = 1 / sqrt(d_head)``. Each step draws ``X ~ N(0, I)`` of shape ``(S, B, seq_len, d_emb)`` and
    targets ``teacher(X) + noise * eps``.

    Parameters
    ----------
    model : quotientlearn.models.Attention
    teacher : array_like, shape (S, D)
    batch_size, seq_len : int
    noise : float
    """

    def __init__(self, model, teacher, batch_size, seq_len, noise):
        self.model = model
        self.teacher = _seeded(teacher, "teacher", 1)
        if self.teacher.shape[1] != model.dim:
            raise ValueError(f"teacher must have shape (S, {model.dim}); got {self.teacher.shape}")
        self.n_seeds, self.dim = self.teacher.shape[0], model.dim
        self.batch_size = integer(batch_size, "batch_size", minimum=1)
        self.seq_len = integer(seq_len, "seq_len", minimum=1)
        self.noise = float(noise)
        self.scale = 1.0 / np.sqrt(model.d_head)

    def _scores(self, theta, inputs):
        blocks = self.model.space.split(theta)
        queries = anp.matmul(inputs, blocks["W_Q"][:, None])                 # (S, B, L, h)
        keys = anp.matmul(inputs, blocks["W_K"][:, None])
        return queries, keys, self.scale * anp.matmul(queries, anp.swapaxes(keys, -1, -2))

    @staticmethod
    def _softmax(scores):
        shifted = scores - anp.max(scores, axis=-1, keepdims=True)
        weights = anp.exp(shifted)
        return weights / anp.sum(weights, axis=-1, keepdims=True)

    def output(self, theta, inputs):
        """Outputs, shape ``(S, B, L, d_emb)``, for ``inputs`` of shape ``(S, B, L, d_emb)``."""
        return anp.matmul(self._softmax(self._scores(theta, inputs)[2]), inputs)

    def sample_batch(self, rng):
        """``(X, Y)``, both of shape ``(S, B, L, d_emb)``."""
        inputs = rng.standard_normal((self.n_seeds, self.batch_size, self.seq_len,
                                      self.model.d_emb))
        targets = self.output(self.teacher, inputs)
        return inputs, targets + self.noise * rng.standard_normal(targets.shape)

    def loss(self, theta, batch):
        """Mean squared error per seed over batch, positions and features; shape ``(S,)``."""
        inputs, targets = batch
        return anp.mean((self.output(theta, inputs) - targets) ** 2, axis=(1, 2, 3))

    def gradient(self, theta, batch):
        """Closed-form gradient of :meth:`loss` (softmax backward), shape ``(S, D)``."""
        inputs, targets = batch
        queries, keys, scores = self._scores(theta, inputs)
        attn = self._softmax(scores)
        residual = attn @ inputs - targets
        grad_out = (2.0 / residual[0].size) * residual
        grad_attn = grad_out @ np.swapaxes(inputs, -1, -2)                  # (S, B, L, L)
        grad_scores = attn * (grad_attn - np.sum(grad_attn * attn, axis=-1, keepdims=True))
        grad_queries = self.scale * (grad_scores @ keys)
        grad_keys = self.scale * (np.swapaxes(grad_scores, -1, -2) @ queries)
        flat_inputs = inputs.reshape(self.n_seeds, -1, self.model.d_emb)
        grad_wq = np.swapaxes(flat_inputs, -1, -2) @ grad_queries.reshape(self.n_seeds, -1,
                                                                          self.model.d_head)
        grad_wk = np.swapaxes(flat_inputs, -1, -2) @ grad_keys.reshape(self.n_seeds, -1,
                                                                       self.model.d_head)
        return np.concatenate([grad_wq.reshape(self.n_seeds, -1),
                               grad_wk.reshape(self.n_seeds, -1)], axis=-1)


class MaskedFactorization:
    """``M = P Q`` fitted to observed entries of ``M*``; each step uses a random subset of them.

    Loss: the mean over *all* ``m n`` entries of the masked squared error,
    ``(1 / mn) sum_ij mask_ij ((PQ)_ij - M*_ij)^2`` (the paper's normalisation).

    Parameters
    ----------
    model : quotientlearn.models.MatrixFactorization
    target : array_like, shape (S, m, n)
    observed : array_like of int, shape (S, n_observed)
        Flat indices of the observed entries of each seed.
    per_step : int, optional
        Entries used per step (a uniformly random subset, fresh each step); all of them by default
        (full-batch GD).
    """

    def __init__(self, model, target, observed, per_step=None):
        self.model = model
        self.target = _seeded(target, "target", 2)
        if self.target.shape[1:] != (model.m, model.n):
            raise ValueError(f"target must have shape (S, {model.m}, {model.n}); "
                             f"got {self.target.shape}")
        observed = np.asarray(observed)
        if observed.ndim != 2 or observed.shape[0] != self.target.shape[0] or \
                not np.issubdtype(observed.dtype, np.integer):
            raise ValueError(f"observed must be integer indices of shape (S, n_observed); "
                             f"got {observed.shape} {observed.dtype}")
        if observed.min() < 0 or observed.max() >= model.m * model.n:
            raise ValueError(f"observed indices must lie in [0, {model.m * model.n})")
        self.observed = observed
        self.n_seeds, self.dim = self.target.shape[0], model.dim
        n_observed = observed.shape[1]
        self.per_step = n_observed if per_step is None else integer(per_step, "per_step", minimum=1)
        if self.per_step > n_observed:
            raise ValueError(f"per_step must be at most n_observed = {n_observed}")
        self._full_mask = self._mask(observed)

    def _mask(self, indices):
        mask = np.zeros((self.n_seeds, self.model.m * self.model.n))
        np.put_along_axis(mask, indices, 1.0, axis=-1)
        return mask.reshape(self.target.shape)

    def sample_batch(self, rng):
        """The step's mask, shape ``(S, m, n)`` (0/1)."""
        if self.per_step == self.observed.shape[1]:
            return self._full_mask
        order = np.argsort(rng.random(self.observed.shape), axis=-1)[:, : self.per_step]
        return self._mask(np.take_along_axis(self.observed, order, axis=-1))

    def loss(self, theta, batch):
        """Masked squared error averaged over all entries, shape ``(S,)``."""
        blocks = self.model.space.split(theta)
        residual = batch * (anp.matmul(blocks["P"], blocks["Q"]) - self.target)
        return anp.mean(residual**2, axis=(-2, -1))

    def gradient(self, theta, batch):
        """Closed form ``(2 / mn) (R Q^T, P^T R)`` with ``R`` the masked residual; shape ``(S, D)``."""
        blocks = self.model.space.split(theta)
        first, second = blocks["P"], blocks["Q"]
        residual = (2.0 / (self.model.m * self.model.n)) * batch * (first @ second - self.target)
        grad_p = residual @ np.swapaxes(second, -1, -2)
        grad_q = np.swapaxes(first, -1, -2) @ residual
        return np.concatenate([grad_p.reshape(self.n_seeds, -1),
                               grad_q.reshape(self.n_seeds, -1)], axis=-1)


class FeatureRegression:
    """Least squares on fixed features, ``mean((X w - y)^2) + l1 |w|_1``, with optional products.

    ``model=None`` trains ``w`` itself (``theta = w``). A product model of the zoo (``Hadamard``,
    ``BasisHadamard``, ``CumsumHadamard``; ``theta = (u, v)``) trains ``w = T (u * v)`` instead, with
    ``T`` read from its predictor Jacobian. ``batch_size`` below the number of samples gives minibatch
    SGD (a fresh random subset each step); by default it is full-batch GD. ``label_noise > 0`` adds
    fresh ``N(0, label_noise^2)`` noise to the targets of every step (label-noise SGD): unlike
    minibatch noise it does not vanish at an interpolating solution.

    Parameters
    ----------
    features : array_like, shape (S, n, K)
    targets : array_like, shape (S, n)
    model : Hadamard, BasisHadamard or CumsumHadamard, optional
        With ``beta_shape == (K,)``.
    l1 : float
        Weight of ``|w|_1`` (its subgradient ``sign(w)`` is used).
    batch_size : int, optional
    label_noise : float
    """

    def __init__(self, features, targets, model=None, l1=0.0, batch_size=None, label_noise=0.0):
        self.features = _seeded(features, "features", 2)
        self.targets = _seeded(targets, "targets", 1)
        n_seeds, n_samples, n_features = self.features.shape
        if self.targets.shape != (n_seeds, n_samples):
            raise ValueError(f"targets must have shape {(n_seeds, n_samples)}; "
                             f"got {self.targets.shape}")
        self.n_seeds, self.n_samples, self.n_features = n_seeds, n_samples, n_features
        self.model = model
        self.l1 = float(l1)
        if self.l1 < 0:
            raise ValueError(f"l1 must be non-negative; got {l1}")
        self.label_noise = float(label_noise)
        if not np.isfinite(self.label_noise) or self.label_noise < 0:
            raise ValueError(f"label_noise must be finite and non-negative; got {label_noise!r}")
        self.batch_size = n_samples if batch_size is None else integer(batch_size, "batch_size", minimum=1)
        if self.batch_size > n_samples:
            raise ValueError(f"batch_size must be at most the number of samples {n_samples}")
        self.transform = None
        self._kind = "linear"
        if model is not None:
            if model.beta_shape != (n_features,) or model.dim != 2 * n_features:
                raise ValueError(f"model must be a product model with beta_shape ({n_features},)"
                                 f" and D = {2 * n_features}; got {model!r}")
            # With u = v = 1 the Jacobian [T diag v, T diag u] exposes T.
            self.transform = np.asarray(model.predictor_jacobian(np.ones(model.dim)))[
                :, :n_features]
            eye = np.eye(n_features)
            if np.array_equal(self.transform, eye):
                self._kind = "hadamard"
            elif np.array_equal(self.transform, np.tril(np.ones_like(eye))):
                self._kind = "cumsum"
            else:
                self._kind = "matrix"
        self.dim = n_features if model is None else 2 * n_features

    def weights(self, theta):
        """The linear weights ``w``, shape ``(S, K)`` (autograd-traceable)."""
        if self._kind == "linear":
            return theta
        products = theta[..., : self.n_features] * theta[..., self.n_features :]
        if self._kind == "hadamard":
            return products
        if self._kind == "cumsum":
            return anp.cumsum(products, axis=-1)
        return anp.matmul(products, self.transform.T)

    def sample_batch(self, rng):
        """``(X, y)`` of the step: all samples or a random ``batch_size`` of them, labels noised."""
        if self.batch_size == self.n_samples:
            features, targets = self.features, self.targets
        else:
            rows = np.argsort(rng.random((self.n_seeds, self.n_samples)), axis=-1)[
                :, : self.batch_size]
            features = np.take_along_axis(self.features, rows[..., None], axis=1)
            targets = np.take_along_axis(self.targets, rows, axis=1)
        if self.label_noise:
            targets = targets + self.label_noise * rng.standard_normal(targets.shape)
        return features, targets

    def loss(self, theta, batch):
        """``mean((X w - y)^2) + l1 |w|_1`` per seed, shape ``(S,)``."""
        features, targets = batch
        weights = self.weights(theta)
        residual = anp.sum(features * weights[:, None, :], axis=-1) - targets
        return anp.mean(residual**2, axis=-1) + self.l1 * anp.sum(anp.abs(weights), axis=-1)

    def gradient(self, theta, batch):
        """Closed-form gradient of :meth:`loss`, shape ``(S, D)``."""
        features, targets = batch
        weights = self.weights(theta)
        residual = (features @ weights[..., None])[..., 0] - targets
        grad_w = (2.0 / features.shape[1]) * (residual[:, None, :] @ features)[:, 0]
        if self.l1:
            grad_w = grad_w + self.l1 * np.sign(weights)
        if self._kind == "linear":
            return grad_w
        if self._kind == "hadamard":
            back = grad_w
        elif self._kind == "cumsum":
            # T^T g for T = lower-triangular ones is the reversed cumulative sum.
            back = np.cumsum(grad_w[:, ::-1], axis=-1)[:, ::-1]
        else:
            back = grad_w @ self.transform
        u, v = theta[:, : self.n_features], theta[:, self.n_features :]
        return np.concatenate([back * v, back * u], axis=-1)


# ---------------------------------------------------------------------------------------- loop
@dataclass
class TrainResult:
    """Outcome of :func:`train`.

    Attributes
    ----------
    theta : ndarray, shape (S, D)
        Final parameters.
    records : dict of str to ndarray, shape (n_records, S, ...)
        Observables recorded at ``record_steps``.
    record_steps : ndarray of int, shape (n_records,)
    n_steps : int
    resumed_from : int
        Step the run continued from (0 for a fresh run).
    """

    theta: np.ndarray
    records: dict
    record_steps: np.ndarray
    n_steps: int
    resumed_from: int = 0


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


def _record_schedule(n_steps, record_every):
    if record_every is None:
        return np.array([0, n_steps])
    every = integer(record_every, "record_every", minimum=1)
    return np.unique(np.append(np.arange(0, n_steps + 1, every), n_steps))


def train(objective, theta0, lr, n_steps, rng, *, temperature=0.0, record=None, record_every=None,
          checkpoint=None, resume=False, progress=None, desc=None):
    """Run ``n_steps`` of ``theta <- theta - lr grad L_batch(theta) [+ sqrt(2 lr T) N(0, I)]``.

    Parameters
    ----------
    objective : object
        One of this module's objectives (``n_seeds``, ``dim``, ``sample_batch``, ``gradient``).
    theta0 : array_like, shape (S, D)
    lr : float
    n_steps : int
    rng : numpy.random.Generator
        Drives the minibatches and the noise; its state is checkpointed.
    temperature : float
        Langevin temperature ``T >= 0`` (0: plain SGD / GD).
    record : callable, optional
        ``record(theta) -> dict of ndarray`` (leading axis ``S``), evaluated at step 0, every
        ``record_every`` steps and at the end.
    record_every : int, optional
    checkpoint : quotientlearn.checkpoint.Checkpoint, optional
        Saved periodically, on Ctrl-C (at the next step boundary, then ``KeyboardInterrupt`` is
        re-raised) and at the end.
    resume : bool
        Continue from ``checkpoint`` if it holds a state; the result is then bit-identical to an
        uninterrupted run.
    progress : bool, optional
        Show a tqdm bar; by default only on a terminal.
    desc : str, optional
        Label of the progress bar.

    Returns
    -------
    TrainResult

    Raises
    ------
    ValueError
        On bad arguments. FloatingPointError when the iterates become non-finite (divergence).
    """
    theta = np.array(theta0, dtype=float)
    if theta.shape != (objective.n_seeds, objective.dim):
        raise ValueError(f"theta0 must have shape ({objective.n_seeds}, {objective.dim}); "
                         f"got {theta.shape}")
    lr = real(lr, "lr", minimum=0.0, exclusive_minimum=True)
    n_steps = integer(n_steps, "n_steps", minimum=1)
    temperature = validate_temperature(temperature)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
    noise_scale = np.sqrt(2.0 * lr * temperature)
    schedule = _record_schedule(n_steps, record_every)
    record = record if record is not None else (lambda theta: {})

    step, records = 0, None
    state = checkpoint.load(rng) if (checkpoint is not None and resume) else None
    if state is not None:
        arrays = state["arrays"]
        step, theta = state["step"], arrays.pop("theta")
        records = {name[len("record/"):]: arrays[name] for name in arrays
                   if name.startswith("record/")}
        if state["finished"]:
            return TrainResult(theta, records, schedule, n_steps, resumed_from=step)
    resumed_from = step
    if records is None:
        first = {name: np.asarray(value) for name, value in record(theta).items()}
        records = {name: np.zeros((schedule.size,) + value.shape, value.dtype)
                   for name, value in first.items()}
        for name, value in first.items():
            records[name][0] = value
    next_record = int(np.searchsorted(schedule, step, side="right"))

    def save(finished=False):
        if checkpoint is not None:
            checkpoint.save(step, rng, finished=finished, theta=theta,
                            **{f"record/{name}": value for name, value in records.items()})

    chunk = max(1, min(1000, n_steps // 100))
    # tqdm's disable=None hides the bar when stderr is not a terminal.
    disable = None if progress is None else not progress
    with _InterruptGuard(checkpoint is not None) as guard, \
            tqdm(total=n_steps, initial=step, desc=desc, disable=disable,
                 mininterval=1.0, leave=False) as bar:
        while step < n_steps:
            grad = objective.gradient(theta, objective.sample_batch(rng))
            if noise_scale:
                theta = theta - lr * grad + noise_scale * rng.standard_normal(theta.shape)
            else:
                theta = theta - lr * grad
            step += 1
            if next_record < schedule.size and step == schedule[next_record]:
                for name, value in record(theta).items():
                    records[name][next_record] = value
                next_record += 1
            if step % chunk == 0:
                bar.update(chunk)
                if not np.all(np.isfinite(theta)):
                    raise FloatingPointError(f"SGD diverged (non-finite parameters) at step {step};"
                                             f" lower lr ({lr})")
            if guard.interrupted:
                save()
                raise KeyboardInterrupt
            if checkpoint is not None and checkpoint.due(step):
                save()
    save(finished=True)
    return TrainResult(theta, records, schedule, n_steps, resumed_from=resumed_from)
