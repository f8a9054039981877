"""
07. Your own manifold: a sphere-valued neuron and an SPD model
==============================================================

Parameters may live on any geomstats manifold: a model is a predictor, a ``space`` (the manifold with
its metric) and, optionally, a Lie group acting on it. This tutorial

1. builds a neuron whose weight lives on the sphere S^2 and whose prediction is invariant under
   rotations about the input's symmetry axis, checks its geometry, simulates Riemannian Langevin
   dynamics on the sphere and holds the stationary law against the predictions;
2. builds an SPD-matrix model (a covariance whose spectrum is the predictor, rotations acting by
   congruence) from geomstats' ``SPDMatrices`` and does the same;
3. shows what goes wrong on purpose: a point off the manifold, an action that leaves it.

Both symmetries are isometries of the metric, and the simulations show what that implies: the
predictor's law is the Gibbs law pushed forward, in which the orbit volume *multiplies*; the form of
Theorem 1 that divides by it (the Gibbs law conditioned on a slice) does not describe these dynamics.

Run it as a script: ``python tutorials/07_own_manifold.py`` (``QL_FAST=1``: fewer particles).
"""

import os

import autograd.numpy as anp
import matplotlib.pyplot as plt
import numpy as np
from geomstats.geometry.hypersphere import Hypersphere
from geomstats.geometry.spd_matrices import SPDMatrices

import quotientlearn as ql

FAST = os.environ.get("QL_FAST") == "1"
ALPHA = 0.01
N_PARTICLES = 2000 if FAST else 10_000
np.set_printoptions(precision=4, suppress=True)

# %%
# A sphere-valued neuron
# ----------------------
# A unit-norm weight w on S^2 (weight normalisation) reads inputs whose law is symmetric about the axis
# e_3; what it computes depends on w only through its alignment beta = w_3 with that axis. Rotations
# about e_3 leave beta unchanged: a one-dimensional symmetry group SO(2) acting on the sphere.


def rotate_about_axis(angle, w):
    """The action: rotate ``w`` (..., 3) by ``angle`` (..., 1) about e_3 (written with autograd.numpy)."""
    cos, sin = anp.cos(angle[..., 0]), anp.sin(angle[..., 0])
    return anp.stack([cos * w[..., 0] - sin * w[..., 1], sin * w[..., 0] + cos * w[..., 1], w[..., 2]],
                     axis=-1)


def on_meridian(beta):
    """``balanced``: the slice point w = (sqrt(1 - beta^2), 0, beta) over the alignment beta."""
    return np.stack([np.sqrt(1.0 - beta[..., 0] ** 2), np.zeros_like(beta[..., 0]), beta[..., 0]], axis=-1)


class MeridianGauge(ql.Gauge):
    """The gauge slice: the half meridian w_2 = 0, w_1 > 0 (one point per orbit).

    ``chi`` alone would do (Newton steps along the orbit project onto the slice); the closed-form
    projection, a rotation by the azimuth, is what makes every simulation step cheap.
    """

    def __init__(self, action):
        super().__init__(action, chi=lambda w: w[..., 1:2])

    def project(self, w):
        return np.stack([np.hypot(w[..., 0], w[..., 1]), np.zeros(np.shape(w)[:-1]), w[..., 2]], axis=-1)


sphere = Hypersphere(2)  # points of shape (3,); the round metric
rotation = ql.groups.GroupAction(dim=1, shape=(3,), act=rotate_about_axis, name="RotationAboutE3")
neuron = ql.models.Custom(predictor=lambda w: w[..., 2:3], space=sphere, action=rotation,
                          balanced=on_meridian, gauge=MeridianGauge(rotation))
print(neuron, "on", neuron.space)
report = ql.testing.check_model(neuron, seed=0)
print(f"check_model: {'passed' if report.passed else report.failures}; notes: {report.notes}")

# The orbit of w is a circle of radius sqrt(1 - w_3^2): its length is the square root of the Gram.
w = neuron.sample((3,), 0)
print("Gram g(xi, xi) =", neuron.bundle.gram(w)[:, 0, 0], "= 1 - w_3^2 =", 1 - w[:, 2] ** 2)

