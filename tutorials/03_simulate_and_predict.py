"""
03. Simulate and predict: Theorem 1, horizontal and label noise, the Itô route
==============================================================================

For ``beta = u v`` with loss ``(beta - 1)^2 / 2`` at ``T = 0.1``, this tutorial simulates many
independent particles under three noise models, builds the predicted stationary densities two
independent ways (Theorem 1 and the Itô route), compares samples and predictions with
Kolmogorov–Smirnov tests, and checks that the same tests reject the wrong law. The lesson: Theorem 1
describes isotropic noise with gauge fixing; horizontal noise (the direction minibatch noise has) and
label noise follow other laws, which only the Itô route predicts.

Run it as a script: ``python tutorials/03_simulate_and_predict.py`` (``QL_FAST=1``: 1500 particles
instead of 4000).
"""

import os

import autograd.numpy as anp
import matplotlib.pyplot as plt
import numpy as np

import quotientlearn as ql

FAST = os.environ.get("QL_FAST") == "1"  # CI and the docs build: fewer particles
np.set_printoptions(precision=4, suppress=True)

TEMPERATURE = 0.1
WINDOW = (0.3, 2.0)  # excludes beta = 0, where the gauge-fixed laws carry improper mass (collapse)
ALPHA = 0.01  # a KS p-value above ALPHA counts as "consistent"


def loss(beta):
    """``L = (beta - 1)^2 / 2``, written with autograd.numpy: simulate() differentiates it."""
    return 0.5 * (beta[..., 0] - 1.0) ** 2


# %%
# Simulate
# --------
# Independent particles: their final states are i.i.d. samples of the stationary law. Two noise models:
# ``isotropic`` (noise in every direction of ``theta``, then a step back along the orbit onto the slice)
# and ``horizontal`` (noise only across orbits, ``P_H dW``: the direction minibatch noise has).
model = ql.models.Hadamard(dim=1)  # theta = (u, v), beta = u * v
init = model.balanced(np.ones(1))  # start every particle at the minimum, on the balanced slice
# dt = 2e-3 over t = 10 (relaxation time ~0.5): the Euler bias of the window law (~1e-3) is far below
# the KS resolution 1 / sqrt(n) ~ 0.02 at this number of particles.
settings = dict(dt=2e-3, n_steps=5000, n_particles=1500 if FAST else 4000, progress=False)
# "isotropic": noise in every direction of theta, then moved back along the orbit onto the slice.
iso = ql.simulate(model, loss, TEMPERATURE, noise="isotropic", gauge_fixing=True, seed=1, init=init,
                   **settings)
# "horizontal": noise only across orbits (P_H dW), the direction minibatch-gradient noise has.
hor = ql.simulate(model, loss, TEMPERATURE, noise="horizontal", gauge_fixing=True, seed=2, init=init,
                   **settings)
for name, samples in (("isotropic", iso), ("horizontal", hor)):
    beta = samples.beta[:, 0]
    print(f"{name:>10}: {samples.n_particles} particles, t = {samples.metadata['time']:g}, "
          f"{np.mean(beta < 0.3):.1%} collapsed below 0.3, "
          f"max |chi| = {samples.metadata['max_gauge_residual']:.1e}")

# %%
# Predict
# -------
# Theorem 1 (a closed form) and the Itô route (generic, by autograd). Theorem 1 divides the Gibbs
# factor by the orbit volume: ``p ∝ exp(-L/T) / |beta|`` for ``beta = u v``.
theorem1 = ql.stationary_density(model, loss, TEMPERATURE, noise="isotropic", method="theorem1")
# The Itô route writes the SDE of beta on the slice and solves the zero-flux Fokker–Planck equation.
ito_iso = ql.stationary_density(model, loss, TEMPERATURE, noise="isotropic", method="ito")
ito_hor = ql.stationary_density(model, loss, TEMPERATURE, noise="horizontal", method="ito")
print("Itô route's assumption:", ito_hor.info["assumption"])

