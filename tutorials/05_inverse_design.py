"""
05. Inverse design with pymanopt
================================

Choose the implicit bias you want and get a parameterisation that induces it. First the closed-form
catalogue (``ql.design.parameterize``): for each target regulariser ``R`` it returns a zoo model whose
gauge correction ``(T/2) log det G_C`` equals ``(T/2) R(beta)`` up to a constant, which we check on
random points. Then the optimisation form (``ql.design.fit``, on a pymanopt manifold): from a
sparsity-in-basis target alone, recover an unknown orthogonal basis, up to the signed permutations that
leave the target unchanged.

Run it as a script: ``python tutorials/05_inverse_design.py`` (a few seconds; ``QL_FAST=1``: half the
catalogue's check points; the fit needs only ``8 d`` reference points either way).
"""

import os

import matplotlib.pyplot as plt
import numpy as np

import quotientlearn as ql

FAST = os.environ.get("QL_FAST") == "1"  # CI and the docs build: fewer check points
N_CHECK = 100 if FAST else 200
np.set_printoptions(precision=3, suppress=True)

TEMPERATURE = 0.1  # the bias is (T/2) log det G_C; T only rescales it
rng = np.random.default_rng(0)


def random_predictors(model, n, rng):
    """Predictors of random parameters: every beta a model can reach, with no special structure."""
    return model.predictor(model.sample((n,), rng))


def bias_minus_target(model, target, beta):
    """``bias(beta) - (T/2) R(beta)``: constant in beta exactly when the model induces the target."""
    return ql.implicit_bias_of_predictor(model, beta, TEMPERATURE) - 0.5 * TEMPERATURE * target(beta)


# %%
# The catalogue: one target in, one zoo model out
# -----------------------------------------------
# Each catalogue entry is checked on random points: the bias minus ``(T/2) R`` must be a constant.
basis = np.eye(5) + 0.3 * rng.standard_normal((5, 5))  # any invertible basis, not only orthogonal
specs = {
    "sparse": ("sparse", dict(dim=5)),  # sum_i log|beta_i|            -> beta = u * v
    "sparse_in_basis": (("sparse_in_basis", basis), {}),  # sum_i log|(B beta)_i| -> beta = B^-1 (u * v)
    "tv": ("tv", dict(dim=5)),  # log-penalty on the jumps        -> beta = cumsum(u * v)
    "low_rank": ("low_rank", dict(shape=(4, 3), rank=2)),  # gauge log-det of the SVs -> M = P Q
}
spreads = {}
for name, (spec, sizes) in specs.items():
    model = ql.design.parameterize(spec, **sizes)
    target = ql.design.make_target(spec, **sizes)
    beta = random_predictors(model, N_CHECK, rng)
    difference = bias_minus_target(model, target, beta)
    # The spread of the difference, relative to the spread of the bias itself: 0 means "a constant".
    bias_spread = np.ptp(ql.implicit_bias_of_predictor(model, beta, TEMPERATURE))
    spreads[name] = np.ptp(difference) / bias_spread
    # The constant: (T/2) d log 2 for the Hadamard-type models (on the slice the Gram is
    # diag(2 |coefficients|)), (T/2) r log 2 for the factorisation (the theory page, closed forms).
    print(f"{name:>16} -> {type(model).__name__:<20} bias - (T/2) R = {np.mean(difference):+.4f} "
          f"(relative spread {spreads[name]:.1e} over {len(beta)} random points)")

# The check has power: the Hadamard model's bias is not the total-variation target.
hadamard = ql.design.parameterize("sparse", dim=5)
beta = random_predictors(hadamard, N_CHECK, rng)
wrong = np.ptp(bias_minus_target(hadamard, ql.design.make_target("tv", dim=5), beta)) / np.ptp(
    ql.implicit_bias_of_predictor(hadamard, beta, TEMPERATURE))
print(f"Hadamard bias vs the tv target: relative spread {wrong:.2f} (not a constant)")

# %%
# The optimisation form
# ---------------------
# A family of parameterisations indexed by a point of a pymanopt manifold: ``OrthogonalBasis(d)`` is
# ``beta = B^T (u * v)`` with ``B`` on the Stiefel manifold, and its bias is
# ``sum_i log(2 |(B beta)_i|)``. We hide a random orthogonal basis in a target and ask ``fit`` to find it.
dim = 8
family = ql.design.OrthogonalBasis(dim)
hidden = family.random_point(rng)
target = ql.design.make_target(("sparse_in_basis", hidden))
# Reference points where the target is well conditioned (the half of Gaussian proposals with the
# smallest |grad R|): near a zero coefficient R is steep and a wall of the objective sits next to the
# optimum (see docs/design.md). 8 d points suffice: each gives d equations.
reference = ql.design.well_conditioned_reference(target, 8 * dim, rng=1)
# fit matches the drift of the bias, grad log det G_B(beta_j), to grad R(beta_j) with pymanopt. It
# first matches both smoothed by the same Gaussian in beta (no log-det walls, and the answer stays an
# exact fit at every level), lowers the smoothing, and ends on the exact objective.
result = ql.design.fit(family, target, reference, "trust-regions", seed=2)
print(f"fit: {result.summary()['iterations']} iterations in {result.seconds:.2f} s, exact cost "
      f"{result.cost:.1e}, held-out relative residual {result.relative_residual:.1e}, "
      f"expressible: {result.expressible}")

# %%
# The recovered basis
# -------------------
# Equal to the hidden one up to a signed permutation of its rows: ``R`` is unchanged when rows of ``B``
# are permuted or change sign, so that is all the target can fix.
overlap = result.psi @ hidden.T  # a signed permutation matrix if the rows match
permutation = np.round(np.abs(overlap))
is_permutation = bool(np.all(permutation.sum(0) == 1) and np.all(permutation.sum(1) == 1))
basis_error = float(np.max(np.abs(np.abs(overlap) - permutation)))
print("|B_fit B_hidden^T| (a permutation matrix):\n", np.abs(overlap))
print(f"signed permutation: {is_permutation}, largest deviation {basis_error:.1e}")
# The designed model is an ordinary zoo model; its bias is the target's, up to a constant.
designed_spread = np.ptp(bias_minus_target(result.model, target, reference[:100]))
print(f"designed {type(result.model).__name__}: spread of bias - (T/2) R = {designed_spread:.1e}")

# %%
# The picture
# -----------
# Left: the fit's objective, best value so far, against cost evaluations (its stages smooth the
# log-det walls away, then end on the exact objective). Right: ``|B_fit B_hidden^T|``, a permutation.

figure, (axis_history, axis_overlap) = plt.subplots(1, 2, figsize=(10, 4))
axis_history.semilogy(np.maximum(result.history, 1e-30))
axis_history.set(xlabel="cost evaluations", ylabel="drift mismatch (best so far)",
                 title="ql.design.fit, trust regions")
image = axis_overlap.imshow(np.abs(overlap), cmap="Greys", vmin=0, vmax=1)
axis_overlap.set(title="|B_fit B_hidden^T|", xlabel="hidden row", ylabel="fitted row")
figure.colorbar(image, ax=axis_overlap)
figure.tight_layout()

# What this tutorial demonstrates: each catalogue model induces its target up to a constant (and not
# another target), and fit() recovers a hidden basis from its sparsity target alone.
assert max(spreads.values()) < 1e-8 and wrong > 0.1
assert result.expressible and is_permutation and basis_error < 1e-6 and designed_spread < 1e-6
plt.show()
