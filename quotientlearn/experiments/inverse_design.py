"""Inverse design end to end: recover an unknown basis from a sparsity target, train, measure the bias.

1. **Basis recovery.** A random ``d x d`` orthogonal ``B`` defines the target
   ``R(beta) = sum_i log |(B beta)_i|``. :func:`quotientlearn.design.fit` searches the
   :class:`~quotientlearn.design.OrthogonalBasis` family (``beta = B_fit^T (u * v)``) from ``starts``
   random starts; a start succeeds when ``max |(|B_fit B^T| - P)| < success_tolerance`` for a signed
   permutation ``P``. Ablations: the exact objective without the smoothing schedule, and plain
   Gaussian reference points instead of well-conditioned ones.
2. **Training.** ``seeds`` regression problems ``y = X beta* + noise`` with ``beta*`` sparse in ``B``
   (``n_nonzero`` coefficients of magnitude U[1, 2], random signs) and fewer samples than unknowns.
   The designed model (the fitted basis), the plain model (``theta = beta``) and the sparse model in
   the wrong (standard) basis are trained by minibatch SGD and by full-batch Langevin dynamics, all
   seeds at once. Support recovery: the true support, and nothing else, above ``support_threshold``
   in the coefficients ``B beta``. The initialisation is small (``init_std``), which itself favours
   sparse products under gradient descent; the plain model shows what the data alone give.
3. **Measured bias.** A designed ``3 x 3`` basis model is simulated (isotropic Langevin, gauge fixed;
   ``ql.simulate``) on a loss separable in the coefficients ``c = B beta``; the law of ``c_1`` is
   tested (``ql.stats.ks_test``) against the prediction built from the *target*
   ``exp(-L/T - R/2)`` times the slice volume, and against deliberately wrong laws (no gauge
   correction; twice the target; the sparsity target in the standard basis).
"""

from __future__ import annotations

import time
import warnings

import autograd.numpy as anp
import numpy as np

from quotientlearn import models, stats
from quotientlearn.bias import log_slice_volume
from quotientlearn.design import (
    DesignMismatchWarning,
    OrthogonalBasis,
    fit,
    make_target,
    well_conditioned_reference,
)
from quotientlearn.dynamics import simulate
from quotientlearn.experiments._shared import (
    data_rng,
    new_figure,
    run_checkpoint,
    save_figure,
    spread,
    train_rng,
)
from quotientlearn.io import save_arrays
from quotientlearn.sgd import FeatureRegression, train

DESCRIPTION = "Inverse design: recover an orthogonal basis by pymanopt, train designed vs plain, measure"
CONFIG = {
    "seed": 0, "dim": 8, "n_reference": 512, "n_held_out": 256, "max_gradient_norm": 20.0,
    "starts": 10, "solver": "trust-regions", "success_tolerance": 1e-3, "ablation_starts": 5,
    "seeds": 40, "n_train": 7, "n_nonzero": 2, "noise": 0.01, "init_std": 0.01, "lr": 0.01,
    "n_steps": 40_000, "batch_size": 2, "temperature": 1e-4, "support_threshold": 0.1,
    "check_dim": 3, "check_temperature": 0.1, "check_particles": 4000, "check_dt": 2e-3,
    "check_steps": 5000, "check_window": [0.3, 2.0], "alpha": 0.01, "checkpoint_seconds": 60.0,
}
FAST = {"starts": 4, "ablation_starts": 2, "seeds": 16, "n_steps": 20_000,
        "check_particles": 2000, "check_steps": 2500, "check_dt": 4e-3}

MODELS = ("designed", "plain", "standard_basis")
VARIANTS = ("sgd", "langevin")


def signed_permutation_error(fitted, true):
    """``max |(|fitted true^T| - P)|`` for the nearest signed permutation ``P`` (inf if none).

    Parameters
    ----------
    fitted, true : ndarray, shape (d, d)

    Returns
    -------
    error : float
    """
    overlap = np.abs(np.asarray(fitted) @ np.asarray(true).T)
    permutation = (overlap == overlap.max(axis=1, keepdims=True)).astype(float)
    if not np.all(permutation.sum(axis=0) == 1):
        return float("inf")
    return float(np.max(np.abs(overlap - permutation)))


