"""Noise models: how the gradient noise enters parameter space.

A noise model gives the direction of the Gaussian increment in the hot loop (``sqrt(2 T dt)`` times
``C^{1/2} xi`` for a normalised covariance ``C = Sigma / (2T)``) and, for the Itô route of
:mod:`quotientlearn.stationary`, the two pieces of the SDE of coordinates ``c(theta)`` that depend on
``C``: ``tr(C hess c_p)`` and the diffusion ``J_c C J_c^T`` with its directional derivative. ``J_c`` is
the Jacobian of the coordinates in use (the predictor, or a chart of it); ``J_beta`` that of the
predictor itself, which defines label noise.

- ``isotropic``: ``C = I``.
- ``horizontal``: ``C = P_H``, the projection orthogonal to the orbit (where minibatch gradients lie).
- ``label``: ``C = J^T J`` with ``J = dphi``: noise ``J^T xi'`` with ``xi'`` in predictor space, the shape
  of label-noise SGD.
"""

from __future__ import annotations

import numpy as np

from quotientlearn.bundle import generic_vertical_projection

__all__ = ["NOISE_MODELS", "Horizontal", "Isotropic", "Label", "get_noise"]


class Isotropic:
    """``C = I``: Langevin noise, identical in every parameter direction."""

    name = "isotropic"
    additive = True

    def increment(self, model, theta, pullback, rng):
        """Unit-covariance Gaussian directions, shape ``(N, D)``."""
        return rng.standard_normal(theta.shape)

    def trace_hessian(self, model, theta, jacobian, hessians, beta_jacobian):
        """``tr(C H_p) = tr H_p``, shape ``(N, m)``; ``hessians`` has shape ``(N, m, D, D)``."""
        return np.trace(hessians, axis1=-2, axis2=-1)

    def cometric(self, jacobian, beta_jacobian):
        """``J_c C J_c^T = J_c J_c^T``, shape ``(N, m, m)``."""
        return jacobian @ np.swapaxes(jacobian, -1, -2)

    def cometric_derivative(self, jacobian, djacobian, beta_jacobian, beta_djacobian):
        """Derivative of :meth:`cometric` along the slice, shape ``(N, m, m)``.

        ``dJ_c`` and ``dJ_beta`` are the derivatives of the two Jacobians in that direction.
        """
        product = djacobian @ np.swapaxes(jacobian, -1, -2)
        return product + np.swapaxes(product, -1, -2)


class Horizontal(Isotropic):
    """``C = P_H``: noise orthogonal to the orbits.

    Since ``J P_V = 0`` everywhere, ``J P_H J^T = J J^T``: only the Itô drift differs from isotropic
    noise, by ``-tr(P_V H_p)``.
    """

    name = "horizontal"
    additive = False

    def increment(self, model, theta, pullback, rng):
        """``P_H xi``, shape ``(N, D)``: closed form for pair rescalings, batched solve otherwise."""
        normal = rng.standard_normal(theta.shape)
        if getattr(model.action, "vertical_projection", None) is not None:
            return normal - model.action.vertical_projection(normal, theta)
        return normal - _solve_vertical(model.action.generators(theta), normal)

    def trace_hessian(self, model, theta, jacobian, hessians, beta_jacobian):
        """``tr(P_H H_p) = tr H_p - sum_ab Gram^+_ab xi_b^T H_p xi_a``, shape ``(N, P)``."""
        xi = model.action.generators(theta)
        inverse = np.linalg.pinv(xi @ np.swapaxes(xi, -1, -2), hermitian=True)
        vertical = np.einsum("...ab,...bi,...pij,...aj->...p", inverse, xi, hessians, xi)
        return np.trace(hessians, axis1=-2, axis2=-1) - vertical


class Label(Isotropic):
    """``C = J^T J``: noise along predictor gradients, ``J^T xi'`` with ``xi'`` of shape ``(N, P)``."""

    name = "label"
    additive = False

    def increment(self, model, theta, pullback, rng):
        """``J^T xi'`` by one reverse-mode pass through the predictor, shape ``(N, D)``."""
        shape = theta.shape[:-1] + model.beta_shape
        return pullback(rng.standard_normal(shape))

    def trace_hessian(self, model, theta, jacobian, hessians, beta_jacobian):
        """``tr(J_beta^T J_beta H_p) = sum_q J_beta,q^T H_p J_beta,q``, shape ``(N, m)``."""
        return np.einsum("...qi,...pij,...qj->...p", beta_jacobian, hessians, beta_jacobian)

    def cometric(self, jacobian, beta_jacobian):
        """``A A^T`` with ``A = J_c J_beta^T``, shape ``(N, m, m)``."""
        cross = jacobian @ np.swapaxes(beta_jacobian, -1, -2)
        return cross @ np.swapaxes(cross, -1, -2)

    def cometric_derivative(self, jacobian, djacobian, beta_jacobian, beta_djacobian):
        """``dA A^T + A dA^T`` with ``dA = dJ_c J_beta^T + J_c dJ_beta^T``, shape ``(N, m, m)``."""
        cross = jacobian @ np.swapaxes(beta_jacobian, -1, -2)
        dcross = (djacobian @ np.swapaxes(beta_jacobian, -1, -2)
                  + jacobian @ np.swapaxes(beta_djacobian, -1, -2))
        product = dcross @ np.swapaxes(cross, -1, -2)
        return product + np.swapaxes(product, -1, -2)


def _solve_vertical(generators, vector):
    """``Xi^T Gram^{-1} Xi v`` by a batched solve (the Gram is positive definite off degenerate orbits)."""
    gram = generators @ np.swapaxes(generators, -1, -2)
    rhs = np.einsum("...ad,...d->...a", generators, vector)
    try:
        coefficients = np.linalg.solve(gram, rhs[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return generic_vertical_projection(generators, vector)
    return np.einsum("...a,...ad->...d", coefficients, generators)


#: name -> noise model class
NOISE_MODELS = {cls.name: cls for cls in (Isotropic, Horizontal, Label)}


def get_noise(noise):
    """The noise model called ``noise`` (or ``noise`` itself if it is already a noise model).

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid ones.
    """
    if not isinstance(noise, str):
        if all(hasattr(noise, attr) for attr in ("increment", "trace_hessian", "cometric")):
            return noise
        raise ValueError(f"noise must be one of {sorted(NOISE_MODELS)} or a noise model; got {noise!r}")
    if noise not in NOISE_MODELS:
        raise ValueError(f"unknown noise {noise!r}; valid noise models: {', '.join(NOISE_MODELS)}")
    return NOISE_MODELS[noise]()
