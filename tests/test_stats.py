"""ql.stats: KS and equal-mass chi-square tests against unnormalised 1-D log densities on windows."""

import numpy as np
import pytest
import scipy.stats

import quotientlearn as ql
from quotientlearn import stats


def log_normal(x):
    return -0.5 * x**2


def test_window_cdf_is_normalised_and_exact():
    grid, cdf = stats.window_cdf(log_normal, (-1.0, 2.0))
    norm = scipy.stats.norm
    exact = (norm.cdf(grid) - norm.cdf(-1.0)) / (norm.cdf(2.0) - norm.cdf(-1.0))
    assert np.max(np.abs(cdf - exact)) < 1e-6


@pytest.mark.parametrize("test", [stats.ks_test, stats.chisquare_test])
def test_accepts_the_truth_and_rejects_a_wrong_law(test):
    # Samples of N(0, 1) conditioned on the window [-1, 2] against N(0, 1) and N(0.2, 1).
    x = np.random.default_rng(0).standard_normal(20_000)
    right = test(x, log_normal, (-1.0, 2.0))
    wrong = test(x, lambda y: -0.5 * (y - 0.2) ** 2, (-1.0, 2.0))
    assert right.pvalue > 0.01 and right.verdict() == "consistent"
    assert wrong.pvalue < 1e-4 and wrong.verdict() == "rejected"
    assert right.n == int(np.sum((x >= -1) & (x <= 2)))


def test_pvalues_are_uniform_under_the_null():
    # 200 independent KS tests of true samples: p-values must be U(0, 1) (meta KS test, threshold 0.01).
    rng = np.random.default_rng(1)
    pvalues = [stats.ks_test(rng.standard_normal(300), log_normal, (-3, 3)).pvalue
               for _ in range(200)]
    assert scipy.stats.kstest(pvalues, "uniform").pvalue > 0.01


def test_projection():
    values = np.arange(12.0).reshape(3, 2, 2)
    np.testing.assert_allclose(stats.project(values, np.array([[1, 0], [0, 1.0]])), [3, 11, 19])
    with pytest.raises(ValueError, match="direction must have shape"):
        stats.project(values, np.ones(4))


@pytest.mark.parametrize(
    "args, message",
    [
        ((np.zeros(100), log_normal, (1.0, 0.0)), "low < high"),
        ((np.zeros(100), log_normal, (5.0, 6.0)), "only 0 samples"),
        ((np.zeros((10, 2)), log_normal, (-1, 1)), "must be 1-D"),
        ((np.zeros(100), "normal", (-1, 1)), "callable"),
        ((np.zeros(100), lambda x: np.full_like(x, np.nan), (-1, 1)), "NaN"),
    ],
)
def test_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        stats.ks_test(*args)


def test_distances_between_densities_live_in_stats():
    import autograd.numpy as anp

    import quotientlearn as ql

    model = ql.models.Hadamard(1)

    def loss(beta):
        return 0.5 * anp.sum((beta - 1.0) ** 2, axis=-1)

    iso = ql.stationary_density(model, loss, 0.1, method="ito")
    hor = ql.stationary_density(model, loss, 0.1, noise="horizontal", method="ito")
    thm = ql.stationary_density(model, loss, 0.1)
    grid = np.linspace(0.3, 2.0, 9)[:, None]
    assert stats.log_ratio_spread(iso, thm, grid) < 1e-10 < 0.5 < stats.log_ratio_spread(iso, hor, grid)
    assert stats.total_variation(iso, thm, (0.3, 2.0)) < 1e-6
    assert 0.02 < stats.total_variation(iso, hor, (0.3, 2.0)) < 1
    # the Density methods are the same statistics
    assert iso.total_variation(hor, (0.3, 2.0)) == stats.total_variation(iso, hor, (0.3, 2.0))


# ------------------------------------------------------------------------- bias strength
TEMPERATURE, WINDOW = 0.1, (0.3, 2.0)


def base(x):
    return -0.5 * (x - 1.0) ** 2 / TEMPERATURE


def power_law_samples(exponent, size, rng):
    """Exact draws of exp(base) |x|^-a on the window, by inverting its CDF on a fine grid."""
    grid, cdf = stats.window_cdf(lambda x: base(x) - exponent * np.log(x), WINDOW, 20_001)
    return np.interp(rng.random(size), cdf, grid)


def test_power_exponent_of_a_law_in_the_family_is_its_exponent():
    for exponent in (0.0, 0.5, 1.0, 2.3):
        law = lambda x, a=exponent: base(x) - a * np.log(x)  # noqa: E731
        assert abs(stats.power_exponent(law, base, WINDOW) - exponent) < 1e-8


def test_fit_is_unbiased_with_calibrated_standard_errors():
    # 200 independent sets of 2000 i.i.d. draws of the a = 1 law: the z-scores (a_hat - 1) / se must
    # have mean 0 and spread 1 (thresholds: 4 standard errors of a mean and of a spread over 200).
    rng = np.random.default_rng(0)
    fits = [stats.fit_power_exponent(power_law_samples(1.0, 2000, rng), base, WINDOW) for _ in range(200)]
    z = np.array([(fit.exponent - 1.0) / fit.stderr for fit in fits])
    assert abs(z.mean()) < 4 / np.sqrt(200)
    assert abs(z.std() - 1.0) < 4 / np.sqrt(2 * 200)
    # Power: the same fits reject the horizontal-noise law's a = 1/2 every time.
    assert all(abs(fit.exponent - 0.5) > 4 * fit.stderr for fit in fits)
    fit = fits[0]
    assert fit.n == 2000 and fit.window == WINDOW
    assert stats.ks_test(power_law_samples(1.0, 2000, rng), fit.logpdf(base), WINDOW).pvalue > 1e-3


def test_fit_refuses_a_window_through_zero_and_too_few_samples():
    x = power_law_samples(1.0, 100, np.random.default_rng(1))
    with pytest.raises(ValueError, match="exclude 0"):
        stats.fit_power_exponent(x, base, (-1.0, 2.0))
    with pytest.raises(ValueError, match="need >= 20"):
        stats.fit_power_exponent(x[:10], base, WINDOW)


def test_log_ratio_spread_refuses_what_it_cannot_compare():
    model = ql.models.Hadamard(1)
    density = ql.stationary_density(model, lambda beta: 0.5 * (beta[..., 0] - 1.0) ** 2, 0.1,
                                    method="theorem1")
    with pytest.raises(TypeError, match="other"):
        stats.log_ratio_spread(density, lambda x: -x, np.ones((3, 1)))
    with pytest.raises(ValueError, match="points"):
        stats.log_ratio_spread(density, density, np.zeros((0, 1)))
    with pytest.raises(ValueError, match="finite"), pytest.warns(ql.DegenerateOrbitWarning):
        stats.log_ratio_spread(density, density, np.array([[0.0], [1.0]]))  # -inf - (-inf) at 0
