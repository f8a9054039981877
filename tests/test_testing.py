import quotientlearn as ql


def test_check_model_passes_and_lists_residuals():
    report = ql.testing.check_model(ql.models.GroupSparse([2, 2]), seed=1)
    assert report.passed
    assert all(value <= 1e-10 for value in report.residuals.values())


def test_check_model_fails_loudly():
    report = ql.testing.check_model(ql.models.Hadamard(2), seed=0, tol=0.0)
    # with zero tolerance, floating point residuals must register as failures somewhere
    assert not report.passed
    try:
        report.raise_if_failed()
    except AssertionError as exc:
        assert "FAIL" in str(exc)
    else:
        raise AssertionError("raise_if_failed did not raise")
