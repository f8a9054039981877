"""Performance of the generic paths and the hot loop, as ratios measured in one process (issue 14).

Run: ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_performance.py [--quick]
[--repeats R] [--only loop,n100,custom,ito,build] [--cpu-time]``.

Every table interleaves its contenders: repetition ``r`` times each contender once, in turn, so a
change of machine load hits all of them alike; a ratio is formed within each repetition and the table
reports the median ratio with its [min, max] over the repetitions. Absolute seconds are printed only
where the issue states an absolute target (set-up and build times), and are wall times on whatever
machine runs this: re-measure on a quiet one.

1. ``loop``: gauge-fixed isotropic Langevin on ``beta = u v`` (Hadamard), ``L = sum (beta - 1)^2 / 2``,
   T = 0.1, dt = 1e-3, N = 10^4, projection onto the balanced slice every step, at d = 1, 100, 1000:
   throughput of ``ql.simulate`` (autograd loss; a :class:`~quotientlearn.Loss` with its gradient; the
   same with numba's compiled draws only, and with the fused compiled chunk step, both switched on by
   ``quotientlearn.numerics.COMPILED_DRAWS``, when numba is installed),
   a hand-optimised numpy loop (preallocated buffers, in-place, fewest passes) and, when numba is
   installed, one fused numba kernel per step (the ceiling; numba's compiled Generator draws), all
   relative to a naive numpy loop (the textbook expressions); and the fused step's throughput over the
   fused numba kernel's (the issue's ">= 0.7x").
2. ``n100``: the same at N = 100 particles (d = 1, 100): ``ql.simulate`` per step over the naive loop.
3. ``custom``: ``ql.models.Custom`` built from a predictor and an ``act`` equal to a zoo model, per
   simulation step over the zoo model: Hadamard d = 1, 10, 100 and MatrixFactorization 8 x 8 of rank
   2 and 5; and Custom's set-up (construction, structure probe, first projection) in seconds.
4. ``ito``: ``stationary_density(method="ito")`` for isotropic gauge-fixed Hadamard at d = 8, 16, 64:
   build time and time per evaluated point (seconds).
5. ``build``: ``ql.models.Hadamard(2000)`` construction time (seconds).
"""

from __future__ import annotations

import argparse
import time

import autograd.numpy as anp
import numpy as np

import quotientlearn as ql
from quotientlearn import numerics

try:
    import numba
except ImportError:  # benchmark-only dependency
    numba = None

TEMPERATURE, DT = 0.1, 1e-3


def loss(beta):
    return 0.5 * anp.sum((beta - 1.0) ** 2, axis=-1)


GRADIENT_LOSS = ql.Loss(loss, gradient=lambda beta: beta - 1.0)


#: The clock of the ratios: wall time, or with ``--cpu-time`` this process's CPU time (user + system,
#: page faults included), which other processes' load disturbs less on a shared machine.
CLOCK = time.perf_counter


def interleaved(contenders, repeats):
    """Seconds per call of every contender, ``{name: array (repeats,)}``, repetitions interleaved."""
    times = {name: [] for name in contenders}
    for fn in contenders.values():  # warm-up (numba compilation, caches)
        fn()
    for _ in range(repeats):
        for name, fn in contenders.items():
            start = CLOCK()
            fn()
            times[name].append(CLOCK() - start)
    return {name: np.array(t) for name, t in times.items()}


def ratio_summary(times, reference, speed=True):
    """``median [min, max]`` of per-repetition ratios against ``reference`` (throughput if ``speed``)."""
    out = {}
    for name, t in times.items():
        ratio = times[reference] / t if speed else t / times[reference]
        out[name] = (float(np.median(ratio)), float(ratio.min()), float(ratio.max()))
    return out


def show(title, rows, columns):
    print(f"\n{title}")
    width = max(34, *(len(name) + 2 for name in rows))
    print(" " * width + "".join(f"{c:>24s}" for c in columns))
    for name, cells in rows.items():
        print(f"{name:{width}s}" + "".join(
            f"{'{:.2f} [{:.2f}, {:.2f}]'.format(*cell):>24s}" if cell is not None else f"{'n/a':>24s}"
            for cell in cells))


