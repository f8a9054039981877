"""Predictions on curved parameter spaces against each other and against simulation.

Every row simulates independent particles (final states) of Riemannian Langevin (``isotropic``) or of
the preconditioned SDE on a curved space or a metric, reduces them to a 1-D observable inside a window
and tests them by KS against the observable's marginal under each prediction: Theorem 1's expected form
on a curved slice (``exp(-U/T) det(J_chi g^{-1} J_chi^T)^{-1/2} dvol_S``, docs/theory.md section 7), the
Itô route (charts where the predictor is a proper submanifold), the fibre integral where it applies,
and closed forms where they exist. Power: every row also tests the law a flat computation would give (ignoring
the volume factor of a chart, the orbit volume, or the metric: a deliberately wrong law with a
meaning), and, for reference, the exact law with the temperature off by a third (log density times
1.5). Before sampling, the predictions are compared with each other on a grid (the spread of their log
ratio: 0 when they agree up to normalisation).

The rows:

- ``S^2``, ``L = -k0 x_3``: von Mises–Fisher, ``x_3`` has density ``exp(kappa t)``; the flat chart
  ``(x_1, x_2)`` without its volume factor would give ``|t| exp(kappa t)``.
- ``Euclidean(1)``, ``g = 1 + x^2``, ``L = x^2 / 2``: Riemannian Langevin reaches ``sqrt(g) exp(-L/T)``,
  the preconditioned SDE ``g exp(-L/T)``.
- ``SPDSpectrum(2)``, ``L = |log lambda|^2 / 2``, gauge-fixed and free: the gap ``y = log(l_2 / l_1)``.
- ``StiefelProjector(3, 2)``, ``L = k0 beta_33``: the normal ``n`` of the plane, ``|n_3|``, in the chart
  ``(n_1, n_2)``.
- ``PreconditionedHadamard(1)``, ``L = (beta - 1)^2 / 2``: preconditioned and Riemannian noise, with
  their closed forms ``sqrt(|w| + eps^2) / |w|`` and ``(|w| + eps^2) / |w|`` (times ``exp(-L/T)``),
  against the flat Hadamard law ``exp(-L/T) / |beta|``.

Where Theorem 1's form disagrees with the Itô route or with simulation, the table shows it; the summary
lists those rows (findings, not failures). ``passed`` requires the exact predictions (Itô, fibre, closed
forms) to agree with each other and with simulation (family-wise, Bonferroni) and every flat law to be
rejected.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field

import autograd.numpy as anp
import numpy as np
from geomstats.geometry.euclidean import Euclidean
from geomstats.geometry.hypersphere import Hypersphere
from geomstats.geometry.riemannian_metric import RiemannianMetric
from scipy.special import logsumexp

from quotientlearn import models, stats
from quotientlearn.dynamics import simulate
from quotientlearn.experiments._shared import Observable, plot_observable_laws, restriction, tabulate
from quotientlearn.io import save_arrays
from quotientlearn.stationary import Density, stationary_density

DESCRIPTION = "Predictions on curved spaces (Theorem 1, Itô, fibre) vs each other and vs simulation"
CONFIG = {"seeds": 1, "n_particles": 4000, "time": 8.0, "dt": 2e-3, "alpha": 0.01, "cases": "all"}
FAST = {"n_particles": 2000, "time": 5.0, "dt": 4e-3}

#: The deliberately wrong law of every row: the exact log density times 1.5 (T off by a third).
WRONG_POWER = 1.5
WRONG = "wrong (1.5 x log exact)"
EXACT = ("ito", "fibre", "closed form")


class QuadraticMetric(RiemannianMetric):
    """``g(x) = 1 + |x|^2`` on ``R^1``, written with geomstats' numpy backend."""

    def metric_matrix(self, base_point=None):
        """``1 + x^2``, shape ``(..., 1, 1)``."""
        return 1.0 + base_point[..., :, None] ** 2


@dataclass
class Case:
    """One model and loss, the dynamics to simulate and the predictions to hold against them."""

    name: str
    model: object
    loss: callable
    temperature: float
    init_beta: np.ndarray
    observable: Observable
    noise: str = "isotropic"
    gauge_fixing: bool = True
    methods: tuple = ("theorem1", "ito")
    coordinates: tuple = None
    reference: np.ndarray = None
    closed_form: callable = None   # the exact log density in the coordinates in use, if known
    flat_law: tuple = None         # (name, log density) of what a flat computation would predict
    probes: np.ndarray = None      # coordinate points for the sampling-free comparison
    extra: dict = field(default_factory=dict)


