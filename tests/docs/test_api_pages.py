"""The API pages writer (``docs/_ext/api_pages.py``); it needs only the package, not Sphinx."""

import importlib.util
from pathlib import Path

DOCS = Path(__file__).parents[2] / "docs"


def _api_pages():
    spec = importlib.util.spec_from_file_location("api_pages", DOCS / "_ext" / "api_pages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pages_of_names_that_left_the_api_are_removed_and_current_ones_kept(tmp_path):
    api_pages = _api_pages()
    generated = tmp_path / "generated"
    generated.mkdir()
    current = generated / "quotientlearn.simulate.rst"
    current.write_text("kept")
    stale_object = generated / "quotientlearn.design.PowerProduct.rst"  # moved to models
    stale_object.write_text("stale")
    stale_module = tmp_path / "quotientlearn.stationary.rst"  # split into predictions
    stale_module.write_text("stale")

    modules = api_pages.write_api_pages(tmp_path)

    assert not stale_object.exists() and not stale_module.exists()
    assert current.read_text() == "kept"
    assert {p.name for p in tmp_path.glob("*.rst")} == {"index.rst"} | {f"{m}.rst" for m in modules}
