"""Inverse design end to end: recover an unknown basis at sizes 8 to 64, train, measure the bias.

1. **Basis recovery.** A random ``d x d`` orthogonal ``B`` defines the target
   ``R(beta) = sum_i log |(B beta)_i|``. :func:`quotientlearn.design.fit` searches the
   :class:`~quotientlearn.design.OrthogonalBasis` family (``beta = B_fit^T (u * v)``) from ``starts``
   random starts; a start succeeds when ``max |(|B_fit B^T| - P)| < success_tolerance`` for a signed
   permutation ``P``. Ablations: the exact objective without the continuation, plain Gaussian
   reference points instead of well-conditioned ones, and the variance objective
   ``Var_j[log det G - R]`` with its one-sided smoothing (the pre-scaling method).
2. **Size sweep.** The same recovery at ``sweep_dims`` (8 to 64) for ``sweep_seeds`` hidden bases and
   ``sweep_starts`` random starts each, with ``reference_per_dim * d`` reference points: success
   rate and seconds per fit. Beside it the classical reference on the same bases: scikit-learn's
   FastICA on ``classical_samples_per_dim * d`` samples ``beta = B^T c`` with Bernoulli-Gaussian
   coefficients (``classical_sparsity`` nonzero), started from the same number of random starts,
   judged by the same criterion. The variance objective runs at ``values_dims`` for contrast.
3. **The other families at scale.** :class:`~quotientlearn.design.SparsityStrength` on a weighted
   sparsity target (recovered when every weight is within ``success_tolerance``) and
   :class:`~quotientlearn.design.Mixing` (``"general"``) on a random invertible mixing (recovered
   when the rows of ``A`` match the hidden ones as directions, :func:`row_direction_error`), at
   ``family_dims``.
4. **Training.** ``seeds`` regression problems ``y = X beta* + noise`` with ``beta*`` sparse in ``B``
   (``n_nonzero`` coefficients of magnitude U[1, 2], random signs) and fewer samples than unknowns.
   The designed model (the fitted basis), the plain model (``theta = beta``) and the sparse model in
   the wrong (standard) basis are trained by minibatch SGD and by full-batch Langevin dynamics, all
   seeds at once. Support recovery: the true support, and nothing else, above ``support_threshold``
   in the coefficients ``B beta``. The initialisation is small (``init_std``), which itself favours
   sparse products under gradient descent; the plain model shows what the data alone give.
5. **Measured bias.** A designed ``3 x 3`` basis model is simulated (isotropic Langevin, gauge fixed;
   ``ql.simulate``) on a loss separable in the coefficients ``c = B beta``; the law of ``c_1`` is
   tested (``ql.stats.ks_test``) against the prediction built from the *target*
   ``exp(-L/T - R/2)`` times the slice volume, and against deliberately wrong laws (no gauge
   correction; twice the target; the sparsity target in the standard basis).

Seconds per fit are wall time on whatever machine runs it; on a shared machine they are disturbed by
the other processes (the report says how many fits ran and gives their spread).
"""

from __future__ import annotations

import time
import warnings

import autograd.numpy as anp
import numpy as np
from tqdm.auto import tqdm

