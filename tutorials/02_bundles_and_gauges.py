"""
02. Bundles and gauges for matrix factorisation
===============================================

``M = P Q`` with ``P`` of shape ``(m, r)`` and ``Q`` of shape ``(r, n)`` is invariant under the whole
group ``GL(r)``: ``(P, Q) -> (P A, A^-1 Q)``. This tutorial takes the geometry of tutorial 01 to that
non-commutative group: the symmetry bundle and its projections, the balanced point
``P = U S^1/2, Q = S^1/2 V^T`` reached by the gauge projection, the spectrum of the Gram matrix
(``{2 s_i}`` and ``{s_i + s_j}``), and the log-determinant that makes the gauge correction favour
low rank.

Run it as a script: ``python tutorials/02_bundles_and_gauges.py`` (``QL_FAST=1``: a coarser curve).
"""

import os

import matplotlib.pyplot as plt
import numpy as np

import quotientlearn as ql

FAST = os.environ.get("QL_FAST") == "1"  # CI and the docs build: a coarser spectrum curve
np.set_printoptions(precision=4, suppress=True)
rng = np.random.default_rng(0)

# %%
# The model and its blocks
# ------------------------
# The flat parameter ``theta`` (shape ``(D,)``, ``D = m r + r n``) holds the blocks ``P`` and ``Q``;
# ``model.space.split`` names them. We build ``M* = U diag(4, 2, 0.5) V^T``.

m, n, r = 4, 3, 3
model = ql.models.MatrixFactorization(m, n, rank=r)
left = np.linalg.qr(rng.standard_normal((m, r)))[0]
right = np.linalg.qr(rng.standard_normal((n, r)))[0]
singular_values = np.array([4.0, 2.0, 0.5])
target = left @ np.diag(singular_values) @ right.T
theta = model.balanced(target)  # (D,) = (21,)
blocks = model.space.split(theta)
print("D =", model.dim, "; blocks:", {name: block.shape for name, block in blocks.items()})
print("P Q reproduces M*:", np.allclose(blocks["P"] @ blocks["Q"], target))

# %%
# The balanced point and the gauge projection
# -------------------------------------------
# Acting with any invertible ``A`` gives another factorisation of the same ``M``. The conserved
# charge ``chi = P^T P - Q Q^T`` (its symmetric part: the moment map of the symmetric generators)
# vanishes at the balanced point; ``model.gauge.project`` moves any point along its orbit back onto
# ``chi = 0`` without changing ``M``.

group_element = np.eye(r) + 0.5 * rng.standard_normal((r, r))
unbalanced = model.action.act(group_element, theta)
print("same M after acting:", np.allclose(model.predictor(unbalanced), target))
print("|chi| before / after projection:", np.abs(model.gauge.chi(unbalanced)).max(),
      np.abs(model.gauge.chi(model.gauge.project(unbalanced))).max())
projected = model.gauge.project(unbalanced)
assert np.allclose(model.predictor(projected), target) and model.gauge.contains(projected)

# %%
# The bundle: vertical and horizontal projections
# -----------------------------------------------
# All ``r^2`` generators ``(P a, -a Q)`` of ``gl(r)`` span the vertical space; the predictor's
# differential kills it. The horizontal projection keeps the part of a tangent vector that changes
# ``M``; the quotient metric measures that change.

generators = model.action.generators(theta)  # (k, D) = (9, 21)
print("number of generators k =", generators.shape[0])
tangent = rng.standard_normal(model.dim)
vertical = model.bundle.vertical_projection(tangent, theta)
horizontal = model.bundle.horizontal_projection(tangent, theta)
moved_by_vertical = model.bundle.tangent_riemannian_submersion(vertical, theta)  # dM of the vertical part
print("|dM(vertical part)| =", np.abs(moved_by_vertical).max(), "(orbits do not change M)")
assert np.allclose(vertical + horizontal, tangent) and np.abs(moved_by_vertical).max() < 1e-10

