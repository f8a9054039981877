"""
06. Your own model and group action, from scratch
=================================================

quotientlearn derives everything — generators, Gram, projections, the balanced gauge, the bias,
simulations and predictions — from two things you give it: a predictor written with
``autograd.numpy`` and a group action that leaves it invariant. This tutorial writes a depth-3 scalar
network ``beta = u_1 u_2 u_3`` and its two-parameter rescaling group from scratch, first as a
``GroupAction`` subclass with a closed-form generator and a ``Model`` subclass, then checks every
geometric identity with ``ql.testing.check_model`` (and watches the check catch a wrong closed form),
and finally simulates the model and tests Theorem 1's prediction against the samples.

Run it as a script: ``python tutorials/06_own_model.py`` (``QL_FAST=1``: fewer particles).
"""

import os
import warnings

import autograd.numpy as anp
import matplotlib.pyplot as plt
import numpy as np

import quotientlearn as ql

FAST = os.environ.get("QL_FAST") == "1"
np.set_printoptions(precision=4, suppress=True)

# %%
# The group action
# ----------------
# ``(u_1, u_2, u_3) -> (u_1 e^{c_1}, u_2 e^{c_2 - c_1}, u_3 e^{-c_2})`` keeps the product: a
# two-dimensional torus. Group elements are given by their Lie-algebra coordinates ``c`` (shape
# ``(..., 2)``), so ``act(0, theta) = theta``. ``act`` must broadcast over leading axes and use
# ``autograd.numpy``: quotientlearn differentiates it. The closed-form generators (the derivative of
# ``act`` at ``c = 0``: ``xi_1 = (u_1, -u_2, 0)``, ``xi_2 = (0, u_2, -u_3)``) are optional — without them
# autograd computes the same fields — but every simulation step calls them, so the zoo writes them out.
# So is ``balance``, the projection along orbits onto the balanced slice ``|u_1| = |u_2| = |u_3|``: its
# generic default takes Newton steps on the moment map, and gauge-fixed simulation calls it every step.


class ChainRescaling(ql.groups.GroupAction):
    """Rescalings of a depth-3 scalar chain ``u_1 u_2 u_3``: a 2-torus acting on ``R^3``."""

    def __init__(self):
        super().__init__(dim=2, space_dim=3)

    def act(self, group_elem, theta):
        """``theta`` rescaled by ``exp`` of the coordinates ``group_elem`` (shape ``(..., 2)``)."""
        c1, c2 = group_elem[..., 0], group_elem[..., 1]
        factors = anp.stack([anp.exp(c1), anp.exp(c2 - c1), anp.exp(-c2)], axis=-1)
        return theta * factors

    def generators(self, theta):
        """``(xi_1, xi_2)``, shape ``(..., 2, 3)``."""
        zero = np.zeros_like(theta[..., 0])
        u1, u2, u3 = theta[..., 0], theta[..., 1], theta[..., 2]
        return np.stack([np.stack([u1, -u2, zero], -1), np.stack([zero, u2, -u3], -1)], -2)

    def balance(self, theta):
        """The balanced point of each orbit, ``|u_i| = |u_1 u_2 u_3|^(1/3)``; shape ``(..., 3)``."""
        magnitude = np.prod(np.abs(theta), axis=-1, keepdims=True) ** (1 / 3)
        return np.sign(theta) * magnitude


# %%
# The model
# ---------
# A ``Model`` subclass names the blocks of ``theta`` in a ``ParameterSpace``, passes its action and
# the predictor's shape to ``Model.__init__``, and implements the hook ``traceable_predictor`` (no input
# checks: ``model.predictor`` validates and then calls it). ``balanced(beta)``, the point of the slice
# with predictor ``beta``, is optional; with it the bias and the predictions can be written in ``beta``.


class Chain3(ql.models.Model):
    """``beta = u_1 u_2 u_3`` (shape ``(..., 1)``) with the chain rescalings."""

    def __init__(self):
        super().__init__(ql.ParameterSpace({"u": (3,)}), ChainRescaling(), beta_shape=(1,))

    def traceable_predictor(self, theta):
        """``u_1 u_2 u_3``, shape ``(..., 1)``."""
        return anp.prod(theta, axis=-1, keepdims=True)

    def balanced(self, beta):
        """``|u_i| = |beta|^(1/3)``, the sign on ``u_1``; shape ``(..., 3)``."""
        beta = self.validate_beta(beta)
        magnitude = np.abs(beta) ** (1 / 3)
        return np.concatenate([np.sign(beta) * magnitude, magnitude, magnitude], axis=-1)


