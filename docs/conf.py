"""Sphinx configuration of the quotientlearn documentation site.

Build it (from the repository root, after ``pip install -e ".[docs]"``)::

    sphinx-build -W --keep-going -b html docs docs/_build/html

Warnings are errors. The tutorials in ``tutorials/`` are executed into a gallery at the size set by
``QL_FAST`` (``1``, the default here: the reduced sizes CI uses; ``QL_FAST=0``: full sizes). The API
reference is written from the package's ``__all__`` lists (``docs/_ext/api_pages.py``).
"""

import os
import re
import shutil
import sys
from pathlib import Path

import matplotlib

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE / "_ext"))

import api_pages  # noqa: E402  (found through the path set just above)

import quotientlearn  # noqa: E402

matplotlib.use("Agg")
# The tutorials read QL_FAST when the gallery executes them, in this process.
os.environ.setdefault("QL_FAST", "1")

project = "quotientlearn"
author = "the quotientlearn developers"
copyright = "2026, the quotientlearn developers"  # noqa: A001  (Sphinx's name)
release = version = quotientlearn.__version__

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx_gallery.gen_gallery",
]

root_doc = "index"
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_templates", "_ext", "**/README.md",
                    # sphinx-gallery's by-products that are not pages
                    "tutorials/*.ipynb", "tutorials/*.py", "tutorials/*.zip", "tutorials/*.json"]
templates_path = ["_templates"]

# --- API reference: module pages from __all__, one autosummary page per public object --------------
# The module pages are named explicitly: autosummary's default (every known document) misses a page
# that is new since the last build, whose objects would then have no page.
autosummary_generate = [f"api/{name}.rst" for name in api_pages.write_api_pages(HERE / "api")]
autosummary_imported_members = True
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types and shapes
autodoc_member_order = "bysource"
autoclass_content = "class"
add_module_names = False
numpydoc_show_class_members = False  # the class template lists members with autodoc
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# --- Markdown pages (MyST) ----------------------------------------------------------------------
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]

# --- Tutorials: executed by sphinx-gallery from the plain scripts in tutorials/ ------------------
# sphinx-gallery runs each script in its own folder, where a tutorial writes its files (a sweep's
# table, a checkpoint). It runs copies in a scratch folder, rewritten at each build, so that the
# repository's tutorials/ stays clean and no build reuses another's files; the scripts' content (which
# decides what is re-executed) is unchanged.
GALLERY_SOURCE = HERE / "_build" / "gallery-source"
shutil.rmtree(GALLERY_SOURCE, ignore_errors=True)
GALLERY_SOURCE.mkdir(parents=True)
for _script in (HERE.parent / "tutorials").iterdir():
    if _script.suffix in (".py", ".rst"):
        shutil.copy2(_script, GALLERY_SOURCE / _script.name)
sphinx_gallery_conf = {
    "examples_dirs": str(GALLERY_SOURCE),
    "gallery_dirs": "tutorials",
    "filename_pattern": r"/\d\d_",  # execute every numbered tutorial
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_signature": False,
    "min_reported_time": 0,
    # its timing pages load jQuery from a CDN; each tutorial page shows its own running time
    "write_computation_times": False,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
}

# --- HTML ---------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = "quotientlearn"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_show_sourcelink = False
html_static_path = ["_static"]
html_css_files = ["quotientlearn.css"]
# Without a default the theme's script logs an error on a first visit (empty stored colour mode).
html_context = {"default_mode": "auto"}


# --- Docstrings: the shape notation ``(..., *beta_shape)`` -------------------------------------------
# numpydoc puts a parameter's type line into the page as reST, where ``*beta_shape`` would open an
# emphasis. Escape a star that starts a name and is not closed by another star, outside literals.
_STARRED_NAME = re.compile(r"(?<![\w*\\])\*(?=[A-Za-z_]\w*(?:[^\w*]|$))")


def _escape_starred_names(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        parts = line.split("``")
        parts[::2] = [_STARRED_NAME.sub(r"\\*", part) for part in parts[::2]]
        lines[i] = "``".join(parts)


def _skip_foreign_inherited(app, what, name, obj, skip, options):
    # Classes list their inherited members (a zoo model's predictor, balanced, ... come from Model),
    # but not those of other libraries' bases (geomstats' FiberBundle, Python's exceptions).
    if what in ("class", "exception"):
        function = getattr(obj, "fget", obj)
        module = getattr(function, "__module__", None) or getattr(  # a builtin's methods: their class
            getattr(function, "__objclass__", None), "__module__", None)
        if module is not None and not module.startswith("quotientlearn"):
            return True
    return skip


def setup(app):
    """Run the escape before numpydoc (priority 500) turns the docstrings into reST."""
    app.connect("autodoc-process-docstring", _escape_starred_names, priority=400)
    app.connect("autodoc-skip-member", _skip_foreign_inherited)
