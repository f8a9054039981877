import numpy as np
import pytest

from quotientlearn.experiments._shared import verdict


def test_verdict_counts_seeds_and_gives_the_clopper_pearson_interval():
    values = np.array([0.05, 0.2, 0.01, 0.5, 0.06, 0.3, 0.9, 0.4])
    result = verdict("claim", "statistic", values, values <= 0.063, 0.063, {"seeds": 8})
    assert result["seeds_reaching"] == 3 and result["seeds"] == 8
    assert result["fraction"] == pytest.approx(3 / 8)
    # Clopper-Pearson 95% interval for 3 of 8 (beta quantiles; tabulated 0.0852, 0.7551).
    np.testing.assert_allclose(result["fraction_ci95"], [0.0852, 0.7551], atol=1e-4)
    assert result["ours"]["median"] == pytest.approx(np.median(values))
    assert result["authors_code"] == {"seeds": 8} and result["paper"] == 0.063
    # All or none: the interval still has the other end open.
    none = verdict("claim", "statistic", values, values < 0, 0.0)
    assert none["fraction"] == 0.0 and none["fraction_ci95"][0] == 0.0
    assert none["fraction_ci95"][1] == pytest.approx(1 - 0.025 ** (1 / 8))
