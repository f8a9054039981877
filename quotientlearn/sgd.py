"""Discrete minibatch SGD / full-batch GD (momentum 0, weight decay 0), vectorised over seeds.

Parameters of ``S`` independent runs are one array of shape ``(S, D)``; every step is a handful of
batched numpy operations on it, so ``S`` seeds cost little more than one. An :class:`Objective` supplies
the data stream and the loss; :func:`train` is a thin layer over the dynamics engine
(:class:`~quotientlearn.dynamics.engine.Engine`, the one under :func:`~quotientlearn.simulate`), which
runs the loop, records observables, checkpoints and resumes.

Objectives (closed-form gradients; each also has an ``autograd.numpy`` loss, and the tests check that
the two agree):

- :class:`TeacherStudentReLU`: two-layer bias-free ReLU student of a teacher, fresh Gaussian inputs.
- :class:`TeacherStudentAttention`: single-head attention (learned queries, keys and values) of a
  teacher.
- :class:`MaskedFactorization`: ``M = P Q`` fitted on a random part of the observed entries.
- :class:`FeatureRegression`: linear model on fixed features, optionally reparameterised by a model
  ``w = phi(theta)`` (e.g. the products ``A (u * v)`` of the zoo), with an l1 penalty and optional
  label noise.

Losses are mean squared errors (``mean((f - y)^2)``, PyTorch's ``MSELoss``). With ``temperature > 0``
each step adds Langevin noise ``sqrt(2 lr T) N(0, I)``, the Euler--Maruyama step of
``d theta = -grad L dt + sqrt(2T) dW`` with ``dt = lr``.
"""

from __future__ import annotations

from dataclasses import dataclass

import autograd.numpy as anp
import numpy as np
from autograd import grad

from quotientlearn.dynamics.drift import Drift, check_traceable
from quotientlearn.dynamics.engine import DIVERGENCE_BOUND, Engine, Recorder, as_generator
from quotientlearn.dynamics.noise import Isotropic
from quotientlearn.dynamics.schemes import EulerMaruyama
from quotientlearn.validation import integer, real
from quotientlearn.validation import temperature as validate_temperature

