"""The documentation site, built once per test session with the documented command.

The docs tests need the ``docs`` extra (Sphinx, sphinx-gallery, numpydoc, MyST). Where it is missing
they are skipped, unless ``QL_REQUIRE_DOCS=1`` (set by ``.ci/run``) turns the skip into a failure, so
CI cannot pass without building the site.
"""

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs"


def require(module_name, what):
    """Import ``module_name`` or skip (fail under ``QL_REQUIRE_DOCS=1``)."""
    try:
        return __import__(module_name)
    except ImportError:
        message = f"{what} needs {module_name!r}: pip install -e '.[docs]'"
        if os.environ.get("QL_REQUIRE_DOCS") == "1":
            pytest.fail(message)
        pytest.skip(message)


@dataclass(frozen=True)
class Site:
    """A built site: its HTML folder, the build's exit status and its log (stdout and stderr)."""

    html: Path
    returncode: int
    log: str

    def pages(self):
        """Every HTML page of the site, sorted (the theme's template fragments in _static are none)."""
        return sorted(p for p in self.html.rglob("*.html") if "_static" not in p.relative_to(self.html).parts)


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """Build the site as README says (warnings are errors), tutorials at the FAST sizes."""
    for module_name in ("sphinx", "sphinx_gallery", "numpydoc", "myst_parser", "pydata_sphinx_theme"):
        require(module_name, "the docs build")
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, QL_FAST="1", MPLBACKEND="Agg")
    # sphinx-build, not ``python -m sphinx``: a tutorial that starts Dask workers (08) has them import
    # the main module again, and sphinx's __main__ has no ``if __name__ == "__main__"`` guard.
    command = [str(Path(sys.executable).with_name("sphinx-build")), "-W", "--keep-going", "-b", "html",
               "-d", str(out / "doctrees"), str(DOCS), str(out / "html")]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    return Site(out / "html", result.returncode, result.stdout + result.stderr)
