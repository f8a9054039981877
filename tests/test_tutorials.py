"""Every tutorial script runs to completion as a plain script (the docs gallery runs them too).

At the FAST sizes (``QL_FAST=1``) that CI and the docs build use; each takes well under 2 minutes.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIALS = sorted((Path(__file__).parents[1] / "tutorials").glob("[0-9][0-9]_*.py"))


@pytest.mark.parametrize("script", TUTORIALS, ids=[p.name for p in TUTORIALS])
def test_tutorial_runs(script, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg", QL_FAST="1")
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


def _docstring_lines(script):
    import ast

    return (ast.get_docstring(ast.parse(script.read_text()), clean=False) or "").strip("\n").splitlines()


@pytest.mark.parametrize("script", TUTORIALS, ids=[p.name for p in TUTORIALS])
def test_tutorial_has_the_gallery_form(script):
    """What the docs gallery needs, checked without building it (the docs tests build it)."""
    lines = _docstring_lines(script)
    assert len(lines) >= 2 and lines[0].strip() and set(lines[1]) == {"="} \
        and len(lines[1]) == len(lines[0]), \
        f"{script.name}: the docstring must open with a reST title: a line, then '=' of its length"
    source = script.read_text()
    assert "QL_FAST" in source, f"{script.name}: read QL_FAST (CI and the docs build set QL_FAST=1)"
    assert "plt." in source or "matplotlib" in source, \
        f"{script.name}: draw at least one figure (the gallery shows it; the browser test checks it)"
