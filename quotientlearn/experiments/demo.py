"""The main job: Theorem 1 against simulation on the embedded default, ``beta = u v``.

Hadamard product, ``L = (beta - 1)^2 / 2``, ``T = 0.1``: gauge-fixed isotropic and horizontal noise are
simulated and their histograms held against three predictions on the window ``[0.3, 2]``: Theorem 1
(``exp(-L/T) / |beta|``), the Itô route (computed generically, for each noise model) and the
uncorrected ``exp(-L/T)``. Isotropic samples follow Theorem 1; horizontal ones follow
``exp(-L/T) / sqrt|beta|``, which only the Itô route predicts.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np

from quotientlearn import models, stats
from quotientlearn.dynamics import simulate
from quotientlearn.io import save_arrays
from quotientlearn.stationary import Density, stationary_density

DESCRIPTION = "Theorem 1 vs simulation on beta = u v: isotropic and horizontal noise, KS tests, figure"
CONFIG = {"temperature": 0.1, "n_particles": 4000, "dt": 2e-3, "time": 10.0, "seed": 0,
          "low": 0.3, "high": 2.0}
FAST = {"n_particles": 2000, "time": 5.0, "dt": 4e-3}


def loss(beta):
    """``(beta - 1)^2 / 2``, shape ``(N,)``."""
    return 0.5 * anp.sum((beta - 1.0) ** 2, axis=-1)


def run(config, out_dir, resume=False):
    """Simulate, test, plot; ``passed`` is True when simulation and the exact route agree."""
    model = models.Hadamard(1)
    temperature, window = config["temperature"], (config["low"], config["high"])
    n_steps = int(round(config["time"] / config["dt"]))
    laws, samples, results = {}, {}, []
    no_correction = Density(lambda b: -loss(b) / temperature, (1,), "no-correction")
    for index, noise in enumerate(("isotropic", "horizontal")):
        run_ = simulate(model, loss, temperature, noise=noise, gauge_fixing=True, dt=config["dt"],
                        n_steps=n_steps, n_particles=config["n_particles"],
                        seed=[config["seed"], index], init=model.balanced(np.ones(1)))
        samples[noise] = run_.beta[:, 0]
        laws[noise] = {
            "theorem 1": stationary_density(model, loss, temperature, noise=noise),
            "Itô route": stationary_density(model, loss, temperature, noise=noise, method="ito"),
            "no correction": no_correction,
        }
        for method, density in laws[noise].items():
            ks = stats.ks_test(samples[noise], density, window)
            results.append({"noise": noise, "prediction": method, "ks_statistic": ks.statistic,
                            "ks_pvalue": ks.pvalue, "n_in_window": ks.n, "verdict": ks.verdict()})
    save_arrays(out_dir / "demo_samples.npz", **samples)
    # The bias strength: the fitted a of exp(-L/T) |beta|^-a (Theorem 1: 1; horizontal noise: 1/2).
    exponents = {noise: stats.fit_power_exponent(values, lambda x: -loss(x[:, None]) / temperature,
                                                  window) for noise, values in samples.items()}
    figure = _figure(samples, laws, window, out_dir)
    by = {(r["noise"], r["prediction"]): r["ks_pvalue"] for r in results}
    checks = {
        "isotropic fits Theorem 1 (p > 0.01)": by["isotropic", "theorem 1"] > 0.01,
        "isotropic rejects 1/sqrt|beta| (p < 1e-4)": by["isotropic", "Itô route"] > 0.01
        and stats.ks_test(samples["isotropic"], laws["horizontal"]["Itô route"], window).pvalue
        < 1e-4,
        "horizontal fits the Itô route (p > 0.01)": by["horizontal", "Itô route"] > 0.01,
        "horizontal rejects Theorem 1 (p < 1e-4)": by["horizontal", "theorem 1"] < 1e-4,
    }
    print(f"beta = u v, L = (beta-1)^2/2, T = {temperature}, window {list(window)}, "
          f"{config['n_particles']} particles, gauge fixed")
    print(f"{'noise':<11s} {'prediction':<14s} {'KS':>6s} {'p-value':>9s}")
    for r in results:
        print(f"{r['noise']:<11s} {r['prediction']:<14s} {r['ks_statistic']:6.3f} "
              f"{r['ks_pvalue']:9.2e}")
    for noise, fit in exponents.items():
        print(f"{noise} bias strength a = {fit.exponent:.3f} +- {fit.stderr:.3f}")
    for name, ok in checks.items():
        print(f"  [{'ok' if ok else 'FAIL'}] {name}")
    print(f"figure: {figure}")
    return {"model": "Hadamard(1)", "loss": "(beta-1)^2/2", "window": list(window),
            "results": results, "checks": checks, "figure": str(figure),
            "bias_exponent": {noise: fit.exponent for noise, fit in exponents.items()},
            "bias_exponent_stderr": {noise: fit.stderr for noise, fit in exponents.items()},
            "ks_pvalue": {f"{r['noise']}, {r['prediction']}": r["ks_pvalue"] for r in results},
            "passed": all(checks.values())}


def _figure(samples, laws, window, out_dir):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    styles = {"theorem 1": "C0-", "Itô route": "C3--", "no correction": "C7:"}
    for ax, (noise, values) in zip(axes, samples.items(), strict=True):
        inside = values[(values >= window[0]) & (values <= window[1])]
        ax.hist(inside, bins=50, range=window, density=True, color="0.85", label="simulation")
        for method, density in laws[noise].items():
            grid, cdf = stats.window_cdf(density, window, 801)
            ax.plot(grid, np.gradient(cdf, grid), styles[method], lw=1.6, label=method)
        ax.set_title(f"{noise} noise, gauge fixed")
        ax.set_xlabel("beta = u v")
    axes[0].set_ylabel("density on the window")
    axes[0].legend()
    fig.tight_layout()
    path = out_dir / "demo.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