def _spd_gap_marginal(half_width=6.0, n_y=101, n_z=81, high=5.0):
    """Marginal of ``y = log(l_2 / l_1)`` from a density of ``(l_1, l_2)``: integrate ``z = log(l_1 l_2)``.

    ``l = (e^{(z - y)/2}, e^{(z + y)/2})`` and ``dl_1 dl_2 = (l_1 l_2 / 2) dy dz``. The density is
    evaluated once on an ``n_y x n_z`` grid (``y`` in ``[0, high]``, ``z`` in ``[-a, a]`` where the loss
    makes it negligible), summed over ``z`` by the trapezoid rule and interpolated in ``y``.
    """
    y = np.linspace(1e-6, high, n_y)
    z = np.linspace(-half_width, half_width, n_z)
    yy, zz = np.meshgrid(y, z, indexing="ij")
    eigen = np.stack([np.exp(0.5 * (zz - yy)), np.exp(0.5 * (zz + yy))], axis=-1)

    def marginal(density):
        log_q = density.logpdf(eigen.reshape(-1, 2)).reshape(yy.shape) + zz  # + log(l_1 l_2)
        values = logsumexp(log_q, axis=1) + np.log(z[1] - z[0])
        return lambda x: np.interp(x, y, values)

    return marginal


def _normal_height_marginal(density):
    """``t = n_3 = sqrt(1 - |c|^2)`` from a rotation-invariant density of the chart ``c = (n_1, n_2)``.

    ``p_t(t) = p_c(r e_1) r |dr/dt| = p_c(r e_1) t`` with ``r = sqrt(1 - t^2)``.
    """
    along = density.restriction([0.0, 0.0], [1.0, 0.0])

    def log_marginal(t):
        t = np.asarray(t, dtype=float)
        return along(np.sqrt(np.clip(1.0 - t**2, 0.0, None))) + np.log(t)

    return log_marginal


def _plane_normal_chart():
    """Chart of ``Gr(3, 2)``: the unit normal ``n`` of the plane (``n_3 > 0``), coordinates ``(n_1, n_2)``."""

    def to_chart(beta):
        normal = anp.eye(3) - beta
        height = anp.sqrt(normal[..., 2, 2])
        return anp.stack([normal[..., 0, 2] / height, normal[..., 1, 2] / height], axis=-1)

    def from_chart(c):
        c = np.asarray(c, dtype=float)
        normal = np.concatenate([c, np.sqrt(1.0 - np.sum(c**2, axis=-1))[..., None]], axis=-1)
        return np.eye(3) - normal[..., :, None] * normal[..., None, :]

    return to_chart, from_chart


def _sphere_chart():
    """Chart of ``S^2``: ``(t, phi) = (x_3, azimuth)``; the area element is ``dt dphi`` (Archimedes)."""

    def to_chart(x):
        return anp.stack([x[..., 2], anp.arctan2(x[..., 1], x[..., 0])], axis=-1)

    def from_chart(c):
        c = np.asarray(c, dtype=float)
        ring = np.sqrt(np.clip(1.0 - c[..., 0] ** 2, 0.0, None))
        return np.stack([ring * np.cos(c[..., 1]), ring * np.sin(c[..., 1]), c[..., 0]], axis=-1)

    return to_chart, from_chart


def _sphere_cases():
    k0, temperature = 1.0, 0.5
    kappa = k0 / temperature
    sphere = models.Custom(predictor=lambda x: x, space=Hypersphere(2), balanced=lambda b: b)
    return [Case(
        "S^2, L = -x_3", sphere, lambda b: -k0 * b[..., 2], temperature, np.array([0.0, 0.0, 1.0]),
        Observable("x_3", lambda b: b[:, 2], (-1.0, 1.0), restriction([0.0, 0.0], [1.0, 0.0])),
        gauge_fixing=False, coordinates=_sphere_chart(), reference=np.zeros(2),
        closed_form=lambda c: kappa * c[:, 0],
        flat_law=("flat chart (x_1, x_2)", lambda c: kappa * c[:, 0] + np.log(np.abs(c[:, 0]))),
        probes=np.array([[-0.8, 0.0], [-0.3, 1.0], [0.2, -2.0], [0.7, 0.5], [0.95, 3.0]]))]


