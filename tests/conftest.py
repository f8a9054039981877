"""Shared test configuration.

Statistical tests take their size from ``QL_TEST_SCALE``: ``ci`` (default; reduced sizes that keep
power, so the suite fits CI's budget on 2 cores) or ``full`` (the sizes the issues state). Use the
``sized`` fixture: ``n = sized(full=20_000, ci=4_000)``.
"""

import os

import matplotlib
import pytest

matplotlib.use("Agg")

FULL = os.environ.get("QL_TEST_SCALE", "ci") == "full"


@pytest.fixture
def sized():
    """Pick the full-size or the CI-size value of a test parameter."""

    def pick(full, ci):
        return full if FULL else ci

    return pick
