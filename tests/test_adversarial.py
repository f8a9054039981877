"""The adversarial inputs of benchmarks/adversarial.py: every one gives a clear error or a right answer."""

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "adversarial.py"
_SPEC = importlib.util.spec_from_file_location("adversarial", _PATH)
adversarial = importlib.util.module_from_spec(_SPEC)
sys.modules["adversarial"] = adversarial  # dataclasses look their module up there
_SPEC.loader.exec_module(adversarial)
CASES = adversarial.register_all()


@pytest.mark.parametrize("case", [c for c in CASES if not c.slow], ids=lambda c: f"{c.area}: {c.label}")
def test_case_is_clear(case):
    outcome, detail = adversarial.classify(case)
    assert outcome == "clear", detail


def test_the_classifier_has_power():
    """A silently accepted bad input is garbage, a deep numpy error unclear, a wrong answer garbage."""
    accepted = adversarial.Case("python api", "accepted", lambda: 1.0, "error", (ValueError,), ("dt",))
    assert adversarial.classify(accepted)[0] == "garbage"

    def deep():
        import numpy as np

        return np.linalg.inv(np.zeros((2, 2)))  # LinAlgError (a ValueError) not naming theta

    assert adversarial.classify(adversarial.Case("x", "deep", deep, "error", (ValueError,), ("theta",))
                                )[0] == "unclear"
    wrong = adversarial.Case("x", "wrong", lambda: float("nan"), "works", check=adversarial.finite)
    assert adversarial.classify(wrong)[0] == "garbage"
    unnamed = adversarial.Case("x", "unnamed", lambda: int("x"), "error", (ValueError,), ("seed",))
    assert adversarial.classify(unnamed)[0] == "unclear"