def _metric_line_cases():
    euclidean = Euclidean(1)
    euclidean.equip_with_metric(QuadraticMetric)
    line = models.Custom(predictor=lambda x: x, space=euclidean, balanced=lambda b: b)
    riemannian = ("sqrt(g) exp(-L/T)", lambda x: 0.5 * np.log1p(x[:, 0] ** 2) - 0.5 * x[:, 0] ** 2)
    preconditioned = ("g exp(-L/T)", lambda x: np.log1p(x[:, 0] ** 2) - 0.5 * x[:, 0] ** 2)
    return [Case("R^1, g = 1 + x^2, L = x^2/2", line, lambda b: 0.5 * b[..., 0] ** 2, 1.0, np.zeros(1),
                 Observable("x", lambda b: b[:, 0], (-4.0, 4.0), restriction([0.0], [1.0])),
                 noise=noise, gauge_fixing=False, reference=np.zeros(1), closed_form=own[1],
                 flat_law=other, probes=np.linspace(-3.0, 3.0, 7)[:, None])
            for noise, own, other in (("isotropic", riemannian, preconditioned),
                                      ("preconditioned", preconditioned, riemannian))]


def _spd_cases():
    spd = models.SPDSpectrum(2)
    temperature = 0.5

    def loss(beta):
        return 0.5 * anp.sum(anp.log(beta) ** 2, axis=-1)

    def sinh_law(beta):  # the Gibbs law pushed forward: the orbit volume |sinh(gap / 2)| multiplies
        logs = np.log(beta)
        return (-0.5 * np.sum(logs**2, axis=-1) / temperature
                + np.log(np.sinh(0.5 * (logs[:, 1] - logs[:, 0]))) - np.sum(logs, axis=-1))

    def no_orbit(beta):
        logs = np.log(beta)
        return -0.5 * np.sum(logs**2, axis=-1) / temperature - np.sum(logs, axis=-1)

    return [Case("SPDSpectrum(2), L = |log l|^2/2", spd, loss, temperature, np.array([0.6, 1.6]),
                 Observable("log(l2/l1)", lambda b: np.log(b[:, 1] / b[:, 0]), (0.0, 5.0),
                            _spd_gap_marginal()),
                 gauge_fixing=gauge_fixing, methods=("theorem1", "ito", "fibre"),
                 reference=np.array([0.5, 1.0]), closed_form=sinh_law,
                 flat_law=("no orbit volume", no_orbit),
                 probes=np.array([[0.3, 1.2], [0.5, 2.0], [0.8, 1.1], [0.2, 0.6], [1.0, 3.0]]))
            for gauge_fixing in (True, False)]


def _stiefel_cases():
    stiefel = models.StiefelProjector(3, 2)
    k0, temperature = 1.0, 0.5

    def normal_law(c):  # uniform on the Grassmannian: dvol = dc / n_3 in the chart
        height = np.sqrt(1.0 - np.sum(c**2, axis=-1))
        return k0 * height**2 / temperature - np.log(height)

    def flat_chart(c):
        return k0 * (1.0 - np.sum(c**2, axis=-1)) / temperature

    # the chart (n_1, n_2) is singular on the equator n_3 = 0: the window stays above it
    return [Case("StiefelProjector(3,2), L = beta_33", stiefel, lambda b: k0 * b[..., 2, 2], temperature,
                 np.diag([1.0, 1.0, 0.0]),
                 Observable("|n_3|", lambda b: np.sqrt(np.clip(1.0 - b[:, 2, 2], 0.0, None)), (0.05, 1.0),
                            _normal_height_marginal),
                 gauge_fixing=gauge_fixing, methods=("theorem1", "ito", "fibre"),
                 coordinates=_plane_normal_chart(), reference=np.zeros(2), closed_form=normal_law,
                 flat_law=("flat chart (n_1, n_2)", flat_chart),
                 probes=np.array([[0.1, 0.2], [0.5, -0.3], [-0.6, 0.1], [0.0, 0.8], [0.3, 0.3]]))
            for gauge_fixing in (True, False)]


