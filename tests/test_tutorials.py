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
