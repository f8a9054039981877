import json

import quotientlearn as ql
from quotientlearn.cli import main


def test_fast_run_designed_recovers_the_sparse_spectrum(tmp_path):
    report = ql.experiments.run("spectral-sparsity", fast=True, out=tmp_path)
    assert (tmp_path / "spectral_sparsity.png").exists()
    assert set(report["test_mse"]) == {"vanilla", "l1", "designed"}
    assert report["test_mse"]["designed"]["max"] <= 0.05
    assert report["test_mse"]["vanilla"]["min"] >= 1.0
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


def test_paper_instance_reproduces_the_papers_vanilla_and_l1(tmp_path, capsys):
    # The authors' data, our training, the paper's configuration (50k full-batch steps): vanilla and
    # l1 GD reach the paper's 2.535 and 0.053 (the tolerances) whatever the initialisation.
    code = main(["run", "spectral-sparsity", "--instance", "paper", "--seeds", "2",
                 "--out", str(tmp_path)])
    assert code == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["instance"] == "paper" and report["config"]["instance"] == "paper"
    mse = report["test_mse"]
    assert abs(mse["vanilla"]["min"] - 2.535) <= 0.005 and abs(mse["vanilla"]["max"] - 2.535) <= 0.005
    assert abs(mse["l1"]["min"] - 0.053) <= 0.002 and abs(mse["l1"]["max"] - 0.053) <= 0.002
    reproduced = [v for v in report["verdict"] if "reproduces" in v["claim"]]
    assert len(reproduced) == 2 and all(v["fraction"] == 1.0 for v in reproduced)
    assert reproduced[0]["authors_code"]["test_mse"]["vanilla"] == 2.5354
    # The paper's own vectors, evaluated on its instance, are in the report.
    assert abs(report["paper"]["test_mse"]["designed"] - 0.0226) < 1e-4


def test_instance_errors_are_clear(tmp_path, capsys):
    assert main(["run", "relu-balance", "--instance", "paper", "--out", str(tmp_path)]) == 2
    assert "has no setting 'instance'" in capsys.readouterr().err
    assert main(["run", "spectral-sparsity", "--fast", "--set", "instance=mine",
                 "--out", str(tmp_path)]) == 2
    assert "instance must be one of" in capsys.readouterr().err
