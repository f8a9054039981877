import quotientlearn as ql


def test_fast_run_designed_recovers_the_step_signal(tmp_path):
    report = ql.experiments.run("tv-recovery", fast=True, out=tmp_path)
    assert (tmp_path / "tv_recovery.png").exists()
    assert report["true_tv"] == 6.0
    assert report["recon_mse"]["designed"]["max"] <= 0.15
    assert report["recon_mse"]["vanilla"]["min"] >= 1.0
    assert report["tv"]["designed"]["max"] < report["tv"]["vanilla"]["min"] / 3
