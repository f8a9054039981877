"""Helpers shared by the paper's experiments: seed streams, spreads over seeds, checkpoints, figures."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from quotientlearn.checkpoint import Checkpoint
from quotientlearn.io import atomic_write_bytes

__all__ = ["ablation_variants", "data_rng", "new_figure", "run_checkpoint", "plot_balance", "save_figure",
           "spread", "train_rng"]


def data_rng(config):
    """Generator of the problem data (teachers, masks, features, initialisations)."""
    return np.random.default_rng([int(config["seed"]), 0])


def train_rng(config, stream):
    """Generator of one training loop's minibatches and noise; independent of every other stream.

    Each loop of an experiment owns a stream, so resuming one loop never depends on what the others
    consumed.
    """
    return np.random.default_rng([int(config["seed"]), 1, int(stream)])


def spread(values):
    """``{"median", "min", "max"}`` over the seed axis (axis 0) of ``values``.

    Parameters
    ----------
    values : array_like, shape (S, ...)

    Returns
    -------
    summary : dict of str to float or list
    """
    values = np.asarray(values, dtype=float)
    out = {}
    for key, fn in (("median", np.median), ("min", np.min), ("max", np.max)):
        value = fn(values, axis=0)
        out[key] = value.tolist() if np.ndim(value) else float(value)
    return out


def run_checkpoint(out_dir, label, config):
    """Checkpoint file ``out_dir/checkpoints/label.npz`` fingerprinted by ``config``."""
    fingerprint = {k: v for k, v in config.items() if k != "checkpoint_seconds"}
    fingerprint["loop"] = label
    return Checkpoint(Path(out_dir) / "checkpoints" / f"{label}.npz", fingerprint=fingerprint,
                      every_seconds=float(config.get("checkpoint_seconds", 60.0)))


def new_figure(n_panels, width=4.2, height=3.4):
    """A figure with ``n_panels`` side-by-side axes (no pyplot state, so safe in any backend)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width * n_panels, height), layout="constrained")
    axes = figure.subplots(1, n_panels, squeeze=False)[0]
    return figure, axes


def save_figure(figure, path, dpi=100):
    """Write a matplotlib figure as PNG, atomically."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    atomic_write_bytes(path, buffer.getvalue())


def ablation_variants(config):
    """The noise ablation's training variants: GD, minibatch SGD, label noise, Langevin at each T.

    Returns
    -------
    variants : list of (label, batch_size, temperature, label_noise)
    """
    variants = [("gd", None, 0.0, 0.0), ("sgd", config["ablation_batch_size"], 0.0, 0.0),
                ("label_noise", None, 0.0, config["ablation_label_noise"])]
    variants += [(f"langevin_T{t:g}", None, float(t), 0.0) for t in config["ablation_temperatures"]]
    return variants


def plot_balance(left, right, steps, ratios, spread_curve, color, labels):
    """The two panels of a balance figure: per-unit ratios before/after, and a curve over steps.

    Parameters
    ----------
    left, right : matplotlib axes
    steps : ndarray, shape (R,)
    ratios : ndarray, shape (R, S, units)
        Ratios at each recorded step, for every seed.
    spread_curve : ndarray, shape (R, S)
        The quantity drawn on the right (median and min-max band over seeds).
    color : str
    labels : dict
        ``unit`` (x label on the left), ``ratio`` (its y label), ``title``; ``curve``, ``curve_title``
        and ``log_curve`` (bool) for the right panel.
    """
    units = np.arange(ratios.shape[-1])
    for seed in range(ratios.shape[1]):
        left.semilogy(units, ratios[0, seed], "o", color="tab:gray", ms=3, alpha=0.5)
        left.semilogy(units, ratios[-1, seed], "o", color=color, ms=3, alpha=0.7)
    left.axhline(1.0, color="k", lw=1, label="balanced")
    left.plot([], [], "o", color="tab:gray", label="initial")
    left.plot([], [], "o", color=color, label=f"step {steps[-1]}")
    left.set(xlabel=labels["unit"], ylabel=labels["ratio"], title=labels["title"])
    left.legend(fontsize=8)
    draw = right.semilogy if labels.get("log_curve") else right.plot
    draw(steps, np.median(spread_curve, axis=1), color=color, label="median")
    right.fill_between(steps, spread_curve.min(axis=1), spread_curve.max(axis=1), alpha=0.3,
                       label="min-max over seeds")
    right.set(xlabel="step", ylabel=labels["curve"], title=labels["curve_title"])
    right.legend(fontsize=8)
