"""Cost of vectorising SGD over seeds, measured as ratios in one process.

1. relu-balance's training loop (``quotientlearn.sgd.train`` on ``TeacherStudentReLU``) with
   S = 32 seeds against S = 1: the issue asks for at most 4x.
2. The same loop against a raw numpy loop doing the same arithmetic inline (the practical ceiling):
   the framework's overhead per step.
3. Optionally (``--battery``) the wall time of the six experiments at 8 seeds, full configuration,
   then of the paper-fidelity variants that docs/paper.md also reports (the authors' instances,
   Bernoulli masks).

Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_sgd.py [--steps 4000] [--battery]``.
"""

import argparse
import subprocess
import sys
import tempfile
import time

import numpy as np

import quotientlearn as ql
from quotientlearn import datasets, sgd
from quotientlearn.experiments import relu_balance

CONFIG = relu_balance.CONFIG


def _problem(n_seeds):
    model = ql.models.ShallowReLU(CONFIG["d_in"], CONFIG["width"])
    rng = np.random.default_rng(0)
    teacher = datasets.relu_teacher(model, n_seeds, rng, CONFIG["teacher_std"])
    theta0 = relu_balance.initial_student(model, n_seeds, rng, CONFIG["student_std"],
                                          CONFIG["scale_spread"])
    return model, teacher, theta0


def time_train(n_seeds, n_steps, repeats=3):
    model, teacher, theta0 = _problem(n_seeds)
    objective = sgd.TeacherStudentReLU(model, teacher, CONFIG["batch_size"],
                                       CONFIG["label_noise"])
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        sgd.train(objective, theta0, CONFIG["lr"], n_steps, np.random.default_rng(1),
                  record=lambda theta: {"ratio": relu_balance.balance_ratios(model, theta)},
                  record_every=CONFIG["record_every"], progress=False)
        best = min(best, time.perf_counter() - start)
    return best


def time_raw(n_seeds, n_steps, repeats=3):
    """The same arithmetic as one SGD step of TeacherStudentReLU, written inline."""
    model, teacher, theta0 = _problem(n_seeds)
    width, d_in, batch = CONFIG["width"], CONFIG["d_in"], CONFIG["batch_size"]
    tw = teacher[:, : width * d_in].reshape(n_seeds, width, d_in)
    tv = teacher[:, width * d_in:]
    best = np.inf
    for _ in range(repeats):
        rng = np.random.default_rng(1)
        w = theta0[:, : width * d_in].reshape(n_seeds, width, d_in).copy()
        v = theta0[:, width * d_in:].copy()
        start = time.perf_counter()
        for _ in range(n_steps):
            x = rng.standard_normal((n_seeds, batch, d_in))
            y = np.sum(np.maximum(x @ np.swapaxes(tw, -1, -2), 0.0) * tv[:, None], axis=-1)
            y = y + CONFIG["label_noise"] * rng.standard_normal(y.shape)
            pre = x @ np.swapaxes(w, -1, -2)
            hidden = np.maximum(pre, 0.0)
            g = (2.0 / batch) * (np.sum(hidden * v[:, None], axis=-1) - y)
            grad_v = np.sum(hidden * g[..., None], axis=1)
            grad_w = np.swapaxes((g[..., None] * v[:, None]) * (pre > 0), -1, -2) @ x
            w = w - CONFIG["lr"] * grad_w
            v = v - CONFIG["lr"] * grad_v
        best = min(best, time.perf_counter() - start)
    return best


#: The six reproductions (default configuration), then the variants docs/paper.md reports.
BATTERY = [("hyperbola", []), ("relu-balance", []), ("attention-balance", []),
           ("matrix-completion", []), ("spectral-sparsity", []), ("tv-recovery", [])]
VARIANTS = [("spectral-sparsity", ["--instance", "paper"]), ("tv-recovery", ["--instance", "paper"]),
            ("matrix-completion", ["--set", "mask_sampling=bernoulli"])]


def battery():
    folder = tempfile.mkdtemp(prefix="ql-battery-")
    print(f"battery outputs in {folder}")
    totals = []
    for runs in (BATTERY, VARIANTS):
        total = 0.0
        for name, extra in runs:
            label = " ".join([name, *extra])
            out = f"{folder}/{label.replace(' ', '_').replace('-', '_').replace('=', '_')}"
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "quotientlearn.cli", "run", name, "--seeds", "8",
                            "--out", out, *extra], check=True)
            seconds = time.perf_counter() - start
            total += seconds
            print(f"  {label:<50s} {seconds:8.1f} s")
        totals.append(total)
    print(f"  six experiments                                    {totals[0]:8.1f} s (budget 1800 s)")
    print(f"  with the paper-fidelity variants                   {sum(totals):8.1f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--battery", action="store_true")
    args = parser.parse_args()
    one, many = time_train(1, args.steps), time_train(32, args.steps)
    raw = time_raw(32, args.steps)
    print(f"relu-balance SGD, {args.steps} steps (best of 3):")
    print(f"  S = 32 / S = 1 seeds          : {many / one:5.2f}x   (issue: <= 4x)")
    print(f"  sgd.train / raw numpy loop (S=32): {many / raw:5.2f}x   (framework overhead)")
    print(f"  per step: S=1 {1e6 * one / args.steps:.1f} us, S=32 {1e6 * many / args.steps:.1f} us,"
          f" raw S=32 {1e6 * raw / args.steps:.1f} us")
    if args.battery:
        battery()


if __name__ == "__main__":
    main()
