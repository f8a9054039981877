"""The fused compiled Euler step of the zoo's hot loop (numba: ``pip install 'quotientlearn[fast]'``).

With :data:`quotientlearn.numerics.COMPILED_DRAWS` on, the Euler–Maruyama step of a product model
``beta = A (u * v)`` (:class:`~quotientlearn.models.ProductFamily`) under isotropic noise, projected
onto the balanced slice ``|u_i| = |v_i|``, runs as one compiled pass over each chunk of particles
(:class:`ProductEulerStep`) instead of about twenty numpy passes. numpy still evaluates the user-facing
part (the predictor, the loss gradient and ``A^T g``); the kernel draws the normals, takes the step,
checks the divergence bound and balances the pairs, with the same IEEE operations in the same order as
the numpy path (no ``fastmath``: no reassociation, no fused multiply-add), and numba's ``Generator``
draws numpy's numbers (:func:`~quotientlearn.numerics.standard_normal`). Results are therefore the
numpy path's bit for bit (tests/dynamics/test_compiled.py). Whatever the kernel cannot vouch for (a
coordinate out of the bound, a ratio ``|v_i / u_i|`` outside the normal numbers, where the numpy
balance takes its scale-safe route) it hands back unprojected, and the engine continues exactly as
the numpy path would.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ProductEulerStep", "product_euler_kernel"]

#: Smallest positive normal float64: the pair balance's closed form needs every ratio at least this.
_TINY = float(np.finfo(float).tiny)

_KERNEL = []  # the compiled kernel, once built


def product_euler_kernel():
    """The compiled chunk kernel (built, or loaded from numba's cache, on the first call).

    Returns
    -------
    kernel : callable
        ``kernel(theta (n, 2d), coefficients (n, d), out (n, 2d), stepped (n, 2d), normals (2d,), rng,
        scale, bound, balance) -> bool``: ``True`` when ``out`` holds the stepped (and, if ``balance``,
        balanced) particles and both divergence checks passed; ``False`` when ``out`` holds the
        stepped, unbalanced particles (``stepped`` and ``normals`` are scratch space).

    Raises
    ------
    ImportError
        When numba is not installed.
    """
    if not _KERNEL:
        try:
            import numba
        except ImportError as error:
            raise ImportError("the fused compiled step (QUOTIENTLEARN_NUMBA=1, quotientlearn.numerics."
                              "COMPILED_DRAWS) needs numba: pip install 'quotientlearn[fast]'") from error

        # error_model="numpy": a division by zero gives inf or NaN, as numpy's (no exception, and no
        # branch in the loops); no fastmath: the IEEE operations in the order written
        @numba.njit(cache=True, error_model="numpy")
        def kernel(theta, coefficients, out, stepped, normals, rng, scale, bound, balance):
            rows, width = coefficients.shape
            # Balancing needs the stepped values kept until every row has passed (the numpy path
            # balances the chunk only after checking all of it): they go to `stepped` first.
            target = stepped if balance else out
            within, fast = True, True
            if width == 1:  # one pair a row: a loop over rows alone (inner loops of one cost ~10 ns a row)
                for i in range(rows):
                    c, u, v = coefficients[i, 0], theta[i, 0], theta[i, 1]
                    if scale != 0.0:
                        z = rng.standard_normal()
                        new_u = (z * scale + c * v) + u
                        z = rng.standard_normal()
                        new_v = (z * scale + c * u) + v
                    else:
                        new_u, new_v = c * v + u, c * u + v
                    target[i, 0], target[i, 1] = new_u, new_v
                    within &= (new_u <= bound) & (new_u >= -bound) & (new_v <= bound) & (new_v >= -bound)
                    if balance:  # the arithmetic of the rows below
                        ratio = abs(new_v / new_u)
                        root = np.sqrt(ratio)
                        up, down = new_u * root, new_v / root
                        fast &= ((ratio >= _TINY) & (ratio < np.inf) & (up <= bound) & (up >= -bound)
                                 & (down <= bound) & (down >= -bound))
                        out[i, 0], out[i, 1] = up, down
            else:
                for i in range(rows):
                    # numpy's draw order (row by row, the u half then the v half) into a row buffer, so
                    # that the arithmetic below runs in loops free of calls (vectorised by LLVM)
                    if scale != 0.0:
                        for j in range(2 * width):
                            normals[j] = rng.standard_normal()
                        # EulerMaruyama.step's in-place updates: ((z * scale) + c * v) + u, (.. c * u) + v
                        for j in range(width):
                            target[i, j] = ((normals[j] * scale + coefficients[i, j] * theta[i, width + j])
                                            + theta[i, j])
                        for j in range(width):
                            target[i, width + j] = ((normals[width + j] * scale
                                                     + coefficients[i, j] * theta[i, j])
                                                    + theta[i, width + j])
                    else:
                        for j in range(width):
                            target[i, j] = coefficients[i, j] * theta[i, width + j] + theta[i, j]
                        for j in range(width):
                            target[i, width + j] = coefficients[i, j] * theta[i, j] + theta[i, width + j]
                    for j in range(2 * width):  # the engine's bound check (NaN fails: comparisons are False)
                        value = target[i, j]
                        within &= (value <= bound) & (value >= -bound)
                    if not balance:
                        continue
                    # PairRescaling._balance_pairs: r = |v / u|, then u sqrt(r) and v / sqrt(r), valid where
                    # every ratio is a positive normal number (else numpy takes the scale-safe route);
                    # rows after a failure are balanced too (discarded below): no branch in the loop
                    for j in range(width):
                        up, down = target[i, j], target[i, width + j]
                        ratio = abs(down / up)
                        root = np.sqrt(ratio)
                        up, down = up * root, down / root
                        fast &= ((ratio >= _TINY) & (ratio < np.inf) & (up <= bound) & (up >= -bound)
                                 & (down <= bound) & (down >= -bound))
                        out[i, j], out[i, width + j] = up, down
            if balance and not (within and fast):
                out[:, :] = stepped
            return within and fast

        _KERNEL.append(kernel)
    return _KERNEL[0]


class ProductEulerStep:
    """One Euler–Maruyama step of a chunk of product-model particles, fused and compiled.

    ``theta = (u, v)`` with ``beta = A (u * v)``; the step is
    ``(u, v) + (c * v, c * u) + scale * z`` with ``c = A^T (-dt grad L(beta))`` and ``z`` standard
    normal, then (``balance``) every pair ``(u_i, v_i)`` is balanced to ``|u_i| = |v_i|`` as
    :class:`~quotientlearn.groups.PairRescaling` does. The results, the draws and the generator's state
    are those of :meth:`~quotientlearn.dynamics.EulerMaruyama.step` followed by the gauge projection,
    bit for bit.

    Parameters
    ----------
    model : ProductFamily
        Gives ``from_coefficients`` (``A w``) and ``pullback_coefficients`` (``A^T g``), in numpy.
    loss : Loss
        Its ``gradient`` is evaluated by numpy (a given gradient, or autograd's).
    dt, scale : float
        The step size and ``sqrt(2 T dt)`` (0: nothing drawn).
    bound : float
        The engine's divergence bound.
    rng : numpy.random.Generator
    balance : bool
        Whether to balance the pairs (the gauge projection) after the step.

    Raises
    ------
    ImportError
        When numba is not installed.
    """

    def __init__(self, model, loss, dt, scale, bound, rng, balance):
        self._kernel = product_euler_kernel()
        self.model, self.loss, self.rng, self.balance = model, loss, rng, bool(balance)
        self.dt, self.scale, self.bound = float(dt), float(scale), float(bound)
        self._scratch = np.empty((0, 2 * model.width))
        self._normals = np.empty(2 * model.width)

    def __call__(self, theta, out):
        """Step ``theta`` ``(n, 2d)`` into ``out`` ``(n, 2d)``.

        Returns
        -------
        done : bool
            ``True``: ``out`` holds the stepped and balanced particles, all within the bound.
            ``False``: ``out`` holds the stepped particles, unbalanced; some coordinate left the bound
            or some pair needs the balance's scale-safe route (the caller continues as the numpy path
            does).
        """
        model = self.model
        beta = model.traceable_predictor(theta)  # A (u * v), as the numpy step computes it
        coefficients = model.pullback_coefficients(-self.dt * self.loss.gradient(beta))
        if np.shape(coefficients) != beta.shape:  # a gradient that broadcasts, as the pull-back allows
            coefficients = np.broadcast_to(coefficients, beta.shape)
        # one compiled specialisation (writable float64, C order) whatever A^T returns (e.g. a view)
        if not (coefficients.flags.c_contiguous and coefficients.flags.writeable
                and coefficients.dtype == np.float64):
            coefficients = np.array(coefficients, dtype=np.float64, order="C")
        if self.balance and len(self._scratch) < len(theta):
            self._scratch = np.empty_like(theta)  # reused: the chunks of a run share their size
        return self._kernel(theta, coefficients, out, self._scratch[:len(theta)], self._normals, self.rng,
                            self.scale, self.bound, self.balance)
