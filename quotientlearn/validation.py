"""Checks of scalar arguments at the public boundary, with the messages every layer shares."""

from __future__ import annotations

import math

__all__ = ["non_negative", "positive", "positive_int"]


def _number(value, name):
    if isinstance(value, bool | str):
        raise ValueError(f"{name} must be a number; got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number; got {value!r}") from None


def positive(value, name):
    """``value`` as a float after checking it is finite and positive."""
    number = _number(value, name)
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{name} must be finite and positive; got {value!r}")
    return number


def non_negative(value, name):
    """``value`` as a float after checking it is finite and non-negative."""
    number = _number(value, name)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{name} must be finite and non-negative; got {value!r}")
    return number


def positive_int(value, name, allow_zero=False):
    """``value`` as an int after checking it is a positive (or, with ``allow_zero``, non-negative) integer."""
    number = _number(value, name)
    if not math.isfinite(number) or number != int(number):
        raise ValueError(f"{name} must be an integer; got {value!r}")
    if number < 0 or (number == 0 and not allow_zero):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a {kind} integer; got {value!r}")
    return int(number)
