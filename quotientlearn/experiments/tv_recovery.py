"""Fig 6: a designed ``w = cumsum(w1 * w2)`` recovers a step signal from 60 Gaussian measurements.

The cumulative sum of a Hadamard product carries the Hadamard gauge correction on the jumps
``diff(w)``: a total-variation bias. Vanilla ``w`` converges to a dense, oscillating interpolant.

``instance="paper"`` trains on the authors' own problem (their saved measurement matrix and
measurements, seed 0); seeds then differ only in our initialisations. ``"random"`` draws a new
measurement matrix and noise per seed. The paper's saved signals come from 1.5M steps
(``num_steps_for_acc``), ours from ``n_steps``.

Both runs are deterministic full-batch GD as in the paper; ``ablation=True`` adds minibatch SGD and
Langevin runs at several temperatures, reporting TV and reconstruction error against ``T``.
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

DESCRIPTION = "Fig 6: designed w = cumsum(w1*w2) recovers a step signal (TV bias) vs vanilla; ablation"
CONFIG = {
    "seeds": 8, "seed": 0, "instance": "random", "n_measurements": 60, "noise": 0.1, "n_steps": 500_000,
    "vanilla_lr": 1e-2, "vanilla_init_std": 1e-4, "designed_lr": 1e-3, "designed_init_std": 0.3,
    "ablation": False, "ablation_batch_size": 15, "ablation_label_noise": 0.5,
    "ablation_temperatures": [1e-5, 1e-4, 1e-3],
    "ablation_n_steps": 100_000, "checkpoint_seconds": 60.0,
}
FAST = {"seeds": 4, "n_steps": 40_000, "vanilla_lr": 1e-1, "designed_lr": 1e-2,
        "ablation_n_steps": 10_000}

#: The paper's step signal: values on consecutive runs of the given lengths (true TV 6).
VALUES, LENGTHS = (1.0, -1.5, 0.5, 2.0), (50, 70, 40, 40)
INSTANCES = ("random", "paper")
#: The saved signal of each model in the paper's arrays.
PAPER_SIGNALS = {"vanilla": "w_simple", "designed": "w_cumsum"}
#: On the paper's instance, a faithful implementation of the authors' loop (audit of issue 11):
#: vanilla reconstruction MSE and TV, and the designed MSE over 32 initialisations, median [min, max].
AUTHORS_CODE = {"instance": "paper", "recon_mse": {"vanilla": 1.389, "designed": [0.043, 0.0185,
                                                                                  0.125]},
                "tv": {"vanilla": 129.57}, "initialisations": 32}
#: Tolerances within which the paper's instance must reproduce the paper's vanilla numbers.
REPRODUCTION_TOLERANCE = {"recon_mse": 0.002, "tv": 0.2}


def _problem(config, rng):
    if config["instance"] == "paper":
        return datasets.paper_sensing(config["seeds"])
    if config["instance"] != "random":
        raise ValueError(f"instance must be one of {INSTANCES}; got {config['instance']!r}")
    return datasets.gaussian_sensing(datasets.step_signal(VALUES, LENGTHS), config["seeds"], rng,
                                     config["n_measurements"], config["noise"])


def _paper_run():
    """The paper's saved signals and their reconstruction MSE and TV."""
    arrays = data.paper_run("tv_recovery").arrays
    truth = np.asarray(arrays["true_signal"], dtype=float)
    signals = {name: np.asarray(arrays[key], dtype=float) for name, key in PAPER_SIGNALS.items()}
    return signals, {name: {key: float(value) for key, value in _summaries(w, truth).items()}
                     for name, w in signals.items()}


def _summaries(weights, truth):
    return {"recon_mse": np.mean((weights - truth) ** 2, axis=-1),
            "tv": datasets.total_variation(weights)}


