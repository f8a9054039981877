"""The built site: no warning, every public symbol in the API reference, no broken internal link."""

import importlib
import re
import types
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

import quotientlearn


class _Page(HTMLParser):
    """The ids, links, resources and object descriptions of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.links, self.resources, self.described = set(), [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
            if tag == "dt" and "sig-object" in attrs.get("class", ""):
                self.described.append(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        for name in ("src", "href") if tag in ("img", "script", "link", "source") else ():
            if attrs.get(name):
                self.resources.append(attrs[name])


def _parse(path):
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


@pytest.fixture(scope="module")
def parsed(site):
    assert site.returncode == 0, site.log[-5000:]
    return {path: _parse(path) for path in site.pages()}


def _is_external(url):
    return urlsplit(url).scheme in ("http", "https", "mailto", "ftp", "data")


def _target(page_path, url):
    """The file and fragment a relative URL of ``page_path`` points to."""
    parts = urlsplit(url)
    path = (page_path.parent / unquote(parts.path)).resolve() if parts.path else page_path
    if path.is_dir():
        path = path / "index.html"
    return path, unquote(parts.fragment)


def test_build_has_no_warning(site):
    # -W turns a warning into a non-zero exit; the log is checked as well, so --keep-going's summary
    # cannot hide one.
    assert site.returncode == 0, site.log[-5000:]
    assert not re.search(r"\b(WARNING|ERROR|CRITICAL)\b", site.log), site.log[-5000:]


def _public_symbols():
    """(module, name, object) for ``quotientlearn.__all__`` and each public module's ``__all__``."""
    modules = [quotientlearn] + [getattr(quotientlearn, name) for name in quotientlearn.__all__
                                 if isinstance(getattr(quotientlearn, name), types.ModuleType)]
    assert len(modules) > 5
    return [(module, name, getattr(module, name)) for module in modules for name in module.__all__]


def _resolve(full_name):
    """The object a documented full name stands for, reached as a user would: ``ql.design.fit``."""
    obj = quotientlearn
    for depth, part in enumerate(full_name.split(".")[1:], start=2):
        obj = getattr(obj, part) if hasattr(obj, part) else \
            importlib.import_module(".".join(full_name.split(".")[:depth]))
    return obj


def test_every_public_symbol_has_its_page(site, parsed):
    """Each name of each public ``__all__`` is linked from its module's page to its description."""
    described = {}  # object id in the HTML -> the page that describes it
    for path, page in parsed.items():
        for object_id in page.described:
            assert object_id not in described, f"{object_id} described on {path} and {described[object_id]}"
            described[object_id] = path
    missing = []
    symbols = _public_symbols()
    for module, name, obj in symbols:
        module_page = site.html / "api" / f"{module.__name__}.html"
        if module_page not in parsed:
            missing.append(f"{module.__name__}: no module page")
            continue
        found = False
        for link in parsed[module_page].links:
            target, fragment = _target(module_page, link)
            if isinstance(obj, types.ModuleType):
                found = fragment == f"module-{obj.__name__}" and target in parsed
            elif fragment.rsplit(".", 1)[-1] == name and described.get(fragment) == target:
                found = _resolve(fragment) is obj
            if found:
                break
        if not found:
            missing.append(f"{module.__name__}.{name}")
    coverage = 1 - len(missing) / len(symbols)
    assert not missing, f"API coverage {coverage:.1%}; missing: {missing}"


def test_no_broken_internal_link_or_resource(site, parsed):
    broken = []
    for path, page in parsed.items():
        for url in page.links + page.resources:
            if _is_external(url):
                continue
            target, fragment = _target(path, url)
            if not target.exists():
                broken.append(f"{path.relative_to(site.html)}: {url} (no file)")
            elif fragment and target.suffix == ".html" and fragment not in parsed[target].ids:
                broken.append(f"{path.relative_to(site.html)}: {url} (no anchor)")
    assert not broken, "\n".join(broken[:50])


def test_pages_load_nothing_from_the_network(site, parsed):
    # The site must work offline: scripts, styles and images are all local files.
    remote = [f"{path.relative_to(site.html)}: {url}" for path, page in parsed.items()
              for url in page.resources if _is_external(url) and not url.startswith("data:")]
    assert not remote, "\n".join(remote[:50])


def test_site_has_the_pages_the_issue_lists(site, parsed):
    for page in ("index", "theory", "paper", "design", "extending", "api/index", "tutorials/index"):
        assert site.html / f"{page}.html" in parsed, page
    tutorials = sorted(Path(quotientlearn.__file__).parents[1].joinpath("tutorials").glob("[0-9][0-9]_*.py"))
    assert tutorials
    for script in tutorials:
        assert site.html / "tutorials" / f"{script.stem}.html" in parsed, script.name
