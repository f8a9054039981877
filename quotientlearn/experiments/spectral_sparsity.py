"""Fig 5: a designed parameterisation ``w = p * q`` recovers a sparse cosine spectrum; plain ``w`` does not.

Three models fit 32 noisy samples of a signal with 3 active frequencies out of 64 by full-batch GD:
vanilla ``w``, vanilla with an l1 penalty, and the designed product ``w = p * q`` (Hadamard: its gauge
correction is a sparsity bias on ``w``). Test error uses the exact formula for ``t ~ U[0, 1]``.

``instance="paper"`` trains on the authors' own problem (their saved training inputs, targets and
true coefficients, seed 456); seeds then differ only in our initialisations. ``"random"`` draws a new
problem per seed.

The paper's runs are deterministic GD from a small initialisation, which alone biases towards sparse
solutions. ``ablation=True`` adds runs from a large initialisation with minibatch SGD and with
Langevin noise at several temperatures, to see what the noise itself does.
"""

from __future__ import annotations

import numpy as np

from quotientlearn import data, datasets, models
from quotientlearn.experiments._shared import (
    ablation_variants,
    data_rng,
    new_figure,
    run_checkpoint,
    save_figure,
    spread,
    train_rng,
    verdict,
)
from quotientlearn.io import save_arrays
from quotientlearn.sgd import FeatureRegression, train

DESCRIPTION = "Fig 5: designed w = p*q recovers a 3-sparse cosine spectrum (vs vanilla, l1); ablation"
CONFIG = {
    "seeds": 8, "seed": 0, "instance": "random", "n_features": 64, "n_nonzero": 3, "n_train": 32,
    "noise": 0.1, "lr": 1e-3, "n_steps": 50_000, "vanilla_init_std": 1e-4, "l1": 0.1,
    "designed_init_std": 1e-2, "support_threshold": 0.1, "ablation": False, "ablation_init_std": 0.5,
    "ablation_batch_size": 8, "ablation_label_noise": 0.5, "ablation_temperatures": [1e-4, 1e-3, 1e-2],
    "ablation_n_steps": 50_000, "checkpoint_seconds": 60.0,
}
FAST = {"seeds": 4, "n_steps": 20_000, "lr": 2.5e-3, "ablation_n_steps": 20_000}

MODELS = ("vanilla", "l1", "designed")
INSTANCES = ("random", "paper")
#: The saved vector of each model in the paper's arrays.
PAPER_VECTORS = {"vanilla": "w_naive_ur", "l1": "w_naive_rr", "designed": "w_hadamard_ur"}
#: On the paper's instance, a faithful implementation of the authors' loop over 8 initialisations
#: (audit of issue 11): test MSE of each model, median [min, max] where it varies.
AUTHORS_CODE = {"instance": "paper", "test_mse": {"vanilla": 2.5354, "l1": 0.0534,
                                                  "designed": [0.0345, 0.0126, 0.18]},
                "initialisations": 8}
#: Tolerances within which the paper's instance must reproduce the paper's vanilla and l1 numbers.
REPRODUCTION_TOLERANCE = {"vanilla": 0.005, "l1": 0.002}


def _summaries(weights, truth, threshold):
    return {"test_mse": datasets.cosine_test_mse(weights, truth),
            "n_support": np.sum(np.abs(weights) > threshold, axis=-1)}


def _problem(config, rng):
    if config["instance"] == "paper":
        problem = datasets.paper_spectral_regression(config["seeds"])
        if problem.truth.shape[-1] != config["n_features"]:
            raise ValueError(f"the paper's instance has {problem.truth.shape[-1]} features; "
                             f"n_features must be {problem.truth.shape[-1]}")
        return problem
    if config["instance"] != "random":
        raise ValueError(f"instance must be one of {INSTANCES}; got {config['instance']!r}")
    return datasets.sparse_cosine_regression(config["seeds"], rng, config["n_features"],
                                             config["n_nonzero"], config["n_train"],
                                             config["noise"])


def _paper_statistics(threshold):
    """The paper's trained vectors, evaluated on its own instance."""
    arrays = data.paper_run("spectral_sparsity").arrays
    truth = np.asarray(arrays["w_true"], dtype=float)
    vectors = {name: np.asarray(arrays[key], dtype=float) for name, key in PAPER_VECTORS.items()}
    stats = {name: _summaries(w, truth, threshold) for name, w in vectors.items()}
    return vectors, {name: {key: float(value) for key, value in s.items()}
                     for name, s in stats.items()}


