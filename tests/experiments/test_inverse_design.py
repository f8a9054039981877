import json

import numpy as np
import pytest

import quotientlearn as ql
from quotientlearn.cli import main
from quotientlearn.design import signed_permutation_error


@pytest.fixture(scope="module")
def fast_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("inverse-design")
    return ql.experiments.run("inverse-design", fast=True, out=out), out


def test_fast_run_report_keys_and_files(fast_report):
    report, out = fast_report
    for key in ("basis_success_rate", "seconds_per_fit", "support_recovery_rate"):
        assert key in report
    assert set(report["support_recovery_rate"]) == {"designed", "plain", "standard_basis"}
    assert (out / "inverse_design.png").exists() and (out / "arrays.npz").exists()
    saved = json.loads((out / "report.json").read_text())
    assert saved["support_recovery_rate"] == report["support_recovery_rate"]


def test_fast_run_recovers_the_basis_and_the_support(fast_report):
    report, out = fast_report
    recovery = report["basis_recovery"]
    assert recovery["starts"] == 4 and report["basis_success_rate"] >= 0.75
    arrays = ql.io.load_arrays(out / "arrays.npz")
    assert signed_permutation_error(arrays["designed_basis"], arrays["true_basis"]) < 1e-3
    # Without the smoothing schedule the random starts fail (the reason the schedule exists).
    assert recovery["ablation"]["exact_objective_only"]["success_rate"] == 0.0
    assert set(recovery["ablation"]) == {"exact_objective_only", "gaussian_reference",
                                         "variance_objective"}
    rates = report["support_recovery_rate"]
    for variant in ("sgd", "langevin"):
        assert rates["designed"][variant] >= 0.8
        assert rates["plain"][variant] <= 0.3
        assert rates["standard_basis"][variant] <= 0.3


def test_fast_run_size_sweep_reports_designed_and_classical(fast_report):
    report, _ = fast_report
    sweep = report["size_sweep"]
    for d in ("8", "16"):
        row = sweep[d]
        assert row["designed"]["fits"] == 3 and row["designed"]["success_rate"] >= 2 / 3
        assert row["reference_points"] == 8 * int(d)
        # FastICA from 1000 d samples finds the basis only to its sampling error (~1e-2 here).
        classical = row["classical"]
        assert classical["fits"] == 3 and 1e-4 < classical["median_error"] < 0.1
    assert sweep["8"]["variance_objective"]["fits"] == 1
    assert np.isfinite(sweep["time_exponent"])
    families = report["families_at_scale"]["8"]
    assert families["SparsityStrength"]["success_rate"] == 1.0
    assert families["Mixing"]["success_rate"] == 1.0


def test_fast_run_measured_law_matches_the_target_and_rejects_wrong_ones(fast_report):
    ks = fast_report[0]["measured_bias"]["ks"]
    assert ks["target"]["pvalue"] > 0.01
    assert ks["no_gauge_correction"]["pvalue"] < 1e-4
    assert ks["double_strength"]["pvalue"] < 1e-4


def test_cli_resume_reuses_finished_loops(tmp_path):
    args = ["run", "inverse-design", "--fast", "--out", str(tmp_path), "--set", "starts=2",
            "--set", "ablation_starts=0", "--set", "seeds=4", "--set", "n_steps=500",
            "--set", "check_particles=300", "--set", "check_steps=100", "--set", "sweep_dims=[4]",
            "--set", "sweep_starts=2", "--set", "values_dims=[]", "--set", "family_dims=[4]"]
    assert main(args) == 0
    first = json.loads((tmp_path / "report.json").read_text())
    assert main(args + ["--resume"]) == 0
    second = json.loads((tmp_path / "report.json").read_text())
    assert second["basis_recovery"]["errors"] == first["basis_recovery"]["errors"]
    assert second["support_recovery_rate"] == first["support_recovery_rate"]
    assert second["basis_recovery"]["ablation"] == {}
    assert second["size_sweep"]["4"] == first["size_sweep"]["4"]
    assert second["families_at_scale"] == first["families_at_scale"]
