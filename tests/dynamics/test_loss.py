"""A loss with its gradient: the same dynamics as autograd's, without the trace."""

import autograd.numpy as anp
import numpy as np
import pytest

import quotientlearn as ql


def quadratic(beta):
    return 0.5 * anp.sum((beta - 1.0) ** 2, axis=-1)


def test_given_gradient_gives_the_autograd_trajectory():
    model = ql.models.Hadamard(3)
    kwargs = dict(n_steps=200, n_particles=64, seed=4, progress=False)
    traced = ql.simulate(model, quadratic, 0.1, **kwargs)
    given = ql.simulate(model, ql.Loss(quadratic, gradient=lambda b: b - 1.0), 0.1, **kwargs)
    np.testing.assert_allclose(given.theta, traced.theta, rtol=0, atol=1e-12)


def test_default_gradient_is_autograd():
    beta = np.random.default_rng(0).standard_normal((5, 3))
    np.testing.assert_allclose(ql.Loss(quadratic).gradient(beta), beta - 1.0)


def test_a_gradient_of_the_wrong_shape_is_refused():
    bad = ql.Loss(quadratic, gradient=lambda b: np.sum(b, axis=-1))
    with pytest.raises(ValueError, match="shape of beta"):
        ql.simulate(ql.models.Hadamard(2), bad, 0.1, n_steps=2, n_particles=4, progress=False)


def test_non_callables_are_refused():
    with pytest.raises(ValueError, match="callable"):
        ql.Loss(quadratic, gradient=3.0)
