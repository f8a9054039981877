"""Cost of the scale-safe balances against the naive formulas they replaced (issue 10).

Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_balance.py``.

The naive formulas square (pairs), multiply (layers) or form ``P^T P`` (GL(r)) and so overflow,
underflow or fail on rank-deficient factors; the closed forms in the package do not. Both are timed
interleaved in one process over the same 10^4 random points; the table gives the ratio
``naive / safe`` (1 means equal cost, below 1 the safe version is slower). The naive GL(r) balance is
the geometric-mean route ``A^2 = X^{-1} # Y`` by eigendecompositions.
"""

from __future__ import annotations

import time

import numpy as np

import quotientlearn as ql


def naive_pair(theta, d):
    u, v = theta[:, :d], theta[:, d:]
    factor = np.sqrt(np.sqrt(v**2 / u**2))
    return np.concatenate([u * factor, v / factor], axis=-1)


def naive_layers(theta, depth, width):
    layers = theta.reshape(len(theta), depth, width)
    magnitude = np.prod(np.abs(layers), axis=-2, keepdims=True) ** (1.0 / depth)
    return (np.sign(layers) * magnitude).reshape(theta.shape)


def _spd_power(matrix, power):
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * values[..., None, :] ** power) @ np.swapaxes(vectors, -1, -2)


def naive_gl(model, theta):
    first, second = model.action.factors(theta)
    x, y = np.swapaxes(first, -1, -2) @ first, second @ np.swapaxes(second, -1, -2)
    root, inv_root = _spd_power(x, 0.5), _spd_power(x, -0.5)
    square = inv_root @ _spd_power(root @ y @ root, 0.5) @ inv_root
    transform = _spd_power(0.5 * (square + np.swapaxes(square, -1, -2)), 0.5)
    return first @ transform, np.linalg.solve(transform, second)


def ratio(naive, safe, repeats=7):
    """Median over interleaved repeats of ``time(naive) / time(safe)``."""
    ratios = []
    for _ in range(repeats):
        start = time.perf_counter()
        naive()
        middle = time.perf_counter()
        safe()
        ratios.append((middle - start) / (time.perf_counter() - middle))
    return float(np.median(ratios))


def main():
    rng = np.random.default_rng(0)
    n = 10_000
    rows = []
    hadamard = ql.models.Hadamard(100)
    theta = rng.standard_normal((n, hadamard.dim))
    rows.append(("Hadamard(100), pairs", ratio(lambda: naive_pair(theta, 100),
                                               lambda: hadamard.action.balance(theta))))
    net = ql.models.DiagonalNet(30, depth=4)
    theta = rng.standard_normal((n, net.dim))
    rows.append(("DiagonalNet(30, 4), layers", ratio(lambda: naive_layers(theta, 4, 30),
                                                     lambda: net.action.balance(theta))))
    for m, k, r in [(5, 4, 3), (20, 20, 2), (10, 10, 5)]:
        model = ql.models.MatrixFactorization(m, k, r)
        theta = rng.standard_normal((n, model.dim))
        rows.append((f"MatrixFactorization({m}, {k}, {r}), GL(r)",
                     ratio(lambda model=model, theta=theta: naive_gl(model, theta),
                           lambda model=model, theta=theta: model.action.balance(theta))))
    print(f"{'balance over 10^4 points':<40s} {'naive / safe':>12s}")
    for name, value in rows:
        print(f"{name:<40s} {value:12.2f}")


if __name__ == "__main__":
    main()
