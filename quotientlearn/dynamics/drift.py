"""Drifts: the deterministic part of a step, ``-grad U`` of a potential or of a minibatch loss.

A :class:`Drift` draws the step's randomness (a minibatch; nothing for a fixed potential) and returns
the drift with the predictor pull-back that label noise reuses. :class:`Potential` is the
drift of :func:`~quotientlearn.simulate`; :mod:`quotientlearn.sgd` adapts its objectives to the same
protocol, so both run on one engine.
"""

from __future__ import annotations

import warnings

import numpy as np
from autograd import make_vjp

from quotientlearn.dynamics.loss import as_loss

__all__ = ["Drift", "Potential", "check_traceable"]


class Drift:
    """The deterministic part of a step, ``-grad U``, given the step's random draw.

    Subclasses implement :meth:`evaluate`; :meth:`sample` draws what one step shares between its
    evaluations (the stochastic Heun scheme evaluates the drift twice with the same draw).

    Attributes
    ----------
    independent_rows : bool
        Each particle's drift depends on its own row only and :meth:`sample` draws nothing, so the
        engine may step the particles chunk by chunk (faster, same results).

    Examples
    --------
    ``Potential`` is the drift of ``simulate``:

    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Hadamard(dim=1)
    >>> drift = ql.dynamics.Potential(model, lambda beta: 0.5 * (beta[..., 0] - 1.0) ** 2)
    >>> isinstance(drift, ql.dynamics.Drift)
    True
    >>> value, minus_gradient, _ = drift.value_and_drift(np.array([[2.0, 1.0]]))
    >>> minus_gradient  # -(beta - 1) (v, u) at beta = 2
    array([[-1., -2.]])
    """

    independent_rows = False

    def sample(self, rng):
        """The step's random draw (e.g. a minibatch), or ``None`` for a deterministic drift."""
        return None

    def evaluate(self, theta, batch):
        """The drift and the predictor pull-back at ``theta``.

        Parameters
        ----------
        theta : ndarray, shape (N, D)
        batch : object
            What :meth:`sample` returned.

        Returns
        -------
        drift : ndarray, shape (N, D)
            ``-grad U``, a new array: the schemes update it in place.
        pullback : callable or None
            ``w (N, *beta_shape) -> J^T w`` at ``theta`` (label noise uses it), if there is a predictor.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement Drift.evaluate(theta, batch)")

    def evaluate_scaled(self, theta, batch, factor):
        """``factor`` times the drift, and the pull-back (the Euler step asks for ``dt b``).

        The default is :meth:`evaluate` and one multiplication of the ``(N, D)`` drift; a drift may
        fold ``factor`` into a smaller array (:class:`Potential` scales the predictor's cotangent).

        Parameters
        ----------
        theta : ndarray, shape (N, D)
        batch : object
            What :meth:`sample` returned.
        factor : float

        Returns
        -------
        scaled_drift : ndarray, shape (N, D)
            A new array.
        pullback : callable or None
        """
        drift, pullback = self.evaluate(theta, batch)
        drift *= factor
        return drift, pullback

    def fused_euler_step(self, constraint, dt, scale, bound, rng):
        """A compiled Euler–Maruyama chunk step with standard normal increments, or ``None`` (default).

        See :meth:`~quotientlearn.dynamics.Scheme.fused_step`, which asks for it when the compiled
        switch is on; a drift offers one only where its results are the numpy path's bit for bit.
        """
        return None


def check_traceable(fn, point, what="the loss"):
    """Raise a ``TypeError`` saying how to fix it when autograd cannot differentiate ``fn`` at ``point``.

    Some numpy functions work on autograd's tracer; others fail with an ``ArrayBox`` (or object
    dtype) error, or silently return a constant (``np.einsum``, ``np.dot``, ``np.where``,
    ``np.clip``: autograd then warns that the output is independent of the input and every gradient
    is zero). Both failures mean that ``fn`` was written with plain numpy.
    """
    advice = (f"{what} cannot be differentiated by autograd: write it with autograd.numpy "
              "(import autograd.numpy as anp; anp.sum(...)) instead of numpy")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            make_vjp(fn)(point)
        except (TypeError, ValueError, AttributeError) as error:
            if "ArrayBox" in str(error) or "dtype('O')" in str(error):
                raise TypeError(f"{advice} (autograd: {error})") from error
            raise
    if any("independent of input" in str(warning.message) for warning in caught):
        raise TypeError(advice + " (a constant belongs in it as 0 * anp.sum(beta, axis=-1) + c)")


class Potential(Drift):
    """``U = L(phi(theta)) + lam |theta|^2 / 2 + kappa |chi|^2 / 2`` and its gradient.

    The loss gradient is the loss's gradient (given in closed form by a
    :class:`~quotientlearn.dynamics.loss.Loss`, or one reverse-mode pass through an ``autograd.numpy``
    loss) and one pull-back through the predictor (``J^T g`` without forming ``J``:
    :meth:`~quotientlearn.models.Model.predictor_and_pullback`, in closed form for the zoo); the same
    pull-back serves label noise.

    Parameters
    ----------
    model : Model
    loss : callable or Loss
        ``loss(beta) -> (N,)`` written with ``autograd.numpy``, or a
        :class:`~quotientlearn.dynamics.loss.Loss` with its gradient.
    weight_decay : float
        ``lam``.
    gauge_penalty : float
        ``kappa``, the strength of the soft gauge penalty on the gauge function ``chi``.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> model = ql.models.Hadamard(dim=1)
    >>> potential = ql.dynamics.Potential(model, lambda beta: 0.5 * (beta[..., 0] - 1.0) ** 2)
    >>> potential.value(np.array([[2.0, 1.0]]))  # L(u v) at u v = 2
    array([0.5])
    """

    independent_rows = True

    def __init__(self, model, loss, weight_decay=0.0, gauge_penalty=0.0):
        self.model, self.loss = model, as_loss(loss)
        self.weight_decay, self.gauge_penalty = float(weight_decay), float(gauge_penalty)

    def value(self, theta):
        """``U(theta)``, shape ``(N,)``, by plain evaluation (no derivatives: any numpy loss works)."""
        value = np.asarray(self.loss(self.model.predictor(theta)), dtype=float)
        if self.weight_decay:
            value = value + 0.5 * self.weight_decay * np.sum(theta**2, axis=-1)
        if self.gauge_penalty:
            value = value + 0.5 * self.gauge_penalty * np.sum(self.model.gauge.chi(theta) ** 2, axis=-1)
        return value

    def value_and_drift(self, theta):
        """Loss values ``(N,)``, the drift ``-grad U`` ``(N, D)`` and the pull-back ``w -> J^T w``."""
        beta = self.model.traceable_predictor(theta)
        return np.asarray(self.loss(beta), dtype=float), *self.evaluate(theta)

    def evaluate(self, theta, batch=None):
        """The drift ``-grad U`` ``(N, D)`` and the predictor pull-back."""
        return self._scaled_drift(theta, 1.0)

    def evaluate_scaled(self, theta, batch, factor):
        """``-factor grad U`` ``(N, D)`` and the predictor pull-back.

        ``factor`` (and the sign) scale the loss's cotangent ``(N, *beta_shape)`` before the pull-back
        and the coefficients of the other terms, so no pass over ``(N, D)`` is spent on them; at
        ``factor = 1`` this is :meth:`evaluate` bit for bit.
        """
        return self._scaled_drift(theta, factor)

    def _scaled_drift(self, theta, factor):
        beta, pullback = self.model.predictor_and_pullback(theta)
        drift = pullback(-factor * self.loss.gradient(beta))
        if self.weight_decay:
            drift -= (factor * self.weight_decay) * theta
        if self.gauge_penalty:
            gauge = self.model.gauge
            penalty = np.einsum("...c,...cd->...d", gauge.chi(theta), gauge.chi_jacobian(theta))
            drift = drift - (factor * self.gauge_penalty) * np.reshape(penalty, np.shape(theta))
        return drift, pullback

    def fused_euler_step(self, constraint, dt, scale, bound, rng):
        """The model's compiled step for this loss (:meth:`~quotientlearn.models.Model.fused_euler_step`).

        Only for ``U = L(phi(theta))``: without weight decay and gauge penalty (not fused), else ``None``.
        """
        if self.weight_decay or self.gauge_penalty:
            return None
        return self.model.fused_euler_step(self.loss, constraint, dt, scale, bound, rng)

    def checked_values(self, theta):
        """Loss values ``(N,)`` at ``theta`` after checking that autograd can differentiate the loss.

        Raises
        ------
        TypeError
            When the loss is not written with ``autograd.numpy``.
        """
        beta = self.model.traceable_predictor(theta)
        if self.loss.traced:
            check_traceable(self.loss.value, beta)
        else:
            gradient = np.shape(self.loss.gradient(beta))
            if gradient != np.shape(beta):
                raise ValueError(f"the loss gradient must have the shape of beta, {np.shape(beta)}; "
                                 f"got {gradient}")
        return np.asarray(self.loss(beta))