def run(config, out_dir, resume=False):
    """Train the three models (and the ablation variants) on ``seeds`` problems at once."""
    n_seeds, n_features = config["seeds"], config["n_features"]
    rng = data_rng(config)
    problem = _problem(config, rng)
    designed = models.Hadamard(n_features)
    inits = {
        "vanilla": config["vanilla_init_std"] * rng.standard_normal((n_seeds, n_features)),
        "designed": config["designed_init_std"] * rng.standard_normal((n_seeds, 2 * n_features)),
        "ablation": config["ablation_init_std"] * rng.standard_normal((n_seeds, 2 * n_features)),
    }
    setups = {"vanilla": (None, 0.0, inits["vanilla"]),
              "l1": (None, config["l1"], inits["vanilla"]),
              "designed": (designed, 0.0, inits["designed"])}
    weights = {}
    for stream, (name, (model, l1, theta0)) in enumerate(setups.items()):
        objective = FeatureRegression(problem.features, problem.targets, model, l1)
        result = train(objective, theta0, config["lr"], config["n_steps"],
                       train_rng(config, stream), checkpoint=run_checkpoint(out_dir, name, config),
                       resume=resume, desc=f"spectral {name}")
        weights[name] = objective.weights(result.theta)
    threshold = config["support_threshold"]
    stats = {name: _summaries(w, problem.truth, threshold) for name, w in weights.items()}
    exact_support = {name: np.all((np.abs(w) > threshold) == (problem.truth != 0), axis=-1)
                     for name, w in weights.items()}
    paper_vectors, paper = _paper_statistics(threshold)
    report = {
        "instance": config["instance"],
        "test_mse": {name: spread(s["test_mse"]) for name, s in stats.items()},
        "n_support": {name: spread(s["n_support"]) for name, s in stats.items()},
        "n_true_support": int(np.count_nonzero(problem.truth[0])),
        "exact_support_fraction": {name: float(np.mean(hit)) for name, hit in exact_support.items()},
        "paper": {"test_mse": {name: s["test_mse"] for name, s in paper.items()},
                  "n_support": {name: s["n_support"] for name, s in paper.items()},
                  "source": "saved vectors on the paper's instance "
                            "(quotientlearn.data.paper_run('spectral_sparsity'))"},
        "verdict": _verdicts(config["instance"], stats, exact_support, paper),
    }
    arrays = {f"w_{name}": w for name, w in weights.items()}
    if config["ablation"]:
        rows, ablation_weights = _ablation(config, problem, designed, inits, out_dir, resume)
        report["ablation"] = rows
        arrays.update(ablation_weights)
    save_arrays(out_dir / "arrays.npz", truth=problem.truth, features=problem.features,
                targets=problem.targets, **arrays)
    _figure(weights, problem.truth, stats, paper_vectors, paper, config["instance"],
            report.get("ablation"), out_dir / "spectral_sparsity.png")
    return report


def _verdicts(instance, stats, exact_support, paper):
    authors = AUTHORS_CODE if instance == "paper" else None
    items = [
        verdict(f"the designed model is at least as accurate as the paper's: test MSE <= "
                f"{paper['designed']['test_mse']:.4f}", "test MSE, designed",
                stats["designed"]["test_mse"],
                stats["designed"]["test_mse"] <= paper["designed"]["test_mse"],
                paper["designed"]["test_mse"], authors),
        verdict("the designed model keeps exactly the true frequencies above the threshold, as the "
                "paper's does", "coefficients above the threshold, designed",
                stats["designed"]["n_support"], exact_support["designed"],
                paper["designed"]["n_support"], authors),
    ]
    if instance == "paper":
        # One problem for every seed: l1 and vanilla GD then converge to (nearly) one solution, so
        # the claim is that they reproduce the paper's numbers.
        items += [
            verdict(f"on the paper's instance, {name} reproduces the paper's test MSE within "
                    f"{tolerance}: |MSE - {paper[name]['test_mse']:.4f}| <= {tolerance}",
                    f"test MSE, {name}", stats[name]["test_mse"],
                    np.abs(stats[name]["test_mse"] - paper[name]["test_mse"]) <= tolerance,
                    paper[name]["test_mse"], authors)
            for name, tolerance in REPRODUCTION_TOLERANCE.items()]
    else:
        items.append(verdict(f"l1 is at least as accurate as the paper's: test MSE <= "
                             f"{paper['l1']['test_mse']:.4f}", "test MSE, l1",
                             stats["l1"]["test_mse"],
                             stats["l1"]["test_mse"] <= paper["l1"]["test_mse"],
                             paper["l1"]["test_mse"]))
    return items