def run(config, out_dir, resume=False):
    """Train vanilla and designed models on ``seeds`` sensing matrices at once."""
    n_seeds = config["seeds"]
    rng = data_rng(config)
    problem = _problem(config, rng)
    signal = problem.truth
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
    paper_signals, paper = _paper_run()
    report = {
        "instance": config["instance"],
        "recon_mse": {name: spread(s["recon_mse"]) for name, s in stats.items()},
        "tv": {name: spread(s["tv"]) for name, s in stats.items()},
        "true_tv": float(datasets.total_variation(signal)),
        "paper": {"recon_mse": {name: s["recon_mse"] for name, s in paper.items()},
                  "tv": {name: s["tv"] for name, s in paper.items()},
                  "source": "saved signals after 1.5M steps "
                            "(quotientlearn.data.paper_run('tv_recovery'))"},
        "verdict": _verdicts(config["instance"], stats, paper),
    }
    arrays = {f"w_{name}": w for name, w in weights.items()}
    if config["ablation"]:
        rows, extra = _ablation(config, problem, designed, setups, out_dir, resume)
        report["ablation"] = rows
        arrays.update(extra)
    save_arrays(out_dir / "arrays.npz", truth=signal, sensing=problem.sensing,
                targets=problem.targets, **arrays)
    _figure(weights, signal, paper_signals, config["instance"], report.get("ablation"),
            out_dir / "tv_recovery.png")
    return report


def _verdicts(instance, stats, paper):
    authors = AUTHORS_CODE if instance == "paper" else None
    designed = stats["designed"]
    items = [verdict(f"the designed model reconstructs at least as well as the paper's: "
                     f"MSE <= {paper['designed']['recon_mse']:.4f}", "reconstruction MSE, designed",
                     designed["recon_mse"],
                     designed["recon_mse"] <= paper["designed"]["recon_mse"],
                     paper["designed"]["recon_mse"], authors),
             verdict(f"the designed model is at least as piecewise constant as the paper's: "
                     f"TV <= {paper['designed']['tv']:.2f}", "TV, designed", designed["tv"],
                     designed["tv"] <= paper["designed"]["tv"], paper["designed"]["tv"], authors)]
    if instance == "paper":
        # One problem for every seed: vanilla GD from a tiny initialisation converges to (nearly)
        # the minimum-norm interpolant, so the claim is that it reproduces the paper's numbers.
        items += [
            verdict(f"on the paper's instance, vanilla reproduces the paper's {key} within "
                    f"{tolerance}: |{key} - {paper['vanilla'][key]:.4g}| <= {tolerance}",
                    f"{key}, vanilla", stats["vanilla"][key],
                    np.abs(stats["vanilla"][key] - paper["vanilla"][key]) <= tolerance,
                    paper["vanilla"][key], authors)
            for key, tolerance in REPRODUCTION_TOLERANCE.items()]
    return items


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


def _figure(weights, truth, paper_signals, instance, ablation, path):
    figure, axes = new_figure(2 if ablation else 1, width=6.0 if ablation else 7.0)
    axis = axes[0]
    index = np.arange(truth.size)
    for name, color, label in (("vanilla", "tab:gray", "vanilla w"),
                               ("designed", "tab:blue", "cumsum(w1*w2)")):
        axis.fill_between(index, weights[name].min(axis=0), weights[name].max(axis=0), color=color,
                          alpha=0.3, lw=0, label=f"{label}, min-max over seeds")
        axis.plot(index, np.median(weights[name], axis=0), color=color, lw=1.0,
                  label=f"{label}, median")
        axis.plot(index, paper_signals[name], color=color, lw=0.8, ls="--",
                  label=f"{label}, paper (1 seed, 1.5M steps)")
    axis.plot(index, truth, "k-", lw=1.2, label="truth")
    where = "the paper's instance" if instance == "paper" else "random instances"
    axis.set(xlabel="i", ylabel="signal", title=f"reconstructions, {where}")
    axis.legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.2))
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