def _hadamard_cases():
    hadamard = models.PreconditionedHadamard(1, epsilon=0.3)
    temperature = 0.1

    def loss(beta):
        return 0.5 * anp.sum((beta - 1.0) ** 2, axis=-1)

    eps2 = hadamard.epsilon**2

    def flat_hadamard(w):
        return -0.5 * (w[:, 0] - 1.0) ** 2 / temperature - np.log(np.abs(w[:, 0]))

    # On the slice g = sqrt(|w| + eps^2) I and |grad w|^2_g = 2 |w| / sqrt(|w| + eps^2); the zero-flux
    # solutions: preconditioned noise (no Itô drift) sqrt(|w| + eps^2) / |w|, Riemannian Langevin (its
    # Laplace-Beltrami drift T |w| / (|w| + eps^2)^(3/2) added) (|w| + eps^2) / |w|.
    laws = {"preconditioned": lambda w: flat_hadamard(w) + 0.5 * np.log(np.abs(w[:, 0]) + eps2),
            "isotropic": lambda w: flat_hadamard(w) + np.log(np.abs(w[:, 0]) + eps2)}
    return [Case("PreconditionedHadamard d=1, eps=0.3", hadamard, loss, temperature, np.ones(1),
                 Observable("beta", lambda b: b[:, 0], (0.3, 2.0), restriction([0.0], [1.0])),
                 noise=noise, closed_form=laws[noise],
                 flat_law=("flat Hadamard 1/|beta|", flat_hadamard),
                 probes=np.linspace(0.3, 2.0, 6)[:, None])
            for noise in ("preconditioned", "isotropic")]


def cases():
    """The rows of the table."""
    return (_sphere_cases() + _metric_line_cases() + _spd_cases() + _stiefel_cases()
            + _hadamard_cases())


def _densities(case):
    out = {}
    for method in case.methods:
        out[method] = stationary_density(
            case.model, case.loss, case.temperature, noise=case.noise, gauge_fixing=case.gauge_fixing,
            method=method, coordinates=case.coordinates, n_nodes=24,
            reference=case.reference if method == "ito" else None)
    shape = out[case.methods[0]].shape
    if case.closed_form is not None:
        out["closed form"] = Density(case.closed_form, shape, "closed form")
    if case.flat_law is not None:
        out[case.flat_law[0]] = Density(case.flat_law[1], shape, case.flat_law[0])
    return out


def _agreement(densities, probes):
    """Spread of the log ratio of every prediction to the Itô route on the probe points."""
    reference = densities.get("ito", densities.get("fibre"))
    return {name: density.log_ratio_spread(reference, probes)
            for name, density in densities.items() if density is not reference}


def run(config, out_dir, resume=False):
    """Simulate every case, compare the predictions with each other and test them; write the table."""
    all_cases = cases()
    labels = [_label(case) for case in all_cases]
    selected = labels if config["cases"] == "all" else str(config["cases"]).split(";")
    unknown = [label for label in selected if label not in labels]
    if unknown:
        raise ValueError(f"unknown case(s) {unknown}; cases: 'all' or ';'-separated labels from {labels}")
    dt, horizon = float(config["dt"]), float(config["time"])
    n = int(config["n_particles"]) * int(config["seeds"])
    table, agreement, arrays, curves = [], {}, {}, []
    for case, label in zip(all_cases, labels, strict=True):
        if label not in selected:
            continue
        began = time.perf_counter()
        densities = _densities(case)
        agreement[label] = _agreement(densities, case.probes)
        samples = simulate(case.model, case.loss, case.temperature, noise=case.noise,
                           gauge_fixing=case.gauge_fixing, dt=dt, n_steps=int(round(horizon / dt)),
                           n_particles=n, seed=zlib.crc32(label.encode()),
                           init=case.model.balanced(case.init_beta), progress=False)
        observable = case.observable
        values = observable.values(samples.beta)
        arrays[label] = values
        marginals = {name: tabulate(observable.marginal(d), observable.window, 401, inset=1e-9)
                     for name, d in densities.items()}
        exact = marginals.get("ito", marginals.get("fibre"))
        marginals[WRONG] = lambda x, f=exact: WRONG_POWER * f(x)
        curve = {"title": label, "xlabel": observable.name, "values": values, "window": observable.window,
                 "laws": {}}
        for method, marginal in marginals.items():
            ks = stats.ks_test(values, marginal, observable.window)
            table.append({
                "case": case.name, "noise": case.noise, "gauge_fixing": case.gauge_fixing,
                "observable": observable.name, "method": method, "n": ks.n,
                "ks_statistic": ks.statistic, "ks_pvalue": ks.pvalue,
                "verdict": ks.verdict(config["alpha"]),
                "log_ratio_spread_vs_ito": agreement[label].get(method, 0.0),
                "max_manifold_residual": samples.metadata["max_manifold_residual"],
                "max_gauge_residual": samples.metadata["max_gauge_residual"],
                "n_diverged": samples.n_diverged,
                "seconds": time.perf_counter() - began,
            })
            grid, cdf = stats.window_cdf(marginal, observable.window, 401)
            curve["laws"][method] = (grid, np.gradient(cdf, grid))
        curves.append(curve)
    save_arrays(out_dir / "observables.npz", **{f"v{i}": v for i, v in enumerate(arrays.values())})
    figure = plot_observable_laws(curves, out_dir / "manifold_check.png", _figure_style)
    return {"table": table, "agreement": agreement, "summary": _summary(table, agreement, config),
            "figure": str(figure), "passed": _summary(table, agreement, config)["passed"]}


