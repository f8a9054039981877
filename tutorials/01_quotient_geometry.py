"""
01. The quotient geometry of ``beta = u v``
===========================================

A redundant parameterisation has a symmetry: many parameters give the same predictor. For the
simplest one, ``beta = u v``, the rescalings ``(u, v) -> (a u, v / a)`` leave ``beta`` unchanged, so
the parameters that give one ``beta`` form an *orbit*, the hyperbola ``u v = beta``. This tutorial
builds, with quotientlearn, every geometric object the theory needs for this model — orbits, the
vertical and horizontal directions, the Gram matrix, the balanced slice ``u = v``, the gauge
correction — and draws the paper's Fig. 1 from them. It ends with a noisy SGD run that drifts across
the orbits onto the slice, as the theory says it must.

Run it as a script: ``python tutorials/01_quotient_geometry.py`` (``QL_FAST=1`` for the quick sizes).
"""

import os

import matplotlib.pyplot as plt
import numpy as np

import quotientlearn as ql

FAST = os.environ.get("QL_FAST") == "1"  # CI and the docs build: fewer SGD steps
np.set_printoptions(precision=4, suppress=True)

# %%
# A model is a predictor and a group action
# -----------------------------------------
# ``Hadamard(dim=1)`` has the flat parameter ``theta = (u, v)`` (shape ``(2,)``) and the predictor
# ``beta = u v`` (shape ``(1,)``). Its group is the positive reals acting by rescaling.

model = ql.models.Hadamard(dim=1)
theta = np.array([3.0, 0.5])
print("beta = u v:", model.predictor(theta))
moved = model.action.act(np.array([4.0]), theta)  # a = 4: (4 u, v / 4)
print("after acting with a = 4:", moved, "-> beta", model.predictor(moved))

# %%
# The orbit through ``theta`` is the set of all ``a . theta``. Acting with many group elements at once
# traces it (every function in quotientlearn broadcasts over leading axes).

scales = np.exp(np.linspace(-2.5, 2.5, 200))[:, None]  # (200, 1) group elements
orbit = model.action.act(scales, theta)  # (200, 2)
assert np.allclose(model.predictor(orbit), 1.5)

# %%
# Vertical and horizontal directions
# ----------------------------------
# The *generator* ``xi(theta) = (u, -v)`` is the velocity of the orbit: the vertical direction. The
# *horizontal* directions are orthogonal to it. Every gradient of a loss ``L(beta)`` is horizontal,
# because ``L`` does not change along orbits: gradient descent moves across orbits, never along.

xi = model.action.generators(theta)  # (k, D) = (1, 2)
print("generator xi(theta):", xi[0])
gradient = np.array([0.5 * theta[1], 0.5 * theta[0]])  # d/dtheta of (beta - 1)^2 / 2 at beta = 1.5
print("gradient horizontal?", model.bundle.is_horizontal(gradient, theta))
step = np.array([1.0, 1.0])
vertical = model.bundle.vertical_projection(step, theta)
horizontal = model.bundle.horizontal_projection(step, theta)
print("(1, 1) = vertical", vertical, "+ horizontal", horizontal)
assert np.allclose(vertical + horizontal, step) and abs(vertical @ horizontal) < 1e-12

# %%
# The Gram matrix and the balanced slice
# --------------------------------------
# The Gram matrix ``G = <xi, xi> = u^2 + v^2`` measures how fast the orbit moves: ``sqrt(det G)`` is its
# local volume. Among the points of one orbit, it is smallest where ``|u| = |v|``: the *balanced
# slice*, the zero set of the conserved charge ``chi = (u^2 - v^2) / 2`` (the quantity gradient flow
# conserves). There ``G = 2 |beta|``: small predictors have small orbits.

print("Gram at theta:", model.bundle.gram(theta)[0, 0], "= u^2 + v^2")
print("chi at theta:", model.gauge.chi(theta))
on_slice = model.gauge.project(theta)  # along the orbit onto chi = 0; beta unchanged
print("projected onto the slice:", on_slice, "beta", model.predictor(on_slice))
print("Gram on the slice:", model.bundle.gram(on_slice)[0, 0], "= 2 |beta|")
assert np.allclose(on_slice, model.balanced(model.predictor(theta)))

# %%
# The gauge correction
# --------------------
# Theorem 1 (see the theory page): with isotropic gradient noise at temperature ``T``, the stationary
# law on the slice is ``exp(-L_eff / T)`` with ``L_eff = L + (T/2) log det G``. The extra term, the
# *implicit bias*, is ``(T/2) log(2 |beta|)`` here: it pulls ``beta`` towards 0, i.e. towards sparse
# solutions when ``beta`` is a vector.

temperature = 0.1
betas = np.linspace(0.05, 3.0, 100)[:, None]
bias = ql.implicit_bias_of_predictor(model, betas, temperature)  # (100,)
assert np.allclose(bias, 0.5 * temperature * np.log(2 * betas[:, 0]))

