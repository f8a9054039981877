"""Noise models: how the gradient noise enters parameter space.

The noise covariance is ``2 T C(theta)`` for a normalised covariance ``C``. A :class:`NoiseModel`
gives ``C`` (:meth:`~NoiseModel.covariance`), the direction of the Gaussian increment in the hot loop
(``C^{1/2} xi``; the step multiplies it by ``sqrt(2 T dt)``) and, for the Itô route of
:mod:`quotientlearn.stationary`, the three pieces of the SDE of coordinates ``c(theta)`` that depend
on ``C``: ``tr(C hess c_p)``, the diffusion ``J_c C J_c^T`` and its divergence along the slice. ``J_c``
is the Jacobian of the coordinates in use (the predictor, or a chart of it).

Only :meth:`~NoiseModel.covariance` is required: the increment (a symmetric square root) and the Itô
pieces (autograd) have generic defaults, which the built-in models override in closed form.

On a curved parameter space, or ``R^D`` with a metric ``g``, covariances are tangent and carry the
metric (``K = g^{-1}`` on the flattened entries): the increment is a tangent vector
(:meth:`~NoiseModel.tangent_increment`) that the scheme moves along a geodesic (or a second-order
retraction), which adds the Itô drift ``T a(C)`` (the space's geodesic acceleration traced against
``C``: :meth:`~NoiseModel.curvature_drift`). Noise defined in coordinates (``intrinsic = False``) adds
no such drift.

- ``isotropic``: ``C = I``; on a curved space ``C = g^{-1}``: Riemannian Langevin, whose stationary law is
  ``exp(-U/T) dvol_g``.
- ``horizontal``: ``C = P_H``, the projection ``g``-orthogonal to the orbit (where minibatch gradients
  lie).
- ``label``: ``C = J^T J`` with ``J = dphi`` (``K J^T J K`` with a metric): noise ``J^T xi'`` with ``xi'``
  in predictor space, the shape of label-noise SGD.
- ``preconditioned``: for a metric on ``R^D``, ``d theta = -g^{-1} grad U dt + sqrt(2 T g^{-1}) dW`` in the
  coordinates, without the Itô drift: the shape of adaptive optimisers' noise. Its stationary law is not
  ``exp(-U/T) dvol_g`` (in one dimension it is ``g exp(-U/T)`` against ``sqrt(g) exp(-U/T)``).
"""

from __future__ import annotations

from functools import cached_property

import autograd.numpy as anp
import numpy as np

from quotientlearn.numerics import DenseHessians, Hessians, jacobian, standard_normal

__all__ = ["NOISE_MODELS", "CoordinateDerivatives", "Horizontal", "Isotropic", "Label", "NoiseModel",
           "Preconditioned", "get_noise"]


