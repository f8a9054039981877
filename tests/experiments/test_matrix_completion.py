import numpy as np

import quotientlearn as ql
from quotientlearn.experiments import matrix_completion
from quotientlearn.io import load_arrays


def test_fast_run_reports_sigma_of_pq_and_both_mode_ratios(tmp_path):
    report = ql.experiments.run("matrix-completion", fast=True, out=tmp_path)
    assert (tmp_path / "matrix_completion.png").exists()
    assert "2*sigma" in report["sigma_convention"]
    # The paper's saved run, halved: 2 sigma = (14.87, 4.03), still growing at 300k-500k steps.
    np.testing.assert_allclose(report["paper"]["sigma_top2"], [7.435, 2.015], atol=0.005)
    by_step = report["paper"]["sigma_1_by_step"]
    np.testing.assert_allclose([by_step[k] for k in ("300000", "400000", "500000")],
                               [6.64, 7.23, 7.44], atol=0.005)
    top = report["sigma_top2"]["median"]
    # Starting from sigma ~ 0.5, the dominant mode grows to several units but stays below the
    # truth (15) in this budget; the second stays below the first.
    assert 3.0 < top[0] < 15.0 and top[1] < top[0]
    arrays = load_arrays(tmp_path / "arrays.npz")
    assert arrays["sigma"][0, :, 0].max() < 1.5
    assert arrays["mode_ratio"].shape[1:] == (4, 20)
    assert arrays["singular_mode_ratio"].shape[1:] == (4, 2)
    for key in ("mode_ratio_range_paper", "mode_ratio_range_singular"):
        ratio = report[key]
        assert 0.5 < ratio["min"]["median"] <= ratio["max"]["median"] < 2.0
    # Three verdicts (sigma_1, sigma_2, modes), each a fraction of the 4 seeds with its interval.
    assert len(report["verdict"]) == 3
    for item in report["verdict"]:
        assert item["seeds"] == 4 and 0 <= item["fraction_ci95"][0] <= item["fraction"]
        assert item["fraction"] <= item["fraction_ci95"][1] <= 1


def test_bernoulli_masks_as_in_the_paper(tmp_path):
    report = ql.experiments.run("matrix-completion", fast=True, out=tmp_path,
                                overrides={"mask_sampling": "bernoulli", "seeds": 6,
                                           "n_steps": 2000})
    counts = report["n_observed"]
    assert counts["min"] < counts["max"]        # Bernoulli(0.2) masks: counts differ between seeds


def test_mode_ratio_definitions():
    model = ql.models.MatrixFactorization(3, 2, 2)
    # P columns of norms 3 and 1; Q rows of norms 1 and 2: the paper's ratios are (3, 0.5).
    theta = model.space.join(P=np.array([[[3.0, 0.0], [0.0, 1.0], [0.0, 0.0]]]),
                             Q=np.array([[[1.0, 0.0], [0.0, 2.0]]]))
    np.testing.assert_allclose(matrix_completion.mode_ratios(model, theta), [[3.0, 0.5]])
    # An SVD-balanced pair has ratio 1 along the true singular vectors in any internal basis.
    rng = np.random.default_rng(0)
    target = rng.standard_normal((1, 3, 2))
    left, _, right_t = np.linalg.svd(target, full_matrices=False)
    balanced = model.balanced(target)
    rotation = np.linalg.qr(rng.standard_normal((2, 2)))[0]
    blocks = model.space.split(balanced)
    rotated = model.space.join(P=blocks["P"] @ rotation, Q=rotation.T @ blocks["Q"])
    np.testing.assert_allclose(matrix_completion.singular_mode_ratios(
        model, rotated, left, np.swapaxes(right_t, -1, -2)), [[1.0, 1.0]], rtol=1e-10)
