import json

import quotientlearn as ql
from quotientlearn.cli import main


def test_fast_run_designed_recovers_the_sparse_spectrum(tmp_path):
    report = ql.experiments.run("spectral-sparsity", fast=True, out=tmp_path)
    assert (tmp_path / "spectral_sparsity.png").exists()
    assert set(report["test_mse"]) == {"vanilla", "l1", "designed"}
    assert report["test_mse"]["designed"]["max"] <= 0.05
    assert report["test_mse"]["vanilla"]["min"] >= 1.0
    assert report["n_support"]["designed"]["median"] == 3
    assert report["n_support"]["vanilla"]["min"] > 10
    # Above 0.1 the designed model keeps exactly the true frequencies, in every seed.
    assert report["exact_support_fraction"]["designed"] == 1.0
    assert report["exact_support_fraction"]["vanilla"] == 0.0
    assert "ablation" not in report
    # Every loop finished and checkpointed: a resumed run reloads the same final states.
    resumed = ql.experiments.run("spectral-sparsity", fast=True, out=tmp_path, resume=True)
    assert resumed["test_mse"] == report["test_mse"]
    assert resumed["seconds"] < report["seconds"]


def test_cli_ablation_adds_noise_variants(tmp_path):
    code = main(["run", "spectral-sparsity", "--fast", "--ablation", "--out", str(tmp_path),
                 "--set", "seeds=2", "--set", "ablation_n_steps=2000",
                 "--set", "ablation_temperatures=[0.001]"])
    assert code == 0
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["config"]["ablation"] is True
    variants = {(row["model"], row["variant"]) for row in data["ablation"]}
    assert variants == {(m, v) for m in ("vanilla", "designed")
                        for v in ("gd", "sgd", "label_noise", "langevin_T0.001")}
