"""The model: a predictor map, the group action that leaves it invariant, and a gauge slice.

A model composes a parameter space (the flat :class:`~quotientlearn.spaces.ParameterSpace`, or any
:class:`~quotientlearn.spaces.Space` made from a geomstats manifold), a
:class:`~quotientlearn.groups.GroupAction`, a :class:`~quotientlearn.gauge.Gauge` and a
:class:`~quotientlearn.bundle.SymmetryBundle`. Subclasses implement the hook
:meth:`Model.traceable_predictor` (with ``autograd.numpy``, no validation) and, where they can,
``balanced``; everything else has a generic default that the zoo overrides with closed forms:

- :meth:`Model.predictor` validates ``theta`` and calls the hook;
- :meth:`Model.predictor_and_pullback` (the value and ``w -> J^T w``, used by every step of the
  dynamics) defaults to autograd's reverse mode;
- :meth:`Model.predictor_jacobian` defaults to autograd (forward or reverse mode, the cheaper).
"""

from __future__ import annotations

import math

import autograd.numpy as anp
from autograd import make_vjp

from quotientlearn.bundle import SymmetryBundle
from quotientlearn.gauge import Gauge
from quotientlearn.numerics import AutogradHessians, jacobian, slice_tangents
from quotientlearn.spaces import as_batch
from quotientlearn.validation import integer

__all__ = ["Model"]