def run(config, out_dir, resume=False):
    """Run the three parts and return the report body."""
    rng = data_rng(config)
    d = int(config["dim"])
    basis = _random_orthogonal(d, rng)
    recovery = _basis_recovery(config, basis, out_dir, resume)
    training, weights, problem = _training(config, basis, recovery["designed_basis"], rng, out_dir,
                                           resume)
    measured, c1, laws = _measured_bias(config)
    report = {
        "basis_success_rate": recovery["success_rate"],
        "seconds_per_fit": recovery["seconds_per_fit"],
        "support_recovery_rate": training["support_recovery_rate"],
        "basis_recovery": {k: v for k, v in recovery.items() if k != "designed_basis"},
        "training": {k: v for k, v in training.items() if k != "support_recovery_rate"},
        "measured_bias": measured,
    }
    save_arrays(out_dir / "arrays.npz", true_basis=basis, designed_basis=recovery["designed_basis"],
                fitted_bases=recovery["fitted_bases"], coefficients=problem["coefficients"],
                samples_c1=c1,
                **{f"beta_{name}": value for name, value in weights.items()})
    report["basis_recovery"].pop("fitted_bases")
    _figure(report, basis, recovery, c1, laws, out_dir / "inverse_design.png", config)
    return report


def _random_orthogonal(d, rng):
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


# -------------------------------------------------------------------------------- basis recovery
def _fit_starts(config, family, target, reference, held_out, n_starts, smoothing=None):
    errors, seconds, costs, bases = [], [], [], []
    options = {} if smoothing is None else {"smoothing": smoothing}
    for start in range(n_starts):
        # A failed start is an outcome to report, not an error: its mismatch warning is recorded.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DesignMismatchWarning)
            result = fit(family, target, reference, config["solver"], held_out=held_out,
                         seed=[int(config["seed"]), 2, start], **options)
        bases.append(result.psi)
        errors.append(signed_permutation_error(result.psi, target.params["basis"]))
        seconds.append(result.seconds)
        costs.append(result.cost)
    return np.array(errors), np.array(seconds), np.array(costs), np.array(bases)


def _basis_recovery(config, basis, out_dir, resume):
    d, tolerance = int(config["dim"]), float(config["success_tolerance"])
    target = make_target(("sparse_in_basis", basis))
    reference_rng = np.random.default_rng([int(config["seed"]), 3])
    reference = well_conditioned_reference(target, config["n_reference"], reference_rng,
                                           config["max_gradient_norm"])
    held_out = well_conditioned_reference(target, config["n_held_out"], reference_rng,
                                          config["max_gradient_norm"])
    family = OrthogonalBasis(d)
    checkpoint = run_checkpoint(out_dir, "basis_recovery", config)
    state = checkpoint.load(np.random.default_rng(0)) if resume else None
    if state is not None and state["finished"]:
        arrays = state["arrays"]
        errors, seconds, costs, bases = (arrays[k] for k in ("errors", "seconds", "costs",
                                                               "bases"))
    else:
        errors, seconds, costs, bases = _fit_starts(config, family, target, reference, held_out,
                                                    int(config["starts"]))
        checkpoint.save(int(config["starts"]), np.random.default_rng(0), finished=True,
                        errors=errors, seconds=seconds, costs=costs, bases=bases)
    success = errors < tolerance
    # The design used downstream: the lowest-cost fit (a success whenever any start succeeded).
    best = int(np.argmin(np.where(success, costs, np.inf))) if success.any() else int(
        np.argmin(costs))

    ablation = {}
    n_ablation = int(config["ablation_starts"])
    if n_ablation:
        no_smoothing = _fit_starts(config, family, target, reference, held_out, n_ablation,
                                   smoothing=())[0]
        gaussian_rng = np.random.default_rng([int(config["seed"]), 4])
        plain_reference = well_conditioned_reference(target, config["n_reference"], gaussian_rng,
                                                     None)
        plain_held_out = well_conditioned_reference(target, config["n_held_out"], gaussian_rng,
                                                    None)
        no_screening = _fit_starts(config, family, target, plain_reference, plain_held_out,
                                   n_ablation)[0]
        ablation = {
            "exact_objective_only": {"success_rate": float(np.mean(no_smoothing < tolerance)),
                                     "errors": no_smoothing.tolist()},
            "gaussian_reference": {"success_rate": float(np.mean(no_screening < tolerance)),
                                   "errors": no_screening.tolist()},
        }
    return {
        "success_rate": float(np.mean(success)),
        "n_success": int(success.sum()),
        "starts": int(success.size),
        "seconds_per_fit": float(np.median(seconds)),
        "seconds_per_fit_spread": spread(seconds),
        "errors": errors.tolist(),
        "costs": costs.tolist(),
        "solver": config["solver"],
        "designed_start": best,
        "designed_error": float(errors[best]),
        "ablation": ablation,
        "fitted_bases": bases,
        "designed_basis": bases[best],
    }


