"""`quotientlearn demo`: theory against simulation on beta = u v, written to report.json and a PNG."""

import json

from quotientlearn import cli


def test_demo_command_writes_report_and_figure_and_passes(tmp_path, capsys):
    out = tmp_path / "quotientlearn-out"
    assert cli.main(["demo", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert (out / "demo.png").stat().st_size > 10_000
    assert report["passed"] is True and all(report["checks"].values())
    # (its budget, under 60 s on 2 cores, is measured, not asserted: timings belong to benchmarks)
    p = {(r["noise"], r["prediction"]): r["ks_pvalue"] for r in report["results"]}
    # docs/theory.md: isotropic + gauge fixing follows Theorem 1; horizontal noise does not
    assert p["isotropic", "theorem 1"] > 0.01 and p["horizontal", "theorem 1"] < 1e-4
    assert p["horizontal", "Itô route"] > 0.01 and p["isotropic", "Itô route"] > 0.01
    # the uncorrected law is rejected by both (power)
    assert p["isotropic", "no correction"] < 1e-4 and p["horizontal", "no correction"] < 1e-4
    # the fitted bias strength: Theorem 1's a = 1 and the horizontal law's 1/2, within 5 standard
    # errors (about 0.05 each at 4000 particles), and not the other one
    a, se = report["bias_exponent"], report["bias_exponent_stderr"]
    assert abs(a["isotropic"] - 1.0) < 5 * se["isotropic"] < 0.5
    assert abs(a["horizontal"] - 0.5) < 5 * se["horizontal"] < 0.5
    assert "theorem 1" in capsys.readouterr().out
