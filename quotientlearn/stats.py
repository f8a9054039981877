"""Statistics of samples and predicted densities: goodness of fit on a window, and distances.

Samples are final states of independent particles, hence i.i.d. The predicted density is normalised
numerically on the window (trapezoid rule on a fine grid, whose error is far below the resolution of any
test at the sample sizes used), and the samples are conditioned on the same window: densities with
improper mass (e.g. at ``beta = 0``) are compared where they are proper.

Observables are 1-D: a scalar predictor, a coordinate, a singular value, or a chosen projection
(:func:`project`) of a higher-dimensional predictor, with its predicted marginal.

Bias strength: :func:`fit_power_exponent` measures the exponent ``a`` of ``p(x) ∝ exp(base(x)) |x|^-a``
from samples (Theorem 1 gives ``a = 1`` for ``beta = u v``), and :func:`power_exponent` gives the
value the same fit converges to under a predicted law, so measurement and prediction are compared on
one scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.stats
from scipy.integrate import cumulative_trapezoid, trapezoid
from scipy.optimize import brentq

from quotientlearn.predictions.density import Density
from quotientlearn.validation import integer, real, real_array

#: Largest relative change of the window's mass between the grid and every other node of it: the
#: Monte Carlo noise of a fibre-integral density moves it by ~0.5%, below what a KS test resolves.
_RESOLUTION = 0.05
#: Exponents ``a`` of ``|x - x0|^(-a)`` at and above which a point is not integrable (``a = 1``, with
#: margin for the finite distances of the estimate).
_POLE_EXPONENT = 0.9

__all__ = ["ExponentFit", "FitResult", "chisquare_test", "fit_power_exponent", "ks_test", "log_ratio_spread",
           "power_exponent", "project", "total_variation", "window_cdf"]


@dataclass(frozen=True)
class FitResult:
    """Outcome of a goodness-of-fit test.

    Attributes
    ----------
    test : str
        ``"ks"`` or ``"chisquare"``.
    statistic, pvalue : float
    n : int
        Number of samples inside the window.
    window : tuple of float

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> values = np.random.default_rng(1).exponential(size=500)  # samples of exp(-x)
    >>> fit = ql.stats.ks_test(values, lambda x: -x, window=(0.0, 5.0))
    >>> fit.verdict(0.01)
    'consistent'
    """

    test: str
    statistic: float
    pvalue: float
    n: int
    window: tuple

    def verdict(self, alpha=0.01):
        """``"consistent"`` if ``pvalue > alpha`` else ``"rejected"``; ``0 < alpha < 1``."""
        alpha = real(alpha, "alpha", minimum=0.0, exclusive_minimum=True, maximum=1.0)
        return "consistent" if self.pvalue > alpha else "rejected"

    def as_dict(self):
        """JSON-ready dict."""
        return {"test": self.test, "statistic": self.statistic, "pvalue": self.pvalue, "n": self.n,
                "window": list(self.window)}


def _as_logpdf(density):
    """A callable ``x (n,) -> log density (n,)`` from a callable or a 1-D :class:`Density`."""
    if isinstance(density, Density):
        if density.size != 1:
            raise ValueError(
                "a Density of a multi-dimensional predictor has no 1-D law: pass the marginal of "
                "your observable as a callable x -> log density")
        return lambda x: density.logpdf(np.reshape(x, np.shape(x) + (1,) * len(density.shape)))
    if not callable(density):
        raise ValueError(f"density must be a callable x -> log density or a Density; got {density!r}")
    return density


def _window(window):
    try:
        low, high = (float(w) for w in window)
    except (TypeError, ValueError):
        raise ValueError(f"window must be a pair (low, high); got {window!r}") from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"window must be finite with low < high; got {window!r}")
    return low, high


def window_cdf(density, window, n_grid=4001):
    """The predicted CDF on a window, normalised there.

    Parameters
    ----------
    density : callable or Density
        ``x (n,) -> log density (n,)`` (unnormalised).
    window : (float, float)
    n_grid : int
        Number of nodes (>= 3; an even number is raised by one).

    Returns
    -------
    grid : ndarray, shape (n_grid,)
    cdf : ndarray, shape (n_grid,)
        From 0 to 1.

    Raises
    ------
    ValueError
        If the density is NaN or infinite on the grid, zero everywhere, not integrable at a point
        between two nodes (a pole such as ``1/|x|`` at 0), or not resolved: its mass on every other
        node differs from its mass on all nodes by more than 5% (a spike narrower than the grid).

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> grid, cdf = ql.stats.window_cdf(lambda x: -x, window=(0.0, 1.0), n_grid=5)
    >>> grid
    array([0.  , 0.25, 0.5 , 0.75, 1.  ])
    >>> cdf.round(3)  # (1 - e^-x) / (1 - e^-1), by the trapezoidal rule on the grid
    array([0.   , 0.35 , 0.622, 0.835, 1.   ])
    """
    low, high = _window(window)
    logpdf = _as_logpdf(density)
    # Odd, so that every other node is a grid on the same window (the resolution check below).
    n_grid = integer(n_grid, "n_grid", minimum=3, maximum=10**8) | 1
    grid = np.linspace(low, high, n_grid)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_values = np.asarray(logpdf(grid), dtype=float)
    if log_values.shape != grid.shape:
        raise ValueError(f"the log density must return shape {grid.shape}; got {log_values.shape}")
    for bad, what in ((np.isnan(log_values), "NaN"), (log_values == np.inf, "infinite")):
        if np.any(bad):
            raise ValueError(f"the density is {what} at x = {grid[np.argmax(bad)]:.6g} in the window "
                             f"[{low:g}, {high:g}]: it is not integrable there; choose a window that "
                             "excludes that point")
    if np.all(log_values == -np.inf):
        raise ValueError(f"the density is zero everywhere on the window [{low:g}, {high:g}]")
    _refuse_a_pole(logpdf, grid, log_values, (low, high))
    values = np.exp(log_values - log_values.max())
    cdf = cumulative_trapezoid(values, grid, initial=0.0)
    # The mass on every other node must agree, or the grid does not resolve the density (a spike
    # narrower than the grid, a pole just outside the window).
    coarse = np.trapezoid(values[::2], grid[::2])
    if not abs(coarse - cdf[-1]) <= _RESOLUTION * cdf[-1]:
        raise ValueError(
            f"the density is not resolved on the window [{low:g}, {high:g}]: its mass changes by "
            f"{abs(coarse / cdf[-1] - 1):.1%} between {n_grid // 2 + 1} and {n_grid} grid nodes (a "
            "spike narrower than the grid); raise n_grid or narrow the window")
    return grid, cdf / cdf[-1]


def _refuse_a_pole(logpdf, grid, log_values, window):
    """Refuse a non-integrable point between two nodes (``1/|x|`` at 0), where no node sees +inf.

    Near the largest node the maximum of the log density is located by shrinking a bracket, and the
    exponent ``a`` of ``density ~ |x - x0|^(-a)`` is read off at distances 1e-7 and 1e-11 (relative
    to the window) from it: ``a >= 1`` is not integrable. A smooth maximum gives ``a`` near 0, an
    integrable singularity such as ``1/sqrt|x|`` gives 1/2.
    """
    low, high = window
    step = grid[1] - grid[0]
    peak = grid[int(np.argmax(log_values))]
    left, right = max(low, peak - step), min(high, peak + step)
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(20):  # 17 points, then +- two spacings around the best: width / 4 a round
            points = np.linspace(left, right, 17)
            best = points[int(np.nanargmax(np.asarray(logpdf(points), dtype=float)))]
            half = (right - left) / 8
            left, right = max(low, best - half), min(high, best + half)
        scale = high - low
        near = np.clip(best + np.array([1e-7, 1e-11, -1e-7, -1e-11]) * scale, low, high)
        values = np.asarray(logpdf(near), dtype=float)
    exponents = [(values[1] - values[0]) / np.log(1e4), (values[3] - values[2]) / np.log(1e4)]
    if np.any(~np.isfinite(values)) or max(exponents) >= _POLE_EXPONENT:
        raise ValueError(
            f"the density is not integrable near x = {best:.3g} in the window [{low:g}, {high:g}]: it "
            f"grows like |x - x0|^-a with a = {max(exponents):.2g} (a >= 1 is not integrable); choose "
            "a window that excludes that point")


def _inside(values, window):
    values = np.asarray(values, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"values must be 1-D (one observable per particle); got shape {values.shape}")
    low, high = window
    inside = values[(values >= low) & (values <= high)]
    if inside.size < 20:
        raise ValueError(f"only {inside.size} samples lie in the window [{low}, {high}]; need >= 20")
    return inside


def ks_test(values, density, window, n_grid=4001):
    """Kolmogorov–Smirnov test of the samples inside ``window`` against the predicted law there.

    Parameters
    ----------
    values : array_like, shape (N,)
        One observable per independent particle.
    density : callable or Density
        Unnormalised log density of the observable.
    window : (float, float)
    n_grid : int

    Returns
    -------
    result : FitResult

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> values = np.random.default_rng(1).exponential(size=500)  # samples of exp(-x)
    >>> ql.stats.ks_test(values, lambda x: -x, window=(0.0, 5.0)).pvalue > 0.01  # the right law
    True
    >>> ql.stats.ks_test(values, lambda x: -2 * x, window=(0.0, 5.0)).pvalue < 1e-10  # a wrong one
    True
    """
    window = _window(window)
    inside = _inside(values, window)
    grid, cdf = window_cdf(density, window, n_grid)
    result = scipy.stats.kstest(inside, lambda x: np.interp(x, grid, cdf))
    return FitResult("ks", float(result.statistic), float(result.pvalue), int(inside.size), window)


def chisquare_test(values, density, window, n_bins=20, n_grid=4001):
    """Chi-square test on ``n_bins`` bins of equal predicted mass inside ``window``.

    Returns
    -------
    result : FitResult

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> values = np.random.default_rng(1).exponential(size=500)  # samples of exp(-x)
    >>> fit = ql.stats.chisquare_test(values, lambda x: -x, window=(0.0, 5.0), n_bins=20)
    >>> fit.test, fit.pvalue > 0.01
    ('chisquare', True)
    """
    window = _window(window)
    inside = _inside(values, window)
    n_bins = integer(n_bins, "n_bins", minimum=2)
    if inside.size < 5 * n_bins:
        raise ValueError(f"need n_bins >= 2 and >= 5 samples per bin; got {n_bins} bins for "
                         f"{inside.size} samples")
    grid, cdf = window_cdf(density, window, n_grid)
    # Equal predicted mass: invert the (monotone) CDF at the bin quantiles.
    edges = np.interp(np.linspace(0.0, 1.0, n_bins + 1), cdf, grid)
    edges[0], edges[-1] = window
    counts, _ = np.histogram(inside, bins=edges)
    expected = np.full(n_bins, inside.size / n_bins)
    result = scipy.stats.chisquare(counts, expected)
    return FitResult("chisquare", float(result.statistic), float(result.pvalue), int(inside.size),
                     window)


def project(values, direction):
    """1-D projection ``<values, direction>`` of higher-dimensional observables.

    Parameters
    ----------
    values : array_like, shape (N, ...)
    direction : array_like, shape (...)
        Same trailing shape as one observable.

    Returns
    -------
    projected : ndarray, shape (N,)

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> ql.stats.project(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.0, 1.0]))
    array([2., 4.])
    """
    values = np.asarray(values, dtype=float)
    direction = np.asarray(direction, dtype=float)
    if values.shape[1:] != direction.shape:
        raise ValueError(f"direction must have shape {values.shape[1:]}; got {direction.shape}")
    return values.reshape(len(values), -1) @ direction.ravel()


def log_ratio_spread(density, other, points):
    """Sampling-free comparison: spread of ``logpdf - other.logpdf`` over ``points``.

    Two densities equal up to normalisation give a constant log ratio, hence spread 0.

    Parameters
    ----------
    density, other : Density
    points : array_like, shape (n, *shape)

    Returns
    -------
    spread : float
        ``max - min`` of the log ratio over the points.

    Raises
    ------
    TypeError
        If ``density`` or ``other`` is not a :class:`~quotientlearn.Density`, or ``points`` is not real.
    ValueError
        If ``points`` is empty or not finite, or a log density is not finite at a point.

    Examples
    --------
    Two predictions of the same law differ by a constant in log density: their spread is zero.

    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Hadamard(dim=1)
    >>> def loss(beta):
    ...     return 0.5 * (beta[..., 0] - 1.0) ** 2
    >>> theorem1 = ql.stationary_density(model, loss, 0.1, method="theorem1")
    >>> ito = ql.stationary_density(model, loss, 0.1, method="ito")
    >>> bool(ql.stats.log_ratio_spread(theorem1, ito, np.linspace(0.3, 2.0, 20)[:, None]) < 1e-8)
    True
    """
    points = real_array(points, "points")
    if points.shape[:1] == (0,) or not np.all(np.isfinite(points)):
        raise ValueError(f"points must be a non-empty array of finite points; got shape {points.shape}")
    for value, name in ((density, "density"), (other, "other")):
        if not isinstance(value, Density):
            raise TypeError(f"{name} must be a Density (a prediction's law); got {type(value).__name__}")
    with np.errstate(invalid="ignore"):  # -inf - (-inf) outside a support: refused just below
        ratio = density.logpdf(points) - other.logpdf(points)
    if not np.all(np.isfinite(ratio)):
        raise ValueError("the log ratio is not finite at some points (outside one density's support?); "
                         "choose points where both log densities are finite")
    return float(np.max(ratio) - np.min(ratio))


def total_variation(density, other, window, n_grid=4001):
    """Total variation distance of two 1-D densities normalised on ``window``.

    Parameters
    ----------
    density, other : callable or Density
    window : (float, float)
    n_grid : int

    Returns
    -------
    distance : float
        In [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> distance = ql.stats.total_variation(lambda x: -x, lambda x: -2 * x, window=(0.0, 5.0))
    >>> round(float(distance), 3)
    0.247
    """
    _, mine = window_cdf(density, window, n_grid)
    _, theirs = window_cdf(other, window, n_grid)
    return float(0.5 * np.sum(np.abs(np.diff(mine) - np.diff(theirs))))


# ------------------------------------------------------------------------- bias strength
@dataclass(frozen=True)
class ExponentFit:
    """Maximum-likelihood exponent ``a`` of ``p(x) ∝ exp(base(x)) |x|^-a`` on a window.

    Attributes
    ----------
    exponent : float
        ``a``.
    stderr : float
        Its asymptotic standard error, ``1 / sqrt(n Var_a[log |x|])`` (inverse Fisher information).
    n : int
        Number of samples inside the window.
    window : tuple of float

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> values = np.random.default_rng(1).exponential(size=2000)
    >>> fit = ql.stats.fit_power_exponent(values, lambda x: -x, window=(0.2, 5.0))
    >>> type(fit).__name__, fit.window, fit.n > 1000
    ('ExponentFit', (0.2, 5.0), True)
    """

    exponent: float
    stderr: float
    n: int
    window: tuple

    def logpdf(self, base):
        """The fitted law ``x -> base(x) - a log |x|`` (unnormalised), for :func:`ks_test`."""
        return lambda x: np.asarray(base(x), dtype=float) - self.exponent * np.log(np.abs(x))


class _PowerFamily:
    """``exp(base(x)) |x|^-a`` on a grid of the window: an exponential family with statistic log|x|."""

    def __init__(self, base, window, n_grid):
        low, high = _window(window)
        if low <= 0.0 <= high:
            raise ValueError(f"the window must exclude 0, where |x|^-a is singular; got {window!r}")
        self.window = (low, high)
        self.grid = np.linspace(low, high, integer(n_grid, "n_grid", minimum=3, maximum=10**8))
        self.log_base = np.asarray(_as_logpdf(base)(self.grid), dtype=float)
        if self.log_base.shape != self.grid.shape or not np.all(np.isfinite(self.log_base)):
            raise ValueError("base must return finite values of shape (n,) on the window")
        self.log_abs = np.log(np.abs(self.grid))

    def moments(self, exponent):
        """Mean and variance of ``log |x|`` under exponent ``a``."""
        log_weight = self.log_base - exponent * self.log_abs
        weight = np.exp(log_weight - log_weight.max())
        mass = trapezoid(weight, self.grid)
        mean = trapezoid(weight * self.log_abs, self.grid) / mass
        return mean, trapezoid(weight * (self.log_abs - mean) ** 2, self.grid) / mass

    def solve(self, target_mean):
        """The exponent whose mean of ``log |x|`` is ``target_mean`` (the mean falls as ``a`` grows)."""
        span = 1.0
        while self.moments(-span)[0] < target_mean or self.moments(span)[0] > target_mean:
            span *= 4.0
            if span > 1e4:
                raise ValueError("no exponent matches the data: the samples sit at the window's edge")
        return brentq(lambda a: self.moments(a)[0] - target_mean, -span, span, xtol=1e-12)


def fit_power_exponent(values, base, window, n_grid=4001):
    """Measure the bias strength: the exponent ``a`` of ``p(x) ∝ exp(base(x)) |x|^-a`` on ``window``.

    The family is exponential in ``a`` with sufficient statistic ``log |x|``, so the maximum-likelihood
    estimate matches the mean of ``log |x|`` under the law (normalised on the window by the trapezoid
    rule on ``n_grid`` points, exact far below the sampling error) with the sample mean.

    Parameters
    ----------
    values : array_like, shape (N,)
        One observable per independent particle; those outside ``window`` are ignored.
    base : callable or Density
        ``x (n,) -> log density (n,)`` of the part that is not a power law, e.g. ``-L(x) / T``.
    window : (float, float)
        Must exclude 0.
    n_grid : int

    Returns
    -------
    fit : ExponentFit

    Examples
    --------
    Samples of ``exp(-x)`` hold no power of ``x``: the fitted exponent is 0 within its error.

    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> values = np.random.default_rng(1).exponential(size=2000)
    >>> fit = ql.stats.fit_power_exponent(values, lambda x: -x, window=(0.2, 5.0))
    >>> abs(fit.exponent) < 3 * fit.stderr
    True
    """
    family = _PowerFamily(base, window, n_grid)
    inside = _inside(values, family.window)
    exponent = family.solve(float(np.mean(np.log(np.abs(inside)))))
    variance = family.moments(exponent)[1]
    return ExponentFit(float(exponent), float(1.0 / np.sqrt(inside.size * variance)), int(inside.size),
                       family.window)


def power_exponent(density, base, window, n_grid=4001):
    """The exponent :func:`fit_power_exponent` converges to for samples of a predicted law.

    It is the projection of ``density`` onto the family ``exp(base(x)) |x|^-a`` (minimum
    Kullback–Leibler divergence); for a density inside the family it is that density's exponent.

    Parameters
    ----------
    density : callable or Density
        Unnormalised log density of the observable.
    base : callable or Density
    window : (float, float)
    n_grid : int

    Returns
    -------
    exponent : float

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> def law(x):
    ...     return -x - 0.5 * np.log(x)  # exp(-x) x^(-1/2)
    >>> round(float(ql.stats.power_exponent(law, lambda x: -x, window=(0.2, 5.0))), 6)
    0.5
    """
    family = _PowerFamily(base, window, n_grid)
    log_density = np.asarray(_as_logpdf(density)(family.grid), dtype=float)
    weight = np.exp(log_density - np.max(log_density))
    target = trapezoid(weight * family.log_abs, family.grid) / trapezoid(weight, family.grid)
    return float(family.solve(target))
