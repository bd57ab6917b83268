"""The website as a reader meets it, checked in headless Chromium (no network)."""

from __future__ import annotations

import json
import re
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import pytest

from .conftest import SCREENSHOTS, chapter_pages

CHAPTERS = chapter_pages()

# Visible text outside code, after MathJax has run; raw TeX left here means a formula failed.
VISIBLE_TEXT_JS = """() => {
  const clone = document.querySelector('main').cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-container, .MathJax').forEach(e => e.remove());
  return clone.innerText;
}"""
WAIT_MATHJAX_JS = """async () => {
  if (!window.MathJax || !MathJax.startup) return 'no-mathjax';
  await MathJax.startup.promise;
  return 'ok';
}"""


def open_page(page, url):
    page.goto(url, wait_until="load")
    return page.evaluate(WAIT_MATHJAX_JS)


def assert_local_only(page, base_url):
    outside = [u for u in page.log.requests if not (u.startswith(base_url) or u.startswith("data:"))]
    assert not outside, f"requests left localhost: {outside[:5]}"
    assert not page.log.failed, f"failed requests: {page.log.failed[:5]}"


def test_site_has_chapters(site):
    assert CHAPTERS, "no chapter notebooks under chapters/"
    missing = [c for c in CHAPTERS if not (site / c).exists()]
    assert not missing, f"chapters without a page in the built site: {missing}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_page(page, base_url, chapter):
    url = f"{base_url}/{chapter}"
    assert open_page(page, url) == "ok", "MathJax is not loaded"
    # every formula typeset: MathJax replaced each math node's TeX by an mjx-container
    untypeset = page.evaluate(
        "() => [...document.querySelectorAll('div.math, span.math')]"
        ".filter(e => !e.querySelector('mjx-container')).length"
    )
    assert untypeset == 0, f"{untypeset} formulas were not typeset"
    assert page.evaluate("() => document.querySelectorAll('mjx-container').length") > 0
    text = page.evaluate(VISIBLE_TEXT_JS)
    for raw in ("$$", "\\begin{", "\\frac", "\\mathrm"):
        assert raw not in text, f"raw TeX {raw!r} visible on {chapter}"
    # every image loads
    broken = page.evaluate(
        "() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
    )
    assert not broken, f"images that did not load: {broken}"
    assert page.evaluate("() => document.images.length") >= 1, "a chapter needs a figure"
    # the header: source article, verified badge, executed notebook download
    header = page.locator(".chapter-source")
    assert header.count() == 1
    assert "kexue.fm/archives/" in header.locator("a").first.get_attribute("href")
    assert "Verified" in header.inner_text()
    href = header.locator("a.download").get_attribute("href")
    resp = page.request.get(urljoin(url, href))
    assert resp.status == 200
    nb = json.loads(resp.body())
    # the download starts with where it comes from and the guard for a missing `lib`
    # (_ext/download.py); every other code cell is the one that ran, with its outputs
    added = [c.get("metadata", {}).get("kexue-download") for c in nb["cells"][:2]]
    assert added == ["origin", "guard"], added
    assert "make lab" in "".join(nb["cells"][0]["source"])
    code = [c for c in nb["cells"][2:] if c["cell_type"] == "code"]
    assert code and all(c.get("execution_count") for c in code), "notebook is not executed"
    assert any(c.get("outputs") for c in code)
    assert not page.log.console_errors, f"console errors: {page.log.console_errors}"
    assert_local_only(page, base_url)


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("href", "src"):
            if tag in ("a", "link", "script", "img") and a.get(key):
                self.links.append(a[key])


def test_internal_links_resolve(site, base_url):
    pages = [p for p in site.rglob("*.html") if "_static" not in p.parts]
    checked: set[str] = set()
    bad = []
    for p in pages:
        parser = _Links()
        parser.feed(p.read_text(encoding="utf8"))
        page_url = f"{base_url}/{p.relative_to(site).as_posix()}"
        for link in parser.links:
            if urlparse(link).scheme in ("http", "https", "mailto", "data", "javascript"):
                continue
            target = urldefrag(urljoin(page_url, link))[0]
            if not target or target in checked:
                continue
            checked.add(target)
            try:
                with urllib.request.urlopen(target) as r:
                    status = r.status
            except Exception as exc:  # noqa: BLE001 - report every broken link
                status = str(exc)
            if status != 200:
                bad.append(f"{p.relative_to(site)} -> {link}: {status}")
    assert len(checked) > 10
    assert not bad, "broken internal links:\n" + "\n".join(bad[:20])


