"""The main job: the gauge correction of every zoo model at a random balanced point."""

from __future__ import annotations

import numpy as np

from quotientlearn import models
from quotientlearn.bias import implicit_bias

DESCRIPTION = "Gauge-correction table of the model zoo at random balanced points"
CONFIG = {"temperature": 0.1, "seed": 0}
FAST = {}


def run(config, out_dir, resume=False):
    """Print and return the bias ``(T/2) log det G_C`` of each zoo model at a random slice point."""
    rng = np.random.default_rng(config["seed"])
    rows = []
    for name, model in models.zoo().items():
        theta = model.gauge.project(model.sample((), rng))
        bias = float(implicit_bias(model, theta, config["temperature"]))
        rows.append({"model": name, "D": model.dim, "k": model.action.dim, "bias": bias})
    print(f"{'model':<22s} {'D':>4s} {'k':>4s}  (T/2) log det G_C  at T = {config['temperature']}")
    for row in rows:
        print(f"{row['model']:<22s} {row['D']:>4d} {row['k']:>4d}  {row['bias']:+.6f}")
    return {"bias_table": rows}
