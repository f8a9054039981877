import numpy as np
import pytest

from quotientlearn import validation


def test_integer_accepts_integral_numbers_and_refuses_other_types():
    assert validation.integer(3, "n") == 3
    assert validation.integer(np.int64(3), "n") == 3
    assert validation.integer(1e4, "n_steps") == 10_000  # a count written as a float literal
    assert validation.integer(np.array(2), "n") == 2
    for bad in (2.5, True, "3", None, 1j, np.ones(2), float("inf")):
        with pytest.raises(TypeError, match="^n must be an integer"):
            validation.integer(bad, "n")
    with pytest.raises(ValueError, match="^n must be a positive integer; got 0"):
        validation.integer(0, "n", minimum=1)
    with pytest.raises(ValueError, match="^rank must be a positive integer at most 3; got 4"):
        validation.integer(4, "rank", minimum=1, maximum=3)
    with pytest.raises(ValueError, match="^depth must be an integer >= 2; got 1"):
        validation.integer(1, "depth", minimum=2)


def test_real_refuses_wrong_types_and_bad_values():
    assert validation.real(2, "dt") == 2.0 and isinstance(validation.real(2, "dt"), float)
    for bad in (None, 1j, "0.1", np.ones(2), False):
        with pytest.raises(TypeError, match="^dt must be a real number"):
            validation.real(bad, "dt")
    with pytest.raises(ValueError, match="^dt must be finite; got nan"):
        validation.real(float("nan"), "dt")
    with pytest.raises(ValueError, match="^dt must be finite and positive; got 0"):
        validation.positive(0.0, "dt")
    with pytest.raises(ValueError, match="^tol must be finite and non-negative; got -1"):
        validation.non_negative(-1, "tol")
    with pytest.raises(ValueError, match="^x must be finite and greater than 1 and at most 2; got 3"):
        validation.real(3, "x", minimum=1, maximum=2, exclusive_minimum=True)
    assert validation.real(float("inf"), "x", allow_inf=True) == float("inf")
    with pytest.raises(ValueError, match="finite"):
        validation.real(float("-inf"), "x", allow_inf=True)


def test_rng_from_seed():
    rng = np.random.default_rng(0)
    assert validation.rng_from_seed(rng) is rng
    assert validation.rng_from_seed(3).random() == np.random.default_rng(3).random()
    assert validation.rng_from_seed(np.int32(3)).random() == np.random.default_rng(3).random()
    for bad in ("abc", 1.5, True, [0.5]):
        with pytest.raises(TypeError, match="^seed must be"):
            validation.rng_from_seed(bad)
    with pytest.raises(ValueError, match="^seed must be a non-negative integer"):
        validation.rng_from_seed(-1)


def test_choice_and_real_array():
    assert validation.choice("a", "noise", ("a", "b")) == "a"
    with pytest.raises(ValueError, match="unknown noise 'c'; choose one of 'a', 'b'"):
        validation.choice("c", "noise", ("a", "b"))
    with pytest.raises(TypeError, match="^noise must be one of"):
        validation.choice(None, "noise", ("a", "b"))
    assert validation.real_array([1, 2], "x").dtype == float
    for bad, word in (([1j], "complex"), (["a"], "dtype"), ([True], "dtype"), ([[1], [1, 2]], "ragged")):
        with pytest.raises(TypeError, match=word):
            validation.real_array(bad, "x")
