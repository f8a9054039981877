"""
04. Reproduce a paper figure with many seeds
============================================

The paper's Fig. 2 trains a 3-16-1 ReLU student on a ReLU teacher with plain SGD (batch 8, label
noise 0.1) from a strongly imbalanced start, and shows every hidden unit's ratio ``|v_j| / |w_j|``
going to 1: SGD noise drives the network onto the balanced slice of its rescaling symmetry. The
paper ran one seed. Here we run many seeds at once — quotientlearn vectorises SGD over seeds, so a
seed is one more row of an array — and draw the authors' own saved curve (shipped with the package,
``ql.data.paper_run``) over our band of seeds.

The same figure, with a verdict and a report, is one command: ``quotientlearn run relu-balance
--seeds 8``. Run this script with ``python tutorials/04_paper_figure.py``; ``QL_FAST=1`` trains 4
seeds for 10 000 steps at a 4x larger learning rate (the same training time ``lr x steps``) instead of
8 seeds for the paper's 40 000 steps.
"""

import os

import matplotlib.pyplot as plt
import numpy as np

import quotientlearn as ql

FAST = os.environ.get("QL_FAST") == "1"
n_seeds, n_steps, lr = (4, 10_000, 2e-4) if FAST else (8, 40_000, 5e-5)

# %%
# The model, the teacher and the imbalanced students
# --------------------------------------------------
# ``ShallowReLU(3, 16)`` has blocks ``W`` (16 x 3) and ``v`` (16,): ``f(x) = sum_j v_j relu(w_j . x)``.
# Its symmetry rescales each unit, ``(w_j, v_j) -> (a w_j, v_j / a)``. The teacher's weights are
# ``N(0, 1.5^2)``; each student's ``N(0, 0.05^2)``, with unit ``j`` scaled by ``s_j`` on ``w_j`` and
# ``1 / s_j`` on ``v_j``, ``s = exp(linspace(-1.2, 1.2, 16))`` (the paper's set-up).

model = ql.models.ShallowReLU(3, 16)
rng = np.random.default_rng(0)
teacher = ql.datasets.relu_teacher(model, n_seeds, rng, 1.5)  # (n_seeds, D)
blocks = model.space.split(0.05 * rng.standard_normal((n_seeds, model.dim)))
scales = ql.datasets.neuron_scales(model.width, 1.2)  # exp(linspace(-1.2, 1.2, 16))
theta0 = model.space.join(W=blocks["W"] * scales[:, None], v=blocks["v"] / scales)  # (n_seeds, D)


def balance_ratios(theta):
    """``|v_j| / |w_j|`` for every unit, shape ``(..., 16)``."""
    parts = model.space.split(theta)
    return np.abs(parts["v"]) / np.linalg.norm(parts["W"], axis=-1)


print("initial ratios, seed 0:", np.round(balance_ratios(theta0[0]), 3))

# %%
# Train every seed at once
# ------------------------
# ``TeacherStudentReLU`` draws fresh inputs ``x ~ N(0, I)`` each step and noisy teacher labels; ``train``
# runs plain SGD on all seeds as one array program and records the ratios every 250 steps.

objective = ql.sgd.TeacherStudentReLU(model, teacher, batch_size=8, label_noise=0.1)
result = ql.sgd.train(objective, theta0, lr, n_steps, seed=1,
                      record=lambda theta: {"ratio": balance_ratios(theta)}, record_every=250,
                      progress=False)
ratios = result.records["ratio"]  # (n_records, n_seeds, 16)
distance = np.max(np.abs(np.log(ratios)), axis=-1)  # max_j |log ratio_j|, (n_records, n_seeds)
print(f"max_j |log ratio_j| at the end, per seed: {np.round(distance[-1], 3)}")

# %%
# The authors' curve
# ------------------
# ``ql.data.paper_run("relu_balance")`` holds the paper's saved ratios (MIT licence, see
# ``ql.data.paper_licence()``). Its steps are at the paper's learning rate ``5e-5``; we put them on
# our step axis by equal training time ``lr x steps``.

paper = ql.data.paper_run("relu_balance")
paper_ratios = np.asarray(paper.arrays["norm_ratios"], dtype=float)  # (4000, 16)
paper_steps = np.asarray(paper.arrays["steps"]) * paper.config["learning_rate"] / lr
paper_distance = np.max(np.abs(np.log(paper_ratios)), axis=-1)
print(f"paper (one seed): max_j |log ratio_j| = {paper_distance[-1]:.3f} at the end; "
      f"ours: median {np.median(distance[-1]):.3f}, range [{distance[-1].min():.3f}, "
      f"{distance[-1].max():.3f}] over {n_seeds} seeds")

# %%
# The figure
# ----------
# Left: every unit's ratio at the start and at the end, all seeds (dots), and the paper's run
# (crosses). Right: the distance from balance along the run, median and range over seeds, with the
# paper's curve overlaid.

figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
units = np.arange(1, 17)
for seed in range(n_seeds):
    left.semilogy(units, ratios[0, seed], ".", color="tab:gray", alpha=0.6)
    left.semilogy(units, ratios[-1, seed], ".", color="tab:blue", alpha=0.8)
left.semilogy(units, paper_ratios[0], "x", color="tab:orange", label="paper, initial")
left.semilogy(units, paper_ratios[-1], "x", color="tab:red", label="paper, final")
left.plot([], [], ".", color="tab:gray", label="ours, initial")
left.plot([], [], ".", color="tab:blue", label=f"ours, step {n_steps}")
left.axhline(1.0, color="k", lw=0.8)
left.set(xlabel="unit j", ylabel="|v_j| / |w_j|", title=f"ratios, {n_seeds} seeds")
left.legend(fontsize=7)
steps = result.record_steps
right.fill_between(steps, distance.min(axis=1), distance.max(axis=1), color="tab:blue", alpha=0.25,
                   label=f"ours: range over {n_seeds} seeds")
right.semilogy(steps, np.median(distance, axis=1), color="tab:blue", label="ours: median")
keep = paper_steps <= steps[-1]
right.semilogy(paper_steps[keep], paper_distance[keep], color="tab:red", lw=1, label="paper (1 seed)")
right.set(xlabel="step", ylabel="max_j |log(|v_j| / |w_j|)|", title="distance from balance")
right.legend(fontsize=7)
figure.tight_layout()

# %%
# What to read from it: every seed moves towards balance by orders of magnitude, as the paper's run
# does, but how far a seed gets in the paper's number of steps varies a lot between seeds — the
# paper's single run is one draw from that spread (the paper-reproduction page has the 8-seed
# numbers and the verdict).

assert np.all(distance[-1] < distance[0])
assert np.median(distance[-1]) < 0.5 * np.median(distance[0])
plt.show()
