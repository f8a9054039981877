"""Data generators of the paper's experiments (docs/theory.md section 6), vectorised over seeds.

Every generator draws ``n_seeds`` independent problems at once from one ``numpy.random.Generator``:
arrays carry a leading seed axis ``(S, ...)``. A run is therefore reproducible from ``(seed, S)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from quotientlearn.data import paper_run
from quotientlearn.validation import integer, real, real_array, rng_from_seed

__all__ = [
    "CompletionProblem",
    "SensingProblem",
    "SpectralProblem",
    "cosine_features",
    "cosine_test_mse",
    "gaussian_sensing",
    "low_rank_completion",
    "neuron_scales",
    "paper_sensing",
    "paper_spectral_regression",
    "relu_teacher",
    "sparse_cosine_regression",
    "step_signal",
    "attention_teacher",
    "total_variation",
]


def _generator(rng):
    return rng_from_seed(rng, "rng")


def _count(value, name, minimum=1):
    return integer(value, name, minimum=minimum)


def _scale(value, name):
    """A standard deviation: finite and >= 0 (a negative one would silently flip signs)."""
    return real(value, name, minimum=0.0)


def neuron_scales(width, spread=1.2):
    """The paper's per-unit imbalance factors ``s = exp(linspace(-spread, spread, width))``.

    Returns
    -------
    scales : ndarray, shape (width,)

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> ql.datasets.neuron_scales(3, spread=1.2).round(4)  # exp(linspace(-1.2, 1.2, 3))
    array([0.3012, 1.    , 3.3201])
    """
    return np.exp(np.linspace(-spread, spread, _count(width, "width")))


def relu_teacher(model, n_seeds, rng, std=1.5):
    """Teacher weights of a bias-free two-layer ReLU network, entries ``N(0, std^2)``.

    Parameters
    ----------
    model : quotientlearn.models.ShallowReLU
        Fixes the layout of the flat parameter vector.
    n_seeds : int
    rng : int or numpy.random.Generator
    std : float

    Returns
    -------
    theta : ndarray, shape (n_seeds, D)

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.ShallowReLU(d_in=3, width=4)
    >>> ql.datasets.relu_teacher(model, 2, np.random.default_rng(0)).shape  # (n_seeds, D)
    (2, 16)
    """
    return _scale(std, "std") * _generator(rng).standard_normal((_count(n_seeds, "n_seeds"), model.dim))


def attention_teacher(model, n_seeds, rng, std=0.75, query_gain=(4.0, 4.0)):
    """Teacher ``(W_Q, W_K, W_V)`` with entries ``N(0, std^2)`` and ``W_Q`` times ``a + b |z|``.

    ``z ~ N(0, 1)`` is one scalar per seed: it sharpens the teacher's attention pattern.

    Parameters
    ----------
    model : quotientlearn.models.Attention
    n_seeds : int
    rng : int or numpy.random.Generator
    std : float
    query_gain : tuple of float
        ``(a, b)``.

    Returns
    -------
    theta : ndarray, shape (n_seeds, D)

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Attention(d_emb=4, d_head=2)
    >>> ql.datasets.attention_teacher(model, 2, np.random.default_rng(0)).shape  # (n_seeds, D)
    (2, 24)
    """
    rng = _generator(rng)
    n_seeds = _count(n_seeds, "n_seeds")
    std = _scale(std, "std")
    blocks = {name: std * rng.standard_normal((n_seeds,) + shape)
              for name, shape in model.space.blocks.items()}
    gain = query_gain[0] + query_gain[1] * np.abs(rng.standard_normal(n_seeds))
    blocks["W_Q"] = blocks["W_Q"] * gain[:, None, None]
    return model.space.join(blocks)


@dataclass(frozen=True)
class CompletionProblem:
    """Low-rank matrix completion problems, one per seed.

    Attributes
    ----------
    target : ndarray, shape (S, m, n)
        ``M* = U diag(s) V^T``.
    left, right : ndarray, shape (S, m, r), (S, n, r)
        ``U`` and ``V`` (orthonormal columns).
    singular_values : ndarray, shape (r,)
    mask : ndarray of bool, shape (S, m, n)
        The observed entries.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> problem = ql.datasets.low_rank_completion(1, np.random.default_rng(0), size=(6, 5))
    >>> type(problem).__name__, problem.singular_values.shape
    ('CompletionProblem', (2,))
    """

    target: np.ndarray
    left: np.ndarray
    right: np.ndarray
    singular_values: np.ndarray
    mask: np.ndarray


def low_rank_completion(n_seeds, rng, size=(20, 20), singular_values=(15.0, 5.0), fraction=0.2,
                        sampling="exact"):
    """``M* = U diag(s) V^T`` with ``U, V`` from QR of Gaussians; a random ``fraction`` observed.

    Parameters
    ----------
    n_seeds : int
    rng : int or numpy.random.Generator
    size : tuple of int
        ``(m, n)``.
    singular_values : sequence of float
        ``s``, length ``r <= min(m, n)``.
    fraction : float
        Observed fraction in ``(0, 1]``.
    sampling : {"exact", "bernoulli"}
        ``"exact"``: a uniformly random subset of ``round(fraction * m * n)`` entries per seed.
        ``"bernoulli"``: each entry observed independently with probability ``fraction`` (the
        paper's mask; the count varies between seeds, and a seed observing nothing is redrawn).

    Returns
    -------
    CompletionProblem

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> problem = ql.datasets.low_rank_completion(2, np.random.default_rng(0), size=(6, 5))
    >>> problem.target.shape, problem.mask.shape
    ((2, 6, 5), (2, 6, 5))
    >>> int(np.linalg.matrix_rank(problem.target[0]))
    2
    """
    rng = _generator(rng)
    n_seeds = _count(n_seeds, "n_seeds")
    m, n = (_count(s, "size") for s in size)
    s = np.asarray(singular_values, dtype=float)
    if s.ndim != 1 or not 1 <= s.size <= min(m, n) or np.any(s <= 0):
        raise ValueError(f"singular_values must be 1 to {min(m, n)} positive numbers; got {s}")
    n_observed = round(float(fraction) * m * n)
    if not 0.0 < fraction <= 1.0 or n_observed < 1:
        raise ValueError(f"fraction must lie in (0, 1] and observe at least one entry; got {fraction}")
    if sampling not in ("exact", "bernoulli"):
        raise ValueError(f"sampling must be 'exact' or 'bernoulli'; got {sampling!r}")
    left = np.linalg.qr(rng.standard_normal((n_seeds, m, s.size)))[0]
    right = np.linalg.qr(rng.standard_normal((n_seeds, n, s.size)))[0]
    target = (left * s) @ np.swapaxes(right, -1, -2)
    if sampling == "bernoulli":
        mask = rng.random((n_seeds, m, n)) < fraction
        while not np.all(mask.any(axis=(-2, -1))):
            empty = ~mask.any(axis=(-2, -1))
            mask[empty] = rng.random((int(empty.sum()), m, n)) < fraction
    else:
        # The n_observed smallest of m n uniforms: a uniformly random subset per seed.
        keys = rng.random((n_seeds, m * n))
        cutoff = np.sort(keys, axis=-1)[:, n_observed - 1 : n_observed]
        mask = (keys <= cutoff).reshape(n_seeds, m, n)
    return CompletionProblem(target, left, right, s, mask)


def cosine_features(points, n_features):
    """Cosine features ``cos(2 pi k t)`` for ``k`` from 0 to ``n_features - 1``.

    Parameters
    ----------
    points : array_like, shape (...,)
        ``t``.
    n_features : int

    Returns
    -------
    features : ndarray, shape (..., n_features)

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> ql.datasets.cosine_features(np.array([0.0, 0.5]), 3)  # cos(2 pi k t), k = 0, 1, 2
    array([[ 1.,  1.,  1.],
           [ 1., -1.,  1.]])
    """
    k = np.arange(_count(n_features, "n_features"))
    return np.cos(2.0 * np.pi * np.asarray(points, dtype=float)[..., None] * k)


def cosine_test_mse(weights, truth):
    """Exact test MSE under ``t ~ U[0, 1]``: ``d_0^2 + (1/2) sum_{k>=1} d_k^2``, ``d = w - w*``.

    Parameters
    ----------
    weights, truth : array_like, shape (..., K)

    Returns
    -------
    mse : ndarray, shape (...,)

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> truth = np.array([0.0, 1.0, 0.0])
    >>> float(ql.datasets.cosine_test_mse(np.array([0.0, 0.0, 0.0]), truth))  # (1/2) sum_{k>=1} d_k^2
    0.5
    """
    d = np.asarray(weights, dtype=float) - np.asarray(truth, dtype=float)
    return d[..., 0] ** 2 + 0.5 * np.sum(d[..., 1:] ** 2, axis=-1)


@dataclass(frozen=True)
class SpectralProblem:
    """Sparse-spectrum regression problems, one per seed.

    Attributes
    ----------
    features : ndarray, shape (S, n_train, K)
    targets : ndarray, shape (S, n_train)
    truth : ndarray, shape (S, K)
        ``w*`` with ``n_nonzero`` nonzero coefficients.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> problem = ql.datasets.sparse_cosine_regression(1, np.random.default_rng(0))
    >>> type(problem).__name__, problem.features.shape
    ('SpectralProblem', (1, 32, 64))
    """

    features: np.ndarray
    targets: np.ndarray
    truth: np.ndarray


def sparse_cosine_regression(n_seeds, rng, n_features=64, n_nonzero=3, n_train=32, noise_std=0.1,
                             magnitude=(1.0, 2.0)):
    """Cosine features of ``t ~ U[0, 1]``, a sparse spectrum and targets with ``N(0, noise_std^2)`` noise.

    The support is drawn from ``1 .. n_features - 1`` without replacement; magnitudes are uniform on
    ``magnitude`` with random signs.

    Returns
    -------
    SpectralProblem

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> problem = ql.datasets.sparse_cosine_regression(2, np.random.default_rng(0))  # 2 seeds
    >>> problem.features.shape, problem.targets.shape, problem.truth.shape
    ((2, 32, 64), (2, 32), (2, 64))
    >>> bool((np.count_nonzero(problem.truth, axis=-1) == 3).all())
    True
    """
    rng = _generator(rng)
    n_seeds = _count(n_seeds, "n_seeds")
    n_features = _count(n_features, "n_features", 2)
    n_nonzero = _count(n_nonzero, "n_nonzero")
    if n_nonzero > n_features - 1:
        raise ValueError(f"n_nonzero must be at most n_features - 1 = {n_features - 1}")
    support = 1 + np.argsort(rng.random((n_seeds, n_features - 1)), axis=-1)[:, :n_nonzero]
    values = rng.uniform(*magnitude, (n_seeds, n_nonzero)) * rng.choice([-1.0, 1.0],
                                                                        (n_seeds, n_nonzero))
    truth = np.zeros((n_seeds, n_features))
    np.put_along_axis(truth, support, values, axis=-1)
    features = cosine_features(rng.random((n_seeds, _count(n_train, "n_train"))), n_features)
    targets = features @ truth[..., None]
    targets = targets[..., 0] + _scale(noise_std, "noise_std") * rng.standard_normal(targets.shape[:-1])
    return SpectralProblem(features, targets, truth)


def step_signal(values=(1.0, -1.5, 0.5, 2.0), lengths=(50, 70, 40, 40)):
    """Piecewise-constant signal: ``values[i]`` repeated ``lengths[i]`` times.

    Returns
    -------
    signal : ndarray, shape (sum(lengths),)

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> ql.datasets.step_signal(values=(1.0, 2.0), lengths=(2, 3))
    array([1., 1., 2., 2., 2.])
    """
    if len(values) != len(lengths) or not values:
        raise ValueError("values and lengths must be non-empty and of equal length")
    return np.repeat(np.asarray(values, dtype=float), [_count(n, "lengths") for n in lengths])


def total_variation(signal):
    """Total variation ``sum_i |x_{i+1} - x_i|`` over the last axis; shape ``(...,)``.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> float(ql.datasets.total_variation(np.array([1.0, 3.0, 2.0])))
    3.0
    """
    return np.sum(np.abs(np.diff(signal, axis=-1)), axis=-1)


def paper_spectral_regression(n_seeds):
    """The authors' own spectral instance (Fig 5, seed 456), repeated along a seed axis.

    Training inputs, targets and true coefficients are read from the package's copy of the paper's
    saved arrays (:func:`quotientlearn.data.paper_run`); seeds then differ only in what a training
    run draws itself (initialisations, minibatches, noise).

    Parameters
    ----------
    n_seeds : int

    Returns
    -------
    SpectralProblem
        ``features (S, 32, 64)``, ``targets (S, 32)``, ``truth (S, 64)``.

    Examples
    --------
    >>> import quotientlearn as ql
    >>> problem = ql.datasets.paper_spectral_regression(2)  # the authors' instance, for 2 seeds
    >>> problem.features.shape, problem.truth.shape
    ((2, 32, 64), (2, 64))
    """
    arrays = paper_run("spectral_sparsity").arrays
    n_seeds = _count(n_seeds, "n_seeds")
    truth = np.asarray(arrays["w_true"], dtype=float)
    features = cosine_features(np.asarray(arrays["t_train"], dtype=float)[:, 0], truth.size)
    return SpectralProblem(np.repeat(features[None], n_seeds, axis=0),
                           np.repeat(np.asarray(arrays["y_train"], dtype=float)[None], n_seeds, 0),
                           np.repeat(truth[None], n_seeds, axis=0))


@dataclass(frozen=True)
class SensingProblem:
    """Compressed sensing of one signal with a Gaussian matrix per seed.

    Attributes
    ----------
    sensing : ndarray, shape (S, n_measurements, N)
        Entries ``N(0, 1) / sqrt(n_measurements)``.
    targets : ndarray, shape (S, n_measurements)
    truth : ndarray, shape (N,)

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> problem = ql.datasets.gaussian_sensing(np.ones(10), 1, np.random.default_rng(0), n_measurements=4)
    >>> type(problem).__name__, problem.sensing.shape
    ('SensingProblem', (1, 4, 10))
    """

    sensing: np.ndarray
    targets: np.ndarray
    truth: np.ndarray


def gaussian_sensing(signal, n_seeds, rng, n_measurements=60, noise_std=0.1):
    """Noisy Gaussian measurements ``y = A x + noise_std * eps`` of ``signal``.

    Returns
    -------
    SensingProblem

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> signal = ql.datasets.step_signal(values=(1.0, 2.0), lengths=(5, 5))
    >>> problem = ql.datasets.gaussian_sensing(signal, 2, np.random.default_rng(0), n_measurements=6)
    >>> problem.sensing.shape, problem.targets.shape, problem.truth.shape
    ((2, 6, 10), (2, 6), (10,))
    """
    rng = _generator(rng)
    signal = real_array(signal, "signal")
    if signal.ndim != 1:
        raise ValueError(f"signal must be one-dimensional; got shape {signal.shape}")
    if not np.all(np.isfinite(signal)):
        raise ValueError("signal must be finite; it holds NaN or inf")
    noise_std = _scale(noise_std, "noise_std")
    n_measurements = _count(n_measurements, "n_measurements")
    sensing = rng.standard_normal((_count(n_seeds, "n_seeds"), n_measurements, signal.size))
    sensing /= np.sqrt(n_measurements)
    targets = sensing @ signal + noise_std * rng.standard_normal((sensing.shape[0], n_measurements))
    return SensingProblem(sensing, targets, signal)


def paper_sensing(n_seeds):
    """The authors' own compressed-sensing instance (Fig 6, seed 0), repeated along a seed axis.

    Parameters
    ----------
    n_seeds : int

    Returns
    -------
    SensingProblem
        ``sensing (S, 60, 200)``, ``targets (S, 60)`` and the step signal ``truth (200,)``, as the
        paper's saved arrays hold them.

    Examples
    --------
    >>> import quotientlearn as ql
    >>> problem = ql.datasets.paper_sensing(2)  # the authors' instance, for 2 seeds
    >>> problem.sensing.shape, problem.truth.shape
    ((2, 60, 200), (200,))
    """
    arrays = paper_run("tv_recovery").arrays
    n_seeds = _count(n_seeds, "n_seeds")
    return SensingProblem(np.repeat(np.asarray(arrays["ameas"], dtype=float)[None], n_seeds, 0),
                          np.repeat(np.asarray(arrays["ymeas"], dtype=float)[None], n_seeds, 0),
                          np.asarray(arrays["true_signal"], dtype=float))
