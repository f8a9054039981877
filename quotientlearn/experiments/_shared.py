"""Helpers shared by the paper's experiments: seed streams, spreads, verdicts, checkpoints, figures."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from quotientlearn.checkpoint import Checkpoint
from quotientlearn.io import atomic_write_bytes

__all__ = ["Observable", "ablation_variants", "data_rng", "new_figure", "plot_band", "plot_observable_laws",
           "plot_unit_ratios", "restriction", "run_checkpoint", "save_figure", "spread", "tabulate",
           "train_rng", "verdict"]


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


def verdict(claim, statistic, values, reached, paper, authors_code=None):
    """How many of our seeds reach one of the paper's claims, with a 95% interval.

    Parameters
    ----------
    claim : str
        The claim and the rule a seed must meet, in words.
    statistic : str
        What ``values`` measures.
    values : array_like, shape (S,)
        The statistic per seed.
    reached : array_like of bool, shape (S,)
        Whether each seed meets the claim.
    paper : float or list
        The paper's value (from its saved arrays where they hold it).
    authors_code : dict, optional
        What the authors' own code gives, where the audit (issue 11) measured it.

    Returns
    -------
    verdict : dict
        ``fraction`` of seeds reaching the claim and its Clopper--Pearson ``fraction_ci95``.
    """
    reached = np.asarray(reached, dtype=bool)
    n_reached = int(reached.sum())
    interval = stats.binomtest(n_reached, reached.size).proportion_ci(0.95, method="exact")
    return {"claim": claim, "statistic": statistic, "paper": paper, "ours": spread(values),
            "seeds_reaching": n_reached, "seeds": int(reached.size),
            "fraction": n_reached / reached.size,
            "fraction_ci95": [float(interval.low), float(interval.high)],
            "authors_code": authors_code}


def plot_unit_ratios(axis, initial, final, color, labels, paper=None):
    """Per-unit balance ratios of every seed at two times, against the paper's run.

    Parameters
    ----------
    axis : matplotlib axes
    initial, final : ndarray, shape (S, units)
    color : str
    labels : dict
        ``unit`` (x label), ``ratio`` (y label), ``title``, ``initial`` and ``final`` (legend).
    paper : tuple of ndarray, optional
        The paper's ``(initial, final)`` ratios, shape ``(units,)`` each.
    """
    units = np.arange(initial.shape[-1])
    for seed in range(initial.shape[0]):
        axis.semilogy(units, initial[seed], "o", color="tab:gray", ms=3, alpha=0.5)
        axis.semilogy(units, final[seed], "o", color=color, ms=3, alpha=0.7)
    axis.axhline(1.0, color="k", lw=1, label="balanced")
    axis.plot([], [], "o", color="tab:gray", label=labels["initial"])
    axis.plot([], [], "o", color=color, label=labels["final"])
    if paper is not None:
        axis.semilogy(units, paper[0], "k+", ms=7, label="paper, initial")
        axis.semilogy(units, paper[1], "kx", ms=6, label="paper, final")
    axis.set(xlabel=labels["unit"], ylabel=labels["ratio"], title=labels["title"])
    axis.legend(fontsize=7)


def plot_band(axis, steps, values, color, labels, paper=None, log=False):
    """Median and min-max band over seeds of a recorded curve, with the paper's single run.

    Parameters
    ----------
    axis : matplotlib axes
    steps : ndarray, shape (R,)
    values : ndarray, shape (R, S)
    color : str
    labels : dict
        ``curve`` (y label), ``title``; with ``name`` (several bands on one axis) only the median is
        labelled, by ``name``, and the legend shows one entry each for band and paper.
    paper : tuple of ndarray, optional
        ``(steps, curve)`` of the paper's run, drawn up to ``steps[-1]``.
    log : bool
        Logarithmic y axis.
    """
    name = labels.get("name")
    axis.plot(steps, np.median(values, axis=1), color=color, label=name or "median")
    axis.fill_between(steps, values.min(axis=1), values.max(axis=1), color=color, alpha=0.25,
                      label="_band" if name else "min-max over seeds")
    if paper is not None:
        shown = paper[0] <= steps[-1]           # a shorter (fast) run is held against its own span
        axis.plot(paper[0][shown], paper[1][shown], color="k", lw=0.9, ls="--",
                  label="_paper" if name else "paper (1 seed)")
    if log:
        axis.set_yscale("log")
    axis.set(xlabel="step", ylabel=labels["curve"], title=labels["title"])
    handles, names = axis.get_legend_handles_labels()
    if name:                                     # one shared entry for the bands and the paper
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        handles += [Patch(color="tab:gray", alpha=0.25), Line2D([], [], color="k", lw=0.9, ls="--")]
        names += ["min-max over seeds", "paper (1 seed)"]
    axis.legend(handles, names, fontsize=7)


@dataclass
class Observable:
    """A 1-D observable of the predictor with its window and the marginal of a density."""

    name: str
    values: callable      # beta (N, ...) -> (N,), NaN outside the conditioning region
    window: tuple
    marginal: callable    # Density -> (x (n,) -> log density (n,))


def restriction(origin, direction):
    """An observable's marginal: a density restricted to the line ``origin + t direction``."""
    return lambda density: density.restriction(origin, direction)


def tabulate(log_marginal, window, n_grid, inset=0.0):
    """Evaluate a (costly) 1-D log marginal once on a grid; interpolate it afterwards.

    Parameters
    ----------
    log_marginal : callable
        ``x (n,) -> log density (n,)``.
    window : tuple of float
    n_grid : int
        Grid points; linear interpolation of a smooth log density errs by ``O(n_grid^-2)`` of its
        curvature (the callers' grids keep that far below what their tests resolve).
    inset : float
        Relative distance the grid keeps from the window's ends (singular ends, ``log t`` at 0).
    """
    low, high = window
    pad = inset * (high - low)
    grid = np.linspace(low + pad, high - pad, n_grid)
    values = np.asarray(log_marginal(grid), dtype=float)
    return lambda x: np.interp(x, grid, values)


def plot_observable_laws(panels, path, style):
    """Histograms of observables with the laws predicted for them, three panels a row.

    Parameters
    ----------
    panels : list of dict
        Each with ``values`` (shape (n,)), ``window``, ``laws`` (method -> (grid, pdf)), ``title``
        and optionally ``xlabel``.
    path : pathlib.Path
    style : callable
        ``method -> matplotlib format string``, or None to leave the law out.
    """
    from matplotlib.figure import Figure

    cols = 3
    rows = -(-len(panels) // cols)
    figure = Figure(figsize=(4.2 * cols, 2.8 * rows), layout="constrained")
    axes = figure.subplots(rows, cols, squeeze=False)
    for ax, panel in zip(axes.ravel(), panels, strict=False):
        low, high = panel["window"]
        values = panel["values"]
        ax.hist(values[(values >= low) & (values <= high)], bins=40, range=(low, high), density=True,
                color="0.85")
        for method, (grid, pdf) in panel["laws"].items():
            if style(method) is not None:
                ax.plot(grid, pdf, style(method), label=method, lw=1.2)
        ax.set_title(panel["title"], fontsize=7)
        ax.set_xlabel(panel.get("xlabel", ""), fontsize=7)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=5)
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    save_figure(figure, path, dpi=90)
    return path