from quotientlearn import models, stats
from quotientlearn.bias import log_slice_volume
from quotientlearn.design import (
    ClassicalUnavailable,
    DesignMismatchWarning,
    Mixing,
    OrthogonalBasis,
    SparsityStrength,
    fastica_basis,
    fit,
    make_target,
    row_direction_error,
    signed_permutation_error,
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
    "seed": 0, "dim": 8, "n_reference": 512, "n_held_out": 256, "reference_keep": 0.5,
    "starts": 10, "solver": "trust-regions", "success_tolerance": 1e-3, "ablation_starts": 5,
    "sweep_dims": [8, 16, 32, 64], "sweep_seeds": 3, "sweep_starts": 10, "reference_per_dim": 8,
    "classical_samples_per_dim": 1000, "classical_sparsity": 0.2, "values_dims": [8, 16],
    "family_dims": [16, 32, 64], "family_starts": 3,
    "seeds": 40, "n_train": 7, "n_nonzero": 2, "noise": 0.01, "init_std": 0.01, "lr": 0.01,
    "n_steps": 40_000, "batch_size": 2, "temperature": 1e-4, "support_threshold": 0.1,
    "check_dim": 3, "check_temperature": 0.1, "check_particles": 4000, "check_dt": 2e-3,
    "check_steps": 5000, "check_window": [0.3, 2.0], "alpha": 0.01, "checkpoint_seconds": 60.0,
}
FAST = {"starts": 4, "ablation_starts": 1, "seeds": 16, "n_steps": 20_000,
        "check_particles": 2000, "check_steps": 2500, "check_dt": 4e-3,
        "sweep_dims": [8, 16], "sweep_seeds": 1, "sweep_starts": 3, "values_dims": [8],
        "family_dims": [8], "family_starts": 1}

MODELS = ("designed", "plain", "standard_basis")
VARIANTS = ("sgd", "langevin")


