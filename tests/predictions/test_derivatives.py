"""The Itô route's derivatives without dense Hessians, held against the dense autograd reference."""

import autograd.numpy as anp
import numpy as np
import pytest

import quotientlearn as ql
from quotientlearn.dynamics import CoordinateDerivatives, NoiseModel, get_noise
from quotientlearn.models import Model
from quotientlearn.numerics import AutogradHessians, DenseHessians, jacobian_and_hessian
from quotientlearn.predictions.coordinates import Coordinates


class TracedLabel(NoiseModel):
    """Label noise whose covariance autograd can differentiate (the generic predictor Jacobian)."""

    def covariance(self, model, theta):
        jac = Model.predictor_jacobian(model, theta)
        return anp.matmul(anp.swapaxes(jac, -1, -2), jac)


PRODUCTS = {
    "Hadamard": lambda: ql.models.Hadamard(3),
    "BasisHadamard": lambda: ql.models.BasisHadamard(
        np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))[0] + 2 * np.eye(3)),
    "CumsumHadamard": lambda: ql.models.CumsumHadamard(3),
}


def _contractions(hessians, n, m, dim, seed=0):
    rng = np.random.default_rng(seed)
    left, right = rng.standard_normal((2, n, 4, dim))
    vectors = rng.standard_normal((n, m, dim))
    return hessians.trace(), hessians.forms(left, right), hessians.contract(vectors)


def test_autograd_hessians_match_dense_reference():
    def fn(x):
        return anp.stack([x[..., 0] * x[..., 1] ** 2, anp.sin(x[..., 0]) * x[..., 2],
                          anp.exp(x[..., 1]) * x[..., 2] * x[..., 0]], -1)

    x = np.random.default_rng(1).standard_normal((5, 3))
    dense = DenseHessians(jacobian_and_hessian(fn, x)[1])
    for got, want in zip(_contractions(AutogradHessians(fn, x), 5, 3, 3),
                         _contractions(dense, 5, 3, 3), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_product_closed_forms_match_autograd(name):
    model = PRODUCTS[name]()
    beta = np.random.default_rng(2).uniform(0.5, 2.0, (4, model.width)) * np.array([1, -1, 1])
    theta = model.balanced(beta)
    closed, generic = model.predictor_hessians(theta), Model.predictor_hessians(model, theta)
    np.testing.assert_allclose(closed.dense(), generic.dense(), atol=1e-12)
    for got, want in zip(_contractions(closed, 4, model.width, model.dim),
                         _contractions(generic, 4, model.width, model.dim), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(model.slice_tangents(theta), Model.slice_tangents(model, theta),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.filterwarnings("ignore:Output seems independent of input")
@pytest.mark.parametrize("noise_name", ["isotropic", "horizontal", "label"])
@pytest.mark.parametrize("chart", [False, True])
def test_noise_contractions_match_the_generic_dense_defaults(noise_name, chart):
    # The built-in noise models contract the Hessian operators; the NoiseModel defaults use the
    # covariance and the dense Hessians by autograd. Both must give the same Itô pieces.
    model = ql.models.BasisHadamard(np.array([[1.0, 0.3, 0.0], [0.2, 1.0, 0.1], [0.0, 0.4, 1.0]]))
    to_chart = (lambda b: anp.concatenate([b[..., :1], b[..., 1:] ** 3], -1),
                lambda c: np.concatenate([c[..., :1], np.cbrt(c[..., 1:])], -1)) if chart else None
    coords = Coordinates(model, to_chart)
    beta = np.random.default_rng(3).uniform(0.5, 1.5, (4, 3))
    theta = model.balanced(beta)
    derivatives = coords.derivatives(theta)
    dense = CoordinateDerivatives(theta, derivatives.jacobian, derivatives.hessians,
                                  derivatives.tangents, derivatives.beta_jacobian,
                                  derivatives.beta_hessians)
    noise = get_noise(noise_name)
    for method in ("trace_hessian", "cometric", "cometric_divergence"):
        got = getattr(noise, method)(model, derivatives)
        # The generic divergence differentiates the covariance with autograd: P_H's pseudo-inverse is
        # not traceable (and J P_H J^T = J J^T: isotropic's divergence), nor is the zoo's closed-form
        # predictor Jacobian inside the label covariance (the autograd Jacobian is).
        reference = {"horizontal": get_noise("isotropic"), "label": TracedLabel()}.get(noise_name, noise)
        want = getattr(NoiseModel, method)(
            noise if method != "cometric_divergence" else reference, model, dense)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-10, err_msg=method)
