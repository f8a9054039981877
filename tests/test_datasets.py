import numpy as np
import pytest
from scipy import stats

from quotientlearn import datasets, models


def test_low_rank_completion_has_the_stated_spectrum_and_mask():
    problem = datasets.low_rank_completion(5, 0)
    assert problem.target.shape == (5, 20, 20)
    singular = np.linalg.svd(problem.target, compute_uv=False)
    np.testing.assert_allclose(singular[:, :2], np.tile([15.0, 5.0], (5, 1)), rtol=1e-12)
    assert np.all(singular[:, 2:] < 1e-10)
    assert problem.mask.shape == (5, 20, 20) and problem.mask.dtype == bool
    assert np.all(problem.mask.sum(axis=(-2, -1)) == 80)


def test_bernoulli_masks_observe_each_entry_with_the_stated_probability():
    problem = datasets.low_rank_completion(200, 3, fraction=0.2, sampling="bernoulli")
    counts = problem.mask.sum(axis=(-2, -1))
    assert counts.std() > 0                     # not exact counts
    # 200 * 400 independent Bernoulli(0.2) draws.
    assert stats.binomtest(int(counts.sum()), counts.size * 400, 0.2).pvalue > 0.01
    assert stats.binomtest(int(counts.sum()), counts.size * 400, 0.19).pvalue < 0.01
    with pytest.raises(ValueError, match="sampling"):
        datasets.low_rank_completion(1, 0, sampling="poisson")


def test_sparse_cosine_regression_support_and_magnitudes():
    problem = datasets.sparse_cosine_regression(50, 1)
    nonzero = problem.truth != 0
    assert np.all(nonzero.sum(axis=-1) == 3) and not nonzero[:, 0].any()
    assert np.all((np.abs(problem.truth[nonzero]) >= 1) & (np.abs(problem.truth[nonzero]) <= 2))
    assert problem.features.shape == (50, 32, 64) and problem.targets.shape == (50, 32)
    noise = problem.targets - np.einsum("snk,sk->sn", problem.features, problem.truth)
    assert 0.08 < noise.std() < 0.12


def test_cosine_test_mse_formula_matches_monte_carlo():
    rng = np.random.default_rng(2)
    weights, truth = rng.standard_normal(64), rng.standard_normal(64)
    t = rng.random(100_000)
    sampled = np.mean((datasets.cosine_features(t, 64) @ (weights - truth)) ** 2)
    exact = datasets.cosine_test_mse(weights, truth)
    # Monte-Carlo standard error of a mean of squares at this size is about 0.6% here.
    assert abs(sampled / exact - 1) < 0.02


def test_step_signal_and_total_variation():
    signal = datasets.step_signal()
    assert signal.shape == (200,)
    assert datasets.total_variation(signal) == pytest.approx(6.0)
    problem = datasets.gaussian_sensing(signal, 3, 0)
    assert problem.sensing.shape == (3, 60, 200)
    assert 0.9 < np.mean(np.sum(problem.sensing**2, axis=1)) < 1.1


def test_teachers_have_the_stated_scales():
    relu = models.ShallowReLU(3, 16)
    teacher = datasets.relu_teacher(relu, 200, 0)
    assert teacher.shape == (200, relu.dim) and 1.45 < teacher.std() < 1.55
    attention = models.Attention(16, 8)
    blocks = attention.space.split(datasets.attention_teacher(attention, 200, 0))
    assert 0.72 < blocks["W_K"].std() < 0.78 and 0.72 < blocks["W_V"].std() < 0.78
    assert blocks["W_Q"].std() > 4 * 0.75


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="n_seeds"):
        datasets.low_rank_completion(0, 0)
    with pytest.raises(ValueError, match="singular_values"):
        datasets.low_rank_completion(1, 0, (3, 3), (1.0, 2.0, 3.0, 4.0))
    with pytest.raises(ValueError, match="fraction"):
        datasets.low_rank_completion(1, 0, fraction=1.5)
    with pytest.raises(ValueError, match="n_nonzero"):
        datasets.sparse_cosine_regression(1, 0, n_features=4, n_nonzero=4)
    with pytest.raises(ValueError, match="equal length"):
        datasets.step_signal((1.0,), (2, 3))
    with pytest.raises(ValueError, match="one-dimensional"):
        datasets.gaussian_sensing(np.zeros((2, 2)), 1, 0)


def test_bad_seeds_and_scales_are_refused_naming_the_argument():
    with pytest.raises(TypeError, match="rng"):
        datasets.low_rank_completion(1, 1.5)
    with pytest.raises(ValueError, match="noise_std"):
        datasets.gaussian_sensing(np.ones(4), 1, 0, noise_std=-0.1)
    with pytest.raises(ValueError, match="signal"):
        datasets.gaussian_sensing(np.array([1.0, np.nan]), 1, 0)
    with pytest.raises(ValueError, match="std"):
        datasets.relu_teacher(models.ShallowReLU(2, 3), 1, 0, std=-1.0)
