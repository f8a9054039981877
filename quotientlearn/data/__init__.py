"""Data shipped with the package: the paper authors' own saved runs (MIT licence, see ``paper/``).

>>> from quotientlearn import data
>>> run = data.paper_run("spectral_sparsity")
>>> run.arrays["w_true"].shape, run.config["seed"]
((64,), 456)
"""

from __future__ import annotations

import ast
import io
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType

import numpy as np

__all__ = ["PAPER_RUNS", "PaperRun", "paper_licence", "paper_run"]

#: The saved runs, by experiment (file stem in ``quotientlearn/data/paper``).
PAPER_RUNS = ("relu_balance", "attention_balance", "matrix_completion", "spectral_sparsity",
              "tv_recovery")

_SOURCE = "emaballarin/understanding-design-ib@a540b16 (MIT licence)"


def _folder():
    return resources.files(__name__).joinpath("paper")


def _parse(text):
    """A stored configuration value: a Python literal where it is one, else the string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


@dataclass(frozen=True)
class PaperRun:
    """One of the authors' saved runs.

    Attributes
    ----------
    name : str
    arrays : mapping of str to ndarray
        As saved (float32 values, int64 steps); read-only.
    config : mapping
        The run's configuration as the authors stored it, values parsed as Python literals.
    source : str
        Repository, commit and file the arrays come from.

    Examples
    --------
    >>> import quotientlearn as ql
    >>> run = ql.data.paper_run("tv_recovery")
    >>> run.name, run.arrays["true_signal"].shape, run.config["num_steps"]
    ('tv_recovery', (200,), 500000)
    """

    name: str
    arrays: MappingProxyType
    config: MappingProxyType
    source: str


@cache
def _load(name):
    folder = _folder()
    meta = json.loads(folder.joinpath("meta.json").read_text(encoding="utf-8"))[name]
    with np.load(io.BytesIO(folder.joinpath(f"{name}.npz").read_bytes())) as stored:
        arrays = {key: stored[key] for key in stored.files}
    for array in arrays.values():
        array.setflags(write=False)
    config = {key: _parse(value) for key, value in meta["config"].items()}
    return PaperRun(name, MappingProxyType(arrays), MappingProxyType(config),
                    f"{_SOURCE}, {meta['source_file']}")


def paper_run(name):
    """The authors' saved run of experiment ``name`` (one of :data:`PAPER_RUNS`).

    Parameters
    ----------
    name : str
        File stem, e.g. ``"spectral_sparsity"``; the experiment's CLI name (``"spectral-sparsity"``)
        is accepted too.

    Returns
    -------
    PaperRun

    Examples
    --------
    >>> import quotientlearn as ql
    >>> run = ql.data.paper_run("relu_balance")
    >>> run.arrays["norm_ratios"].shape, run.config["learning_rate"]
    ((4000, 16), 5e-05)
    """
    stem = str(name).replace("-", "_")
    if stem not in PAPER_RUNS:
        raise ValueError(f"no saved paper run {name!r}; available: {', '.join(PAPER_RUNS)}")
    return _load(stem)


def paper_licence():
    """The licence notice that must accompany the authors' arrays (their MIT licence text).

    Examples
    --------
    >>> import quotientlearn as ql
    >>> ql.data.paper_licence().splitlines()[0]
    'MIT License'
    """
    return _folder().joinpath("LICENSE").read_text(encoding="utf-8")