class CoordinateDerivatives:
    """Derivatives of the coordinates at slice points, as the Itô route needs them.

    The second derivatives are :class:`~quotientlearn.numerics.Hessians` operators (contractions
    with vectors, in closed form for the zoo); the dense arrays are made only on request, for
    generic code (the defaults of :class:`NoiseModel`).

    Parameters
    ----------
    theta : ndarray, shape (n, *space.shape)
        Slice points.
    jacobian : ndarray, shape (n, m, D)
        ``J_c``, the Jacobian of the coordinates ``c`` (the predictor, or a chart of it).
    hessians : Hessians or ndarray, shape (n, m, D, D)
        Hessians of every coordinate.
    tangents : ndarray, shape (n, D, m)
        Slice tangents ``V``: ``J_c V = I`` and ``J_chi V = 0``.
    beta_jacobian : ndarray, shape (n, P, D), optional
        ``J_beta``, the Jacobian of the predictor itself (default: ``jacobian``, no chart).
    beta_hessians : Hessians or ndarray, shape (n, P, D, D), optional

    Examples
    --------
    The Itô route builds them; by hand, at the slice point of ``beta = 4`` for ``u v``:

    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> from quotientlearn.numerics import jacobian_and_hessian
    >>> model = ql.models.Hadamard(dim=1)
    >>> theta = model.balanced(np.array([[4.0]]))  # (n, D) = (1, 2)
    >>> jac, hess = jacobian_and_hessian(model.predictor, theta)  # (1, 1, 2), (1, 1, 2, 2)
    >>> constraint = np.concatenate([jac, model.gauge.chi_jacobian(theta)], axis=-2)
    >>> tangent = np.linalg.pinv(constraint)[..., :1]  # J V = I, J_chi V = 0
    >>> derivatives = ql.dynamics.CoordinateDerivatives(theta, jac, hess, tangent, jac, hess)
    >>> ql.dynamics.get_noise("isotropic").cometric(model, derivatives)  # J J^T = u^2 + v^2
    array([[[8.]]])
    """

    def __init__(self, theta, jacobian, hessians, tangents, beta_jacobian=None, beta_hessians=None):
        self.theta, self.jacobian, self.tangents = theta, jacobian, tangents
        self.second = _as_hessians(hessians)
        self.beta_jacobian = jacobian if beta_jacobian is None else beta_jacobian
        self.beta_second = self.second if beta_hessians is None else _as_hessians(beta_hessians)

    @cached_property
    def hessians(self):
        """Dense Hessians of the coordinates, ``(n, m, D, D)`` (made on first use)."""
        return self.second.dense()

    @cached_property
    def beta_hessians(self):
        """Dense Hessians of the predictor, ``(n, P, D, D)`` (made on first use)."""
        return self.beta_second.dense()

    @property
    def tangent_rows(self):
        """The tangents as rows ``V_k``, shape ``(n, m, D)``."""
        return _transpose(self.tangents)

    def along_tangents(self, hessians):
        """Directional derivatives ``H V_k`` of a Jacobian along every tangent: ``(n, m, p, D)``."""
        return np.einsum("npij,njk->nkpi", hessians, self.tangents)


def _as_hessians(hessians):
    return hessians if isinstance(hessians, Hessians) else DenseHessians(hessians)


def _transpose(matrix):
    return np.swapaxes(matrix, -1, -2)


