"""Gauge-fixed simulation of over-parameterised factorisations towards low-rank targets (issue 10).

A rank-3 factorisation of a rank-1 matrix passes through rank-deficient factors all the time; the
GL(3) balance used to raise LinAlgError there for every seed and step size.
"""

import autograd.numpy as anp
import numpy as np
import pytest

import quotientlearn as ql

TARGET = np.outer([1.0, -2.0, 0.5], [0.5, 1.0, -1.0])  # rank 1, singular value 3.436


def loss(beta):
    return 0.5 * anp.sum((beta - TARGET) ** 2, axis=(-2, -1))


@pytest.mark.parametrize("seed", range(10))
def test_rank3_factorisation_of_a_rank1_target_completes(seed):
    model = ql.models.MatrixFactorization(3, 3, 3)
    samples = ql.simulate(model, loss, 0.01, dt=1e-2, n_steps=300, n_particles=64, seed=seed,
                          progress=False)
    assert samples.n_diverged == 0 and np.all(np.isfinite(samples.theta))
    assert samples.metadata["max_gauge_residual"] < 1e-10
    values = np.median(np.linalg.svd(samples.beta, compute_uv=False), axis=0)
    # The top singular value reaches the target's; the other two stay small (the low-rank bias).
    assert values[0] == pytest.approx(3.436, rel=0.05)
    assert values[1] < 0.3 and values[2] < 0.1


def test_attention_gl_with_three_heads_completes():
    model = ql.models.Attention(3, 3, "gl")
    # beta = [W_Q W_K^T | W_V]: the rank-1 target for the scores, a confining quadratic for W_V.
    samples = ql.simulate(model, lambda beta: loss(beta[..., :3]) + 0.5 * anp.sum(beta[..., 3:] ** 2,
                                                                                   axis=(-2, -1)),
                          0.01, dt=1e-2, n_steps=300, n_particles=64, seed=0, progress=False)
    assert samples.n_diverged == 0 and np.all(np.isfinite(samples.theta))
    assert samples.metadata["max_gauge_residual"] < 1e-10
