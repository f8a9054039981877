"""Manifold benchmarks: a Riemannian simulation step against the flat step of the same dimension.

Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_manifolds.py [--quick]``.

Each row simulates ``N`` independent particles of Riemannian Langevin (``noise="isotropic"``, no
symmetry, a linear loss) on a curved space, and the same model on flat ``R^n`` with ``n`` the number of
entries of a point (the same predictor, loss and noise draws per entry), timed interleaved in one
process (best of ``repeats`` alternating runs). The ratio ``t_manifold / t_flat`` is the cost of the
geometry: the Riemannian gradient, the tangent noise orthonormal in ``g`` and the retraction (or
exponential map). The issue's target: at most 3. A user's metric on ``R^D`` is different in kind: the
Itô drift of every step needs ``d_l g_ij``, from ``metric_matrix`` at ``2 D`` shifted points (central
differences; ``D`` for forward ones) besides the point itself, each a dense ``D x D`` matrix: ``2 D^3``
entries per particle against the flat step's ``O(D)``. The rows "closed-form derivative" override
geomstats' ``inner_product_derivative_matrix`` (``D^3`` entries, one call). ``metric_floor`` times the
user's ``metric_matrix`` alone at the points one step needs, against the flat step: no route that only
calls ``metric_matrix`` can cost less than that ratio.

Also measured: the weak order of the retraction scheme on ``S^2`` (the bias of ``E[x_3]`` under
``L = -x_3``, exact ``coth(kappa) - 1/kappa``, at four step sizes; slope of log |bias| against log dt).
Timings on a loaded machine are noisy; ratios in one process are what to compare. Re-measure on a quiet
machine with the command above.
"""

from __future__ import annotations

import argparse
import time

import autograd.numpy as anp
import numpy as np
from geomstats.geometry.euclidean import Euclidean
from geomstats.geometry.hypersphere import Hypersphere
from geomstats.geometry.poincare_ball import PoincareBall
from geomstats.geometry.riemannian_metric import RiemannianMetric
from geomstats.geometry.spd_matrices import SPDMatrices
from geomstats.geometry.special_orthogonal import SpecialOrthogonal
from geomstats.geometry.stiefel import Stiefel

import quotientlearn as ql


class DiagonalMetric(RiemannianMetric):
    """``g = diag(1 + x_i^2)`` on ``R^D``, written with autograd.numpy."""

    def metric_matrix(self, base_point=None):
        return (1.0 + base_point**2)[..., :, None] * anp.eye(base_point.shape[-1])


class DiagonalMetricWithDerivative(DiagonalMetric):
    """The same metric with geomstats' ``inner_product_derivative_matrix`` in closed form."""

    def inner_product_derivative_matrix(self, base_point=None):
        dim = base_point.shape[-1]
        diagonal = np.zeros((dim, dim, dim))
        diagonal[np.arange(dim), np.arange(dim), np.arange(dim)] = 1.0
        return 2.0 * base_point[..., :, None, None] * diagonal  # d_k g_ij = 2 x_i [i = j = k]


def _metric_space(dim, metric=DiagonalMetric, derivative="auto"):
    space = Euclidean(dim)
    space.equip_with_metric(metric)
    return ql.spaces.MetricEuclidean(space, derivative=derivative)


SPACES = {
    "S^99 in R^100": lambda: Hypersphere(99),
    "S^2 in R^3": lambda: Hypersphere(2),
    "SO(3)": lambda: SpecialOrthogonal(3),
    "Stiefel(6, 3)": lambda: Stiefel(6, 3),
    "SPD(3)": lambda: SPDMatrices(3),
    "Poincare ball(10)": lambda: PoincareBall(10),
    "R^1, g = 1 + x^2": lambda: _metric_space(1),
    "R^10, diagonal metric": lambda: _metric_space(10),
    "R^10, forward differences": lambda: _metric_space(10, derivative="forward differences"),
    "R^10, closed-form derivative": lambda: _metric_space(10, DiagonalMetricWithDerivative),
}