# ------------------------------------------------------------------------------- the loops
def naive_loop(n, d, steps, seed=0):
    rng = np.random.default_rng(seed)
    u, v = np.ones((n, d)), np.ones((n, d))
    scale = np.sqrt(2 * TEMPERATURE * DT)
    for _ in range(steps):
        g = u * v - 1.0
        noise = rng.standard_normal((n, 2 * d))
        u, v = (u - DT * g * v + scale * noise[:, :d], v - DT * g * u + scale * noise[:, d:])
        if not np.isfinite(u.sum() + v.sum()):
            raise FloatingPointError
        factor = np.sqrt(np.sqrt(v**2 / u**2))  # |u| = |v| along the orbit
        u, v = u * factor, v / factor
    return u, v


def optimised_loop(n, d, steps, seed=0):
    rng = np.random.default_rng(seed)
    theta = np.ones((n, 2 * d))
    u, v = theta[:, :d], theta[:, d:]
    noise, g, tmp = np.empty((n, 2 * d)), np.empty((n, d)), np.empty((n, d))
    scale = np.sqrt(2 * TEMPERATURE * DT)
    for _ in range(steps):
        np.multiply(u, v, out=g)
        g -= 1.0
        g *= -DT
        rng.standard_normal(out=noise)
        noise *= scale
        np.multiply(g, v, out=tmp)
        noise[:, :d] += tmp
        np.multiply(g, u, out=tmp)
        noise[:, d:] += tmp
        theta += noise
        if not np.isfinite(theta.sum()):
            raise FloatingPointError
        np.abs(v, out=tmp)
        np.abs(u, out=g)
        tmp /= g
        np.sqrt(tmp, out=tmp)
        u *= tmp
        v /= tmp
    return theta


if numba is not None:
    @numba.njit(cache=False)
    def _fused_steps(u, v, steps, dt, scale, rng):
        n, d = u.shape
        for _ in range(steps):
            total = 0.0
            for i in range(n):
                for j in range(d):
                    g = u[i, j] * v[i, j] - 1.0
                    new_u = u[i, j] - dt * g * v[i, j] + scale * rng.standard_normal()
                    new_v = v[i, j] - dt * g * u[i, j] + scale * rng.standard_normal()
                    total += new_u + new_v
                    ratio = np.sqrt(abs(new_v) / abs(new_u))
                    u[i, j] = new_u * ratio
                    v[i, j] = new_v / ratio
            if not np.isfinite(total):
                raise FloatingPointError("diverged")
        return u, v


def fused_loop(n, d, steps, seed=0):
    return _fused_steps(np.ones((n, d)), np.ones((n, d)), steps, DT, np.sqrt(2 * TEMPERATURE * DT),
                        np.random.default_rng(seed))


class DrawsOnly(ql.dynamics.EulerMaruyama):
    """The Euler step without its fused compiled chunk step: numpy's passes, numba's draws."""

    def fused_step(self, *args):
        return None


def library_loop(model, loss_fn, n, steps, seed=0, compiled=False, scheme="euler"):
    init = model.balanced(np.ones(model.beta_shape))
    # numba's kernels (the `fast` extra): the same normals, and the fused step where it applies
    numerics.COMPILED_DRAWS = compiled
    try:
        return ql.simulate(model, loss_fn, TEMPERATURE, dt=DT, n_steps=steps, n_particles=n,
                           init=init, seed=seed, progress=False, scheme=scheme)
    finally:
        numerics.COMPILED_DRAWS = False