# -------------------------------------------------------------------------------------- training
def _problem(config, basis, rng):
    n_seeds, d = int(config["seeds"]), basis.shape[0]
    n_train, k = int(config["n_train"]), int(config["n_nonzero"])
    if not 1 <= k <= d:
        raise ValueError(f"n_nonzero must lie in [1, dim]; got {k}")
    # A random k-subset per seed, vectorised: the k smallest of d uniform keys.
    support = np.argsort(rng.random((n_seeds, d)), axis=-1)[:, :k]
    coefficients = np.zeros((n_seeds, d))
    values = rng.uniform(1.0, 2.0, (n_seeds, k)) * rng.choice([-1.0, 1.0], (n_seeds, k))
    np.put_along_axis(coefficients, support, values, axis=-1)
    beta = coefficients @ basis
    features = rng.standard_normal((n_seeds, n_train, d))
    targets = np.einsum("snd,sd->sn", features, beta) + config["noise"] * rng.standard_normal(
        (n_seeds, n_train))
    return {"coefficients": coefficients, "features": features, "targets": targets}


def _training(config, basis, designed_basis, rng, out_dir, resume):
    problem = _problem(config, basis, rng)
    d, n_seeds = basis.shape[0], int(config["seeds"])
    designs = {"designed": models.BasisHadamard(designed_basis), "plain": None,
               "standard_basis": models.Hadamard(d)}
    inits = {name: config["init_std"] * rng.standard_normal((n_seeds, d if m is None else 2 * d))
             for name, m in designs.items()}
    true_support = problem["coefficients"] != 0
    rates, details, weights = {}, {}, {}
    stream = 0
    for name, model in designs.items():
        rates[name], details[name] = {}, {}
        for variant in VARIANTS:
            sgd = variant == "sgd"
            objective = FeatureRegression(problem["features"], problem["targets"], model,
                                          batch_size=config["batch_size"] if sgd else None)
            label = f"{name}_{variant}"
            result = train(objective, inits[name], config["lr"], config["n_steps"],
                           train_rng(config, stream),
                           temperature=0.0 if sgd else config["temperature"],
                           checkpoint=run_checkpoint(out_dir, label, config), resume=resume,
                           desc=label)
            stream += 1
            beta = objective.weights(result.theta)
            weights[label] = beta
            magnitude = np.abs(beta @ basis.T)
            above = magnitude > config["support_threshold"]
            recovered = np.all(above == true_support, axis=-1)
            rates[name][variant] = float(np.mean(recovered))
            details[name][variant] = {
                "n_recovered": int(recovered.sum()),
                "largest_off_support": spread(np.max(np.where(true_support, 0.0, magnitude), -1)),
                "smallest_on_support": spread(np.min(np.where(true_support, magnitude, np.inf),
                                                     -1)),
                "n_above_threshold": spread(above.sum(-1)),
            }
    summary = {
        "support_recovery_rate": rates,
        "details": details,
        "seeds": n_seeds,
        "variants": {"sgd": f"minibatch SGD, batch {config['batch_size']} of {config['n_train']}",
                     "langevin": f"full-batch Langevin, T = {config['temperature']}"},
    }
    return summary, weights, problem


