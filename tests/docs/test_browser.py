"""The built site in a real browser: headless Chromium visits every page of the site.

Runs wherever Chromium and its driver are installed (Debian: ``apt-get install chromium
chromium-driver``); ``.ci/run`` installs them and sets ``QL_REQUIRE_BROWSER=1`` so that CI cannot
skip it. Every page must load without a console error (a missing script, style or image is one),
every image must have decoded (natural width > 0), every internal link must reach a page that
exists, and every tutorial page must show its figures.
"""

import os
import shutil
from collections import deque
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

from .conftest import require

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage")

# Per page, in one round trip: load state, broken images, links and the gallery's figures.
PAGE_STATE = """
const images = Array.from(document.images);
return {
  ready: document.readyState,
  title: document.title,
  broken: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src')),
  links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  figures: images.filter(i => i.matches('img.sphx-glr-single-img, img.sphx-glr-multi-img')
                              && i.naturalWidth > 0).length,
};
"""


def _skip_or_fail(message):
    if os.environ.get("QL_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium through chromedriver, with a fresh profile and no network of its own."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not (chromium and driver_path):
        _skip_or_fail("headless Chromium check needs chromium and chromedriver on PATH")
    require("selenium", "the browser check")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager would otherwise try to download one.
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _local_path(url):
    parts = urlsplit(url)
    return Path(unquote(parts.path)) if parts.scheme == "file" else None


def test_every_page_loads_with_its_images_and_links(site, browser):
    assert site.returncode == 0, site.log[-5000:]
    # Every page the build wrote, and every page an internal link reaches.
    html = site.html.resolve()
    pages = [p.resolve() for p in site.pages()]
    queue, seen, problems, figures = deque(pages), set(pages), [], {}
    while queue:
        page = queue.popleft()
        browser.get(page.as_uri())
        state = browser.execute_script(PAGE_STATE)
        name = str(page.relative_to(html))
        errors = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
        if state["ready"] != "complete":
            problems.append(f"{name}: did not finish loading ({state['ready']})")
        problems += [f"{name}: console error {message}" for message in errors]
        problems += [f"{name}: image did not render: {src}" for src in state["broken"]]
        figures[name] = state["figures"]
        for link in state["links"]:
            path = _local_path(urldefrag(link).url)
            if path is None:
                continue  # an external link: the machine has no network to check it
            if path.is_dir():
                path = path / "index.html"
            if not path.exists():
                problems.append(f"{name}: broken link {link}")
            elif path.suffix == ".html" and path not in seen:
                seen.add(path)
                queue.append(path)
    assert not problems, "\n".join(problems[:50])
    tutorial_pages = [name for name in figures if name.startswith("tutorials/") and name[10:12].isdigit()]
    assert tutorial_pages
    without = [name for name in tutorial_pages if figures[name] == 0]
    assert not without, f"tutorial pages without a rendered figure: {without}"
