"""Fig 6: a designed ``w = cumsum(w1 * w2)`` recovers a step signal from 60 Gaussian measurements.

The cumulative sum of a Hadamard product carries the Hadamard gauge correction on the jumps
``diff(w)``: a total-variation bias. Vanilla ``w`` converges to a dense, oscillating interpolant.

Both runs are deterministic full-batch GD as in the paper; ``ablation=True`` adds minibatch SGD and
Langevin runs at several temperatures, reporting TV and reconstruction error against ``T``.
"""

from __future__ import annotations

import numpy as np

from quotientlearn import datasets, models
from quotientlearn.experiments._shared import (
    ablation_variants,
    data_rng,
    new_figure,
    run_checkpoint,
    save_figure,
    spread,
    train_rng,
)
from quotientlearn.io import save_arrays
from quotientlearn.sgd import FeatureRegression, train

DESCRIPTION = "Fig 6: designed w = cumsum(w1*w2) recovers a step signal (TV bias) vs vanilla; ablation"
CONFIG = {
    "seeds": 8, "seed": 0, "n_measurements": 60, "noise": 0.1, "n_steps": 500_000,
    "vanilla_lr": 1e-2, "vanilla_init_std": 1e-4, "designed_lr": 1e-3, "designed_init_std": 0.3,
    "ablation": False, "ablation_batch_size": 15, "ablation_label_noise": 0.5,
    "ablation_temperatures": [1e-5, 1e-4, 1e-3],
    "ablation_n_steps": 100_000, "checkpoint_seconds": 60.0,
}
FAST = {"seeds": 4, "n_steps": 40_000, "vanilla_lr": 1e-1, "designed_lr": 1e-2,
        "ablation_n_steps": 10_000}

#: The paper's step signal: values on consecutive runs of the given lengths (true TV 6).
VALUES, LENGTHS = (1.0, -1.5, 0.5, 2.0), (50, 70, 40, 40)


def _summaries(weights, truth):
    return {"recon_mse": np.mean((weights - truth) ** 2, axis=-1),
            "tv": datasets.total_variation(weights)}


def run(config, out_dir, resume=False):
    """Train vanilla and designed models on ``seeds`` sensing matrices at once."""
    n_seeds = config["seeds"]
    rng = data_rng(config)
    signal = datasets.step_signal(VALUES, LENGTHS)
    problem = datasets.gaussian_sensing(signal, n_seeds, rng, config["n_measurements"],
                                        config["noise"])
    designed = models.CumsumHadamard(signal.size)
    setups = {
        "vanilla": (None, config["vanilla_lr"],
                    config["vanilla_init_std"] * rng.standard_normal((n_seeds, signal.size))),
        "designed": (designed, config["designed_lr"],
                     config["designed_init_std"] * rng.standard_normal((n_seeds, designed.dim))),
    }
    weights = {}
    for stream, (name, (model, lr, theta0)) in enumerate(setups.items()):
        objective = FeatureRegression(problem.sensing, problem.targets, model)
        result = train(objective, theta0, lr, config["n_steps"], train_rng(config, stream),
                       checkpoint=run_checkpoint(out_dir, name, config), resume=resume,
                       desc=f"tv {name}")
        weights[name] = objective.weights(result.theta)
    stats = {name: _summaries(w, signal) for name, w in weights.items()}
    report = {
        "recon_mse": {name: spread(s["recon_mse"]) for name, s in stats.items()},
        "tv": {name: spread(s["tv"]) for name, s in stats.items()},
        "true_tv": float(datasets.total_variation(signal)),
        "paper": {"recon_mse": {"vanilla": 1.39, "designed": 0.080},
                  "tv": {"vanilla": 130.0, "designed": 23.0}},
    }
    arrays = {f"w_{name}": w for name, w in weights.items()}
    if config["ablation"]:
        rows, extra = _ablation(config, problem, designed, setups, out_dir, resume)
        report["ablation"] = rows
        arrays.update(extra)
    save_arrays(out_dir / "arrays.npz", truth=signal, sensing=problem.sensing,
                targets=problem.targets, **arrays)
    _figure(weights, signal, report.get("ablation"), out_dir / "tv_recovery.png")
    return report


def _ablation(config, problem, designed, setups, out_dir, resume):
    """Both models under GD, minibatch SGD and Langevin noise, from the paper's initialisations."""
    variants = ablation_variants(config)
    rows, arrays = [], {}
    stream = 10
    for model_name, (model, lr, theta0) in setups.items():
        for label, batch_size, temperature, label_noise in variants:
            objective = FeatureRegression(problem.sensing, problem.targets, model, 0.0, batch_size,
                                          label_noise)
            name = f"ablation_{model_name}_{label}"
            result = train(objective, theta0, lr, config["ablation_n_steps"],
                           train_rng(config, stream), temperature=temperature,
                           checkpoint=run_checkpoint(out_dir, name, config), resume=resume,
                           desc=name)
            stream += 1
            weights = objective.weights(result.theta)
            stats = _summaries(weights, problem.truth)
            rows.append({"model": model_name, "variant": label, "temperature": temperature,
                         "label_noise": label_noise,
                         "batch_size": batch_size or objective.n_samples,
                         "tv": spread(stats["tv"]), "recon_mse": spread(stats["recon_mse"])})
            arrays[f"w_{name}"] = weights
    return rows, arrays


def _figure(weights, truth, ablation, path):
    figure, axes = new_figure(2 if ablation else 1, width=5.0)
    axis = axes[0]
    index = np.arange(truth.size)
    axis.plot(index, weights["vanilla"][0], color="tab:gray", lw=0.8, label="vanilla w")
    axis.plot(index, weights["designed"][0], color="tab:blue", lw=1.2, label="cumsum(w1*w2)")
    axis.plot(index, truth, "k--", lw=1.2, label="truth")
    axis.set(xlabel="i", ylabel="signal", title="reconstructions (seed 0)")
    axis.legend(fontsize=8)
    if ablation:
        axis = axes[1]
        for model_name, color in (("vanilla", "tab:gray"), ("designed", "tab:blue")):
            rows = [r for r in ablation if r["model"] == model_name and r["temperature"] > 0]
            axis.loglog([r["temperature"] for r in rows], [r["tv"]["median"] for r in rows],
                        "o-", color=color, label=f"{model_name} Langevin")
            gd = [r for r in ablation if r["model"] == model_name and r["variant"] == "gd"][0]
            axis.axhline(gd["tv"]["median"], color=color, ls="--", lw=0.8,
                         label=f"{model_name} GD")
        axis.axhline(datasets.total_variation(truth), color="k", lw=0.8, label="true TV")
        axis.set(xlabel="temperature T", ylabel="TV (median)", title="noise ablation")
        axis.legend(fontsize=7)
    save_figure(figure, path)