model = Chain3()
theta = np.array([2.0, 0.5, -1.5])
print(model, "beta =", model.predictor(theta))
print("Gram:\n", model.bundle.gram(theta))

# %%
# Check it
# --------
# ``check_model`` holds every closed form against the generic autograd route and every identity of
# the geometry (invariance, projections, the gauge, ``balanced``) at random points, and reports the
# residuals.

report = ql.testing.check_model(model, seed=0)
print(report)
assert report.passed

# %%
# The check has teeth: a generator with a wrong sign is caught.


class WrongSign(ChainRescaling):
    def generators(self, theta):
        return -np.abs(super().generators(theta))


class WrongChain3(Chain3):
    def __init__(self):
        ql.models.Model.__init__(self, ql.ParameterSpace({"u": (3,)}), WrongSign(), beta_shape=(1,))


with warnings.catch_warnings():  # the wrong generators also stall the generic gauge projection
    warnings.simplefilter("ignore", ql.groups.GaugeConvergenceWarning)
    wrong = ql.testing.check_model(WrongChain3(), seed=0)
print("failures of the wrong model:", wrong.failures)
assert not wrong.passed

# %%
# The bias, and a zoo model to compare with
# -----------------------------------------
# On the slice ``|u_i| = |beta|^(1/3)`` the Gram's determinant is ``3 |beta|^(4/3)``, so the bias is
# ``(T/2) log(3 |beta|^(4/3))``: the zoo's ``DiagonalNet(1, depth=3)`` is the same model, and gives the
# same bias.

temperature = 0.1
betas = np.linspace(0.2, 2.0, 10)[:, None]
mine = ql.implicit_bias_of_predictor(model, betas, temperature)
zoo = ql.implicit_bias_of_predictor(ql.models.DiagonalNet(1, depth=3), betas, temperature)
print("bias, ours vs DiagonalNet:", np.abs(mine - zoo).max())
assert np.allclose(mine, zoo) and np.allclose(mine, 0.5 * temperature * np.log(3 * betas[:, 0] ** (4 / 3)))

# %%
# Simulate and predict
# --------------------
# Isotropic Langevin noise with gauge fixing, for ``L = (beta - 1)^2 / 2`` at ``T = 0.1``: Theorem 1
# predicts the law of ``beta``; the KS test on a window away from the collapse at 0 compares, and a
# deliberately wrong law (no gauge correction) is rejected by the same test.


def loss(beta):
    return 0.5 * (beta[..., 0] - 1.0) ** 2


samples = ql.simulate(model, loss, temperature, noise="isotropic", gauge_fixing=True,
                      dt=2e-3, n_steps=4000, n_particles=1500 if FAST else 4000, seed=0,
                      init=model.balanced(np.ones(1)), progress=False)
window = (0.3, 2.0)
theorem1 = ql.stationary_density(model, loss, temperature, method="theorem1")
fit = ql.stats.ks_test(samples.beta[:, 0], theorem1, window)


def no_correction(beta):
    """The Gibbs factor alone, ``-L / T`` for ``beta`` of shape ``(n,)``: the deliberately wrong law."""
    return -0.5 * (beta - 1.0) ** 2 / temperature


wrong_fit = ql.stats.ks_test(samples.beta[:, 0], no_correction, window)
print(f"Theorem 1: p = {fit.pvalue:.3f} ({fit.verdict(0.01)}); without the correction: "
      f"p = {wrong_fit.pvalue:.1e} ({wrong_fit.verdict(0.01)})")
assert fit.pvalue > 0.01 and wrong_fit.pvalue < 1e-4

grid = np.linspace(*window, 300)
figure, axis = plt.subplots(figsize=(6, 4))
beta = samples.beta[:, 0]
axis.hist(beta[(beta > window[0]) & (beta < window[1])], bins=40, density=True, color="0.8",
          label=f"{samples.n_particles} particles")
for name, log_values in (("Theorem 1", theorem1.logpdf(grid[:, None])),
                         ("no correction", no_correction(grid))):
    values = np.exp(log_values - log_values.max())
    axis.plot(grid, values / np.trapezoid(values, grid), label=name)
axis.set(xlabel="beta = u_1 u_2 u_3", ylabel="density on the window", title="your own model, simulated")
axis.legend(fontsize=8)
plt.show()
