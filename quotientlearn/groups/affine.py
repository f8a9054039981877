"""Affine actions stored sparsely and evaluated block by block: the generic path at zoo speed.

An affine action has fundamental vector fields ``xi_a(theta) = A_a theta + b_a``. Every action in
docs/theory.md is affine, and their matrices are sparse with a repeating pattern: a Hadamard product has
``d`` independent one-generator pieces acting on the pairs ``(u_i, v_i)``; ``GL(r)`` on a factor pair acts
by the same ``r x r`` matrices on every row of ``P`` and every column of ``Q``. :func:`probe_affine_structure`
finds the matrices once with a handful of batched autograd passes (never the dense ``(k, D, D)``
tensor), and :class:`AffineStructure` then decomposes them:

- *coordinate blocks*: connected sets of coordinates that the generators mix;
- *components*: generators and the blocks they touch; different components are independent, so the
  Gram, the moment map's constraint Gram and the Newton system are block diagonal over them;
- *types*: components (and, inside one, blocks) with identical local matrices are batched together.

Everything a gauge needs — generators, Gram, moment map, its Jacobian, the log-determinant of the
constraint Gram, the vertical projection and the Newton projection onto the balanced slice — is then a
few batched operations per type on ``(N, copies, s, s)`` moments ``sum_b x_b x_b^T`` of the blocks,
with small dense kernels (``O(N D)`` for torus-like actions). The Newton projection moves points by the
flow of the generator field ``sum_a delta_a xi_a`` (``expm`` of the small block matrices, ``exp`` of a
diagonal), which stays exactly on the orbit.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property

import autograd.numpy as anp
import numpy as np
import scipy.sparse
from autograd import make_jvp, make_vjp
from scipy.sparse.csgraph import connected_components

from quotientlearn.numerics import (
    GaugeConvergenceWarning,
    minimum_norm_solve,
    minus_inf_where_degenerate,
)

__all__ = ["AffineStructure", "minimum_norm_step", "probe_affine_structure"]

#: Largest number of entries of one batched autograd probe (rows x D).
_PROBE_CHUNK = 2_000_000


def _contract(values, kernel):
    """``values @ kernel`` for ``values (..., p)``, ``kernel (p, q)``; a product when ``p = q = 1``.

    The leading axes are folded into one, so that the product is a single matrix-matrix call.
    """
    if kernel.shape == (1, 1):
        return values * kernel[0, 0]
    flat = values.reshape(-1, values.shape[-1]) @ kernel
    return flat.reshape(values.shape[:-1] + (kernel.shape[-1],))


def _expm(matrix):
    """Matrix exponential of a stack ``(..., s, s)`` in one vectorised pass.

    Scaling and squaring with a Taylor polynomial whose degree is chosen from the largest norm in the
    stack, for a truncation error below ``1e-17`` relative (the Newton steps it serves are clipped to
    unit norm, so a few squarings at most).
    """
    norm = float(np.max(np.sum(np.abs(matrix), axis=-1), initial=0.0))
    squarings = max(0, int(np.ceil(np.log2(norm / 0.5)))) if norm > 0.5 else 0
    scaled = matrix / 2.0**squarings
    theta, degree, bound = norm / 2.0**squarings, 1, norm / 2.0**squarings
    while bound > 1e-17 and degree < 30:  # Taylor remainder of degree m: theta^(m+1) / (m+1)!
        degree += 1
        bound *= theta / degree
    eye = np.eye(matrix.shape[-1])
    total = eye + scaled / degree
    for n in range(degree - 1, 0, -1):  # Horner: I + X/1 (I + X/2 (I + ...))
        total = eye + (scaled @ total) / n
    for _ in range(squarings):
        total = total @ total
    return total


def _bilinear_kernels(left, left_offsets, right, right_offsets):
    """Kernels of ``sum_b (L_a x_b + l_a) . (R_e x_b + r_e)`` in the block moments.

    The sum equals ``vec(X) @ quad + mu @ lin + copies * const`` with ``X = sum_b x_b x_b^T`` and
    ``mu = sum_b x_b``.

    Returns
    -------
    quad : ndarray, shape (s * s, k * k)
    lin : ndarray, shape (s, k * k)
    const : ndarray, shape (k * k,)
    """
    k, s = left.shape[0], left.shape[-1]
    quad = np.einsum("aji,ejl->aeil", left, right).reshape(k * k, s * s).T
    lin = (np.einsum("eji,aj->aei", right, left_offsets)
           + np.einsum("aji,ej->aei", left, right_offsets)).reshape(k * k, s).T
    const = np.einsum("aj,ej->ae", left_offsets, right_offsets).reshape(k * k)
    return quad, lin, const


@dataclass(eq=False)
class _Block:
    """``copies`` coordinate blocks of size ``s`` in every component of a type, with one set of matrices.

    Attributes
    ----------
    matrices : ndarray, shape (k, s, s)
        The generator matrices restricted to the block (local generator order).
    offsets : ndarray, shape (k, s)
    coords : ndarray of int, shape (n, copies, s)
        Flat coordinates of every copy in every component.
    """

    matrices: np.ndarray
    offsets: np.ndarray
    coords: np.ndarray

    def __post_init__(self):
        k, s = self.matrices.shape[0], self.matrices.shape[-1]
        self.size, self.copies = s, self.coords.shape[1]
        self.sym = 0.5 * (self.matrices + np.swapaxes(self.matrices, -1, -2))
        self.has_offsets = bool(np.any(self.offsets))
        off_diagonal = self.matrices * (1.0 - np.eye(s))
        # exp of a diagonal generator combination, no offsets: the torus case (O(N D) flow)
        self.diagonal = not np.any(off_diagonal) and not self.has_offsets
        self.diagonal_weights = np.einsum("aii->ai", self.matrices)  # (k, s)
        self.flat_matrices = self.matrices.reshape(k, s * s)
        self.upper = np.triu_indices(s)
        self.diagonal_positions = np.flatnonzero(self.upper[0] == self.upper[1])

    def gather(self, theta):
        """Block coordinates ``(..., n, copies, s)``."""
        return theta[..., self.coords]

    def moments(self, x):
        """``(upper triangle of sum_b x_b x_b^T (..., n, s(s+1)/2), sum_b x_b (..., n, s))``."""
        upper = self.upper
        if self.copies == 1:
            x = x[..., 0, :]
            if self.size == 1:
                return x * x, x
            return x[..., upper[0]] * x[..., upper[1]], x
        second = np.swapaxes(x, -1, -2) @ x
        return second[..., upper[0], upper[1]], np.sum(x, axis=-2)

    def fold(self, kernel):
        """A kernel on flattened ``s x s`` moments ``(s*s, q)`` as one on the upper triangle."""
        s = self.size
        square = kernel.reshape(s, s, -1)
        folded = square + np.swapaxes(square, 0, 1)
        folded[np.arange(s), np.arange(s)] *= 0.5
        return folded[self.upper[0], self.upper[1]]

    def trace(self, second):
        """``tr sum_b x_b x_b^T`` from the upper triangle, ``(..., n)``."""
        if self.size == 1:
            return second[..., 0]
        return second[..., self.diagonal_positions].sum(axis=-1)

    def cross_moments(self, x, y):
        """``(sum_b y_b x_b^T flattened (..., n, s*s), sum_b y_b (..., n, s))``."""
        if self.copies == 1 and self.size == 1:
            return x[..., 0, :] * y[..., 0, :], y[..., 0, :]
        second = np.swapaxes(y, -1, -2) @ x
        return second.reshape(second.shape[:-2] + (-1,)), np.sum(y, axis=-2)

    def fields(self, coefficients, x, symmetric=False):
        """``sum_a c_a (M_a x_b + o_a)`` per copy for coefficients ``(..., n, k)``: ``(..., n, copies, s)``.

        ``M`` is the generator matrix, or its symmetric part (the moment map's gradient).
        """
        matrices = (self.sym if symmetric else self.matrices)
        if self.diagonal:
            return x * _contract(coefficients, np.einsum("aii->ai", matrices))[..., None, :]
        s = self.size
        combined = _contract(coefficients, matrices.reshape(-1, s * s)).reshape(
            coefficients.shape[:-1] + (s, s))
        out = x @ np.swapaxes(combined, -1, -2)
        if self.has_offsets:
            out = out + _contract(coefficients, self.offsets)[..., None, :]
        return out

    def per_generator(self, x, symmetric=False):
        """``M_a x_b + o_a`` for every generator and copy: ``(..., n, k, copies, s)``."""
        matrices = self.sym if symmetric else self.matrices
        out = np.einsum("aij,...cj->...aci", matrices, x)
        return out + self.offsets[:, None, :] if self.has_offsets else out

    def flow(self, delta, x):
        """Flow ``x_b -> exp(sum_a delta_a A_a) x_b`` (affine: with the offsets), ``(..., n, copies, s)``."""
        if self.diagonal:
            return x * np.exp(_contract(delta, self.diagonal_weights))[..., None, :]
        s = self.size
        generator = _contract(delta, self.flat_matrices).reshape(delta.shape[:-1] + (s, s))
        shift = _contract(delta, self.offsets) if self.has_offsets else None
        if s == 1:
            rate = generator[..., 0, 0]
            grown = x * np.exp(rate)[..., None, None]
            if shift is None:
                return grown
            with np.errstate(divide="ignore", invalid="ignore"):
                weight = np.where(rate == 0.0, 1.0, np.expm1(rate) / rate)
            return grown + (shift[..., 0] * weight)[..., None, None]
        if shift is None:
            propagator = _expm(generator)
            return x @ np.swapaxes(propagator, -1, -2)
        augmented = np.zeros(delta.shape[:-1] + (s + 1, s + 1))
        augmented[..., :s, :s] = generator
        augmented[..., :s, s] = shift
        propagator = _expm(augmented)
        return x @ np.swapaxes(propagator[..., :s, :s], -1, -2) + propagator[..., None, :s, s]


@dataclass(eq=False)
class _Component:
    """Independent components with identical local structure, batched.

    Attributes
    ----------
    generators : ndarray of int, shape (n, k)
        Global generator indices of every component, in local order.
    blocks : list of _Block
    basis : ndarray, shape (c, k)
        Orthonormal combinations of the local generators whose moment maps are independent.
    """

    generators: np.ndarray
    blocks: list

    def __post_init__(self):
        self.n, self.k = self.generators.shape
        flat = np.concatenate(
            [np.concatenate([b.sym.reshape(self.k, -1), b.offsets], axis=1) for b in self.blocks],
            axis=1)
        left, singular, _ = np.linalg.svd(flat, full_matrices=False)
        rank = int(np.sum(singular > 1e-10 * max(singular.max(initial=0.0), 1e-300)))
        self.basis = left[:, :rank].T
        self.c = rank
        self._kernels = {}
        self.pair_weight = self._pair_weight()

    def _pair_weight(self):
        """``w`` when one generator scales coordinates by ``exp(+w t)`` and ``exp(-w t)`` (else None).

        Then the moment map along the orbit is ``(P e^{2 w t} - M e^{-2 w t}) w / 2`` with ``P``, ``M``
        the squared norms of the two sides, and the slice is reached exactly at
        ``t = log(M / P) / (4 w)``: Hadamard products, neurons, attention columns, group scalars.
        """
        if self.k != 1 or not all(b.diagonal for b in self.blocks):
            return None
        weights = np.concatenate([b.diagonal_weights[0] for b in self.blocks])
        weights = weights[weights != 0]
        if not (np.any(weights > 0) and np.any(weights < 0)):
            return None
        scale = np.abs(weights[0])
        return float(scale) if np.allclose(np.abs(weights), scale, rtol=1e-14, atol=0) else None

    def exact_step(self, moments):
        """The exact step ``(..., n, 1)`` onto the slice of a pair component, or ``None`` if degenerate."""
        plus = minus = 0.0
        for block, (second, _) in zip(self.blocks, moments, strict=True):
            squares = second[..., block.diagonal_positions]  # (..., n, s)
            weights = block.diagonal_weights[0]
            plus = plus + squares[..., weights > 0].sum(axis=-1)
            minus = minus + squares[..., weights < 0].sum(axis=-1)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = minus / plus
            if not (np.min(ratio, initial=np.inf) > 0 and np.max(ratio, initial=0.0) < np.inf):
                return None  # a degenerate orbit (one side zero): the damped Newton path handles it
            return (np.log(ratio) / (4.0 * self.pair_weight))[..., None]

    def kernels(self, name):
        """Per block ``(quad (s(s+1)/2, q), lin (s, q), const (q,))`` of a quantity linear in the moments.

        ``"chi"``: the moment map ``C chi_raw`` (``q = c``); ``"newton"``: ``C (J_a . xi_e)``
        (``q = c k``); ``"constraint"``: ``C (J_a . J_e) C^T`` (``q = c c``); ``"gram"``: ``xi_a . xi_e``
        (``q = k k``).
        """
        if name not in self._kernels:
            basis, out = self.basis, []
            for b in self.blocks:
                if name == "chi":
                    quad = 0.5 * b.sym.reshape(self.k, -1).T @ basis.T
                    lin, const = b.offsets.T @ basis.T, np.zeros(self.c)
                else:
                    left_sym, right_sym = {"newton": (True, False), "constraint": (True, True),
                                           "gram": (False, False)}[name]
                    quad, lin, const = _bilinear_kernels(
                        b.sym if left_sym else b.matrices, b.offsets,
                        b.sym if right_sym else b.matrices, b.offsets)
                    if name != "gram":  # combine the left index with the basis (and the right one)
                        right = basis if name == "constraint" else np.eye(self.k)
                        quad, lin, const = (np.einsum("...ae,ca,de->...cd", term.reshape(
                            term.shape[:-1] + (self.k, self.k)), basis, right).reshape(
                            term.shape[:-1] + (-1,)) for term in (quad, lin, const))
                out.append((b.fold(quad), lin, const))
            self._kernels[name] = out
        return self._kernels[name]

    def evaluate(self, name, moments):
        """``(..., n, q)``: the quantity named by ``name`` (see :meth:`kernels`), summed over blocks."""
        total = 0.0
        for block, (second, first), (quad, lin, const) in zip(
                self.blocks, moments, self.kernels(name), strict=True):
            term = _contract(second, quad)
            if block.has_offsets:
                term = term + _contract(first, lin) + block.copies * const
            total = total + term
        return total

    def bilinear(self, name, moments):
        """:meth:`evaluate` as matrices: ``(..., n, c, k)``, ``(..., n, c, c)`` or ``(..., n, k, k)``."""
        rows = self.k if name == "gram" else self.c
        total = self.evaluate(name, moments)
        return total.reshape(total.shape[:-1] + (rows, -1))


class AffineStructure:
    """Generators ``xi_a(theta) = A_a theta + b_a`` of an affine action, stored sparsely.

    Parameters
    ----------
    dim : int
        ``k``, the number of generators.
    space_dim : int
        ``D``.
    entries : tuple of ndarray
        ``(generator, row, col, value)``: the nonzero entries ``A_a[row, col]``.
    offset_entries : tuple of ndarray
        ``(generator, row, value)``: the nonzero entries ``b_a[row]``.

    Examples
    --------
    The torus of ``u v`` (``d = 2``): each generator scales ``u_i`` up and ``v_i`` down, so the
    structure has two independent pair components of one type:

    >>> import numpy as np
    >>> import quotientlearn as ql
    >>> structure = ql.models.Hadamard(dim=2).action.affine_structure()
    >>> structure
    AffineStructure(k=2, D=4, nnz=4, types=1)
    >>> theta = np.array([2.0, 1.0, 0.5, 3.0])  # (u, v)
    >>> structure.matrices[0] @ theta + structure.offsets[0]  # xi_0(theta) = (u_0, 0, -v_0, 0)
    array([ 2. ,  0. , -0.5,  0. ])
    >>> structure.moment_map(theta[None])  # (v_i^2 - u_i^2) / 2, the imbalance of each pair
    array([[-1.875,  4.   ]])
    """

    def __init__(self, dim, space_dim, entries, offset_entries):
        self.dim, self.space_dim = int(dim), int(space_dim)
        generator, row, col, value = (np.asarray(e) for e in entries)
        keep = value != 0
        self.entries = (generator[keep].astype(int), row[keep].astype(int), col[keep].astype(int),
                        value[keep].astype(float))
        generator, row, value = (np.asarray(e) for e in offset_entries)
        keep = value != 0
        self.offset_entries = (generator[keep].astype(int), row[keep].astype(int),
                               value[keep].astype(float))

    def __repr__(self):
        return (f"AffineStructure(k={self.dim}, D={self.space_dim}, nnz={self.entries[0].size}, "
                f"types={len(self.components)})")

    # ------------------------------------------------------------------------------ builders
    @classmethod
    def from_dense(cls, matrices, offsets):
        """From dense ``matrices (k, D, D)`` and ``offsets (k, D)``."""
        matrices, offsets = np.asarray(matrices, dtype=float), np.asarray(offsets, dtype=float)
        k, dim = offsets.shape
        return cls(k, dim, (*np.nonzero(matrices), matrices[np.nonzero(matrices)]),
                   (*np.nonzero(offsets), offsets[np.nonzero(offsets)]))

    @classmethod
    def diagonal(cls, weights):
        """A torus: ``A_a = diag(weights[a])``, no offsets; ``weights`` dense or sparse ``(k, D)``."""
        coo = scipy.sparse.coo_matrix(weights)
        empty = np.zeros(0)
        return cls(coo.shape[0], coo.shape[1], (coo.row, coo.col, coo.col, coo.data),
                   (empty, empty, empty))

    @property
    def matrices(self):
        """Dense generator matrices, shape ``(k, D, D)`` (for small problems and tests)."""
        out = np.zeros((self.dim, self.space_dim, self.space_dim))
        np.add.at(out, self.entries[:3], self.entries[3])
        return out

    @property
    def offsets(self):
        """Dense offsets, shape ``(k, D)``."""
        out = np.zeros((self.dim, self.space_dim))
        np.add.at(out, self.offset_entries[:2], self.offset_entries[2])
        return out

    # ------------------------------------------------------------------------ decomposition
    @cached_property
    def components(self):
        """The component types (see the module docstring); built once, on first use."""
        k, dim = self.dim, self.space_dim
        gen, row, col, val = self.entries
        off_gen, off_row, off_val = self.offset_entries
        # coordinate blocks: connected components of the coordinates the matrices mix
        mixing = scipy.sparse.coo_matrix((np.ones(row.size), (row, col)), shape=(dim, dim))
        _, coordinate_block = connected_components(mixing, directed=False)
        touched = np.zeros(dim, dtype=bool)
        touched[row], touched[col], touched[off_row] = True, True, True
        blocks = np.unique(coordinate_block[touched])
        block_index = np.full(coordinate_block.max() + 1, -1)
        block_index[blocks] = np.arange(blocks.size)
        n_blocks = blocks.size
        # components: generators linked through the blocks they touch
        incidence_gen = np.concatenate([gen, off_gen])
        incidence_block = block_index[coordinate_block[np.concatenate([row, off_row])]]
        graph = scipy.sparse.coo_matrix(
            (np.ones(incidence_gen.size), (incidence_gen, k + incidence_block)),
            shape=(k + n_blocks, k + n_blocks))
        _, label = connected_components(graph, directed=False)
        members = {}
        for g in range(k):
            members.setdefault(label[g], ([], []))[0].append(g)
        for b in range(n_blocks):
            members.setdefault(label[k + b], ([], []))[1].append(b)
        coords_of_block = [[] for _ in range(n_blocks)]
        for coordinate in np.flatnonzero(touched):
            coords_of_block[block_index[coordinate_block[coordinate]]].append(coordinate)
        # the local matrices of every (component, block)
        by_block = {}
        for g, r, c, v in zip(gen, row, col, val, strict=True):
            by_block.setdefault(block_index[coordinate_block[r]], []).append((g, r, c, v))
        offsets_by_block = {}
        for g, r, v in zip(off_gen, off_row, off_val, strict=True):
            offsets_by_block.setdefault(block_index[coordinate_block[r]], []).append((g, r, v))
        scale = max(np.max(np.abs(val), initial=0.0), np.max(np.abs(off_val), initial=0.0), 1e-300)
        types = {}
        for generators, block_ids in members.values():
            if not block_ids:
                continue  # a generator that vanishes identically: nothing to evaluate
            local_gen = {g: i for i, g in enumerate(generators)}
            signatures = {}
            for b in block_ids:
                coords = coords_of_block[b]
                local = {c: i for i, c in enumerate(coords)}
                matrices = np.zeros((len(generators), len(coords), len(coords)))
                offsets = np.zeros((len(generators), len(coords)))
                for g, r, c, v in by_block.get(b, ()):
                    matrices[local_gen[g], local[r], local[c]] += v
                for g, r, v in offsets_by_block.get(b, ()):
                    offsets[local_gen[g], local[r]] += v
                key = (len(coords), (np.round(matrices / scale, 12) + 0.0).tobytes(),
                       (np.round(offsets / scale, 12) + 0.0).tobytes())
                entry = signatures.setdefault(key, [matrices, offsets, []])
                entry[2].append(coords)
            ordered = sorted(signatures.items(), key=lambda item: (item[0], len(item[1][2])))
            type_key = (len(generators), tuple((key, len(entry[2])) for key, entry in ordered))
            slot = types.setdefault(type_key, ([], [entry[:2] for _, entry in ordered],
                                               [[] for _ in ordered]))
            slot[0].append(generators)
            for i, (_, entry) in enumerate(ordered):
                slot[2][i].append(sorted(entry[2]))
        return [
            _Component(np.array(generators, dtype=int),
                       [_Block(m, o, np.array(coords, dtype=int))
                        for (m, o), coords in zip(local, coords_per_block, strict=True)])
            for generators, local, coords_per_block in types.values()
        ]

    @cached_property
    def moment_dim(self):
        """``c``, the number of independent moment-map components."""
        return sum(t.n * t.c for t in self.components)

    @cached_property
    def moment_basis(self):
        """Dense ``(c, k)`` orthonormal combinations of generators (block diagonal over components)."""
        basis = np.zeros((self.moment_dim, self.dim))
        start = 0
        for t in self.components:
            rows = start + np.arange(t.n * t.c).reshape(t.n, t.c)
            basis[rows[:, :, None], t.generators[:, None, :]] = t.basis
            start += t.n * t.c
        return basis

    def _untouched(self):
        touched = np.zeros(self.space_dim, dtype=bool)
        for t in self.components:
            for b in t.blocks:
                touched[b.coords.ravel()] = True
        return np.flatnonzero(~touched)

    @cached_property
    def untouched(self):
        """Coordinates that no generator moves."""
        return self._untouched()

    # ------------------------------------------------------------------------- evaluations
    def generators(self, theta):
        """``xi_a(theta)``, shape ``(..., k, D)``."""
        out = np.zeros(theta.shape[:-1] + (self.dim, self.space_dim))
        for t in self.components:
            for b in t.blocks:
                values = b.per_generator(b.gather(theta))  # (..., n, k, copies, s)
                out[..., t.generators[:, :, None, None], b.coords[:, None, :, :]] = values
        return out

    def _scatter_square(self, theta, per_type):
        out = np.zeros(theta.shape[:-1] + (self.dim, self.dim))
        for t, values in zip(self.components, per_type, strict=True):
            out[..., t.generators[:, :, None], t.generators[:, None, :]] = values
        return out

    def gram(self, theta):
        """``<xi_a, xi_b>``, shape ``(..., k, k)``."""
        return self._scatter_square(theta, [
            t.bilinear("gram", [b.moments(b.gather(theta)) for b in t.blocks])
            for t in self.components])

    def moment_map(self, theta):
        """The independent Noether charges, shape ``(..., c)`` (see ``GroupAction.moment_map``)."""
        parts = [t.evaluate("chi", [b.moments(b.gather(theta)) for b in t.blocks])
                 for t in self.components]
        return self._concatenate(theta, parts)

    def _concatenate(self, theta, parts):
        flat = [p.reshape(p.shape[:-2] + (-1,)) for p in parts]
        if not flat:
            return np.zeros(theta.shape[:-1] + (0,))
        return np.concatenate(flat, axis=-1)

    def moment_map_jacobian(self, theta):
        """``J_chi``, shape ``(..., c, D)``."""
        out = np.zeros(theta.shape[:-1] + (self.moment_dim, self.space_dim))
        start = 0
        for t in self.components:
            rows = start + np.arange(t.n * t.c).reshape(t.n, t.c)
            for b in t.blocks:
                raw = b.per_generator(b.gather(theta), symmetric=True)  # (..., n, k, copies, s)
                combined = np.einsum("ca,...aji->...cji", t.basis, raw)
                out[..., rows[:, :, None, None], b.coords[:, None, :, :]] = combined
            start += t.n * t.c
        return out

    def constraint_grams(self, theta):
        """``C (J J^T) C^T`` per component type, each ``(..., n, c, c)``."""
        grams = []
        for t in self.components:
            grams.append(t.bilinear("constraint", [b.moments(b.gather(theta)) for b in t.blocks]))
        return grams

    def log_det_moment_gram(self, theta):
        """``log det J_chi J_chi^T``, shape ``(...,)``; ``-inf`` (one warning) on degenerate orbits."""
        total = np.zeros(theta.shape[:-1])
        with np.errstate(divide="ignore", invalid="ignore"):
            for gram in self.constraint_grams(theta):
                if gram.shape[-1] == 1:
                    log_det = np.log(gram[..., 0, 0])
                else:
                    sign, log_det = np.linalg.slogdet(gram)
                    log_det = np.where(sign > 0, log_det, -np.inf)
                total = total + np.sum(np.where(np.isnan(log_det), -np.inf, log_det), axis=-1)
        return minus_inf_where_degenerate(total, stacklevel=4)

    def vertical_projection(self, tangent_vec, base_point):
        """``Xi^T Gram^{-1} Xi v`` component by component, shape ``(..., D)``."""
        shape = np.broadcast_shapes(tangent_vec.shape, base_point.shape)
        tangent_vec, base_point = np.broadcast_to(tangent_vec, shape), np.broadcast_to(base_point, shape)
        out = np.zeros(shape)
        for t in self.components:
            points = [b.gather(base_point) for b in t.blocks]
            gram = t.bilinear("gram", [b.moments(x) for b, x in zip(t.blocks, points, strict=True)])
            rhs = 0.0
            for b, x in zip(t.blocks, points, strict=True):
                second, first = b.cross_moments(x, b.gather(tangent_vec))
                term = _contract(second, b.flat_matrices.T)
                rhs = rhs + (term + first @ b.offsets.T if b.has_offsets else term)
            coefficients = _solve_symmetric(gram, rhs)
            for b, x in zip(t.blocks, points, strict=True):
                out[..., b.coords] = b.fields(coefficients, x)
        return out

    # ------------------------------------------------------------------------------- Newton
    def balance(self, theta, tol=1e-13, max_iter=200):
        """Move ``theta`` along its orbit onto the moment map's zero set by damped Newton steps.

        Components of one generator scaling two sides oppositely (:meth:`_Component.exact_step`) are
        moved there in one exact step. Each Newton step solves ``J_chi Xi^T delta = -chi`` (minimum
        norm, by a solve with the small ``c x c`` matrix ``M M^T`` of every component), clips
        ``|delta| <= 1`` and follows the flow of ``sum_a delta_a xi_a``. The iteration runs on the
        gathered block coordinates; converged points stop moving.

        Parameters
        ----------
        theta : ndarray, shape (..., D)
        tol : float
            Tolerance on ``max |chi| / (1 + |theta|^2)``.
        max_iter : int

        Returns
        -------
        projected : ndarray, shape (..., D)
            With a :class:`GaugeConvergenceWarning` when ``max_iter`` steps did not reach ``tol``.
        """
        components = self.components
        state = [[b.gather(theta) for b in t.blocks] for t in components]
        # pair components are solved exactly, the others by damped Newton steps
        newton = []
        for index, t in enumerate(components):
            step = None
            if t.pair_weight is not None:
                step = t.exact_step([b.moments(x) for b, x in zip(t.blocks, state[index], strict=True)])
            if step is None:
                newton.append(index)
            else:
                state[index] = [b.flow(step, x) for b, x in zip(t.blocks, state[index], strict=True)]
        untouched = self.untouched
        fixed = np.sum(theta[..., untouched] ** 2, axis=-1) if untouched.size else 0.0
        for index in set(range(len(components))) - set(newton):
            for x in state[index]:
                fixed = fixed + np.sum(x * x, axis=(-3, -2, -1))
        residual = np.zeros(theta.shape[:-1])
        for iteration in range(max_iter + 1 if newton else 0):
            types = [components[i] for i in newton]
            moments = [[b.moments(x) for b, x in zip(t.blocks, state[i], strict=True)]
                       for t, i in zip(types, newton, strict=True)]
            norm = 1.0 + fixed
            for t, ms in zip(types, moments, strict=True):
                for b, (second, _) in zip(t.blocks, ms, strict=True):
                    norm = norm + b.trace(second).sum(axis=-1)
            charges = [t.evaluate("chi", ms) for t, ms in zip(types, moments, strict=True)]
            largest = 0.0
            for chi in charges:
                largest = np.maximum(largest, np.max(np.abs(chi), axis=(-2, -1), initial=0.0))
            residual = largest / norm
            active = residual > tol
            if not np.any(active) or iteration == max_iter:
                break
            # C J . xi: (c, k) per component
            steps = [minimum_norm_step(t.bilinear("newton", ms), chi)
                     for t, ms, chi in zip(types, moments, charges, strict=True)]
            squared = 0.0
            for step in steps:
                squared = squared + np.sum(step * step, axis=(-2, -1))
            factor = np.where(active, 1.0 / np.maximum(np.sqrt(squared), 1.0), 0.0)
            for t, i, step in zip(types, newton, steps, strict=True):
                state[i] = [b.flow(step * factor[..., None, None], x)
                            for b, x in zip(t.blocks, state[i], strict=True)]
        if np.any(residual > tol):
            warnings.warn(
                f"gauge projection stopped after {max_iter} Newton steps with relative residual "
                f"{np.max(residual):.2e} (tolerance {tol:.0e})",
                GaugeConvergenceWarning, stacklevel=4)
        out = np.array(theta, dtype=float, copy=True)
        for t, xs in zip(components, state, strict=True):
            for b, x in zip(t.blocks, xs, strict=True):
                out[..., b.coords] = x
        return out


def _solve_symmetric(matrix, rhs):
    """``matrix^{-1} rhs`` for stacks of symmetric PSD matrices, pseudo-inverse where singular."""
    if matrix.shape[-1] == 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(matrix[..., 0] != 0, rhs / matrix[..., 0], 0.0)
    try:
        return np.linalg.solve(matrix, rhs[..., None])[..., 0]
    except np.linalg.LinAlgError:  # a degenerate orbit in the batch
        return (np.linalg.pinv(matrix, hermitian=True) @ rhs[..., None])[..., 0]


def minimum_norm_step(newton, chi):
    """Minimum-norm ``delta`` with ``newton @ delta = -chi``, for stacks ``(..., c, k)`` and ``(..., c)``.

    A square system is solved directly, a wide one through ``newton newton^T`` (``c x c``); where the
    matrix is singular (a degenerate orbit) the pseudo-inverse takes over.
    """
    c, k = newton.shape[-2:]
    if c == 0:
        return np.zeros(newton.shape[:-2] + (k,))
    if c == k == 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(newton[..., 0] != 0, -chi / newton[..., 0], 0.0)
    return -minimum_norm_solve(newton, chi[..., None])[..., 0]


# ------------------------------------------------------------------------------------ probing
def _fields(action, points, generators):
    """``xi_{generators[i]}(points[i])`` for every row ``i``, by one batched forward-mode pass.

    ``act`` broadcasts over leading axes with independent rows, so a batch whose row ``i`` moves
    along algebra direction ``generators[i]`` gives one field per row.

    Parameters
    ----------
    points : ndarray, shape (P, D)
        Flattened points (the action sees them in its own ``shape``).
    generators : ndarray of int, shape (P,)

    Returns
    -------
    fields : ndarray, shape (P, D)
    """
    rows = np.shape(points)[0]
    tangent = np.zeros((rows, action.dim))
    tangent[np.arange(rows), generators] = 1.0
    shaped = anp.reshape(points, (rows,) + tuple(action.shape))  # a manifold's point shape

    def moved(coords):
        return anp.reshape(action.act_algebra(coords, shaped), np.shape(points))

    jvp = make_jvp(moved)(np.zeros((rows, action.dim)))
    return jvp(tangent)[1] + np.zeros(np.shape(points))


def probe_affine_structure(action, rng=0, rtol=1e-9):
    """The sparse affine structure of ``action``'s generators, or ``None`` if they are not affine.

    Three batched autograd passes find it without forming the dense ``(k, D, D)`` tensor: one
    reverse-over-forward pass gives the columns each ``A_a`` reads (``A_a^T w`` for random ``w``), one
    forward pass per chunk of (generator, column) pairs evaluates ``xi_a(e_j) - xi_a(0)`` on exactly
    those columns, and the result is verified against ``xi(theta)`` at a random point.

    Parameters
    ----------
    action : GroupAction
    rng : int or numpy.random.Generator
    rtol : float
        Relative tolerance of the verification.

    Returns
    -------
    structure : AffineStructure or None
    """
    k, dim = action.dim, action.space_dim
    empty = (np.zeros(0),) * 3
    if k == 0:
        return AffineStructure(0, dim, (np.zeros(0),) * 4, empty)
    rng = np.random.default_rng(rng)
    base, check = rng.standard_normal((2, dim))
    every = np.arange(k)
    # columns read by each generator: A_a^T w_a != 0 for a random w_a
    weights = rng.standard_normal((k, dim))
    with warnings.catch_warnings():  # a constant field (a translation) reads no column
        warnings.simplefilter("ignore", UserWarning)
        pullback, _ = make_vjp(lambda points: _fields(action, points, every))(np.tile(base, (k, 1)))
        reads = pullback(weights) != 0
    offsets = _fields(action, np.zeros((k, dim)), every)
    gen_of_pair, col_of_pair = np.nonzero(reads)
    entries = ([], [], [], [])
    chunk = max(1, _PROBE_CHUNK // dim)
    for start in range(0, gen_of_pair.size, chunk):
        gens, cols = gen_of_pair[start:start + chunk], col_of_pair[start:start + chunk]
        points = np.zeros((gens.size, dim))
        points[np.arange(gens.size), cols] = 1.0
        columns = _fields(action, points, gens) - offsets[gens]
        pair, row = np.nonzero(columns)
        for store, values in zip(entries, (gens[pair], row, cols[pair], columns[pair, row]),
                                 strict=True):
            store.append(values)
    entries = tuple(np.concatenate(e) if e else np.zeros(0) for e in entries)
    off_gen, off_row = np.nonzero(offsets)
    structure = AffineStructure(k, dim, entries, (off_gen, off_row, offsets[off_gen, off_row]))
    actual = _fields(action, np.tile(check, (k, 1)), every)
    try:
        predicted = structure.generators(check)
    except (ValueError, IndexError):  # pragma: no cover - inconsistent structure
        return None
    if np.max(np.abs(predicted - actual)) > rtol * (1.0 + np.max(np.abs(actual))):
        return None
    return structure
