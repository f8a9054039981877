"""Cost of the design objective through pymanopt's autograd backend, as ratios in one process.

1. One cost + Riemannian gradient of the 8 x 8 basis-recovery objective (``OrthogonalBasis``,
   512 reference points) through ``pymanopt.Problem`` with the autograd backend, against a raw numpy
   function that computes the same cost and the same Riemannian gradient in closed form (the
   practical ceiling). Both are checked to agree before timing.
2. The cost alone (what line searches evaluate), framework against raw numpy.
3. Wall time of one ``fit`` per solver and its number of cost evaluations (trust regions spend most
   of their time in autograd Hessian-vector products, which this does not break down).

Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_design.py [--repeats 200]``.
"""

import argparse
import time

import numpy as np
import pymanopt
from scipy.stats import ortho_group

from quotientlearn.design import OrthogonalBasis, fit, make_target, well_conditioned_reference
from quotientlearn.design.fit import _objective


def setup(d=8, n=512):
    basis = ortho_group.rvs(d, random_state=1)
    target = make_target(("sparse_in_basis", basis))
    reference = well_conditioned_reference(target, n, rng=0)
    family = OrthogonalBasis(d)
    point = family.random_point(3)
    return family, target, reference, point


def raw_cost_and_gradient(point, reference, target_values):
    """Closed form: e_j = sum_i log|2 w_ji| - R_j, w = reference B^T, Stiefel projection."""
    w = reference @ point.T
    mismatch = np.sum(np.log(2.0 * np.abs(w)), axis=-1) - target_values
    centred = mismatch - mismatch.mean()
    cost = np.mean(centred**2)
    d_w = (2.0 / len(w)) * centred[:, None] / w
    euclidean = d_w.T @ reference
    product = point.T @ euclidean
    return cost, euclidean - point @ (0.5 * (product + product.T))


def raw_cost(point, reference, target_values):
    """The cost alone, inline."""
    mismatch = np.sum(np.log(2.0 * np.abs(reference @ point.T)), axis=-1) - target_values
    return np.mean((mismatch - mismatch.mean()) ** 2)


def best_time(fn, repeats):
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    family, target, reference, point = setup()
    target_values = target(reference)
    problem = pymanopt.Problem(family.manifold,
                               _objective(family, reference, target_values, 0.0, []))

    cost, gradient = raw_cost_and_gradient(point, reference, target_values)
    assert np.isclose(problem.cost(point), cost, rtol=1e-12)
    assert np.allclose(problem.riemannian_gradient(point), gradient, rtol=1e-9, atol=1e-12)

    framework = best_time(lambda: (problem.cost(point), problem.riemannian_gradient(point)),
                          args.repeats)
    raw = best_time(lambda: raw_cost_and_gradient(point, reference, target_values), args.repeats)
    print(f"cost + Riemannian gradient, d = 8, N = 512: pymanopt/autograd {framework * 1e3:.3f} ms,"
          f" raw numpy {raw * 1e3:.3f} ms, ratio {framework / raw:.1f}x")

    framework_cost = best_time(lambda: problem.cost(point), args.repeats)
    raw_only = best_time(lambda: raw_cost(point, reference, target_values), args.repeats)
    print(f"cost alone: pymanopt/autograd {framework_cost * 1e3:.3f} ms, raw numpy "
          f"{raw_only * 1e3:.3f} ms, ratio {framework_cost / raw_only:.1f}x")

    for solver in ("trust-regions", "conjugate-gradient", "steepest-descent"):
        times, evaluations = [], []
        for start in range(5):
            result = fit(family, target, reference, solver, seed=start)
            times.append(result.seconds)
            evaluations.append(result.history.size)
        print(f"fit with {solver:<18s}: {np.median(times):.3f} s per fit (median of 5), "
              f"{np.median(evaluations):.0f} cost evaluations")


if __name__ == "__main__":
    main()
