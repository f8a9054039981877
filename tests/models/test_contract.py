"""The contract suite: every geometric identity, every zoo model, 5 seeds, 2 sizes, to 1e-10."""

import numpy as np
import pytest

from quotientlearn import models
from quotientlearn.testing import check_model

ZOO = {size: models.zoo(size) for size in ("small", "large")}
CASES = [(size, name) for size in ZOO for name in ZOO[size]]


@pytest.mark.parametrize("size,name", CASES, ids=[f"{n}-{s}" for s, n in CASES])
@pytest.mark.parametrize("seed", range(5))
def test_geometric_identities(size, name, seed):
    report = check_model(ZOO[size][name], seed=seed, tol=1e-10)
    report.raise_if_failed()
    assert not report.skipped, report.skipped
    assert len(report.residuals) >= 18


def test_a_broken_closed_form_is_caught():
    """Power: a model whose closed-form slice bias is wrong by a factor fails the report."""

    class BrokenHadamard(models.Hadamard):
        def log_det_gram_on_slice(self, beta):
            return 1.01 * super().log_det_gram_on_slice(beta)

    report = check_model(BrokenHadamard(3), seed=0)
    assert report.failures == ["log det G_C on slice: closed vs gauge"]


def test_a_broken_generator_is_caught():
    model = models.ShallowReLU(2, 2)
    original = model.action.generators
    model.action.generators = lambda theta: 1.001 * original(theta)
    report = check_model(model, seed=0)
    assert "generators vs autograd" in report.failures
    assert "gram vs generators" in report.failures


def test_report_is_readable():
    text = str(check_model(models.Hadamard(2), seed=0))
    assert "predictor invariance under act" in text and "ok" in text


@pytest.mark.parametrize("name", list(ZOO["small"]))
def test_every_zoo_model_reprs_and_samples(name):
    model = ZOO["small"][name]
    theta = model.sample((2, 3), 0)
    # points keep the space's shape: (D,) on flat space, the manifold's own shape otherwise
    assert theta.shape == (2, 3) + model.space.shape
    assert int(np.prod(model.space.shape)) == model.dim
    assert model.predictor(theta).shape == (2, 3) + model.beta_shape
    assert model.action.generators(theta).shape == (2, 3, model.action.dim) + model.space.shape
    assert np.all(np.isfinite(model.gauge.log_det_constraint_gram(theta)))
