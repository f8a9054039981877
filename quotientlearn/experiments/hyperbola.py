"""Fig 1: the orbits ``u v = c`` of ``beta = u v``, the balanced slice ``u = v``, and SGD moving along them.

Gradient steps are horizontal, and one step ``(u, v) -> (u - lr g v, v - lr g u)`` multiplies the
conserved charge ``u^2 - v^2`` by exactly ``1 - lr^2 g^2`` (``g = dL/dbeta``). Gradient flow keeps it;
with label noise ``g`` never vanishes, so SGD drifts to the balanced slice at the rate
``lr^2 E[g^2]``. The experiment draws trajectories over the orbits and checks that rate.
"""

from __future__ import annotations

import numpy as np

from quotientlearn import models
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

DESCRIPTION = "Fig 1: orbits u v = c, the balanced slice u = v, and SGD with label noise balancing"
CONFIG = {
    "seeds": 8, "seed": 0, "orbits": [0.45, 0.8, 1.4, 2.3, 3.8, 6.5], "target": 2.3,
    "label_noise": 0.5, "n_samples": 64, "u0": 3.0, "v0": 0.15, "lr": 0.01, "n_steps": 50_000,
    "burn_in": 2_000, "record_every": 250, "checkpoint_seconds": 60.0,
}
FAST = {"seeds": 4, "n_steps": 6_000, "lr": 0.02}


def run(config, out_dir, resume=False):
    """SGD (batch 1, label noise) on ``(u v - y)^2`` for ``seeds`` datasets; charge decay rate."""
    n_seeds, n_samples = config["seeds"], config["n_samples"]
    rng = data_rng(config)
    labels = config["target"] + config["label_noise"] * rng.standard_normal((n_seeds, n_samples))
    objective = FeatureRegression(np.ones((n_seeds, n_samples, 1)), labels, models.Hadamard(1),
                                  batch_size=1)
    theta0 = np.tile([config["u0"], config["v0"]], (n_seeds, 1))
    result = train(objective, theta0, config["lr"], config["n_steps"], train_rng(config, 0),
                   record=lambda theta: {"theta": theta},
                   record_every=config["record_every"],
                   checkpoint=run_checkpoint(out_dir, "sgd", config), resume=resume,
                   desc="hyperbola")
    path, steps = result.records["theta"], result.record_steps             # (n_rec, S, 2)
    charge = path[..., 0] ** 2 - path[..., 1] ** 2
    late = steps >= config["burn_in"]
    # Least-squares slope of log|charge| after burn-in: the measured contraction rate per step.
    measured = -np.polyfit(steps[late], np.log(np.abs(charge[late])), 1)[0]
    # At the minimiser beta = mean(y), a batch-1 gradient is g = 2 (mean(y) - y_i).
    predicted = config["lr"] ** 2 * 4.0 * np.var(labels, axis=-1)
    save_arrays(out_dir / "arrays.npz", steps=steps, trajectory=path, labels=labels)
    _figure(config["orbits"], path, out_dir / "hyperbola.png")
    return {
        "orbits": list(config["orbits"]),
        "initial_charge": float(charge[0, 0]),
        "final_charge": spread(charge[-1]),
        "final_beta": spread(path[-1, :, 0] * path[-1, :, 1]),
        "contraction_rate_measured": spread(measured),
        "contraction_rate_predicted": spread(predicted),
        "rate_relative_error": spread(measured / predicted - 1.0),
    }


def _figure(orbits, path, out_path):
    figure, (axis,) = new_figure(1, width=5.0, height=4.6)
    u = np.linspace(0.05, 4.0, 400)
    for c in orbits:
        axis.plot(u, c / u, color="tab:gray", lw=0.8)
        axis.annotate(f"{c:g}", (np.sqrt(c), np.sqrt(c)), fontsize=7, color="tab:gray")
    axis.plot(u, u, "k-", lw=1.5, label="balanced slice u = v")
    for seed in range(path.shape[1]):
        axis.plot(path[:, seed, 0], path[:, seed, 1], lw=0.8, alpha=0.8)
    axis.plot(path[0, 0, 0], path[0, 0, 1], "ko", ms=4, label="start")
    axis.set(xlim=(0, 4), ylim=(0, 4), xlabel="u", ylabel="v", aspect="equal",
             title="orbits u v = c and SGD paths")
    axis.legend(fontsize=8, loc="upper right")
    save_figure(figure, out_path)