# %%
# Riemannian Langevin on the sphere
# ---------------------------------
# The loss prefers alignment, ``L = (1 - beta) k0``.
K0, TEMPERATURE = 1.0, 0.5


def neuron_loss(beta):
    return K0 * (1.0 - beta[..., 0])


# dt = 2e-3 over t = 6 (relaxation time ~1): the Euler bias (~1e-3) is below the KS resolution
# 1/sqrt(N) ~ 0.02. Gauge fixing rotates every particle back onto the meridian after each step; for an
# isometric action the law of beta is the same with or without it.
samples = ql.simulate(neuron, neuron_loss, TEMPERATURE, gauge_fixing=True, dt=2e-3, n_steps=3000,
                      n_particles=N_PARTICLES, seed=1, init=on_meridian(np.array([0.5])), progress=False)
print(f"{samples.n_particles} particles, max distance to the sphere "
      f"{samples.metadata['max_manifold_residual']:.1e}, "
      f"max |chi| {samples.metadata['max_gauge_residual']:.1e}")

window = (-0.95, 0.95)  # the chart beta -> on_meridian(beta) is singular at the poles
exact = ql.stationary_density(neuron, neuron_loss, TEMPERATURE, method="ito", reference=np.zeros(1))
theorem1 = ql.stationary_density(neuron, neuron_loss, TEMPERATURE, method="theorem1")
grid = np.linspace(*window, 9)[:, None]
# On the sphere the area measure pushes forward to the uniform law of w_3 (Archimedes): the Itô route
# gives exp(-L/T); Theorem 1's conditioned form adds 1 / sqrt(1 - beta^2) (slice volume, unit G_C).
spread = np.ptp(exact.logpdf(grid) + neuron_loss(grid) / TEMPERATURE)
print(f"Itô route vs exp(-L/T): spread of the log ratio {spread:.1e}")
for name, density in (("Itô route", exact), ("Theorem 1 form", theorem1)):
    test = ql.stats.ks_test(samples.beta[:, 0], density, window)
    print(f"  {name:<15s} KS {test.statistic:.3f}, p = {test.pvalue:.2g} -> {test.verdict(ALPHA)}")

# %%
# An SPD model
# ------------
# A covariance P in SPD(2) with the affine-invariant metric; the predictor is its log-spectrum, which
# rotations Q P Q^T leave unchanged. The zoo's SPDSpectrum is this model with the spectrum itself.
spd = SPDMatrices(2)
congruence = ql.groups.Congruence(2)  # O(2) by congruence: compact, with a Haar sampler


def log_spectrum(p):
    return anp.log(anp.linalg.eigh(0.5 * (p + anp.swapaxes(p, -1, -2)))[0])


def diagonal(beta):
    return np.exp(beta)[..., :, None] * np.eye(2)


class DiagonalSlice(ql.Gauge):
    """The slice of diagonal matrices (chi = the off-diagonal entry), projected onto by diagonalising."""

    def __init__(self, action):
        super().__init__(action, chi=lambda p: p[..., 0, 1:2])

    def project(self, p):
        return diagonal(np.log(np.linalg.eigvalsh(p)))


covariance = ql.models.Custom(predictor=log_spectrum, space=spd, action=congruence,
                              gauge=DiagonalSlice(congruence), balanced=diagonal)
print(covariance, "on", covariance.space)
report = ql.testing.check_model(covariance, seed=0)
print(f"check_model: {'passed' if report.passed else report.failures}; notes: {report.notes}")


def spd_loss(beta):
    return 0.5 * anp.sum(beta**2, axis=-1)


spd_samples = ql.simulate(covariance, spd_loss, TEMPERATURE, gauge_fixing=True, dt=2e-3, n_steps=3000,
                          n_particles=N_PARTICLES, seed=2, init=diagonal(np.array([-0.5, 0.5])),
                          progress=False)