# Sampling-free check: equal densities (up to normalisation) have a constant log ratio.
grid = np.linspace(*WINDOW, 50)[:, None]
spread_iso = ql.stats.log_ratio_spread(ito_iso, theorem1, grid)
print(f"isotropic: Itô route vs Theorem 1, spread of the log ratio = {spread_iso:.1e}")
# For horizontal noise the two routes disagree: the Itô route gives exp(-L/T) / sqrt|beta|.
log_sqrt_law = -loss(grid) / TEMPERATURE - 0.5 * np.log(grid[:, 0])
spread_hor = np.ptp(ito_hor.logpdf(grid) - log_sqrt_law)
print(f"horizontal: Itô route vs exp(-L/T)/sqrt|beta|, spread = {spread_hor:.1e}; vs Theorem 1, spread = "
      f"{ql.stats.log_ratio_spread(ito_hor, theorem1, grid):.2f}")

# %%
# Test
# ----
# KS on the window: samples conditioned on it, densities normalised on it.
fit_iso = ql.stats.ks_test(iso.beta[:, 0], theorem1, WINDOW)
fit_hor = ql.stats.ks_test(hor.beta[:, 0], ito_hor, WINDOW)
print(f"isotropic samples vs Theorem 1:   p = {fit_iso.pvalue:.3f} (n = {fit_iso.n}) "
      f"-> {fit_iso.verdict(ALPHA)}")
print(f"horizontal samples vs Itô route:  p = {fit_hor.pvalue:.3f} (n = {fit_hor.n}) "
      f"-> {fit_hor.verdict(ALPHA)}")

# %%
# Power
# -----
# A test that accepts everything shows nothing, so swap the predictions.
wrong_iso = ql.stats.ks_test(iso.beta[:, 0], ito_hor, WINDOW)
wrong_hor = ql.stats.ks_test(hor.beta[:, 0], theorem1, WINDOW)
print(f"isotropic samples vs the horizontal law: p = {wrong_iso.pvalue:.1e} -> "
      f"{wrong_iso.verdict(ALPHA)}")
print(f"horizontal samples vs Theorem 1:         p = {wrong_hor.pvalue:.1e} -> "
      f"{wrong_hor.verdict(ALPHA)}")


# %%
# Label noise on a model written by hand
# --------------------------------------
# A depth-2 product by hand, and the Itô route for label noise: ``beta = x1 x2`` with the rescaling
# ``(x1, x2) -> (x1 e^c, x2 e^-c)``. Only the predictor and the action are needed; a closed-form
# balanced point (``|x1| = |x2|``) saves the generic Newton projection onto the slice (tutorial 06
# builds a model this way in full).
def balanced(beta):
    root = np.sqrt(np.abs(beta[..., 0]))
    return np.stack([root, np.sign(beta[..., 0]) * root], -1)


action = ql.groups.GroupAction(
    dim=1, space_dim=2,
    act=lambda c, th: anp.stack([th[..., 0] * anp.exp(c[..., 0]), th[..., 1] * anp.exp(-c[..., 0])], -1),
)
mine = ql.models.Custom(predictor=lambda th: th[..., :1] * th[..., 1:], action=action, balanced=balanced)

# Label noise (noise sqrt(2T) dphi^T dW, the shape label-noise SGD has) has no closed form in the
# library: the Itô route derives its law from the predictor and the action alone, by autograd.
label = ql.stationary_density(mine, loss, TEMPERATURE, noise="label", method="ito")
# By hand, drift -2 beta (beta - 1) + 2 T beta and diffusion 4 T beta^2 give a Gamma law,
# p ∝ beta^(1/(2T) - 3/2) exp(-beta / (2T)): noise that scales with |beta| changes the bias.
log_gamma = (0.5 / TEMPERATURE - 1.5) * np.log(grid[:, 0]) - grid[:, 0] / (2 * TEMPERATURE)
spread_label = np.ptp(label.logpdf(grid) - log_gamma)
print(f"label noise: Itô route on the custom model vs the Gamma law by hand, spread = {spread_label:.1e}")

