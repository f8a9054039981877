"""Losses on predictors, with their gradients: autograd by default, or given in closed form.

Every step of :func:`~quotientlearn.simulate` needs ``grad L(beta)``. A plain callable written with
``autograd.numpy`` is differentiated by autograd, which traces the loss at every call (a fixed cost
plus several passes over ``(N, *beta_shape)``). A :class:`Loss` given its gradient skips the trace:

>>> import autograd.numpy as anp
>>> loss = Loss(lambda b: 0.5 * anp.sum((b - 1.0) ** 2, axis=-1), gradient=lambda b: b - 1.0)

:class:`Loss` is also the extension point for a loss class of one's own: subclass it and override
:meth:`Loss.value` and :meth:`Loss.gradient`.
"""

from __future__ import annotations

import numpy as np
from autograd import make_vjp

__all__ = ["Loss", "as_loss"]


class Loss:
    """A loss ``L(beta) -> (N,)`` and its gradient ``(N, *beta_shape)``.

    Parameters
    ----------
    value : callable
        ``value(beta) -> (N,)``; written with ``autograd.numpy`` unless ``gradient`` is given.
    gradient : callable, optional
        ``gradient(beta) -> (N, *beta_shape)``, the gradient of each row's loss. Without it, autograd
        differentiates ``value`` (one reverse-mode trace per call).

    Examples
    --------
    A quadratic loss with its gradient (``simulate`` then skips autograd's trace), and the same loss
    differentiated by autograd:

    >>> import autograd.numpy as anp
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> value = lambda b: 0.5 * anp.sum((b - 1.0) ** 2, axis=-1)
    >>> given = ql.Loss(value, gradient=lambda b: b - 1.0)
    >>> beta = np.array([[2.0, 0.5]])
    >>> given(beta), given.gradient(beta)
    (array([0.625]), array([[ 1. , -0.5]]))
    >>> ql.Loss(value).gradient(beta)  # autograd's
    array([[ 1. , -0.5]])
    >>> samples = ql.simulate(ql.models.Hadamard(2), given, 0.1, n_steps=10, n_particles=4, seed=0,
    ...                       progress=False)
    >>> samples.beta.shape
    (4, 2)
    """

    def __init__(self, value=None, gradient=None):
        for label, fn in (("value", value), ("gradient", gradient)):
            if fn is not None and not callable(fn):
                raise ValueError(f"the loss {label} must be a callable beta -> array; got "
                                 f"{type(fn).__name__}")
        self._value, self._gradient = value, gradient

    def __repr__(self):
        kind = "autograd gradient" if self._gradient is None else "given gradient"
        return f"{type(self).__name__}({kind})"

    def __call__(self, beta):
        """:meth:`value`."""
        return self.value(beta)

    @property
    def traced(self):
        """Whether the gradient comes from autograd (then :meth:`value` must be traceable)."""
        return self._gradient is None

    def value(self, beta):
        """The loss of every row, shape ``(N,)``."""
        if self._value is None:
            raise NotImplementedError(f"{type(self).__name__} must implement Loss.value(beta)")
        return self._value(beta)

    def gradient(self, beta):
        """``grad L`` of every row, shape ``(N, *beta_shape)``: the given gradient, or autograd's."""
        if self._gradient is not None:
            return self._gradient(beta)
        pullback, values = make_vjp(self.value)(beta)
        return pullback(np.ones_like(values))


def as_loss(loss):
    """``loss`` itself if it is a :class:`Loss`, else a :class:`Loss` differentiating the callable.

    Raises
    ------
    ValueError
        When ``loss`` is not callable.

    Examples
    --------
    >>> import numpy as np
    >>> from quotientlearn.dynamics import Loss, as_loss
    >>> loss = as_loss(lambda b: 0.5 * (b[..., 0] - 1.0) ** 2)
    >>> loss, loss.gradient(np.array([[3.0]]))
    (Loss(autograd gradient), array([[2.]]))
    >>> as_loss(loss) is loss
    True
    """
    if isinstance(loss, Loss):
        return loss
    if not callable(loss):
        raise ValueError(f"loss must be a callable beta -> (N,); got {type(loss).__name__}")
    return Loss(loss)
