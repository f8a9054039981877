"""Memory budgets: parsing, the environment variable, and chunk sizes."""

import pytest

from quotientlearn.memory import DEFAULT_MEMORY_BUDGET, chunk_slices, memory_budget


def test_budget_sources(monkeypatch):
    monkeypatch.delenv("QL_MEMORY_BUDGET", raising=False)
    assert memory_budget() == DEFAULT_MEMORY_BUDGET == 2**30
    assert memory_budget(1234) == 1234
    assert memory_budget("512MB") == 512 * 10**6
    assert memory_budget("2 GiB") == 2 * 2**30
    monkeypatch.setenv("QL_MEMORY_BUDGET", "3kib")
    assert memory_budget() == 3 * 1024
    assert memory_budget(10) == 10  # the call's own budget wins


@pytest.mark.parametrize("bad", [0, -5, "lots", "5 parsecs", float("inf")])
def test_bad_budgets_are_refused(bad):
    with pytest.raises(ValueError, match="memory_budget"):
        memory_budget(bad)


@pytest.mark.parametrize("bad", [True, [1024], None.__class__])
def test_budgets_of_the_wrong_type_are_a_type_error(bad):
    # the package's rule (docs/reliability.md): a wrong type is a TypeError, a bad value a ValueError
    with pytest.raises(TypeError, match="memory_budget"):
        memory_budget(bad)


def test_bad_environment_is_named(monkeypatch):
    monkeypatch.setenv("QL_MEMORY_BUDGET", "much")
    with pytest.raises(ValueError, match="QL_MEMORY_BUDGET"):
        memory_budget()


def test_chunks_cover_the_batch_within_the_budget():
    slices = chunk_slices(10, bytes_per_item=300, budget=1000)
    assert [(s.start, s.stop) for s in slices] == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert chunk_slices(0, 8, 100) == []
    assert len(chunk_slices(10**6, 8, "1GB")) == 1
    with pytest.raises(ValueError, match="more than the memory budget"):
        chunk_slices(4, bytes_per_item=2000, budget=1000)
