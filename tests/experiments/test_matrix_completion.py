import numpy as np

import quotientlearn as ql
from quotientlearn.io import load_arrays


def test_fast_run_reports_sigma_of_pq_and_mode_ratios(tmp_path):
    report = ql.experiments.run("matrix-completion", fast=True, out=tmp_path)
    assert (tmp_path / "matrix_completion.png").exists()
    assert "2*sigma" in report["sigma_convention"]
    np.testing.assert_allclose(report["paper_sigma_top2"], [7.435, 2.015])
    top = report["sigma_top2"]["median"]
    # Starting from sigma ~ 0.5, the dominant mode grows to several units but stays below the
    # truth (15) in this budget; the second stays below the first.
    assert 3.0 < top[0] < 15.0 and top[1] < top[0]
    arrays = load_arrays(tmp_path / "arrays.npz")
    assert arrays["sigma"][0, :, 0].max() < 1.5
    ratio = report["mode_ratio_range"]
    assert 0.5 < ratio["min"]["median"] <= ratio["max"]["median"] < 2.0
