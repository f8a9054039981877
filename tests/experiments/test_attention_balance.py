import quotientlearn as ql


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