def _ablation(config, problem, designed, inits, out_dir, resume):
    """Vanilla and designed models under GD, minibatch SGD and Langevin noise; large designed init."""
    variants = ablation_variants(config)
    rows, arrays = [], {}
    stream = 10
    for model_name, model, theta0 in (("vanilla", None, inits["vanilla"]),
                                      ("designed", designed, inits["ablation"])):
        for label, batch_size, temperature, label_noise in variants:
            objective = FeatureRegression(problem.features, problem.targets, model, 0.0,
                                          batch_size, label_noise)
            name = f"ablation_{model_name}_{label}"
            result = train(objective, theta0, config["lr"], config["ablation_n_steps"],
                           train_rng(config, stream), temperature=temperature,
                           checkpoint=run_checkpoint(out_dir, name, config), resume=resume,
                           desc=name)
            stream += 1
            weights = objective.weights(result.theta)
            stats = _summaries(weights, problem.truth, config["support_threshold"])
            rows.append({"model": model_name, "variant": label, "temperature": temperature,
                         "label_noise": label_noise,
                         "batch_size": batch_size or objective.n_samples,
                         "n_support": spread(stats["n_support"]),
                         "test_mse": spread(stats["test_mse"])})
            arrays[f"w_{name}"] = weights
    return rows, arrays


def _figure(weights, truth, stats, paper_vectors, paper, instance, ablation, path):
    figure, axes = new_figure(5 if ablation else 4, width=3.6)
    index = np.arange(truth.shape[-1])
    for axis, name in zip(axes, MODELS, strict=False):
        if instance == "paper":
            # One problem for all seeds: the band over initialisations, and the paper's own vector.
            low, high = weights[name].min(axis=0), weights[name].max(axis=0)
            axis.vlines(index, low, high, color="C0", lw=3, alpha=0.4, label="min-max over seeds")
            axis.plot(index, np.median(weights[name], axis=0), "C0.", ms=4, label="median")
            axis.plot(index, paper_vectors[name], "k_", ms=9, label="paper (1 seed)")
            title = f"{name}, paper's instance"
        else:
            axis.stem(index, weights[name][0], markerfmt="C0.", basefmt="k-", linefmt="C0-",
                      label=name)
            title = f"{name} (seed 0)"
        axis.axhline(0.0, color="k", lw=0.5)
        support = truth[0] != 0
        axis.plot(index[support], truth[0][support], "rx", ms=7, label="truth (nonzero)")
        axis.set(xlabel="frequency k", ylabel="w_k", title=title)
        axis.legend(fontsize=7)
    axis = axes[3]
    for i, name in enumerate(MODELS):
        values = stats[name]["test_mse"]
        axis.semilogy(np.full(values.shape, i) + np.linspace(-0.15, 0.15, values.size), values, "o",
                      color="C0", ms=4, alpha=0.7, label="ours, per seed" if i == 0 else None)
        axis.semilogy([i], [paper[name]["test_mse"]], "k*", ms=10,
                      label="paper (1 seed)" if i == 0 else None)
    axis.set_xticks(range(len(MODELS)), MODELS)
    axis.set(ylabel="test MSE", title="test error, all seeds")
    axis.legend(fontsize=7)
    if ablation:
        axis = axes[4]
        for model_name, color in (("vanilla", "tab:gray"), ("designed", "tab:blue")):
            rows = [r for r in ablation if r["model"] == model_name and r["temperature"] > 0]
            temps = [r["temperature"] for r in rows]
            axis.semilogx(temps, [r["n_support"]["median"] for r in rows], "o-", color=color,
                          label=f"{model_name} Langevin")
            gd = [r for r in ablation if r["model"] == model_name and r["variant"] == "gd"][0]
            axis.axhline(gd["n_support"]["median"], color=color, ls="--", lw=0.8,
                         label=f"{model_name} GD")
        axis.axhline(truth[0].astype(bool).sum(), color="r", lw=0.8, label="true support")
        axis.set(xlabel="temperature T", ylabel="support size (median)", title="noise ablation")
        axis.legend(fontsize=7)
    save_figure(figure, path)