# --------------------------------------------------------------------------------- measured bias
def _measured_bias(config):
    d, temperature = int(config["check_dim"]), float(config["check_temperature"])
    # Its own stream, so the check does not depend on how much data the training part drew.
    basis = _random_orthogonal(d, np.random.default_rng([int(config["seed"]), 8]))
    target = make_target(("sparse_in_basis", basis))
    reference_rng = np.random.default_rng([int(config["seed"]), 5])
    result = fit(OrthogonalBasis(d), target,
                 well_conditioned_reference(target, 200, reference_rng, config["max_gradient_norm"]),
                 config["solver"], seed=[int(config["seed"]), 6])
    designed = result.model

    def loss(beta):
        return 0.5 * anp.sum((anp.dot(beta, basis.T) - 1.0) ** 2, axis=-1)

    start = time.perf_counter()
    samples = simulate(designed, loss, temperature, noise="isotropic", gauge_fixing=True,
                       dt=config["check_dt"], n_steps=config["check_steps"],
                       n_particles=config["check_particles"], seed=[int(config["seed"]), 7],
                       init=designed.balanced(np.ones(d) @ basis))
    seconds = time.perf_counter() - start
    c1 = (samples.beta @ basis.T)[:, 0]

    # Loss, target and slice volume are all separable in c = B beta (the fitted basis is a signed
    # permutation of B), so restricting the joint density to the line c = (x, 1, ..., 1) gives the
    # marginal of c_1 up to a constant.
    def on_line(x):
        coefficients = np.ones((np.size(x), d))
        coefficients[:, 0] = x
        return coefficients @ basis

    def predicted(target_term):
        def log_density(x):
            beta = on_line(x)
            with np.errstate(divide="ignore"):
                return (-np.asarray(loss(beta)) / temperature - 0.5 * target_term(beta)
                        + log_slice_volume(designed, beta))
        return log_density

    standard = make_target("sparse", dim=d)
    laws = {"target": predicted(target),
            "no_gauge_correction": predicted(lambda beta: np.zeros(len(beta))),
            "double_strength": predicted(lambda beta: 2.0 * target(beta)),
            "sparse_in_standard_basis": predicted(standard)}
    window = tuple(config["check_window"])
    tests = {name: stats.ks_test(c1, law, window).as_dict() for name, law in laws.items()}
    for row in tests.values():
        row["verdict"] = "consistent" if row["pvalue"] > config["alpha"] else "rejected"
    return {"designed_basis_error": signed_permutation_error(result.psi, basis),
            "temperature": temperature, "particles": int(samples.beta.shape[0]),
            "dt": config["check_dt"], "steps": config["check_steps"], "window": list(window),
            "simulation_seconds": seconds, "ks": tests}, c1, laws


# ---------------------------------------------------------------------------------------- figure
def _figure(report, basis, recovery, c1, laws, path, config):
    figure, axes = new_figure(3, width=4.0)
    overlap = np.abs(recovery["designed_basis"] @ basis.T)
    image = axes[0].imshow(overlap, vmin=0, vmax=1, cmap="viridis")
    figure.colorbar(image, ax=axes[0], shrink=0.8)
    rate = report["basis_success_rate"]
    axes[0].set(title=f"|B_fit B^T| (success {rate:.0%}, {report['seconds_per_fit']:.2f} s/fit)",
                xlabel="true basis vector", ylabel="fitted basis vector")

    width = 0.35
    positions = np.arange(len(MODELS))
    for offset, variant in zip((-width / 2, width / 2), VARIANTS, strict=True):
        values = [report["support_recovery_rate"][m][variant] for m in MODELS]
        axes[1].bar(positions + offset, values, width, label=variant)
    axes[1].axhline(0.8, color="k", ls="--", lw=0.8, label="issue target 0.8")
    axes[1].set_xticks(positions, MODELS, fontsize=8)
    axes[1].set(ylim=(0, 1.05), ylabel="support recovery rate",
                title=f"{report['training']['seeds']} seeds, n_train = {config['n_train']}")
    axes[1].legend(fontsize=7)

    measured = report["measured_bias"]
    low, high = measured["window"]
    axes[2].hist(c1[(c1 >= low) & (c1 <= high)], bins=40, range=(low, high), density=True,
                 color="0.8", label=f"simulation ({measured['particles']} particles)")
    grid = np.linspace(low, high, 400)
    for (name, law), style in zip(laws.items(), ("C0-", "C3--", "C1-.", "C2:"), strict=True):
        values = np.exp(law(grid) - np.max(law(grid)))
        pvalue = measured["ks"][name]["pvalue"]
        axes[2].plot(grid, values / np.trapezoid(values, grid), style,
                     label=f"{name} (KS p = {pvalue:.2g})")
    axes[2].set(title="measured law of c_1 = (B beta)_1", xlabel="c_1", ylabel="density on window")
    axes[2].legend(fontsize=6)
    save_figure(figure, path)
