"""Experiment manifold-check (fast configuration, the zoo's manifold models): predictions agree with each
other and with simulation, flat laws are rejected, and Theorem 1's form is found where it fails."""

import json

import pytest

from quotientlearn import experiments
from quotientlearn.experiments import manifold_check

# The zoo's manifold models (the sphere and the metric on R^1 are run by tests/dynamics/test_riemannian.py)
CASES = ["SPDSpectrum(2), L = |log l|^2/2 | isotropic | gauge fixed",
         "StiefelProjector(3,2), L = beta_33 | isotropic | gauge free",
         "PreconditionedHadamard d=1, eps=0.3 | preconditioned | gauge fixed",
         "PreconditionedHadamard d=1, eps=0.3 | isotropic | gauge fixed"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("manifold-check")
    result = experiments.run("manifold-check", fast=True, out=out, overrides={"cases": ";".join(CASES)})
    result["out"] = out
    return result


def rows(report, case, noise, method):
    found = [r for r in report["table"]
             if r["case"] == case and r["noise"] == noise and r["method"] == method]
    assert found, (case, noise, method)
    return found


@pytest.mark.slow
def test_exact_predictions_agree_with_each_other_and_with_simulation(report):
    summary = report["summary"]
    assert summary["exact_predictions_agree"]  # Itô / fibre / closed form to 1e-6 in log ratio
    assert summary["exact_route_consistent"], summary["exact_route_min_pvalue"]
    assert summary["flat_law_rejected"], summary["flat_law_pvalues"]
    assert summary["max_manifold_residual"] < 1e-10
    assert report["passed"]
    saved = json.loads((report["out"] / "report.json").read_text())
    assert saved["experiment"] == "manifold-check"
    assert (report["out"] / "manifold_check.png").stat().st_size > 10_000


@pytest.mark.slow
def test_where_theorem1s_form_holds_and_where_it_fails(report):
    """Findings the simulation shows (docs/theory.md section 7): for isometric actions the orbit volume
    multiplies the Gibbs law, so the conditioned form (which has no orbit volume) fails; on the adaptive
    metric, Theorem 1's form is the preconditioned dynamics' law, not Riemannian Langevin's."""
    family = report["summary"]["bonferroni_threshold"]
    for case in ("SPDSpectrum(2), L = |log l|^2/2", "StiefelProjector(3,2), L = beta_33"):
        assert rows(report, case, "isotropic", "theorem1")[0]["ks_pvalue"] < family
    hadamard = "PreconditionedHadamard d=1, eps=0.3"
    assert rows(report, hadamard, "preconditioned", "theorem1")[0]["ks_pvalue"] > family
    assert rows(report, hadamard, "isotropic", "theorem1")[0]["ks_pvalue"] < family


def test_unknown_case_is_refused_with_the_valid_labels(tmp_path):
    with pytest.raises(ValueError, match="unknown case"):
        experiments.run("manifold-check", fast=True, out=tmp_path, overrides={"cases": "no such case"})


def test_markdown_table_format():
    table = [{"case": "c", "noise": "isotropic", "gauge_fixing": True, "observable": "x", "method": m,
              "ks_statistic": 0.01, "ks_pvalue": p} for m, p in
             (("theorem1", 1e-9), ("ito", 0.5), ("closed form", 0.5), ("flat", 1e-12),
              (manifold_check.WRONG, 1e-6))]
    text = manifold_check.markdown_table(table)
    assert text.splitlines()[2] == ("| c | isotropic | fixed | x | 0.010 (1e-09) | 0.010 (0.5) / 0.010 (0.5) "
                                    "| 0.010 (1e-12) | 1e-06 |")


def test_markdown_table_escapes_bars_in_labels():
    table = [{"case": "L = |x|", "noise": "isotropic", "gauge_fixing": False, "observable": "|n_3|",
              "method": m, "ks_statistic": 0.01, "ks_pvalue": 0.5} for m in ("ito", manifold_check.WRONG)]
    row = manifold_check.markdown_table(table).splitlines()[2]
    assert row.startswith("| L = \\|x\\| | isotropic | free | \\|n_3\\| |")
    assert row.count("|") - row.count("\\|") == 9  # eight columns