def _label(case):
    gauge = "fixed" if case.gauge_fixing and case.model.action.dim else "free"
    return f"{case.name} | {case.noise} | gauge {gauge}"


def _summary(table, agreement, config):
    exact = [row for row in table if row["method"] in EXACT]
    flat = [row for row in table if row["method"] not in EXACT + (WRONG, "theorem1")]
    wrong = [row for row in table if row["method"] == WRONG]
    family = config["alpha"] / max(1, len(exact))
    agreeing = all(spread < 1e-6 for label in agreement for name, spread in agreement[label].items()
                   if name in EXACT)
    theorem1 = [row for row in table if row["method"] == "theorem1"]

    def where(row):
        return f"{row['case']} / {row['noise']} / gauge {'fixed' if row['gauge_fixing'] else 'free'}"

    consistent = all(r["ks_pvalue"] > family for r in exact)
    # power: every row rejects the law a flat computation would give (the deliberately wrong law with a
    # meaning); the temperature-off law is reported beside it
    flat_rejected = all(r["ks_pvalue"] < family for r in flat)
    return {
        "n_exact_rows": len(exact),
        "bonferroni_threshold": family,
        "exact_predictions_agree": agreeing,
        "exact_route_min_pvalue": min((r["ks_pvalue"] for r in exact), default=float("nan")),
        "exact_route_consistent": consistent,
        "flat_law_rejected": flat_rejected,
        "flat_law_pvalues": {f"{where(r)}: {r['method']}": r["ks_pvalue"] for r in flat},
        "temperature_off_law_rejected_rows": sum(r["ks_pvalue"] < family for r in wrong),
        "temperature_off_law_rows": len(wrong),
        "theorem1_consistent_rows": sorted(where(r) for r in theorem1 if r["ks_pvalue"] > family),
        "theorem1_rejected_rows": sorted(
            f"{where(r)} (KS {r['ks_statistic']:.3f}, p = {r['ks_pvalue']:.1g}; log-ratio spread to Itô "
            f"{r['log_ratio_spread_vs_ito']:.2f})" for r in theorem1 if r["ks_pvalue"] <= family),
        "max_manifold_residual": max(r["max_manifold_residual"] for r in table),
        "passed": bool(agreeing and consistent and flat_rejected),
    }


def markdown_table(table):
    """The table as Markdown (the README's copy)."""
    lines = ["| case | noise | gauge | observable | Theorem 1: KS (p) | Itô / fibre / closed form: KS (p) "
             "| flat law: KS (p) | wrong law p |", "|---|---|---|---|---|---|---|---|"]
    keyed = {}
    for row in table:
        keyed.setdefault((row["case"], row["noise"], row["gauge_fixing"]), []).append(row)

    def cell(row):
        return f"{row['ks_statistic']:.3f} ({row['ks_pvalue']:.2g})"

    for (case, noise, gauge_fixing), rows in keyed.items():
        by_method = {row["method"]: row for row in rows}
        exact = [by_method[m] for m in EXACT if m in by_method]
        flat = [row for row in rows if row["method"] not in EXACT + (WRONG, "theorem1")]
        theorem1 = by_method.get("theorem1")
        lines.append(
            f"| {_escape(case)} | {noise} | {'fixed' if gauge_fixing else 'free'} | "
            f"{_escape(rows[0]['observable'])} | "
            f"{cell(theorem1) if theorem1 else '–'} | "
            f"{' / '.join(cell(row) for row in exact)} | "
            f"{cell(flat[0]) if flat else '–'} | {by_method[WRONG]['ks_pvalue']:.1g} |")
    return "\n".join(lines)


def _escape(text):
    """A Markdown table cell's text: ``|`` (absolute values in the labels) escaped."""
    return text.replace("|", "\\|")


def _figure_style(method):
    """Every law but the deliberately wrong one; the flat laws dash-dotted."""
    styles = {"theorem1": "C0-", "ito": "C3--", "fibre": "C2:", "closed form": "k:"}
    return None if method == WRONG else styles.get(method, "C7-.")