# %%
# The paper's Fig. 1, drawn by the code
# -------------------------------------
# Orbits ``u v = c`` for the paper's values of ``c``, each traced by the group action from its slice
# point ``model.balanced(c)``; the slice itself; at a few points the vertical generator (along the
# orbit) and a horizontal vector (across it).

orbit_values = [0.45, 0.8, 1.4, 2.3, 3.8, 6.5]
figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4.6))
for c in orbit_values:
    path = model.action.act(scales, model.balanced(np.array([c])))
    left.plot(path[:, 0], path[:, 1], color="tab:gray", lw=0.9)
    left.annotate(f"uv = {c:g}", model.balanced(np.array([c])) + 0.05, fontsize=7, color="tab:gray")
slice_points = model.balanced(np.linspace(0, 16, 50)[:, None])
left.plot(slice_points[:, 0], slice_points[:, 1], "k-", lw=1.6, label="balanced slice u = v")
for point in model.action.act(np.array([[0.5], [1.0], [2.0]]), model.balanced(np.array([2.3]))):
    up = model.action.generators(point)[0]
    across = model.bundle.horizontal_projection(np.array([1.0, 0.0]), point)
    left.quiver(*point, *(0.4 * up / np.linalg.norm(up)), color="tab:blue", angles="xy",
                scale_units="xy", scale=1)
    left.quiver(*point, *(0.4 * across / np.linalg.norm(across)), color="tab:red", angles="xy",
                scale_units="xy", scale=1)
left.plot([], [], color="tab:blue", label="vertical (generator)")
left.plot([], [], color="tab:red", label="horizontal")
left.set(xlim=(0, 4), ylim=(0, 4), xlabel="u", ylabel="v", aspect="equal", title="orbits and slice")
left.legend(fontsize=8, loc="upper right")
right.plot(betas[:, 0], bias, label="(T/2) log(2 |beta|)")
right.set(xlabel="beta", ylabel="implicit bias", title=f"gauge correction, T = {temperature}")
right.legend(fontsize=8)
figure.tight_layout()

# %%
# SGD drifts onto the slice
# -------------------------
# A gradient step ``(u, v) -> (u - lr g v, v - lr g u)`` multiplies the charge ``u^2 - v^2`` by
# ``1 - lr^2 g^2``: gradient *flow* conserves it, but noisy SGD (label noise keeps ``g`` from vanishing)
# shrinks it at the rate ``lr^2 E[g^2]`` per step. We train four seeds with ``ql.sgd.train`` from an
# unbalanced start and watch them cross the orbits onto ``u = v``.

n_seeds, n_samples, lr = 4, 64, 0.02
n_steps = 8_000 if FAST else 20_000
rng = np.random.default_rng(0)
labels = 2.3 + 0.5 * rng.standard_normal((n_seeds, n_samples))  # y = 2.3 + noise
objective = ql.sgd.FeatureRegression(np.ones((n_seeds, n_samples, 1)), labels, model, batch_size=1)
result = ql.sgd.train(objective, np.tile([3.0, 0.15], (n_seeds, 1)), lr, n_steps, seed=1,
                      record=lambda th: {"theta": th}, record_every=50, progress=False)
paths = result.records["theta"]  # (n_records, n_seeds, 2)
charge = paths[..., 0] ** 2 - paths[..., 1] ** 2
late = result.record_steps >= n_steps // 4
measured = -np.polyfit(result.record_steps[late], np.log(np.abs(charge[late])), 1)[0]  # (n_seeds,)
# at the minimiser beta = mean(y) a batch-1 gradient is g = 2 (mean(y) - y_i)
predicted = lr**2 * 4 * labels.var(axis=-1)
print(f"charge u^2 - v^2: start {charge[0, 0]:.2f}, after {n_steps} steps {np.abs(charge[-1]).max():.3f}")
print("contraction rate per step (x 1e-4), measured:", np.round(measured * 1e4, 2),
      "predicted lr^2 E[g^2]:", np.round(predicted * 1e4, 2))
assert np.all(np.abs(measured / predicted - 1) < 0.3)

figure, axis = plt.subplots(figsize=(5, 4.6))
for c in orbit_values:
    path = model.action.act(scales, model.balanced(np.array([c])))
    axis.plot(path[:, 0], path[:, 1], color="tab:gray", lw=0.8)
axis.plot(slice_points[:, 0], slice_points[:, 1], "k-", lw=1.6, label="balanced slice")
for seed in range(n_seeds):
    axis.plot(paths[:, seed, 0], paths[:, seed, 1], lw=0.9, alpha=0.8)
axis.plot(3.0, 0.15, "ko", ms=4, label="start")
axis.set(xlim=(0, 4), ylim=(0, 4), xlabel="u", ylabel="v", aspect="equal",
         title="SGD with label noise balances")
axis.legend(fontsize=8)
plt.show()