class NoiseModel:
    """How the gradient noise enters parameter space: covariance ``2 T C(theta)``.

    Subclass and implement :meth:`covariance`; override the other methods with closed forms where they
    are cheaper. Flags (class attributes) tell the dynamics and the predictions what they may assume:

    Attributes
    ----------
    name : str
        Shown in metadata and progress bars (default: the class name).
    additive : bool
        ``C`` does not depend on ``theta`` (the stochastic Heun scheme needs it).
    isotropic : bool
        ``C = I``: the dynamics Theorem 1 and the fibre integral are derived for.
    horizontal : bool
        Increments are orthogonal to the orbits, so dynamics that start on the balanced slice can stay
        there without gauge fixing (where the drift keeps it too).
    intrinsic : bool
        The increment is a tangent vector moved along a geodesic (the law does not depend on
        coordinates; on a curved space the step adds the Itô drift :meth:`curvature_drift`). ``False``:
        noise defined in the coordinates of ``R^D`` (``"preconditioned"``), no such drift.
    standard_increment : bool
        :meth:`increment` is ``numerics.standard_normal(rng, theta.shape)`` itself, so a compiled step
        may draw those numbers on its own (:meth:`~quotientlearn.dynamics.Scheme.fused_step`); a
        subclass that changes :meth:`increment` sets it ``False``.

    Examples
    --------
    A noise model needs only its normalised covariance; here isotropic noise written by hand:

    >>> import autograd.numpy as anp
    >>> import quotientlearn as ql
    >>> class MyIsotropic(ql.NoiseModel):
    ...     isotropic = True
    ...     def covariance(self, model, theta):
    ...         return anp.broadcast_to(anp.eye(theta.shape[-1]), theta.shape[:-1] + 2 * theta.shape[-1:])
    >>> model = ql.models.Hadamard(dim=1)
    >>> samples = ql.simulate(model, lambda beta: 0.5 * (beta[..., 0] - 1.0) ** 2, 0.1,
    ...                       noise=MyIsotropic(), n_steps=20, n_particles=4, seed=0, progress=False)
    >>> samples.theta.shape
    (4, 2)
    """

    name = "NoiseModel"
    additive = False
    isotropic = False
    horizontal = False
    intrinsic = True
    standard_increment = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "name" not in vars(cls):
            cls.name = cls.__name__

    def __repr__(self):
        return f"{type(self).__name__}()"

    # ---------------------------------------------------------------------------- simulation
    def covariance(self, model, theta):
        """The normalised covariance ``C(theta)``, written with ``autograd.numpy``.

        Parameters
        ----------
        model : Model
        theta : ndarray, shape (n, *space.shape)

        Returns
        -------
        covariance : ndarray, shape (n, D, D)
            Symmetric positive semi-definite, on the flattened entries; tangent (range in the tangent
            space) on a curved space.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement NoiseModel.covariance(model, theta)")

    def increment(self, model, theta, pullback, rng):
        """A Gaussian direction with covariance ``C``: ``C^{1/2} xi``, a new array of shape ``(N, D)``.

        The generic default takes the symmetric square root of :meth:`covariance` (``O(N D^3)``).

        Parameters
        ----------
        model : Model
        theta : ndarray, shape (N, D)
        pullback : callable
            ``w (N, *beta_shape) -> J^T w`` at ``theta``, from the drift's pass through the predictor.
        rng : numpy.random.Generator
        """
        values, vectors = np.linalg.eigh(self.covariance(model, theta))
        root = (vectors * np.sqrt(np.clip(values, 0.0, None))[..., None, :]) @ _transpose(vectors)
        noise = rng.standard_normal(root.shape[:-1])
        return np.reshape(np.einsum("nij,nj->ni", root, noise), np.shape(theta))

    def tangent_increment(self, model, theta, pullback, rng):
        """A tangent Gaussian direction with covariance ``C`` on a curved space (or with a metric).

        The scheme of a curved space calls this one; :meth:`increment` serves flat space. The default is
        :meth:`increment` (the square root of the metric-aware :meth:`covariance`); the built-in models
        override it in closed form.

        Parameters
        ----------
        model : Model
        theta : ndarray, shape (N, *space.shape)
        pullback : callable
            ``w (N, *beta_shape) -> J^T w`` (the Euclidean gradient, point-shaped).
        rng : numpy.random.Generator

        Returns
        -------
        increment : ndarray, shape (N, *space.shape)
        """
        return self.increment(model, theta, pullback, rng)

    # ---------------------------------------------------------------------------- Itô route
    def trace_hessian(self, model, derivatives):
        """``tr(C H_p)`` for every coordinate ``p``, shape ``(n, m)``.

        Parameters
        ----------
        model : Model
        derivatives : CoordinateDerivatives
        """
        return np.einsum("nij,npij->np", self.covariance(model, derivatives.theta),
                         derivatives.hessians)

    def curvature_drift(self, model, derivatives):
        """``J_c a(C)``: the Itô drift (per unit ``T``) of geodesic steps with noise ``C``, ``(n, m)``.

        ``a(C) = sum_ij C_ij a(e_i, e_j)`` is the space's geodesic acceleration traced against ``C``
        (``Delta_g = tr(K hess) + <grad, a(K)>`` for Brownian motion). Zero on flat space and for noise
        in coordinates (``intrinsic = False``).
        """
        space, theta = model.space, derivatives.theta
        if space.is_flat or not self.intrinsic:
            return np.zeros(derivatives.jacobian.shape[:-1])
        drift = space.acceleration_trace(self.covariance(model, theta), theta)
        return np.einsum("npd,nd->np", derivatives.jacobian, space.flatten(drift))

    def cometric(self, model, derivatives):
        """The diffusion of the coordinates, ``J_c C J_c^T``, shape ``(n, m, m)``."""
        jac = derivatives.jacobian
        return jac @ self.covariance(model, derivatives.theta) @ _transpose(jac)

    def cometric_divergence(self, model, derivatives):
        """``sum_k d/dV_k (J_c C J_c^T)[:, k]``: the divergence of the diffusion along the slice, ``(n, m)``.

        The generic default differentiates :meth:`covariance` with autograd (reverse mode, one pass
        per entry of the ``m x m`` diffusion); numpy functions that autograd cannot trace would
        silently count as constant, so write the covariance with ``autograd.numpy``.
        """
        return _cometric_divergence(model, derivatives, self.covariance, type(self).__name__)


def _space_cometric(model, theta):
    return model.space.cometric(theta)


def _cometric_divergence(model, derivatives, covariance, owner):
    """``sum_k d/dV_k (J C J^T)[:, k]`` by autograd of ``covariance(model, theta)``, shape ``(n, m)``."""
    theta, jac, space = derivatives.theta, derivatives.jacobian, model.space
    m = jac.shape[-2]
    product = derivatives.along_tangents(derivatives.hessians) @ (
        covariance(model, theta) @ _transpose(jac))[:, None]
    divergence = np.einsum("nkpk->np", product + _transpose(product))

    # d/dV_k of J C(theta) J^T with J held fixed: the gradient of entry (p, k), dotted with V_k
    def diffusion(point):
        value = anp.matmul(jac, anp.matmul(covariance(model, space.unflatten(point)), _transpose(jac)))
        return anp.reshape(value, anp.shape(value)[:-2] + (m * m,))

    try:
        gradients = jacobian(diffusion, space.flatten(theta)).reshape(jac.shape[:-2] + (m, m, -1))
    except TypeError as error:
        raise TypeError(
            f"{owner}.covariance is not traceable by autograd ({error}); write it "
            "with autograd.numpy, or override NoiseModel.cometric_divergence") from None
    return divergence + np.einsum("npkd,ndk->np", gradients, derivatives.tangents)


class Isotropic(NoiseModel):
    """``C = I`` (``C = g^{-1}`` on a curved space): Langevin noise, identical in every direction."""

    name = "isotropic"
    additive = True
    isotropic = True
    standard_increment = True

    def covariance(self, model, theta):
        """The identity (the cometric ``K`` on a curved space), shape ``(n, D, D)``."""
        return model.space.cometric(theta)

    def increment(self, model, theta, pullback, rng):
        """Unit-covariance Gaussian directions, shape ``(N, D)``."""
        return standard_normal(rng, theta.shape)

    def tangent_increment(self, model, theta, pullback, rng):
        """Gaussian tangent vectors orthonormal in ``g`` (the space's ``random_normal_tangent``)."""
        return model.space.random_normal_tangent(theta, rng)

    def curvature_drift(self, model, derivatives):
        """``J_c a(K)``, with the space's closed-form Brownian drift ``a(K)`` (``laplacian_drift``)."""
        space, theta = model.space, derivatives.theta
        if space.is_flat or not self.intrinsic:
            return np.zeros(derivatives.jacobian.shape[:-1])
        return np.einsum("npd,nd->np", derivatives.jacobian,
                         space.flatten(space.laplacian_drift(theta)))

    def trace_hessian(self, model, derivatives):
        """``tr(C H_p) = tr H_p`` on flat space (the generic default otherwise), shape ``(n, m)``."""
        if not model.space.is_flat:
            return super().trace_hessian(model, derivatives)
        return derivatives.second.trace()

    def cometric(self, model, derivatives):
        """``J_c J_c^T`` on flat space (``J_c K J_c^T`` otherwise), shape ``(n, m, m)``."""
        jac = derivatives.jacobian
        if not model.space.is_flat:
            return jac @ model.space.cometric(derivatives.theta) @ _transpose(jac)
        return jac @ _transpose(jac)

    def cometric_divergence(self, model, derivatives):
        """``sum_k [dJ_k J^T + J dJ_k^T][:, k]`` with ``dJ_k = H V_k`` on flat space, shape ``(n, m)``.

        That is ``sum_k V_k^T H_p J_k + J_p . sum_k H_k V_k``: two contractions of the Hessians. On a
        curved space ``K`` varies too: autograd of the space's cometric (horizontal noise has the same
        diffusion ``J K J^T``, since ``J Xi^T = 0``).
        """
        if not model.space.is_flat:
            return _cometric_divergence(model, derivatives, _space_cometric, type(self).__name__)
        jac, rows, second = derivatives.jacobian, derivatives.tangent_rows, derivatives.second
        return second.forms(rows, jac) + np.einsum("npd,nd->np", jac, second.contract(rows))


class Horizontal(Isotropic):
    """``C = P_H``: noise orthogonal to the orbits (``g``-orthogonal: ``C = K - Xi^T Gram^{-1} Xi``).

    Since ``J P_V = 0`` everywhere, ``J P_H J^T = J J^T``: only the Itô drift differs from isotropic
    noise, by ``-tr(P_V H_p)``.
    """

    name = "horizontal"
    additive = False
    isotropic = False
    horizontal = True
    standard_increment = False

    def covariance(self, model, theta):
        """``K - Xi^T Gram^{-1} Xi`` (``K = I`` on flat space), shape ``(n, D, D)``."""
        space = model.space
        if space.is_flat:
            xi = model.action.generators(theta)
            inverse = np.linalg.pinv(xi @ _transpose(xi), hermitian=True)
            return np.eye(theta.shape[-1]) - _transpose(xi) @ inverse @ xi
        xi = space.flatten_batch(model.action.generators(theta))
        inverse = np.linalg.pinv(model.bundle.gram(theta), hermitian=True)
        return space.cometric(theta) - _transpose(xi) @ inverse @ xi

    def increment(self, model, theta, pullback, rng):
        """``P_H xi``, shape ``(N, D)``, by the action's vertical projection."""
        normal = standard_normal(rng, theta.shape)
        normal -= model.action.vertical_projection(normal, theta)
        return normal

    def tangent_increment(self, model, theta, pullback, rng):
        """``P_H xi_g``: ``g``-orthonormal tangent noise without its ``g``-vertical part."""
        normal = model.space.random_normal_tangent(theta, rng)
        return normal - model.bundle._metric_vertical(normal, theta)

    def curvature_drift(self, model, derivatives):
        """The generic ``J_c a(C)`` (the closed form of isotropic noise does not apply)."""
        return NoiseModel.curvature_drift(self, model, derivatives)

    def trace_hessian(self, model, derivatives):
        """``tr(P_H H_p) = tr H_p - sum_ab Gram^+_ab xi_b^T H_p xi_a``, shape ``(n, m)``."""
        if not model.space.is_flat:
            return NoiseModel.trace_hessian(self, model, derivatives)
        xi = model.action.generators(derivatives.theta)
        inverse = np.linalg.pinv(xi @ _transpose(xi), hermitian=True)
        second = derivatives.second
        return second.trace() - second.forms(inverse @ xi, xi)


class Label(NoiseModel):
    """``C = J^T J``: noise along predictor gradients, ``J^T xi'`` with ``xi'`` of shape ``(N, P)``."""

    name = "label"
    horizontal = True

    def covariance(self, model, theta):
        """``J_beta^T J_beta`` (``K J_beta^T J_beta K`` with a metric), shape ``(n, D, D)``."""
        if model.space.is_flat:
            jac = model.predictor_jacobian(theta)
            return _transpose(jac) @ jac
        # by autograd (traceable: the Itô route differentiates this covariance along the slice)
        jac = jacobian(model.flat_predictor, model.space.flatten(theta))
        raised = anp.matmul(jac, model.space.cometric(theta))  # rows: Riemannian gradients of phi
        return anp.matmul(_transpose(raised), raised)

    def increment(self, model, theta, pullback, rng):
        """``J^T xi'`` by one reverse-mode pass through the predictor, shape ``(N, D)``."""
        shape = theta.shape[:-1] + model.beta_shape
        return pullback(rng.standard_normal(shape))

    def tangent_increment(self, model, theta, pullback, rng):
        """``K J^T xi'``: the Riemannian gradient of ``<xi', phi>``."""
        shape = model.space.batch_shape(theta) + model.beta_shape
        return model.space.raise_index(pullback(rng.standard_normal(shape)), theta)

    def trace_hessian(self, model, derivatives):
        """``tr(J_beta^T J_beta H_p) = sum_q J_beta,q^T H_p J_beta,q``, shape ``(n, m)``."""
        if not model.space.is_flat:
            return super().trace_hessian(model, derivatives)
        beta_jac = derivatives.beta_jacobian
        return derivatives.second.forms(beta_jac, beta_jac)

    def cometric(self, model, derivatives):
        """``A A^T`` with ``A = J_c J_beta^T``, shape ``(n, m, m)``."""
        if not model.space.is_flat:
            return super().cometric(model, derivatives)
        cross = derivatives.jacobian @ _transpose(derivatives.beta_jacobian)
        return cross @ _transpose(cross)

    def cometric_divergence(self, model, derivatives):
        """``sum_k [dA_k A^T + A dA_k^T][:, k]``, ``dA_k = dJ_c,k J_beta^T + J_c dJ_beta,k^T``; ``(n, m)``.

        With ``A = J_c J_beta^T``, ``H`` the coordinates' and ``G`` the predictor's Hessians, ``V_k``
        the tangents, ``w = sum_k H_k V_k`` and ``U_q = sum_k A_kq V_k``, it is
        ``sum_k V_k^T H_p (A J_beta)_k + J_p . sum_q G_q U_q
        + sum_q A_pq (J_beta,q . w + sum_k V_k^T G_q J_k)``: contractions only.
        """
        if not model.space.is_flat:
            return super().cometric_divergence(model, derivatives)
        jac, beta_jac, rows = derivatives.jacobian, derivatives.beta_jacobian, derivatives.tangent_rows
        second, beta_second = derivatives.second, derivatives.beta_second
        cross = jac @ _transpose(beta_jac)  # (n, m, P)
        first = (second.forms(rows, cross @ beta_jac)
                 + np.einsum("npd,nd->np", jac, beta_second.contract(_transpose(cross) @ rows)))
        inner = (np.einsum("nqd,nd->nq", beta_jac, second.contract(rows))
                 + beta_second.forms(rows, jac))
        return first + np.einsum("npq,nq->np", cross, inner)


class Preconditioned(Isotropic):
    """``C = g^{-1}`` in the coordinates of ``R^D``, without the Itô drift: adaptive optimisers' noise.

    ``d theta = -g^{-1} grad U dt + sqrt(2 T g^{-1}) dW``. With the identity metric it is isotropic noise;
    with a metric its stationary law differs from Riemannian Langevin's ``exp(-U/T) dvol_g`` (the Itô
    route predicts it). Defined for spaces whose points are coordinates (``space.is_chart``).
    """

    name = "preconditioned"
    additive = False
    isotropic = False
    intrinsic = False


#: name -> noise model class
NOISE_MODELS = {cls.name: cls for cls in (Isotropic, Horizontal, Label, Preconditioned)}


def get_noise(noise):
    """The noise model called ``noise``, or ``noise`` itself if it is a :class:`NoiseModel`.

    Raises
    ------
    ValueError
        For an unknown name or another object; the message lists the valid names.

    Examples
    --------
    >>> from quotientlearn import dynamics
    >>> dynamics.get_noise("horizontal")
    Horizontal()
    >>> sorted(dynamics.NOISE_MODELS)
    ['horizontal', 'isotropic', 'label', 'preconditioned']
    """
    if isinstance(noise, NoiseModel):
        return noise
    if not isinstance(noise, str) or noise not in NOISE_MODELS:
        raise ValueError(f"unknown noise {noise!r}; valid noise models: {', '.join(NOISE_MODELS)}, "
                         "or a quotientlearn.dynamics.NoiseModel instance")
    return NOISE_MODELS[noise]()