lab = ql.simulate(mine, loss, TEMPERATURE, noise="label", gauge_fixing=True, seed=3,
                  init=balanced(np.ones(1)), **settings)
fit_label = ql.stats.ks_test(lab.beta[:, 0], label, WINDOW)
wrong_label = ql.stats.ks_test(lab.beta[:, 0], ito_hor, WINDOW)
print(f"label samples vs Itô route: p = {fit_label.pvalue:.3f} (n = {fit_label.n}) -> "
      f"{fit_label.verdict(ALPHA)}; vs the horizontal law: p = {wrong_label.pvalue:.1e} -> "
      f"{wrong_label.verdict(ALPHA)}")

# %%
# Your own noise model
# --------------------
# A noise model is its covariance ``C(theta)`` (the dynamics use ``2 T C``), written with
# ``autograd.numpy``; ``simulate`` and the Itô route both use it. Here horizontal noise by hand,
# ``C = I - Xi^T Gram^-1 Xi``, against the built-in one.


class MyHorizontal(ql.NoiseModel):
    """C = I - Xi^T Gram^-1 Xi, written with autograd.numpy (the Itô route differentiates it)."""

    horizontal = True  # increments orthogonal to the orbits

    def covariance(self, model, theta):
        xi = model.action.generators(theta)
        gram = anp.matmul(xi, anp.swapaxes(xi, -1, -2))
        return anp.eye(theta.shape[-1]) - anp.matmul(anp.swapaxes(xi, -1, -2),
                                                     anp.matmul(anp.linalg.inv(gram), xi))


# A prediction method is an object with its own options; here the Itô route with 32 nodes.
mine_hor = ql.stationary_density(model, loss, TEMPERATURE, noise=MyHorizontal(),
                                 method=ql.predictions.ItoRoute(n_nodes=32))
spread_mine = ql.stats.log_ratio_spread(mine_hor, ito_hor, grid)
print(f"a user's horizontal noise model vs the built-in one, Itô route: spread = {spread_mine:.1e}")

# %%
# The picture
# -----------
# Histograms of the samples on the window against each prediction, normalised there.

grid_line = np.linspace(*WINDOW, 300)


def on_window(density):
    """The density on ``grid_line``, normalised on the window."""
    values = np.exp(density.logpdf(grid_line[:, None]) - density.logpdf(grid_line[:, None]).max())
    return values / np.trapezoid(values, grid_line)


figure, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharey=True)
for axis, (title, samples, right_law, wrong_law) in zip(axes, [
        ("isotropic, gauge fixed", iso, theorem1, ito_hor),
        ("horizontal", hor, ito_hor, theorem1),
        ("label (hand-written model)", lab, label, ito_hor)], strict=True):
    beta = samples.beta[:, 0]
    axis.hist(beta[(beta > WINDOW[0]) & (beta < WINDOW[1])], bins=40, density=True, color="0.8")
    axis.plot(grid_line, on_window(right_law), label=f"{right_law.method} (fits)")
    axis.plot(grid_line, on_window(wrong_law), "--", label=f"{wrong_law.method} (rejected)")
    axis.set(title=title, xlabel="beta")
    axis.legend(fontsize=7)
axes[0].set_ylabel("density on the window")
figure.tight_layout()

# What this tutorial demonstrates: each noise model's samples follow its own predicted law and reject
# the other's, and the two prediction routes agree where both apply (isotropic noise, gauge fixed).
assert max(spread_iso, spread_hor, spread_label, spread_mine) < 1e-6
assert min(fit_iso.pvalue, fit_hor.pvalue, fit_label.pvalue) > ALPHA
assert max(wrong_iso.pvalue, wrong_hor.pvalue, wrong_label.pvalue) < 1e-4
plt.show()