gap = spd_samples.beta[:, 1] - spd_samples.beta[:, 0]  # log(l_2 / l_1)
# The orbit of diag(e^x) has volume ~ |sinh((x_2 - x_1)/2)|: eigenvalues repel. With x_1 + x_2 and
# x_2 - x_1 independent under this loss, the gap has density exp(-y^2 / (4T)) sinh(y / 2) on y > 0;
# Theorem 1's conditioned form (det(J_chi g^-1 J_chi^T)^-1/2 = 2 / l_1 l_2, no orbit volume) gives
# exp(-y^2 / (4T)) instead.
ito = ql.stationary_density(covariance, spd_loss, TEMPERATURE, method="ito", reference=np.array([-0.5, 0.5]))
fibre = ql.stationary_density(covariance, spd_loss, TEMPERATURE, method="fibre")
points = np.array([[-1.0, 0.2], [-0.4, 0.9], [0.1, 1.5]])
print(f"Itô route vs fibre integral (Haar Monte Carlo): spread {ito.log_ratio_spread(fibre, points):.1e}")
print(f"Itô route vs Theorem 1 form: spread "
      f"{ito.log_ratio_spread(ql.stationary_density(covariance, spd_loss, TEMPERATURE), points):.2f}")
laws = {"exp(-y^2/4T) sinh(y/2)": lambda y: -y**2 / (4 * TEMPERATURE) + np.log(np.sinh(y / 2)),
        "exp(-y^2/4T) (Theorem 1 form)": lambda y: -y**2 / (4 * TEMPERATURE)}
for name, law in laws.items():
    test = ql.stats.ks_test(gap, law, (0.02, 4.0))
    print(f"  gap ~ {name:<30s} KS {test.statistic:.3f}, p = {test.pvalue:.2g} -> {test.verdict(ALPHA)}")

# %%
# The two laws, drawn
# -------------------
# Left: the alignment of the sphere-valued neuron; right: the log-eigenvalue gap of the SPD model. In
# both, the histogram follows the exact law (Itô route; orbit volume multiplying) and not Theorem 1's
# conditioned form.


def normalised(log_values, grid):
    values = np.exp(log_values - np.max(log_values))
    return values / np.trapezoid(values, grid)


figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
beta_grid = np.linspace(*window, 300)
inside = samples.beta[:, 0][(samples.beta[:, 0] > window[0]) & (samples.beta[:, 0] < window[1])]
left.hist(inside, bins=40, density=True, color="0.8", label=f"{samples.n_particles} particles")
for name, density in (("Itô route: exp(-L/T)", exact), ("Theorem 1 form", theorem1)):
    left.plot(beta_grid, normalised(density.logpdf(beta_grid[:, None]), beta_grid), label=name)
left.set(xlabel="beta = w_3", ylabel="density on the window", title="sphere-valued neuron on S^2")
left.legend(fontsize=8)
gap_window = (0.02, 4.0)
gap_grid = np.linspace(*gap_window, 300)
right.hist(gap[(gap > gap_window[0]) & (gap < gap_window[1])], bins=40, density=True, color="0.8",
           label=f"{spd_samples.n_particles} particles")
for name, law in laws.items():
    right.plot(gap_grid, normalised(law(gap_grid), gap_grid), label=name)
right.set(xlabel="y = log(l_2 / l_1)", title="SPD(2) spectrum, affine-invariant metric")
right.legend(fontsize=8)
plt.show()

# %%
# Bad input, on purpose
# ---------------------
# Each mistake is refused at the boundary with the check that failed and by how much.
for attempt, call in (
        ("a point off the sphere", lambda: neuron.predictor(np.array([0.0, 0.0, 1.01]))),
        ("an action that leaves the sphere", lambda: ql.models.Custom(
            predictor=lambda w: w[..., 2:3], space=sphere,
            action=ql.groups.GroupAction(1, shape=(3,), act=lambda c, w: w * anp.exp(c)))),
        ("a tangent vector that is not tangent", lambda: neuron.bundle.horizontal_projection(
            np.array([0.0, 0.0, 1.0]), np.array([0.0, 0.0, 1.0])))):
    try:
        call()
    except ValueError as error:
        print(f"{attempt}: {error}")
