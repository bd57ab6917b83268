"""Fixtures for the browser tests: the built site served on localhost, headless Chromium.

Chromium is Debian's (`apt-get install chromium`); nothing here downloads a browser. Without
it every test in this folder is skipped with one clear reason.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM = os.path.exists(CHROMIUM)
# Flags for a closed network: no background services trying to reach Google.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def pytest_collection_modifyitems(config, items):
    if HAVE_CHROMIUM:
        return
    if os.environ.get("CI", "").lower() == "true" and any("tests/site" in str(i.fspath) for i in items):
        # Under CI the browser tests are part of the bar: a missing Chromium fails the run.
        pytest.exit("CI=true but Debian's Chromium is not installed: the browser tests cannot "
                    "run (.ci/run installs it with apt-get)", returncode=1)
    skip = pytest.mark.skip(reason="browser tests need Debian's Chromium (apt-get install chromium)")
    for item in items:
        if "tests/site" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def site() -> Path:
    """The built site; built with `jupyter-book build` if it is not there yet."""
    if not (SITE / "index.html").exists():
        subprocess.run(
            [str(ROOT / ".venv" / "bin" / "jupyter-book"), "build", str(ROOT), "--warningiserror"],
            check=True,
        )
    return SITE


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output readable
        pass


@pytest.fixture(scope="session")
def base_url(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class PageLog:
    """Console errors, page errors and every request a page made."""

    def __init__(self, page):
        self.console_errors: list[str] = []
        self.requests: list[str] = []
        self.failed: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    p = context.new_page()
    p.log = PageLog(p)
    yield p
    context.close()


def chapter_pages(site: Path | None = None) -> list[str]:
    """The chapter pages the site must have, from the sources (not from a build that may not
    exist yet): ``chapters/<part>/<slug>.html`` for every MyST chapter notebook."""
    out = []
    for md in (ROOT / "chapters").rglob("*.md"):
        head = md.read_text(encoding="utf8")[:2000]
        if head.startswith("---") and "format_name: myst" in head:
            out.append(md.relative_to(ROOT).with_suffix(".html").as_posix())
    return sorted(out)