__all__ = [
    "FeatureRegression",
    "MaskedFactorization",
    "Objective",
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


def _teacher(teacher, model):
    """A teacher's parameters, one row per seed, checked against ``model``: shape ``(S, D)``."""
    teacher = _seeded(teacher, "teacher", 1)
    if teacher.shape[1] != model.dim:
        raise ValueError(f"teacher must have shape (S, {model.dim}); got {teacher.shape}")
    return teacher


# ------------------------------------------------------------------------------------ objectives
class Objective:
    """A training objective for :func:`train`: a data stream and a loss, vectorised over seeds.

    Subclasses set ``n_seeds`` (``S``) and ``dim`` (``D``) and implement :meth:`sample_batch` and
    :meth:`loss`; :meth:`gradient` defaults to autograd and is overridden in closed form where that
    is faster (every objective of this module does, and the tests check the two agree).

    Examples
    --------
    A least-squares objective on one number per seed, written from scratch:

    >>> import autograd.numpy as anp
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> class Mean(ql.sgd.Objective):
    ...     n_seeds, dim = 2, 1
    ...     def sample_batch(self, rng):
    ...         return rng.normal(3.0, 0.1, size=(self.n_seeds, 4))
    ...     def loss(self, theta, batch):
    ...         return anp.mean((theta[:, :1] - batch) ** 2, axis=-1)
    >>> result = ql.sgd.train(Mean(), np.zeros((2, 1)), lr=0.1, n_steps=200, seed=0, progress=False)
    >>> bool(np.allclose(result.theta, 3.0, atol=0.1))
    True
    """

    n_seeds: int
    dim: int

    def sample_batch(self, rng):
        """The data of one step (a minibatch, a mask, ...), drawn from ``rng``."""
        raise NotImplementedError(f"{type(self).__name__} must implement Objective.sample_batch(rng)")

    def loss(self, theta, batch):
        """The loss per seed, shape ``(S,)``, written with ``autograd.numpy``."""
        raise NotImplementedError(f"{type(self).__name__} must implement Objective.loss(theta, batch)")

    def gradient(self, theta, batch):
        """Gradient of :meth:`loss` per seed, shape ``(S, D)``; the default uses autograd."""
        check_traceable(lambda point: self.loss(point, batch), theta, f"{type(self).__name__}.loss")
        return grad(lambda point: anp.sum(self.loss(point, batch)))(theta)


class TeacherStudentReLU(Objective):
    """A two-layer ReLU network ``f(x) = sum_j v_j relu(w_j^T x)`` learning a teacher of the same shape.

    Each step draws ``x ~ N(0, I)`` of shape ``(S, batch_size, d_in)`` and labels
    ``y = f_teacher(x) + label_noise * eps``.

    Parameters
    ----------
    model : quotientlearn.models.ShallowReLU
        Layout of ``theta`` (blocks ``W`` of shape ``(width, d_in)`` and ``v`` of shape ``(width,)``).
    teacher : array_like, shape (S, D)
    batch_size : int
    label_noise : float

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.ShallowReLU(d_in=3, width=4)
    >>> teacher = ql.datasets.relu_teacher(model, 2, np.random.default_rng(0))  # (2 seeds, D)
    >>> objective = ql.sgd.TeacherStudentReLU(model, teacher, batch_size=8, label_noise=0.1)
    >>> result = ql.sgd.train(objective, model.sample((2,), np.random.default_rng(1)), lr=1e-3,
    ...                       n_steps=10, seed=0, progress=False)
    >>> result.theta.shape
    (2, 16)
    """

    def __init__(self, model, teacher, batch_size, label_noise):
        self.model = model
        self.teacher = _teacher(teacher, model)
        self.n_seeds, self.dim = self.teacher.shape[0], model.dim
        self.batch_size = integer(batch_size, "batch_size", minimum=1)
        self.label_noise = float(label_noise)

    def sample_batch(self, rng):
        """``(x, y)`` of shapes ``(S, B, d_in)`` and ``(S, B)``: the teacher is the zoo's network."""
        inputs = rng.standard_normal((self.n_seeds, self.batch_size, self.model.d_in))
        labels = self.model.output(self.teacher, inputs)
        return inputs, labels + self.label_noise * rng.standard_normal(labels.shape)

    def loss(self, theta, batch):
        """Mean squared error per seed, shape ``(S,)`` (autograd-traceable)."""
        inputs, labels = batch
        return anp.mean((self.model.output(theta, inputs) - labels) ** 2, axis=-1)

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


class TeacherStudentAttention(Objective):
    """Single-head attention ``softmax(c X W_Q (X W_K)^T) X W_V`` learning a teacher of the same shape.

    Queries, keys and values are learned ``d_emb x d_head`` projections and there is no output map, so
    the output has width ``d_head`` (the paper's model, :meth:`quotientlearn.models.Attention.output`);
    ``c = 1 / sqrt(d_head)``. Each step draws ``X ~ N(0, I)`` of shape ``(S, B, seq_len, d_emb)`` and
    targets ``teacher(X) + label_noise * eps``; the loss is the mean over all ``B * seq_len * d_head``
    output entries.

    Parameters
    ----------
    model : quotientlearn.models.Attention
    teacher : array_like, shape (S, D)
    batch_size, seq_len : int
    label_noise : float
        Standard deviation of the noise added to the targets.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Attention(d_emb=4, d_head=2)
    >>> teacher = ql.datasets.attention_teacher(model, 2, np.random.default_rng(0))
    >>> objective = ql.sgd.TeacherStudentAttention(model, teacher, batch_size=4, seq_len=3,
    ...                                           label_noise=0.02)
    >>> objective.n_seeds, objective.dim
    (2, 24)
    """

    def __init__(self, model, teacher, batch_size, seq_len, label_noise):
        self.model = model
        self.teacher = _teacher(teacher, model)
        self.n_seeds, self.dim = self.teacher.shape[0], model.dim
        self.batch_size = integer(batch_size, "batch_size", minimum=1)
        self.seq_len = integer(seq_len, "seq_len", minimum=1)
        self.label_noise = float(label_noise)
        self.scale = 1.0 / np.sqrt(model.d_head)

    def sample_batch(self, rng):
        """``(X, Y)`` of shapes ``(S, B, L, d_emb)`` and ``(S, B, L, d_head)``."""
        inputs = rng.standard_normal((self.n_seeds, self.batch_size, self.seq_len,
                                      self.model.d_emb))
        targets = self.model.output(self.teacher, inputs)
        return inputs, targets + self.label_noise * rng.standard_normal(targets.shape)

    def loss(self, theta, batch):
        """Mean squared error per seed over batch, positions and output features; shape ``(S,)``."""
        inputs, targets = batch
        return anp.mean((self.model.output(theta, inputs) - targets) ** 2, axis=(1, 2, 3))

    def gradient(self, theta, batch):
        """Closed-form gradient of :meth:`loss` (softmax backward), shape ``(S, D)``."""
        inputs, targets = batch
        d_emb, h = self.model.d_emb, self.model.d_head
        # Queries, keys and values from one matmul with [W_Q | W_K | W_V] side by side.
        stacked = theta.reshape(self.n_seeds, 3, d_emb, h).transpose(0, 2, 1, 3)
        qkv = inputs @ stacked.reshape(self.n_seeds, 1, d_emb, 3 * h)
        queries, keys, values = qkv[..., :h], qkv[..., h: 2 * h], qkv[..., 2 * h:]
        scores = self.scale * (queries @ np.swapaxes(keys, -1, -2))
        attn = np.exp(scores - scores.max(axis=-1, keepdims=True))
        attn /= attn.sum(axis=-1, keepdims=True)
        grad_out = (2.0 / targets[0].size) * (attn @ values - targets)       # (S, B, L, h)
        grad_attn = grad_out @ np.swapaxes(values, -1, -2)                  # (S, B, L, L)
        grad_scores = attn * (grad_attn - np.sum(grad_attn * attn, axis=-1, keepdims=True))
        grad_qkv = np.concatenate([self.scale * (grad_scores @ keys),
                                   self.scale * (np.swapaxes(grad_scores, -1, -2) @ queries),
                                   np.swapaxes(attn, -1, -2) @ grad_out], axis=-1)
        flat_inputs = inputs.reshape(self.n_seeds, -1, d_emb)
        grad = np.swapaxes(flat_inputs, -1, -2) @ grad_qkv.reshape(self.n_seeds, -1, 3 * h)
        return grad.reshape(self.n_seeds, d_emb, 3, h).transpose(0, 2, 1, 3).reshape(
            self.n_seeds, -1)


class MaskedFactorization(Objective):
    """``M = P Q`` fitted to observed entries of ``M*``; each step uses a random part of them.

    Loss: the mean over *all* ``m n`` entries of the masked squared error,
    ``(1 / mn) sum_ij mask_ij ((PQ)_ij - M*_ij)^2`` (the paper's normalisation).

    Parameters
    ----------
    model : quotientlearn.models.MatrixFactorization
    target : array_like, shape (S, m, n)
    mask : array_like of bool, shape (S, m, n)
        The observed entries of each seed (at least one per seed).
    step_fraction : float
        Part of the observed entries used per step, in ``(0, 1]``; 1 gives full-batch GD.
    sampling : {"exact", "bernoulli"}
        ``"exact"``: a fresh uniformly random subset of ``round(step_fraction * n_observed)`` entries
        (at least one) each step. ``"bernoulli"``: each observed entry kept independently with
        probability ``step_fraction`` each step (the paper's batches).

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.MatrixFactorization(6, 5, rank=5)
    >>> problem = ql.datasets.low_rank_completion(2, np.random.default_rng(0), size=(6, 5))
    >>> objective = ql.sgd.MaskedFactorization(model, problem.target, problem.mask, step_fraction=0.5)
    >>> objective.n_seeds, objective.dim
    (2, 55)
    """

    def __init__(self, model, target, mask, step_fraction=1.0, sampling="exact"):
        self.model = model
        self.target = _seeded(target, "target", 2)
        if self.target.shape[1:] != (model.m, model.n):
            raise ValueError(f"target must have shape (S, {model.m}, {model.n}); "
                             f"got {self.target.shape}")
        mask = np.asarray(mask)
        if mask.shape != self.target.shape or not np.all((mask == 0) | (mask == 1)):
            raise ValueError(f"mask must hold 0/1 (or bool) entries of shape {self.target.shape}; "
                             f"got shape {mask.shape}")
        self.mask = mask.astype(bool)
        n_observed = self.mask.sum(axis=(-2, -1))
        if np.any(n_observed == 0):
            raise ValueError("mask must observe at least one entry of every seed")
        self.step_fraction = float(step_fraction)
        if not 0.0 < self.step_fraction <= 1.0:
            raise ValueError(f"step_fraction must lie in (0, 1]; got {step_fraction!r}")
        if sampling not in ("exact", "bernoulli"):
            raise ValueError(f"sampling must be 'exact' or 'bernoulli'; got {sampling!r}")
        self.sampling = sampling
        self.n_seeds, self.dim = self.target.shape[0], model.dim
        self._per_step = np.maximum(1, np.round(self.step_fraction * n_observed)).astype(int)
        self._full_mask = self.mask.astype(float)

    def sample_batch(self, rng):
        """The step's mask, shape ``(S, m, n)`` (0/1)."""
        if self.step_fraction == 1.0:
            return self._full_mask
        keys = rng.random(self.target.shape)
        if self.sampling == "bernoulli":
            return (self.mask & (keys < self.step_fraction)).astype(float)
        # The per_step smallest keys among the observed entries: a uniformly random subset.
        keys = np.where(self.mask, keys, 2.0).reshape(self.n_seeds, -1)
        cutoff = np.take_along_axis(np.sort(keys, axis=-1), self._per_step[:, None] - 1, axis=-1)
        return (keys <= cutoff).reshape(self.target.shape).astype(float)

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


class FeatureRegression(Objective):
    """Least squares on fixed features, ``mean((X w - y)^2) + l1 |w|_1``, with an optional model.

    ``model=None`` trains ``w`` itself (``theta = w``). A model with ``beta_shape == (K,)`` trains its
    parameters instead, with ``w = model.predictor(theta)`` (e.g. the products ``A (u * v)`` of
    ``Hadamard``, ``BasisHadamard``, ``CumsumHadamard``); the gradient pulls ``dL/dw`` back with the
    model's closed-form :meth:`~quotientlearn.models.Model.predictor_and_pullback`. ``batch_size``
    below the number of samples gives minibatch SGD (a fresh random subset each step); by default it
    is full-batch GD. ``label_noise > 0`` adds fresh ``N(0, label_noise^2)`` noise to the targets of
    every step (label-noise SGD): unlike minibatch noise it does not vanish at an interpolating
    solution.

    Parameters
    ----------
    features : array_like, shape (S, n, K)
    targets : array_like, shape (S, n)
    model : Model, optional
        With ``beta_shape == (K,)``.
    l1 : float
        Weight of ``|w|_1`` (its subgradient ``sign(w)`` is used).
    batch_size : int, optional
    label_noise : float

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> features = np.random.default_rng(0).standard_normal((3, 20, 5))  # 3 seeds, 20 samples
    >>> objective = ql.sgd.FeatureRegression(features, features @ np.ones(5), l1=0.1, batch_size=4)
    >>> objective.n_seeds, objective.dim
    (3, 5)
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
        if model is not None and model.beta_shape != (n_features,):
            raise ValueError(f"model must predict the {n_features} weights, beta_shape "
                             f"({n_features},); got {model!r}")
        self.dim = n_features if model is None else model.dim

    def weights(self, theta):
        """The linear weights ``w``, shape ``(S, K)`` (autograd-traceable)."""
        return theta if self.model is None else self.model.traceable_predictor(theta)

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
        if self.model is None:
            weights, pullback = theta, None
        else:
            weights, pullback = self.model.predictor_and_pullback(theta)
        residual = (features @ weights[..., None])[..., 0] - targets
        grad_w = (2.0 / features.shape[1]) * (residual[:, None, :] @ features)[:, 0]
        if self.l1:
            grad_w = grad_w + self.l1 * np.sign(weights)
        return grad_w if pullback is None else pullback(grad_w)


# ---------------------------------------------------------------------------------------- loop
@dataclass
class TrainResult:
    """Outcome of :func:`train`: final parameters and records with the structure of ``Samples.records``.

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

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Hadamard(dim=1)
    >>> objective = ql.sgd.FeatureRegression(np.ones((1, 4, 1)), np.full((1, 4), 2.0), model)
    >>> result = ql.sgd.train(objective, np.array([[1.0, 0.5]]), lr=0.05, n_steps=100, seed=0,
    ...                       record=lambda theta: {"beta": model.predictor(theta)}, record_every=50,
    ...                       progress=False)
    >>> result.records["beta"].shape, result.record_steps
    ((3, 1, 1), array([  0,  50, 100]))
    """

    theta: np.ndarray
    records: dict
    record_steps: np.ndarray
    n_steps: int
    resumed_from: int = 0


class _ObjectiveDrift(Drift):
    """An objective's minibatch gradient as the engine's drift ``-grad L_batch``."""

    def __init__(self, objective):
        self.objective = objective

    def sample(self, rng):
        return self.objective.sample_batch(rng)

    def evaluate(self, theta, batch):
        return -self.objective.gradient(theta, batch), None


def _record_schedule(n_steps, record_every):
    if record_every is None:
        return np.array([0, n_steps])
    every = integer(record_every, "record_every", minimum=1)
    return np.unique(np.append(np.arange(0, n_steps + 1, every), n_steps))


def train(objective, theta0, lr, n_steps, seed=0, *, temperature=0.0, record=None,
          record_every=None, checkpoint=None, resume=False, progress=None, desc=None,
          divergence_bound=DIVERGENCE_BOUND):
    """Run ``n_steps`` of ``theta <- theta - lr grad L_batch(theta) [+ sqrt(2 lr T) N(0, I)]``.

    The Euler–Maruyama step of the engine under :func:`~quotientlearn.simulate` with ``dt = lr``:
    Langevin SGD on an objective and isotropic ``simulate`` of the same loss without gauge fixing give
    the same trajectory at the same seed.

    Parameters
    ----------
    objective : Objective
        ``n_seeds``, ``dim``, ``sample_batch``, ``loss`` and ``gradient``.
    theta0 : array_like, shape (S, D)
    lr : float
    n_steps : int
    seed : int or numpy.random.Generator
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
    divergence_bound : float
        The run has diverged when a coordinate is non-finite or exceeds this in magnitude.

    Returns
    -------
    TrainResult

    Raises
    ------
    ValueError
        On bad arguments.
    DivergenceError
        When an iterate leaves ``|theta_i| <= divergence_bound`` (a ``FloatingPointError``).

    Examples
    --------
    Minibatch SGD on ``beta = u v`` for 2 seeds at once (targets around 2):

    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> rng = np.random.default_rng(0)
    >>> model = ql.models.Hadamard(dim=1)
    >>> objective = ql.sgd.FeatureRegression(np.ones((2, 16, 1)), 2.0 + 0.1 * rng.standard_normal((2, 16)),
    ...                                      model, batch_size=4)
    >>> result = ql.sgd.train(objective, np.tile([1.0, 0.5], (2, 1)), lr=0.05, n_steps=500, seed=0,
    ...                       progress=False)
    >>> result.theta.shape, bool(np.allclose(model.predictor(result.theta), 2.0, atol=0.1))
    ((2, 2), True)
    """
    theta = np.array(theta0, dtype=float)
    if theta.shape != (objective.n_seeds, objective.dim):
        raise ValueError(f"theta0 must have shape ({objective.n_seeds}, {objective.dim}); "
                         f"got {theta.shape}")
    lr = real(lr, "lr", minimum=0.0, exclusive_minimum=True)
    n_steps = integer(n_steps, "n_steps", minimum=1)
    temperature = validate_temperature(temperature)
    divergence_bound = real(divergence_bound, "divergence_bound", minimum=0.0, exclusive_minimum=True,
                            allow_inf=True)
    rng = as_generator(seed)
    schedule = _record_schedule(n_steps, record_every)
    recorder = Recorder(record if record is not None else (lambda theta: {}), schedule,
                        objective.n_seeds)
    engine = Engine(_ObjectiveDrift(objective), Isotropic(), EulerMaruyama(), temperature, lr,
                    step_name="lr", offers_drop=False, bound=divergence_bound)
    run = engine.run(theta, n_steps, rng, recorder=recorder, checkpoint=checkpoint, resume=resume,
                     progress=progress, desc=desc)
    return TrainResult(run.theta, run.records, run.record_steps, n_steps, run.resumed_from)
