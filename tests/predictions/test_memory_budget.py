"""Batched predictions chunk by a memory budget: peak memory measured with tracemalloc.

numpy reports its array allocations to tracemalloc, so the traced peak is the peak of numpy memory
(the working arrays these evaluations are made of) during the call.
"""

import tracemalloc

import autograd.numpy as anp
import numpy as np
import pytest

import quotientlearn as ql
from quotientlearn.predictions import FibreIntegral, ItoRoute


def quadratic(beta):
    return 0.5 * anp.sum((beta - 1.0) ** 2, axis=-1)


def peak_bytes(function, *args):
    tracemalloc.start()
    try:
        value = function(*args)
        return value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def points(n, d, seed=0):
    return 1.0 + 0.2 * np.random.default_rng(seed).standard_normal((n, d))


def assert_chunked(budgeted, whole, beta, budget, whole_peak_above):
    """``budgeted.logpdf`` peaks under twice ``budget`` and equals ``whole.logpdf`` (one chunk), whose
    peak exceeds ``whole_peak_above`` (so the budget had to split the call)."""
    values, peak = peak_bytes(budgeted.logpdf, beta)
    _, peak_whole = peak_bytes(whole.logpdf, beta)
    assert peak_whole > whole_peak_above
    assert peak < 2 * budget, peak
    np.testing.assert_allclose(values, whole.logpdf(beta), rtol=1e-12)


def test_ito_logpdf_stays_within_a_small_budget_and_agrees_with_one_chunk():
    model = ql.models.Hadamard(16)
    beta = points(256, 16)
    budgeted = ql.stationary_density(model, quadratic, 0.1, method=ItoRoute(n_nodes=2,
                                                                            memory_budget="1MB"))
    whole = ql.stationary_density(model, quadratic, 0.1, method=ItoRoute(n_nodes=2,
                                                                         memory_budget="4GB"))
    # With the zoo's closed-form derivatives one field evaluation needs ~16 kB at d = 16, so all 512
    # at once about 8 MB: several times the budget, which the chunked call must respect.
    assert_chunked(budgeted, whole, beta, 1e6, 4e6)


def test_ito_logpdf_chunks_field_evaluations_not_points():
    # A budget below one point's n_nodes evaluations together (the case of Hadamard(64) at the
    # default 1 GiB, whose bound per evaluation is ~25 MB times 48 nodes) still evaluates, with the
    # same values as one chunk.
    model = ql.models.Hadamard(4)
    beta = points(16, 4)
    small = ql.stationary_density(model, quadratic, 0.1, method=ItoRoute(memory_budget=4 * 8 * 800))
    whole = ql.stationary_density(model, quadratic, 0.1, method=ItoRoute(memory_budget="4GB"))
    np.testing.assert_allclose(small.logpdf(beta), whole.logpdf(beta), rtol=1e-12)


def test_hadamard_64_ito_route_evaluates_at_the_default_budget():
    model = ql.models.Hadamard(64)
    density = ql.stationary_density(model, quadratic, 0.1, method="ito")
    assert np.all(np.isfinite(density.logpdf(points(2, 64))))


def test_ito_logpdf_at_d16_on_4096_points_peaks_under_2GB():
    # The figure, at the default 48 quadrature nodes (196,608 field evaluations, ~3 s): before
    # budgets this evaluation built all 4096 x 48 path points at once (about 50 GB at d = 16 with the
    # autograd derivatives of the time; still ~3 GB with the zoo's closed forms). Measured: ~35 MB.
    model = ql.models.Hadamard(16)
    density = ql.stationary_density(model, quadratic, 0.1, method=ItoRoute())
    values, peak = peak_bytes(density.logpdf, points(4096, 16, seed=1))
    assert np.all(np.isfinite(values))
    assert peak < 2e9, peak


def test_fibre_logpdf_stays_within_a_small_budget():
    model = ql.models.Hadamard(2)
    beta = points(40, 2)
    options = {"noise": "isotropic", "gauge_fixing": False, "weight_decay": 0.1}
    budgeted = ql.stationary_density(model, quadratic, 0.2, method=FibreIntegral(
        memory_budget="24MB"), **options)
    whole = ql.stationary_density(model, quadratic, 0.2, method=FibreIntegral(
        memory_budget="1GB"), **options)
    # 121^2 nodes a point at ~370 B a node (5.4 MB a point): over 200 MB for the 40 points at once.
    assert_chunked(budgeted, whole, beta, 24e6, 100e6)


def _spd_fibre(budget):
    """The fibre integral of SPDSpectrum(2): Monte Carlo over the Haar measure of O(2)."""
    def log_loss(beta):
        return 0.5 * anp.sum(anp.log(beta) ** 2, axis=-1)

    return ql.stationary_density(ql.models.SPDSpectrum(2), log_loss, 0.5, gauge_fixing=False,
                                 method=FibreIntegral(memory_budget=budget))


def test_compact_fibre_logpdf_stays_within_a_small_budget_and_agrees_with_one_chunk():
    beta = np.sort(np.exp(points(100, 2) - 1.0), axis=-1) + [0.0, 0.5]
    budgeted, whole = _spd_fibre("2MB"), _spd_fibre("1GB")
    assert "Haar" in budgeted.info["fibre_quadrature"]
    # 256 Haar samples a point at ~450 B a sample (~115 kB a point): ~11 MB for the 100 points at once.
    assert_chunked(budgeted, whole, beta, 2e6, 5e6)


def test_compact_fibre_refuses_a_budget_too_small_for_one_point():
    density = _spd_fibre("10kB")  # one point's 256 Haar samples need ~190 kB
    with pytest.raises(ValueError, match="more than the memory budget"):
        density.logpdf(np.array([[0.5, 1.5]]))


def test_budgets_are_validated():
    with pytest.raises(ValueError, match="memory_budget"):
        ItoRoute(memory_budget="lots")
    with pytest.raises(ValueError, match="memory_budget"):
        FibreIntegral(memory_budget=-1)