# %%
# The log-det spectrum
# --------------------
# The *constraint Gram* of the balanced gauge uses the symmetric generators (basis ``E_ii`` and
# ``(E_ij + E_ji) / sqrt 2``). Its eigenvalues at the balanced point are ``{2 s_i}`` and
# ``{s_i + s_j, i < j}``: for ``s = (4, 2, 0.5)`` they are 1, 2.5, 4, 4.5, 6, 8. The Gram of all of
# ``gl(r)`` has the eigenvalues ``{s_i + s_j}`` over all pairs ``(i, j)``.

constraint = np.linalg.eigvalsh(model.gauge.constraint_gram(theta))
full = np.linalg.eigvalsh(model.bundle.gram(theta))
print("constraint Gram eigenvalues:", constraint)
print("full gl(r) Gram eigenvalues:", full)
s = singular_values
pairs = [s[i] + s[j] for i in range(r) for j in range(i + 1, r)]
assert np.allclose(constraint, np.sort(np.concatenate([2 * s, pairs])))
assert np.allclose(full, np.sort([s[i] + s[j] for i in range(r) for j in range(r)]))

# %%
# So ``log det G_C = r log 2 + sum_i log s_i + sum_{i<j} log(s_i + s_j)``, and the implicit bias
# ``(T/2) log det G_C`` diverges to ``-inf`` as the smallest singular value goes to 0: the gauge
# correction favours low rank. ``ql.implicit_bias_of_predictor`` computes it from ``M`` alone.

temperature = 0.1
closed_form = r * np.log(2) + np.sum(np.log(s)) + np.sum(np.log(pairs))
bias = ql.implicit_bias_of_predictor(model, target, temperature)
print(f"bias = {bias:.4f}; (T/2) x closed form = {0.5 * temperature * closed_form:.4f}")
assert np.isclose(bias, 0.5 * temperature * closed_form)

smallest = np.geomspace(1e-3, 2.0, 20 if FAST else 60)
matrices = np.stack([left @ np.diag([4.0, 2.0, s3]) @ right.T for s3 in smallest])  # (n, m, n)
biases = ql.implicit_bias_of_predictor(model, matrices, temperature)  # (n,)
spectra = np.linalg.eigvalsh(model.gauge.constraint_gram(model.balanced(matrices)))  # (n, 6)

figure, (axis_spectrum, axis_bias) = plt.subplots(1, 2, figsize=(10, 4))
axis_spectrum.loglog(smallest, spectra, color="tab:blue", lw=1)
axis_spectrum.set(xlabel="smallest singular value s_3 (s_1 = 4, s_2 = 2)",
                  ylabel="eigenvalues of the constraint Gram", title="the log-det spectrum")
axis_bias.semilogx(smallest, biases, color="tab:red")
axis_bias.set(xlabel="s_3", ylabel="implicit bias (T/2) log det G_C",
              title=f"low-rank bias, T = {temperature}")
figure.tight_layout()

# %%
# The residual orbit
# ------------------
# The balanced gauge fixes only the symmetric part of ``gl(r)``. The rotations ``O(r)`` act *within*
# the slice (``P -> P R``, ``Q -> R^T Q`` keeps ``chi = 0``), so a density on the slice pushed forward
# to ``M`` integrates over their orbits; ``ql.log_residual_orbit_volume`` gives the log of that
# volume, which the Theorem 1 prediction includes (the theory page, section on Theorem 1).

rotation = np.linalg.qr(rng.standard_normal((r, r)))[0]
rotated = model.space.join(P=blocks["P"] @ rotation, Q=rotation.T @ blocks["Q"])
print("rotated point on the slice:", model.gauge.contains(rotated), "; same M:",
      np.allclose(model.predictor(rotated), target))
assert model.gauge.contains(rotated) and np.allclose(model.predictor(rotated), target)
print("log residual orbit volume at theta:", ql.log_residual_orbit_volume(model, theta))
plt.show()