def run(config, out_dir, resume=False):
    """Run the five parts and return the report body."""
    rng = data_rng(config)
    d = int(config["dim"])
    basis = _random_orthogonal(d, rng)
    recovery = _basis_recovery(config, basis, out_dir, resume)
    sweep = _size_sweep(config, out_dir, resume)
    families = _families_at_scale(config, out_dir, resume)
    training, weights, problem = _training(config, basis, recovery["designed_basis"], rng, out_dir,
                                           resume)
    measured, c1, laws = _measured_bias(config)
    report = {
        "basis_success_rate": recovery["success_rate"],
        "seconds_per_fit": recovery["seconds_per_fit"],
        "support_recovery_rate": training["support_recovery_rate"],
        "basis_recovery": {k: v for k, v in recovery.items() if k != "designed_basis"},
        "size_sweep": sweep,
        "families_at_scale": families,
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
def _fit_starts(config, family, target, reference, held_out, n_starts, stream, **options):
    """Fit ``n_starts`` random starts; their errors, seconds, costs and fitted bases."""
    errors, seconds, costs, bases = [], [], [], []
    for start in range(n_starts):
        # A failed start is an outcome to report, not an error: its mismatch warning is recorded.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DesignMismatchWarning)
            result = fit(family, target, reference, config["solver"], held_out=held_out,
                         seed=[int(config["seed"]), *stream, start], **options)
        bases.append(result.psi)
        errors.append(signed_permutation_error(result.psi, target.params["basis"]))
        seconds.append(result.seconds)
        costs.append(result.cost)
    return np.array(errors), np.array(seconds), np.array(costs), np.array(bases)


def _rate(errors, tolerance, seconds=None):
    rate = {"success_rate": float(np.mean(np.asarray(errors) < tolerance)),
            "errors": np.asarray(errors).tolist()}
    if seconds is not None:
        rate["seconds_per_fit"] = float(np.median(seconds))
    return rate


def _basis_recovery(config, basis, out_dir, resume):
    d, tolerance = int(config["dim"]), float(config["success_tolerance"])
    keep = float(config["reference_keep"])
    target = make_target(("sparse_in_basis", basis))
    reference_rng = np.random.default_rng([int(config["seed"]), 3])
    reference = well_conditioned_reference(target, config["n_reference"], reference_rng, keep=keep)
    held_out = well_conditioned_reference(target, config["n_held_out"], reference_rng, keep=keep)
    family = OrthogonalBasis(d)
    checkpoint = run_checkpoint(out_dir, "basis_recovery", config)
    state = checkpoint.load(np.random.default_rng(0)) if resume else None
    if state is not None and state["finished"]:
        arrays = state["arrays"]
        errors, seconds, costs, bases = (arrays[k] for k in ("errors", "seconds", "costs",
                                                               "bases"))
    else:
        errors, seconds, costs, bases = _fit_starts(config, family, target, reference, held_out,
                                                    int(config["starts"]), (2,))
        checkpoint.save(int(config["starts"]), np.random.default_rng(0), finished=True,
                        errors=errors, seconds=seconds, costs=costs, bases=bases)
    success = errors < tolerance
    # The design used downstream: the lowest-cost fit (a success whenever any start succeeded).
    best = int(np.argmin(np.where(success, costs, np.inf))) if success.any() else int(
        np.argmin(costs))

    ablation = {}
    n_ablation = int(config["ablation_starts"])
    if n_ablation:
        gaussian_rng = np.random.default_rng([int(config["seed"]), 4])
        plain_reference = well_conditioned_reference(target, config["n_reference"], gaussian_rng,
                                                     keep=1.0)
        plain_held_out = well_conditioned_reference(target, config["n_held_out"], gaussian_rng,
                                                    keep=1.0)
        runs = {
            # Trapped between walls, a start spends its iterations there; 100 show it as well as 300.
            "exact_objective_only": (reference, held_out, {"smoothing": (), "max_iterations": 100}),
            "gaussian_reference": (plain_reference, plain_held_out, {}),
            "variance_objective": (reference, held_out, {"objective": "values"}),
        }
        for name, (points, held, options) in runs.items():
            errors_, seconds_ = _fit_starts(config, family, target, points, held, n_ablation, (2,),
                                            **options)[:2]
            ablation[name] = _rate(errors_, tolerance, seconds_)
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


# ------------------------------------------------------------------------------------ size sweep
def _sweep_unit(config, d, data_seed, out_dir, resume):
    """One hidden d x d basis: the designed fits, FastICA and (at small d) the variance objective."""
    checkpoint = run_checkpoint(out_dir, f"sweep_d{d}_seed{data_seed}", config)
    state = checkpoint.load(np.random.default_rng(0)) if resume else None
    if state is not None and state["finished"]:
        return {key: value for key, value in state["arrays"].items()}
    seed = int(config["seed"])
    basis = _random_orthogonal(d, np.random.default_rng([seed, 10, d, data_seed]))
    target = make_target(("sparse_in_basis", basis))
    reference = well_conditioned_reference(target, int(config["reference_per_dim"]) * d,
                                           np.random.default_rng([seed, 11, d, data_seed]),
                                           keep=float(config["reference_keep"]))
    starts = int(config["sweep_starts"])
    errors, seconds, costs, _ = _fit_starts(config, OrthogonalBasis(d), target, reference, None,
                                            starts, (12, d, data_seed))
    unit = {"errors": errors, "seconds": seconds, "costs": costs}
    if d in [int(v) for v in config["values_dims"]]:
        values = _fit_starts(config, OrthogonalBasis(d), target, reference, None,
                             int(config["ablation_starts"]), (13, d, data_seed),
                             objective="values")
        unit["values_errors"], unit["values_seconds"] = values[0], values[1]
    unit.update(_classical_unit(config, basis, d, data_seed, starts))
    checkpoint.save(1, np.random.default_rng(0), finished=True, **unit)
    return unit


def _classical_unit(config, basis, d, data_seed, starts):
    """FastICA from ``starts`` random starts on samples sparse in ``basis``; empty without sklearn."""
    rng = np.random.default_rng([int(config["seed"]), 14, d, data_seed])
    n, sparsity = int(config["classical_samples_per_dim"]) * d, float(config["classical_sparsity"])
    # Bernoulli-Gaussian coefficients scaled to unit variance: the samples are white.
    coefficients = rng.standard_normal((n, d)) * (rng.random((n, d)) < sparsity) / np.sqrt(sparsity)
    samples = coefficients @ basis
    errors, seconds = [], []
    for start in range(starts):
        begin = time.perf_counter()
        try:
            fitted = fastica_basis(samples, seed=start)
        except ClassicalUnavailable:
            return {}
        seconds.append(time.perf_counter() - begin)
        errors.append(signed_permutation_error(fitted, basis))
    return {"classical_errors": np.array(errors), "classical_seconds": np.array(seconds)}


def _size_sweep(config, out_dir, resume):
    tolerance = float(config["success_tolerance"])
    dims = [int(d) for d in config["sweep_dims"]]
    units = [(d, s) for d in dims for s in range(int(config["sweep_seeds"]))]
    results = {}
    # tqdm's disable=None hides the bar when stderr is not a terminal.
    for d, data_seed in tqdm(units, desc="size sweep", leave=False, disable=None):
        results.setdefault(d, []).append(_sweep_unit(config, d, data_seed, out_dir, resume))
    rows = {}
    for d, unit_list in results.items():
        def pooled(key, unit_list=unit_list):
            return np.concatenate([unit[key] for unit in unit_list]) if key in unit_list[0] else None

        errors, seconds = pooled("errors"), pooled("seconds")
        row = {"designed": {**_rate(errors, tolerance), "fits": int(errors.size),
                            "seconds_per_fit": float(np.median(seconds)),
                            "seconds_per_fit_spread": spread(seconds),
                            "median_error": float(np.median(errors))},
               "reference_points": int(config["reference_per_dim"]) * d}
        classical = pooled("classical_errors")
        row["classical"] = ({"method": "scikit-learn FastICA (whiten=False)",
                             **_rate(classical, tolerance), "fits": int(classical.size),
                             "median_error": float(np.median(classical)),
                             "seconds_per_fit": float(np.median(pooled("classical_seconds"))),
                             "samples": int(config["classical_samples_per_dim"]) * d}
                            if classical is not None else
                            {"method": "not run: scikit-learn is not installed "
                                       "(pip install \"quotientlearn[classical]\")"})
        values = pooled("values_errors")
        if values is not None:
            row["variance_objective"] = {**_rate(values, tolerance), "fits": int(values.size),
                                         "seconds_per_fit": float(np.median(
                                             pooled("values_seconds")))}
        rows[str(d)] = row
    # Growth of the median time per fit between the two largest sizes, as a power of d.
    if len(dims) >= 2:
        (low, high) = dims[-2], dims[-1]
        ratio = rows[str(high)]["designed"]["seconds_per_fit"] / rows[str(low)]["designed"][
            "seconds_per_fit"]
        rows["time_exponent"] = float(np.log(ratio) / np.log(high / low))
    return rows


# ------------------------------------------------------------------------- families at scale
#: Each family's recovery criterion: the fitted psi against the target's hidden parameters.
_FAMILY_ERRORS = {
    "SparsityStrength": lambda family, psi, target: float(np.max(np.abs(
        family.weights_of_exponents(psi)[0] - target.params["weights"]))),
    "Mixing": lambda family, psi, target: row_direction_error(family.analysis(psi),
                                                              target.params["basis"]),
}


def _families_at_scale(config, out_dir, resume):
    """SparsityStrength and Mixing at ``family_dims``, each with its own recovery criterion."""
    tolerance, starts = float(config["success_tolerance"]), int(config["family_starts"])
    rows = {}
    for d in [int(v) for v in config["family_dims"]]:
        checkpoint = run_checkpoint(out_dir, f"families_d{d}", config)
        state = checkpoint.load(np.random.default_rng(0)) if resume else None
        if state is not None and state["finished"]:
            arrays = state["arrays"]
        else:
            rng = np.random.default_rng([int(config["seed"]), 15, d])
            cases = {
                "SparsityStrength": (SparsityStrength(d),
                                     make_target(("weighted_sparse", rng.uniform(0.2, 1.8, d)))),
                "Mixing": (Mixing(d, "general"),
                           make_target(("sparse_in_basis", rng.standard_normal((d, d))))),
            }
            arrays = {}
            for name, (family, target) in cases.items():
                reference = well_conditioned_reference(
                    target, int(config["reference_per_dim"]) * d, rng,
                    keep=float(config["reference_keep"]))
                errors, seconds = [], []
                for start in range(starts):
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", DesignMismatchWarning)
                        result = fit(family, target, reference, config["solver"],
                                     seed=[int(config["seed"]), 16, d, start])
                    errors.append(_FAMILY_ERRORS[name](family, result.psi, target))
                    seconds.append(result.seconds)
                arrays[f"{name}_errors"] = np.array(errors)
                arrays[f"{name}_seconds"] = np.array(seconds)
            checkpoint.save(1, np.random.default_rng(0), finished=True, **arrays)
        rows[str(d)] = {
            name: {**_rate(arrays[f"{name}_errors"], tolerance),
                   "seconds_per_fit": float(np.median(arrays[f"{name}_seconds"]))}
            for name in ("SparsityStrength", "Mixing")}
    rows["criteria"] = {
        "SparsityStrength": "max |w_fit - w| over the bias weights 2 / (p + 1)",
        "Mixing": "max over rows of A = M^{-1} of 1 - |cos| to the matched hidden row",
    }
    return rows


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
                 well_conditioned_reference(target, 200, reference_rng,
                                            keep=float(config["reference_keep"])),
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
    figure, axes = new_figure(5, width=4.0)
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
    _sweep_panels(report["size_sweep"], axes[3], axes[4], config)
    save_figure(figure, path)


def _sweep_panels(sweep, rate_axis, time_axis, config):
    """Recovery rate and seconds per fit against d, designed fit beside FastICA."""
    dims = [int(d) for d in config["sweep_dims"]]
    rows = [sweep[str(d)] for d in dims]
    tolerance = config["success_tolerance"]
    rate_axis.plot(dims, [row["designed"]["success_rate"] for row in rows], "C0o-", ms=7,
                   label="designed fit (random starts)")
    classical = "success_rate" in rows[0]["classical"]
    if classical:
        errors = [row["classical"]["median_error"] for row in rows]
        rate_axis.plot(dims, [row["classical"]["success_rate"] for row in rows], "C3s--", ms=7,
                       label=f"FastICA on {config['classical_samples_per_dim']} d samples "
                             f"(median error {min(errors):.0e}-{max(errors):.0e})")
    small = [(d, row) for d, row in zip(dims, rows, strict=True) if "variance_objective" in row]
    if small:
        rate_axis.plot([d for d, _ in small],
                       [row["variance_objective"]["success_rate"] for _, row in small], "C1^:", ms=5,
                       label="variance objective, same points")
    rate_axis.axhline(0.8, color="k", ls="--", lw=0.8)
    rate_axis.set(xscale="log", ylim=(-0.04, 1.05), xlabel="d",
                  ylabel=f"fraction within {tolerance:g} of B",
                  title=f"basis recovery: {config['sweep_seeds']} bases x "
                        f"{config['sweep_starts']} starts")
    time_axis.set(xscale="log", yscale="log")
    seconds = np.array([row["designed"]["seconds_per_fit"] for row in rows])
    time_axis.plot(dims, seconds, "C0o-", label="designed fit (median)")
    time_axis.plot(dims, seconds[0] * (np.array(dims) / dims[0]) ** 3, "k:", lw=0.8,
                   label="d^3 from the smallest")
    if classical:
        time_axis.plot(dims, [row["classical"]["seconds_per_fit"] for row in rows], "C3s--",
                       label="FastICA")
    time_axis.axhline(60.0, color="C2", ls="--", lw=0.8, label="60 s")
    time_axis.set(xlabel="d", ylabel="seconds per fit", title="time per fit (wall clock)")
    for axis in (rate_axis, time_axis):
        axis.minorticks_off()
        axis.set_xticks(dims, [str(d) for d in dims])
        axis.legend(fontsize=6)