def step_ratio(manifold, n_particles, n_steps, repeats, scheme="euler"):
    """Seconds per step on the manifold and on flat R^n, and their ratio."""
    curved = ql.models.Custom(predictor=lambda x: x, space=manifold)
    shape = curved.space.shape
    flat = ql.models.Custom(predictor=lambda x: x, dim=curved.dim)
    weights = np.linspace(-1.0, 1.0, curved.dim)

    def curved_loss(beta):
        return anp.sum(anp.reshape(beta, anp.shape(beta)[: anp.ndim(beta) - len(shape)] + (-1,))
                       * weights, axis=-1)

    def flat_loss(beta):
        return anp.sum(beta * weights, axis=-1)

    init = curved.space.sample((), 0)

    def run(model, loss, start, scheme_name):
        began = time.perf_counter()
        ql.simulate(model, loss, 0.1, gauge_fixing=False, dt=1e-3, n_steps=n_steps,
                    n_particles=n_particles, init=start, seed=0, progress=False, scheme=scheme_name)
        return time.perf_counter() - began

    times = {"manifold": [], "flat": []}
    for _ in range(repeats):  # interleaved: both see the same machine load
        times["manifold"].append(run(curved, curved_loss, init, scheme))
        times["flat"].append(run(flat, flat_loss, np.ravel(init), "euler"))
    best = {name: min(values) / n_steps for name, values in times.items()}
    return {"seconds/step manifold": best["manifold"], "seconds/step flat": best["flat"],
            "ratio": best["manifold"] / best["flat"]}


def metric_floor(dim, n_particles, repeats, evaluations):
    """Seconds of the user's ``metric_matrix`` at ``evaluations`` points per particle, per flat step.

    The flat step is that of :func:`step_ratio` (``N`` particles of ``R^dim``, timed over 20 steps).
    """
    metric = _metric_space(dim).metric
    points = np.random.default_rng(0).standard_normal((evaluations, n_particles, dim))
    flat = ql.models.Custom(predictor=lambda x: x, dim=dim)
    weights = np.linspace(-1.0, 1.0, dim)
    times = {"metric": [], "flat": []}
    for _ in range(repeats):
        began = time.perf_counter()
        metric.metric_matrix(points)
        times["metric"].append(time.perf_counter() - began)
        began = time.perf_counter()
        ql.simulate(flat, lambda beta: anp.sum(beta * weights, axis=-1), 0.1, gauge_fixing=False,
                    dt=1e-3, n_steps=20, n_particles=n_particles, init=np.zeros(dim), seed=0,
                    progress=False)
        times["flat"].append((time.perf_counter() - began) / 20)
    return min(times["metric"]) / min(times["flat"])


def weak_order(n_particles=400_000, temperature=1.0, horizon=3.0):
    """Bias of E[x_3] on S^2 under L = -x_3 (vMF) against dt, for the retraction step."""
    kappa = 1.0 / temperature
    exact = 1.0 / np.tanh(kappa) - 1.0 / kappa
    model = ql.models.Custom(predictor=lambda x: x, space=Hypersphere(2))
    rows = []
    for dt in (0.2, 0.1, 0.05, 0.025):
        samples = ql.simulate(model, lambda beta: -beta[..., 2], temperature, gauge_fixing=False, dt=dt,
                              n_steps=int(round(horizon / dt)), n_particles=n_particles, seed=1,
                              init=np.array([0.0, 0.0, 1.0]), progress=False)
        x3 = samples.theta[:, 2]
        rows.append((dt, np.mean(x3) - exact, np.std(x3) / np.sqrt(n_particles)))
    dts, biases, errors = (np.array(column) for column in zip(*rows, strict=True))
    slope, intercept = np.polyfit(np.log(dts), np.log(np.abs(biases)), 1)
    return {"dt": dts.tolist(), "bias": biases.tolist(), "standard_error": errors.tolist(),
            "slope": float(slope)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--weak-order", action="store_true", help="also measure the weak order")
    args = parser.parse_args()
    n, steps, repeats = (2000, 20, 2) if args.quick else (10_000, 100, 3)
    print(f"N = {n} particles, {steps} steps, best of {repeats} interleaved runs")
    print(f"{'space':<30s} {'manifold s/step':>16s} {'flat s/step':>12s} {'ratio':>7s}")
    for name, make in SPACES.items():
        row = step_ratio(make(), n, steps, repeats)
        print(f"{name:<30s} {row['seconds/step manifold']:16.2e} {row['seconds/step flat']:12.2e} "
              f"{row['ratio']:7.2f}")
    print("floor for a user's metric on R^10 given only metric_matrix (its evaluations / flat step):")
    for label, evaluations in (("central differences, 2 D + 1 points", 21),
                               ("forward differences, D + 1 points", 11), ("the point alone", 1)):
        print(f"  {label:<40s} {metric_floor(10, n, repeats, evaluations):7.2f}")
    if args.weak_order:
        order = weak_order(n_particles=40_000 if args.quick else 400_000)
        print("weak order of the retraction step on S^2 (bias of E[x_3]):")
        for dt, bias, error in zip(order["dt"], order["bias"], order["standard_error"], strict=True):
            print(f"  dt = {dt:6.3f}: bias {bias:+.2e} +- {error:.1e}")
        print(f"  slope {order['slope']:.2f}")


if __name__ == "__main__":
    main()
