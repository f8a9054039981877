"""Recovery criteria for designed parameters, and the classical reference for basis recovery.

A sparsity target fixes a basis only up to signed permutations of its rows (and, for a mixing, up to
the rows' scales), so the criteria compare rows up to those symmetries:

- :func:`signed_permutation_error`: ``max |(|B_fit B^T| - P)|`` for orthonormal rows;
- :func:`row_direction_error`: rows of any length and angle, compared as directions.

:func:`fastica_basis` is the classical method for the same recovery problem from *samples* sparse in
an orthogonal basis: scikit-learn's FastICA (an optional dependency, the ``classical`` extra).
"""

from __future__ import annotations

import numpy as np

__all__ = ["ClassicalUnavailable", "fastica_basis", "row_direction_error",
           "signed_permutation_error"]


class ClassicalUnavailable(ImportError):
    """scikit-learn, needed for the classical reference, is not installed.

    Examples
    --------
    >>> import quotientlearn as ql
    >>> issubclass(ql.design.ClassicalUnavailable, ImportError)
    True
    """


def signed_permutation_error(fitted, true):
    """``max |(|fitted true^T| - P)|`` for the nearest signed permutation ``P`` (inf if none).

    Parameters
    ----------
    fitted, true : ndarray, shape (d, d)
        Rows are basis vectors (orthonormal).

    Returns
    -------
    error : float
        ``inf`` when two fitted rows are closest to the same true row.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> basis = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))[0]
    >>> ql.design.signed_permutation_error(-basis[[2, 0, 1]], basis) < 1e-12  # same rows, reordered
    True
    >>> ql.design.signed_permutation_error(np.eye(3), basis) < 1e-6
    False
    """
    overlap = np.abs(np.asarray(fitted, dtype=float) @ np.asarray(true, dtype=float).T)
    permutation = (overlap == overlap.max(axis=1, keepdims=True)).astype(float)
    if not np.all(permutation.sum(axis=0) == 1):
        return float("inf")
    return float(np.max(np.abs(overlap - permutation)))


def row_direction_error(fitted, true):
    """``max_i (1 - |cos(fitted_i, true_pi(i))|)`` for the best-matching rows ``pi`` (inf if none).

    For a mixing ``A = M^{-1}``, whose rows are fixed only up to scale, order and sign; the rows need
    not be orthogonal.

    Parameters
    ----------
    fitted, true : ndarray, shape (d, d)

    Returns
    -------
    error : float
        ``inf`` when two fitted rows are closest to the same true row.

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> rows = np.array([[1.0, 0.0], [1.0, 1.0]])
    >>> ql.design.row_direction_error(np.array([[-2.0, -2.0], [3.0, 0.0]]), rows) < 1e-12  # scaled
    True
    """
    def unit(rows):
        rows = np.asarray(rows, dtype=float)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    cosines = np.abs(unit(fitted) @ unit(true).T)
    if len(set(np.argmax(cosines, axis=1).tolist())) != len(cosines):
        return float("inf")
    return float(np.max(1.0 - cosines.max(axis=1)))


def fastica_basis(samples, seed=None, max_iter=1000, tol=1e-10):
    """Estimate an orthogonal basis from samples sparse in it, by FastICA (scikit-learn).

    The samples are white by construction (an orthogonal basis, unit-variance coefficients), so
    FastICA runs without its own whitening and returns an orthogonal unmixing: its rows estimate the
    basis up to signed permutations, the same symmetry as the designed basis.

    Parameters
    ----------
    samples : ndarray, shape (n, d)
        ``beta = B^T c`` with independent, sparse, unit-variance coefficients ``c``.
    seed : int, optional
        FastICA's random start.
    max_iter : int
    tol : float

    Returns
    -------
    basis : ndarray, shape (d, d)
        Orthogonal; rows estimate the basis vectors.

    Raises
    ------
    ClassicalUnavailable
        When scikit-learn is not installed (``pip install "quotientlearn[classical]"``).

    Examples
    --------
    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> rng = np.random.default_rng(0)
    >>> basis = np.linalg.qr(rng.normal(size=(4, 4)))[0]
    >>> coefficients = rng.normal(size=(2000, 4)) * (rng.random((2000, 4)) < 0.2) / np.sqrt(0.2)
    >>> estimate = ql.design.fastica_basis(coefficients @ basis, seed=0)  # beta = B^T c, row-wise
    >>> bool(ql.design.signed_permutation_error(estimate, basis) < 0.1)
    True
    """
    try:
        from sklearn.decomposition import FastICA
    except ImportError as exc:  # pragma: no cover - exercised only without scikit-learn
        raise ClassicalUnavailable(
            "the classical reference needs scikit-learn: pip install \"quotientlearn[classical]\""
        ) from exc
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    samples = np.asarray(samples, dtype=float)
    ica = FastICA(whiten=False, max_iter=max_iter, tol=tol, random_state=seed)
    with warnings.catch_warnings():
        # Non-convergence is an outcome the caller measures (the recovery error), not an error.
        warnings.simplefilter("ignore", ConvergenceWarning)
        ica.fit(samples)
    return np.asarray(ica.components_)