def table_loop(repeats, quick, n=10_000, widths=(1, 100, 1000)):
    columns, rows = [], {}
    names = ["naive numpy loop", "hand-optimised numpy loop", "numba, one fused kernel",
             "ql.simulate (autograd loss)", "ql.simulate (ql.Loss with gradient)",
             "ql.simulate (ql.Loss, compiled draws)", "ql.simulate (ql.Loss, fused compiled step)"]
    for name in names:
        rows[name] = []
    versus = "fused compiled step / numba fused kernel"
    rows[versus] = []
    for d in widths:
        steps = max(2, int((20 if quick else 60) * 100 / max(d, 100)))
        model = ql.models.Hadamard(d)
        contenders = {
            names[0]: lambda d=d, steps=steps: naive_loop(n, d, steps),
            names[1]: lambda d=d, steps=steps: optimised_loop(n, d, steps),
            names[3]: lambda model=model, steps=steps: library_loop(model, loss, n, steps),
            names[4]: lambda model=model, steps=steps: library_loop(model, GRADIENT_LOSS, n, steps),
        }
        if numba is not None:
            contenders[names[2]] = lambda d=d, steps=steps: fused_loop(n, d, steps)
            contenders[names[5]] = lambda model=model, steps=steps: library_loop(
                model, GRADIENT_LOSS, n, steps, compiled=True, scheme=DrawsOnly())
            contenders[names[6]] = lambda model=model, steps=steps: library_loop(
                model, GRADIENT_LOSS, n, steps, compiled=True)
        times = interleaved(contenders, repeats)
        summary = ratio_summary(times, names[0])
        columns.append(f"d = {d} ({steps} steps)")
        for name in names:
            rows[name].append(summary.get(name))
        # the "0.7x": throughput of the fused step over the ceiling, per repetition
        rows[versus].append(ratio_summary(times, names[2])[names[6]] if numba is not None else None)
    show(f"1. throughput relative to the naive numpy loop (N = {n}; median [min, max] over {repeats} "
         "interleaved repetitions)" + ("" if numba is not None else "; numba is not installed"),
         rows, columns)


def table_n100(repeats, quick, widths=(1, 100)):
    rows = {"ql.simulate / naive loop (autograd loss)": [],
            "ql.simulate / naive loop (Loss with gradient)": [],
            "ql.simulate / naive loop (Loss, compiled draws)": [],
            "ql.simulate / naive loop (Loss, fused compiled step)": []}
    columns = []
    for d in widths:
        steps = 200 if quick else 1000
        model = ql.models.Hadamard(d)
        contenders = {
            "naive": lambda d=d, steps=steps: naive_loop(100, d, steps),
            "auto": lambda model=model, steps=steps: library_loop(model, loss, 100, steps),
            "given": lambda model=model, steps=steps: library_loop(model, GRADIENT_LOSS, 100, steps),
        }
        if numba is not None:
            contenders["compiled"] = lambda model=model, steps=steps: library_loop(
                model, GRADIENT_LOSS, 100, steps, compiled=True, scheme=DrawsOnly())
            contenders["fused"] = lambda model=model, steps=steps: library_loop(
                model, GRADIENT_LOSS, 100, steps, compiled=True)
        summary = ratio_summary(interleaved(contenders, repeats), "naive", speed=False)
        columns.append(f"d = {d} ({steps} steps)")
        rows["ql.simulate / naive loop (autograd loss)"].append(summary["auto"])
        rows["ql.simulate / naive loop (Loss with gradient)"].append(summary["given"])
        rows["ql.simulate / naive loop (Loss, compiled draws)"].append(summary.get("compiled"))
        rows["ql.simulate / naive loop (Loss, fused compiled step)"].append(summary.get("fused"))
    show(f"2. N = 100: time per step relative to the naive numpy loop (median [min, max], {repeats} "
         "repetitions)", rows, columns)


# ------------------------------------------------------------------------------ Custom vs zoo
def custom_hadamard(d):
    action = ql.groups.GroupAction(
        dim=d, space_dim=2 * d,
        act=lambda c, th: anp.concatenate([th[..., :d] * anp.exp(c), th[..., d:] * anp.exp(-c)], -1))
    return ql.models.Custom(predictor=lambda th: th[..., :d] * th[..., d:], action=action)


def custom_factorization(m, rank):
    zoo = ql.models.MatrixFactorization(m, m, rank)
    action = ql.groups.GroupAction(dim=rank * rank, space_dim=zoo.dim,
                                   act=zoo.action.act_algebra, exp=None)

    def predictor(th):
        batch = anp.shape(th)[:-1]
        first = anp.reshape(th[..., : m * rank], batch + (m, rank))
        second = anp.reshape(th[..., m * rank:], batch + (rank, m))
        return anp.matmul(first, second)

    return ql.models.Custom(predictor=predictor, action=action, dim=zoo.dim)