def test_search_finds_chapter_by_body_word(page, base_url):
    page.goto(f"{base_url}/search.html?q=Gibbs", wait_until="load")
    results = page.locator("#search-results ul.search li a")
    results.first.wait_for(timeout=20000)
    hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
    assert any("logsumexp-inequalities" in h for h in hrefs), hrefs
    assert_local_only(page, base_url)


def _ledger_rows(page) -> dict[str, int]:
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('h3.ledger-chapter')].map(h => {
             const table = h.nextElementSibling;
             return [h.id.replace('ledger-', ''), table.querySelectorAll('tbody tr').length];
           }))"""
    )


def test_ledger_lists_every_chapters_claims(page, base_url):
    open_page(page, f"{base_url}/pages/ledger.html")
    rows = _ledger_rows(page)
    assert page.locator("tr.claim-fail").count() == 0
    for chapter in CHAPTERS:
        slug = Path(chapter).stem
        ch = page.context.new_page()
        ch.goto(f"{base_url}/{chapter}", wait_until="load")
        n_claims = ch.evaluate(
            "() => { const t = [...document.querySelectorAll('table.claims-table')].pop();"
            " return t ? t.querySelectorAll('tbody tr').length : 0; }"
        )
        ch.close()
        assert n_claims > 0, f"{chapter} shows no claims table"
        assert rows.get(slug) == n_claims, f"ledger rows for {slug}: {rows.get(slug)} vs {n_claims}"
    assert_local_only(page, base_url)


def test_data_files_agree_with_the_ledger(page, base_url, site):
    """The three JSON files exist, parse, follow the contract and agree with the ledger."""
    data = {n: json.loads((site / "data" / n).read_text(encoding="utf8"))
            for n in ("claims.json", "source-numbers.json", "errata.json")}
    claims = data["claims.json"]
    keys = {"chapter", "article", "name", "statement", "value", "relation", "reference", "rtol",
            "atol", "passed", "erratum"}
    assert claims and all(keys <= set(c) for c in claims)
    assert all(isinstance(c["article"], int) for c in claims)
    open_page(page, f"{base_url}/pages/ledger.html")
    rows = _ledger_rows(page)
    per_chapter = {}
    for c in claims:
        per_chapter[c["chapter"]] = per_chapter.get(c["chapter"], 0) + 1
    assert per_chapter == rows
    by_name = {(c["chapter"], c["name"]): c for c in claims}
    for n in data["source-numbers.json"]:
        assert n["fate"] in ("reproduced", "contradicted", "out of scope")
        if n["fate"] == "out of scope":
            assert n["claim"] is None and n["reason"]
        else:
            c = by_name[(n["chapter"], n["claim"])]
            assert c["passed"]
            assert c["erratum"] or n["fate"] == "reproduced"
    for r in data["errata.json"]:
        assert by_name[(r["chapter"], r["claim"])]["erratum"] and r["article_says"]
    assert sum(c["erratum"] for c in claims) == len(data["errata.json"])
    for name in ("source-numbers", "errata"):
        open_page(page, f"{base_url}/pages/{name}.html")  # no formulas there: MathJax not loaded
        assert page.locator("p.ledger-total").count() == 1
        assert page.locator("tr.claim-fail").count() == 0
        assert_local_only(page, base_url)


def test_status_page_lists_run_times(page, base_url):
    open_page(page, f"{base_url}/pages/status.html")
    text = page.inner_text("main")
    for chapter in CHAPTERS:
        assert Path(chapter).stem in text
    assert re.search(r"\d+\.\d+\s*s", text), "no run times on the status page"
    assert "torch" in text and "jupyter-book" in text


def test_landing_page_table(page, base_url):
    open_page(page, f"{base_url}/index.html")
    rows = page.locator("table.chapter-summary tbody tr:not(.part-row)")
    assert rows.count() == len(CHAPTERS)
    assert "all verified" in page.inner_text("p.ledger-total")
    assert "kexue.fm" in page.locator("table.chapter-summary a[href*='kexue.fm']").first.get_attribute("href")
    assert_local_only(page, base_url)


def test_dark_mode_toggles(page, base_url):
    open_page(page, f"{base_url}/index.html")
    before = page.evaluate("() => document.documentElement.dataset.theme")
    page.locator("button.theme-switch-button").first.click()
    after = page.evaluate("() => document.documentElement.dataset.theme")
    assert before != after, (before, after)


def test_screenshots(page, base_url):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    targets = ["index.html"] + CHAPTERS[:2]
    for rel in targets:
        open_page(page, f"{base_url}/{rel}")
        out = SCREENSHOTS / (rel.replace("/", "__").replace(".html", ".png"))
        page.screenshot(path=str(out), full_page=True)
        assert out.stat().st_size > 10_000
