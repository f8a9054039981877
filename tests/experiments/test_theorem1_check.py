"""Experiment theorem1-check (fast configuration): the table's verdicts, its power, its files."""

import json

import numpy as np
import pytest

from quotientlearn import experiments
from quotientlearn.experiments import theorem1_check


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("theorem1-check")
    result = experiments.run("theorem1-check", fast=True, out=out)
    result["out"] = out
    return result


def pvalue(report, model, noise, method, observable=None):
    rows = [r for r in report["table"] if r["model"] == model and r["noise"] == noise
            and r["method"] == method and (observable is None or r["observable"] == observable)]
    assert len(rows) == 1, (model, noise, method, observable)
    return rows[0]["ks_pvalue"]


@pytest.mark.slow
def test_files_and_coverage(report):
    out = report["out"]
    saved = json.loads((out / "report.json").read_text())
    assert saved["experiment"] == "theorem1-check" and saved["table"]
    assert (out / "theorem1_check.png").stat().st_size > 20_000
    models = {r["model"] for r in report["table"]}
    for name in ("Hadamard d=1", "Hadamard d=3", "DiagonalNet depth 3",
                 "MatrixFactorization 2x2 r=2", "ShallowReLU 2 neurons", "ScaleInvariant D=2"):
        assert name in models
    assert {r["noise"] for r in report["table"]} == {"isotropic", "horizontal", "label"}
    assert "| Hadamard d=1 | isotropic |" in theorem1_check.markdown_table(report["table"])


@pytest.mark.slow
def test_exact_routes_agree_with_simulation_and_wrong_laws_are_rejected(report):
    # Family-wise (Bonferroni over all exact rows, alpha = 0.01): every Itô / fibre row is
    # consistent with its simulation, and every deliberately wrong law is rejected (power).
    summary = report["summary"]
    assert summary["exact_route_consistent"], summary
    assert summary["wrong_law_rejected"], summary
    assert report["passed"] is True
    wrong = [r["ks_pvalue"] for r in report["table"] if r["method"].startswith("wrong")]
    assert max(wrong) < summary["bonferroni_threshold"]


@pytest.mark.slow
def test_where_theorem1_holds_and_where_it_fails(report):
    # Holds: gauge-fixed isotropic noise on every model, matrix factorisation included once the
    # push-forward integrates over the residual O(2) orbits that the balanced gauge leaves free.
    for model in ("Hadamard d=1", "DiagonalNet depth 3", "ShallowReLU 2 neurons",
                  "ScaleInvariant D=2"):
        assert pvalue(report, model, "isotropic", "theorem1") > 1e-3
    for observable in ("s_max", "s_min"):
        assert pvalue(report, "MatrixFactorization 2x2 r=2", "isotropic", "theorem1",
                      observable) > 1e-3
    # Without the residual orbit volume the matrix law is rejected (the naive push-forward).
    for observable in ("s_max", "s_min"):
        assert pvalue(report, "MatrixFactorization 2x2 r=2", "isotropic",
                      theorem1_check.NAIVE, observable) < 1e-4
    # Fails: horizontal and label noise on the sparsity models; the Gibbs law with weight decay.
    for model in ("Hadamard d=1", "DiagonalNet depth 3"):
        for noise in ("horizontal", "label"):
            assert pvalue(report, model, noise, "theorem1") < 1e-4
    assert pvalue(report, "Hadamard d=1, weight decay 0.5, Gibbs", "isotropic", "theorem1") < 1e-4


def test_unknown_case_is_refused_with_the_valid_names(tmp_path):
    with pytest.raises(ValueError, match="unknown case.*Hadamard d=1"):
        experiments.run("theorem1-check", fast=True, out=tmp_path,
                        overrides={"cases": "no such case"})


def test_markdown_table_format():
    row = dict(model="M", noise="isotropic", observable="beta", gauge_fixing=True, ks_statistic=0.01,
               ks_pvalue=0.5)
    table = [dict(row, method="theorem1"), dict(row, method="ito"),
             dict(row, method="no-correction", ks_pvalue=1e-9),
             dict(row, method="wrong (1.5 x log exact)", ks_pvalue=1e-12)]
    text = theorem1_check.markdown_table(table)
    assert "| M | isotropic | fixed | beta | 0.010 (0.5) | 0.010 (0.5) | 0.010 (1e-09) | 1e-12 |" \
        in text
    assert np.isfinite(len(text))
