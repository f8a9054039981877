"""Shared test configuration.

Statistical tests take their size from ``QL_TEST_SCALE``: ``ci`` (default; reduced sizes that keep
power, so the suite fits CI's budget on 2 cores) or ``full`` (the sizes the issues state). Use the
``sized`` fixture: ``n = sized(full=20_000, ci=4_000)``.

Property tests (hypothesis) draw their examples from a fixed seed, so every CI run checks the same
inputs and a failure reproduces; ``HYPOTHESIS_PROFILE=explore`` draws fresh examples each run.
"""

import os

import matplotlib
import pytest
from hypothesis import settings

matplotlib.use("Agg")

settings.register_profile("fixed", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fixed"))

FULL = os.environ.get("QL_TEST_SCALE", "ci") == "full"


@pytest.fixture
def sized():
    """Pick the full-size or the CI-size value of a test parameter."""

    def pick(full, ci):
        return full if FULL else ci

    return pick