def matrix_loss(beta):
    return 0.5 * anp.sum((beta - 0.3) ** 2, axis=(-2, -1))


def table_custom(repeats, quick, n=10_000):
    cases = [("Hadamard d = 1", lambda: ql.models.Hadamard(1), lambda: custom_hadamard(1), loss),
             ("Hadamard d = 10", lambda: ql.models.Hadamard(10), lambda: custom_hadamard(10), loss),
             ("Hadamard d = 100", lambda: ql.models.Hadamard(100), lambda: custom_hadamard(100), loss),
             ("MatrixFactorization 8x8 rank 2", lambda: ql.models.MatrixFactorization(8, 8, 2),
              lambda: custom_factorization(8, 2), matrix_loss),
             ("MatrixFactorization 8x8 rank 5", lambda: ql.models.MatrixFactorization(8, 8, 5),
              lambda: custom_factorization(8, 5), matrix_loss)]
    rows = {}
    for label, make_zoo, make_custom, loss_fn in cases:
        zoo = make_zoo()
        init = zoo.gauge.project(zoo.sample((), 0))
        start = time.perf_counter()
        custom = make_custom()
        custom.gauge.project(init)  # probes the structure and builds its blocks
        setup = time.perf_counter() - start
        steps = 3 if quick else 10

        def run(model, steps=steps, loss_fn=loss_fn, init=init):
            ql.simulate(model, loss_fn, TEMPERATURE, dt=DT, n_steps=steps, n_particles=n, init=init,
                        seed=0, progress=False)

        contenders = {"zoo": lambda zoo=zoo: run(zoo), "custom": lambda custom=custom: run(custom)}
        summary = ratio_summary(interleaved(contenders, repeats), "zoo", speed=False)
        rows[label] = (summary["custom"], setup)
    print(f"\n3. ql.models.Custom over the zoo model, time per simulation step (N = {n}; median "
          f"[min, max], {repeats} interleaved repetitions); Custom set-up in seconds (wall time)")
    for label, (ratio, setup) in rows.items():
        print(f"{label:34s}{'{:.2f} [{:.2f}, {:.2f}]'.format(*ratio):>24s}{setup:>12.3f} s")


# ---------------------------------------------------------------------------------- predictions
def table_ito(quick, widths=(8, 16, 64)):
    print("\n4. Itô route, isotropic gauge-fixed Hadamard, T = 0.1 (wall seconds)")
    for d in widths[:2] if quick else widths:
        model = ql.models.Hadamard(d)
        start = time.perf_counter()
        density = ql.stationary_density(model, loss, TEMPERATURE, method="ito")
        build = time.perf_counter() - start
        points = 1.0 + 0.2 * np.random.default_rng(0).standard_normal((8, d))
        start = time.perf_counter()
        density.logpdf(points)
        per_point = (time.perf_counter() - start) / len(points)
        print(f"   d = {d:3d}: build {build:8.3f} s, {per_point:8.4f} s per evaluated point")


def table_build():
    times = []
    for _ in range(3):
        start = time.perf_counter()
        ql.models.Hadamard(2000)
        times.append(time.perf_counter() - start)
    print(f"\n5. ql.models.Hadamard(2000) construction: median {np.median(times):.4f} s "
          f"[{min(times):.4f}, {max(times):.4f}] over 3 (wall time)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer steps and repetitions")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--only", default="loop,n100,custom,ito,build")
    parser.add_argument("--cpu-time", action="store_true",
                        help="ratios of process CPU time instead of wall time (a shared machine)")
    args = parser.parse_args()
    global CLOCK
    if args.cpu_time:
        CLOCK = time.process_time
    repeats = args.repeats or (3 if args.quick else 5)
    only = set(args.only.split(","))
    print(f"numpy {np.__version__}; numba {numba.__version__ if numba else 'not installed'}")
    if "loop" in only:
        table_loop(repeats, args.quick)
    if "n100" in only:
        table_n100(repeats, args.quick)
    if "custom" in only:
        table_custom(repeats, args.quick)
    if "ito" in only:
        table_ito(args.quick)
    if "build" in only:
        table_build()


if __name__ == "__main__":
    main()
