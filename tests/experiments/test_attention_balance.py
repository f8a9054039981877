import numpy as np
import pytest

import quotientlearn as ql
from quotientlearn.io import load_arrays


def test_fast_run_reports_and_balances(tmp_path):
    report = ql.experiments.run("attention-balance", fast=True, out=tmp_path)
    for key in ("ratio_min", "ratio_max", "max_abs_log_ratio", "max_abs_log_ratio_by_step",
                "frobenius_ratio"):
        assert key in report
    assert (tmp_path / "attention_balance.png").exists()
    by_step = report["max_abs_log_ratio_by_step"]
    # Columns start with ratios over two decades; SGD must bring them markedly closer to 1.
    assert by_step["median"][0] > 2.0
    assert by_step["median"][-1] < 0.5 * by_step["median"][0]
    initial, final = report["initial_frobenius_ratio"], report["frobenius_ratio"]
    assert abs(final["median"] - 1) < abs(initial["median"] - 1)
    # "Initial" is the configured step (the paper's 500, scaled to the fast lr), not step 0.
    assert report["initial_step"] == 125
    arrays = load_arrays(tmp_path / "arrays.npz")
    index = int(np.flatnonzero(arrays["steps"] == 125)[0])
    assert report["initial_ratio_min"]["median"] == pytest.approx(
        np.median(arrays["ratios"][index].min(axis=-1)))
    assert arrays["theta_final"].shape == (4, 3 * 16 * 8)          # W_Q, W_K and W_V learned
    # The paper's saved run: step 500 to 50k, ratios [0.037, 5.3] -> [0.935, 1.012], Frobenius 0.98.
    paper = report["paper"]
    np.testing.assert_allclose(paper["initial_ratio_range"], [0.0368, 5.318], atol=1e-3)
    np.testing.assert_allclose(paper["final_ratio_range"], [0.9353, 1.0122], atol=1e-4)
    assert paper["steps"] == [500, 50_000]
    assert [v["paper"] for v in report["verdict"]] == pytest.approx([0.0669, 0.9826], abs=1e-4)


def test_initial_step_must_be_recorded(tmp_path):
    with pytest.raises(ValueError, match="initial_step"):
        ql.experiments.run("attention-balance", fast=True, out=tmp_path,
                           overrides={"initial_step": 130})
