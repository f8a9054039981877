"""The bias a designed model shows in simulation is the target's, not only by formula."""

import autograd.numpy as anp
import numpy as np
import pytest

import quotientlearn as ql
from quotientlearn.design import SparsityStrength, fit, make_target, well_conditioned_reference

TEMPERATURE = 0.1
WINDOW = (0.3, 2.0)


def loss(beta):
    return 0.5 * anp.sum((beta - 1.0) ** 2, axis=-1)


@pytest.mark.slow
def test_designed_strength_half_shows_the_target_law_in_simulation(sized):
    # Design: sparsity of strength 0.5 (R = 0.5 log|beta|), half the Hadamard product's strength.
    target = make_target(("weighted_sparse", [0.5]))
    family = SparsityStrength(1)
    result = fit(family, target, well_conditioned_reference(target, 100, rng=0), seed=0)
    assert family.weights_of_exponents(result.psi)[0, 0] == pytest.approx(0.5, rel=1e-6)
    model = result.model

    # Isotropic Langevin, gauge fixed: Theorem 1 in predictor coordinates is
    # exp(-L/T) exp(-R/2) sqrt(det g_S), with R the *target* (the simulated model is the design).
    # dt = 2e-3 over t = 10 (relaxation time ~0.5 at T = 0.1): the O(dt) bias of the window law is
    # ~1e-3 in the conditional mean (same dynamics as tests/dynamics), below the KS resolution
    # 1/sqrt(n) ~ 0.01 at these sizes.
    n = sized(full=40_000, ci=10_000)
    samples = ql.simulate(model, loss, TEMPERATURE, noise="isotropic", gauge_fixing=True,
                          dt=2e-3, n_steps=5000, n_particles=n, seed=21,
                          init=model.balanced(np.ones(1)))
    beta = samples.beta[:, 0]

    def law(regulariser):
        def log_density(x):
            points = np.reshape(x, (-1, 1))
            with np.errstate(divide="ignore"):
                return (-loss(points) / TEMPERATURE - 0.5 * regulariser(points)
                        + ql.log_slice_volume(model, points))
        return log_density

    designed = ql.stats.ks_test(beta, law(target), WINDOW)
    assert designed.pvalue > 0.01, designed
    # Power: the Hadamard strength (R = log|beta|) and no correction at all are rejected.
    hadamard = ql.stats.ks_test(beta, law(make_target("sparse", dim=1)), WINDOW)
    assert hadamard.pvalue < 1e-4, hadamard
    uncorrected = ql.stats.ks_test(beta, law(lambda points: np.zeros(len(points))), WINDOW)
    assert uncorrected.pvalue < 1e-4, uncorrected