class Model:
    """A parameterisation ``beta = phi(theta)`` with a continuous symmetry.

    Points ``theta`` have the space's shape ``space.shape``: ``(D,)`` on the flat space of the zoo, the
    manifold's own geomstats shape otherwise.

    Parameters
    ----------
    space : Space
        A :class:`~quotientlearn.spaces.ParameterSpace` or any parameter space from
        :func:`quotientlearn.spaces.as_space`.
    action : GroupAction
        Must leave the predictor invariant and act on points of ``space.shape``.
    beta_shape : tuple of int
        Shape of one predictor value.
    gauge : Gauge, optional
        Defaults to the balanced (moment-map) gauge of ``action``; a gauge without a space is bound to
        ``space``.
    predictor_rank : int, optional
        Rank of ``dphi`` at generic points: the dimension of the predictor manifold. Defaults to
        ``dim - k`` (``space.dim`` the dimension of the manifold), right when the group is the whole
        fibre.
    bundle : callable, optional
        ``bundle(model) -> SymmetryBundle``: a bundle whose submersion is not the predictor (see
        :class:`~quotientlearn.bundle.SymmetryBundle`). Default: ``SymmetryBundle(model)``.

    Examples
    --------
    A model subclass names its blocks, passes its action, and implements ``traceable_predictor``
    (``tutorials/06_own_model.py`` writes one in full):

    >>> import autograd.numpy as anp
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> class Product(ql.models.Model):
    ...     def __init__(self):
    ...         super().__init__(ql.ParameterSpace({"x": (2,)}),
    ...                          ql.groups.TorusRescaling(np.array([[1.0, -1.0]])), beta_shape=(1,))
    ...     def traceable_predictor(self, theta):
    ...         return theta[..., :1] * theta[..., 1:]
    >>> model = Product()
    >>> model.predictor(np.array([2.0, 3.0]))
    array([6.])
    >>> ql.testing.check_model(model).passed
    True
    """

    def __init__(self, space, action, beta_shape, gauge=None, predictor_rank=None, bundle=None):
        if tuple(action.shape) != tuple(space.shape):
            raise ValueError(f"the action acts on points of shape {action.shape} but the parameter "
                             f"space {space.name()} has points of shape {space.shape}")
        self.space = space
        self.action = action
        self.beta_shape = tuple(int(s) for s in beta_shape)
        if gauge is not None and not isinstance(gauge, Gauge):
            raise TypeError(f"gauge must be a Gauge or None; got {type(gauge).__name__}")
        self.gauge = gauge if gauge is not None else Gauge(action, space=space)
        if self.gauge.space is None:
            self.gauge.space = space
        elif self.gauge.space is not space:
            raise ValueError("the gauge was built for another parameter space than the model's")
        self.bundle = SymmetryBundle(self) if bundle is None else bundle(self)
        # geomstats' quotient structure: the space's fibre bundle is the model's bundle
        space.fiber_bundle = self.bundle
        space.group_action = action
        self.predictor_rank = (max(space.dim - action.dim, 0) if predictor_rank is None
                               else integer(predictor_rank, "predictor_rank", minimum=0,
                                            maximum=space.dim))

    def __repr__(self):
        return f"{type(self).__name__}(D={self.dim}, k={self.action.dim}, beta_shape={self.beta_shape})"

    @property
    def dim(self):
        """``D``, the number of entries of one point (``prod(space.shape)``).

        The dimension of a curved parameter manifold is ``space.dim``.
        """
        return self.space.point_size

    @property
    def beta_size(self):
        """Number of predictor entries, ``prod(beta_shape)``."""
        return math.prod(self.beta_shape)

    # ---------------------------------------------------------------------------- predictor
    def predictor(self, theta):
        """The predictor map, after checking ``theta``.

        Parameters
        ----------
        theta : array_like, shape (..., *space.shape)

        Returns
        -------
        beta : ndarray, shape (..., *beta_shape)

        Raises
        ------
        ValueError
            For a wrong shape, non-finite entries or a point off the manifold (beyond ``space.atol``).
        """
        return self.traceable_predictor(self.space.validate(theta))

    def traceable_predictor(self, theta):
        """The predictor map without validation: the hook a subclass implements.

        Written with ``autograd.numpy`` so that autograd can differentiate it, and broadcasting over
        leading axes. Hot loops and derivatives call it directly; users call :meth:`predictor`.

        Parameters
        ----------
        theta : ndarray or autograd box, shape (..., *space.shape)

        Returns
        -------
        beta : ndarray or autograd box, shape (..., *beta_shape)
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement Model.traceable_predictor(theta) with autograd.numpy")

    def predictor_and_pullback(self, theta):
        """The predictor and its pull-back ``w -> J^T w`` (``J = dphi``) in one pass.

        The generic default is autograd's reverse mode; the zoo overrides it in closed form (the
        dynamics call it at every step). No validation: ``theta`` comes from the hot loop.

        Parameters
        ----------
        theta : ndarray, shape (..., *space.shape)

        Returns
        -------
        beta : ndarray, shape (..., *beta_shape)
        pullback : callable
            ``cotangent (..., *beta_shape) -> (..., *space.shape)``: the Euclidean gradient of
            ``<cotangent, phi>``, each row at its own point.
        """
        pullback, beta = make_vjp(self.traceable_predictor)(theta)
        return beta, pullback

    def fused_euler_step(self, loss, constraint, dt, scale, bound, rng):
        """A compiled Euler chunk step for the potential ``L(phi(theta))``, or ``None`` (the default).

        Asked for by :meth:`~quotientlearn.dynamics.Potential.fused_euler_step` when the compiled switch
        is on; a model offers one only where it reproduces the numpy path bit for bit (the zoo's
        :class:`~quotientlearn.models.ProductFamily`). See
        :meth:`~quotientlearn.dynamics.Scheme.fused_step` for the arguments and what it returns.
        """
        return None

    def predictor_jacobian(self, theta):
        """``dphi`` by autograd on the flattened entries, shape ``(..., beta_size, D)``.

        Forward mode (one pass per entry of ``theta``), or reverse mode when the predictor has fewer
        entries (one pass per entry of ``beta``; also the mode of primitives without a forward rule,
        such as ``eigh``).
        """
        theta = self.space.validate(theta)
        mode = "reverse" if self.beta_size < self.dim else "forward"
        return jacobian(self.flat_predictor, self.space.flatten(theta), mode=mode)

    def flat_predictor(self, flat_theta):
        """The predictor of flattened points, ``(..., D) -> (..., beta_size)``, traceable by autograd."""
        theta = self.space.unflatten(flat_theta)
        return anp.reshape(self.traceable_predictor(theta), anp.shape(flat_theta)[:-1] + (self.beta_size,))

    def predictor_hessians(self, theta):
        """Hessians of the flattened predictor at ``theta`` (N, D), as contractions.

        The generic default differentiates with autograd over replicated rows
        (:class:`~quotientlearn.numerics.AutogradHessians`), never forming the dense ``(N, P, D, D)``
        array; the zoo overrides it in closed form. The Itô route calls it.

        Parameters
        ----------
        theta : ndarray, shape (N, D)

        Returns
        -------
        hessians : quotientlearn.numerics.Hessians
        """
        return AutogradHessians(self.flat_predictor, self.space.flatten(self.space.validate(theta)))

    def slice_tangents(self, theta):
        """Tangents of the slice in predictor coordinates: ``dphi V = I`` and ``J_chi V = 0``.

        At slice points, ``V`` is the derivative of ``balanced`` (the minimum-norm solution where a
        residual symmetry leaves the slice tangents undetermined). The generic default solves with the
        Gram of ``[dphi; J_chi]``; the zoo overrides it in closed form.

        Parameters
        ----------
        theta : ndarray, shape (N, D)
            Slice points.

        Returns
        -------
        tangents : ndarray, shape (N, D, beta_size)
        """
        return slice_tangents(self.predictor_jacobian(theta), self.gauge.chi_jacobian(theta))

    def validate_beta(self, beta):
        """Return ``beta`` as float64 after checking its shape ``(..., *beta_shape)``."""
        return as_batch(beta, self.beta_shape, "beta")

    # ------------------------------------------------------------------------ slice and bias
    def balanced(self, beta):
        """The balanced slice point with predictor ``beta``.

        Parameters
        ----------
        beta : array_like, shape (..., *beta_shape)

        Returns
        -------
        theta : ndarray, shape (..., D)
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no closed-form balanced(beta); project a preimage with "
            "model.gauge.project(theta) instead"
        )

    def log_det_gram_on_slice(self, beta):
        """``log det G_C`` at ``balanced(beta)``, shape ``(...,)``; the zoo overrides with closed forms."""
        return self.gauge.log_det_constraint_gram(self.balanced(beta))

    def sample(self, size=(), rng=None):
        """Random parameters for checks and initialisation, shape ``(*size, *space.shape)``."""
        return self.space.sample(size, rng)
