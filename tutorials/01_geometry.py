"""Tutorial 1: the geometry of a redundant parameterisation.
=========================================================

Run: ``python tutorials/01_geometry.py``. It walks through the objects quotientlearn builds for a model —
the group action, the symmetry bundle, the gauge slice and the gauge correction — first for the
Hadamard product ``beta = u * v``, then for a matrix factorisation, then for a model of your own.
"""

import autograd.numpy as anp
import numpy as np

import quotientlearn as ql

np.set_printoptions(precision=4, suppress=True)

# --- 1. A model is a predictor plus the group that leaves it invariant ---------------------------
model = ql.models.Hadamard(dim=2)  # theta = (u1, u2, v1, v2), beta = u * v
theta = np.array([2.0, -0.5, 0.25, 3.0])
print("blocks:", model.space.split(theta))
print("beta = u * v:", model.predictor(theta))

# The torus (R_{>0})^2 acts by (u_i, v_i) -> (a_i u_i, v_i / a_i): same predictor.
moved = model.action.act(np.array([10.0, 0.1]), theta)
print("after acting with a = (10, 0.1):", moved, "beta:", model.predictor(moved))

# --- 2. The bundle splits tangent vectors into vertical (along orbits) and horizontal parts --------
xi = model.action.generators(theta)  # (k, D) fundamental vector fields
print("generators:\n", xi)
print("Gram <xi_a, xi_b> (orbit volume = sqrt det):\n", model.bundle.gram(theta))
step = np.array([1.0, 1.0, 1.0, 1.0])
horizontal = model.bundle.horizontal_projection(step, theta)
print("horizontal part of (1, 1, 1, 1):", horizontal,
      "horizontal?", model.bundle.is_horizontal(horizontal, theta))

# --- 3. The gauge slice: the balanced representatives |u_i| = |v_i| --------------------------------
print("chi (Noether charges (u^2 - v^2) / 2):", model.gauge.chi(theta))
on_slice = model.gauge.project(theta)  # along the orbit, predictor unchanged
print("projected:", on_slice, "chi:", model.gauge.chi(on_slice), "beta:", model.predictor(on_slice))

# --- 4. The gauge correction: (T/2) log det G_C favours small orbits, i.e. sparse beta ------------
temperature = 0.1
for beta in ([1.0, 1.0], [1.9, 0.1], [2.0, 1e-3]):
    bias = ql.implicit_bias_of_predictor(model, np.array(beta), temperature)
    print(f"beta = {beta}: bias = {bias:+.4f}")

# --- 5. A matrix factorisation: GL(r) symmetry, low-rank bias --------------------------------------
mf = ql.models.MatrixFactorization(4, 3, rank=3)
rng = np.random.default_rng(0)
left, right = np.linalg.qr(rng.standard_normal((4, 3)))[0], np.linalg.qr(rng.standard_normal((3, 3)))[0]
balanced = mf.balanced(left @ np.diag([4.0, 2.0, 0.5]) @ right.T)
print("symmetric-generator Gram eigenvalues {2 s_i} u {s_i + s_j}:",
      np.linalg.eigvalsh(mf.gauge.constraint_gram(balanced)))

# --- 6. Your own model: a predictor and an action; everything else is derived --------------------
# Here: beta = (x1 * x2) with the rescaling (x1, x2) -> (x1 e^c, x2 e^-c), written by hand.
action = ql.groups.GroupAction(
    dim=1, space_dim=2,
    act=lambda c, th: anp.stack([th[..., 0] * anp.exp(c[..., 0]), th[..., 1] * anp.exp(-c[..., 0])], -1),
)
mine = ql.models.Custom(predictor=lambda th: th[..., :1] * th[..., 1:], action=action)
report = ql.testing.check_model(mine, seed=0)
print(report)
assert report.passed
