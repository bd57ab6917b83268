"""Sphinx extension for the book (Jupyter Book v1 loads it via ``sphinx.local_extensions``).

What it adds to a stock Jupyter Book build:

1. **An exact execution-cache key per chapter.** jupyter-cache hashes only a notebook's own
   code cells; ``execkey.chapter_key`` adds the lib modules the chapter imports
   (transitively), the data files it reads and the locked environment, and is stamped into
   the notebook before myst-nb looks it up. ``make test``'s nbval stage stores each chapter it
   executed under the same key (``conftest.py``), so the build renders it without executing
   it again. A chapter whose key changed since the last build is re-read (``env-get-outdated``),
   and an edit to this extension invalidates the Sphinx environment (``env_version``).
2. **A chapter header** built from the ``kexue:`` block of a chapter's YAML front matter:
   source article (link, English and Chinese title, date), the paper it discusses, and a
   download link to the *executed* ``.ipynb`` (stock Jupyter Book offers only the ``.md``).
3. **The claims ledger.** ``lib.book.Chapter.table()`` emits every claim of a chapter as
   ``application/vnd.kexue.claims+json``; after execution this extension reads them from the
   executed notebooks, and the ``{claims-ledger}`` directive renders all of them, grouped by
   part. ``{claims-summary}`` renders one row per chapter and ``{book-versions}`` the
   versions the book was built with (for the status page).
"""

from __future__ import annotations

import hashlib
import html
import importlib.metadata
import json
import os
import platform
import shutil
from pathlib import Path

import execkey
import stored
import yaml
from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx import addnodes
from sphinx.util import logging

from lib.display import _tags_html  # one rendering of the claim labels (book and ledger)

logger = logging.getLogger(__name__)

CLAIMS_MIME = "application/vnd.kexue.claims+json"


# --------------------------------------------------------------------------- cache key
def ext_version() -> int:
    """Sphinx ``env_version`` of this extension: changes whenever a file of ``_ext/`` does,
    so pages rendered by an older extension are not kept."""
    h = hashlib.sha256()
    for f in sorted(Path(__file__).parent.glob("*.py")):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return int(h.hexdigest()[:12], 16)


def is_chapter_source(path: Path) -> bool:
    path = Path(path)
    if path.suffix != ".md" or "chapters" not in path.parts:
        return False
    head = path.read_text(encoding="utf8")[:2000]
    return head.startswith("---") and "format_name: myst" in head


def install_key_stamp() -> None:
    """Stamp each chapter's execution key into its notebook before myst-nb matches it against
    the cache (myst-nb has no hook between reading a notebook and executing it)."""
    import myst_nb.sphinx_ as mnb

    original = mnb.create_client
    if getattr(original, "kexue_stamps_key", False):
        return

    def create_client(notebook, source, nb_config, logger, read_fmt=None):
        if is_chapter_source(Path(source)):
            execkey.stamp(notebook, execkey.chapter_key(Path(source)))
            EXECUTION_ORIGIN[str(Path(source).resolve())] = cached_by(nb_config, notebook)
        return original(notebook, source, nb_config, logger, read_fmt)

    create_client.kexue_stamps_key = True
    mnb.create_client = create_client


EXECUTION_ORIGIN: dict[str, str | None] = {}  # chapter source -> who executed it (None: this build)


def cached_by(nb_config, notebook) -> str | None:
    """Who stored the execution-cache record this notebook matches, or None on a miss."""
    from jupyter_cache import get_cache

    try:
        record = get_cache(nb_config.execution_cache_path).match_cache_notebook(notebook)
    except KeyError:
        return None
    return (record.data or {}).get("executed_by", "a book build")


def report_execution(app, exception):
    """One line per build: how many chapters came from the cache and who executed them."""
    if exception is not None or not EXECUTION_ORIGIN:
        return
    origins = list(EXECUTION_ORIGIN.values())
    executed = sum(o is None for o in origins)
    by: dict[str, int] = {}
    for o in origins:
        if o is not None:
            by[o] = by.get(o, 0) + 1
    parts = ", ".join(f"{n} executed earlier by {who}" for who, n in sorted(by.items()))
    logger.info(f"[bookext] execution: {len(origins)} chapter(s) read; {executed} executed by "
                f"this build; {len(origins) - executed} rendered from the cache"
                + (f" ({parts})" if parts else ""), color="green")


def set_cache_path(app, config):
    # One cache for every build of this tree (the book, one-chapter builds) and for nbval: the
    # keys are exact, so sharing is safe.
    root = Path(app.srcdir) / "_build" / ".jupyter_cache"
    if root.is_dir():  # caches of the old scheme (one folder per hash of all of lib/)
        for old in root.iterdir():
            if old.is_dir() and old.name.startswith("lib-"):
                shutil.rmtree(old, ignore_errors=True)
    config.nb_execution_cache_path = str(root)
    install_key_stamp()
    static = Path(__file__).parent / "static"
    config.html_static_path = list(config.html_static_path) + [str(static)]
    config.html_favicon = str(static / "favicon.svg")
    # An explicit mode: without it pydata-sphinx-theme logs "invalid theme mode" on every page.
    config.html_context = {**config.html_context, "default_mode": "auto"}


def drop_thebe_scripts(app, pagename, templatename, context, doctree):
    """Remove sphinx-thebe's scripts: the book has no live kernels, and the inline script
    that declares ``THEBE_JS_URL`` (an external URL) is registered twice by Jupyter Book,
    which is a console error on every page."""
    scripts = context.get("script_files")
    if not scripts:
        return
    keep = []
    for js in scripts:
        body = getattr(js, "attributes", {}).get("body", "") or ""
        name = getattr(js, "filename", str(js)) or ""
        if "THEBE_JS_URL" in body or "sphinx-thebe" in name or "thebe@" in name:
            continue
        keep.append(js)
    context["script_files"] = keep


# --------------------------------------------------------------------------- front matter
def read_front_matter(path: Path) -> dict:
    text = path.read_text(encoding="utf8")
    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    if end < 0:
        return {}
    data = yaml.safe_load(text[3:end]) or {}
    return data if isinstance(data, dict) else {}


def executed_notebook(app, docname: str) -> Path:
    return Path(app.env.mystnb_config.output_folder).joinpath(*docname.split("/")).with_suffix(
        ".ipynb"
    )


def read_payloads(ipynb: Path) -> list[dict]:
    """Every ledger payload (one per ``ch.table()``) in an executed notebook."""
    if not ipynb.exists():
        return []
    nb = json.loads(ipynb.read_text(encoding="utf8"))
    found = []
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if CLAIMS_MIME in data:
                payload = data[CLAIMS_MIME]
                found.append(json.loads(payload) if isinstance(payload, str) else payload)
    return found


def fill_from_cache(app, ipynb: Path) -> bool:
    """Put the cached outputs into an executed notebook that was written without them.

    On a jupyter-cache hit (e.g. a prose-only edit), myst-nb renders the cached outputs but
    writes the notebook to ``jupyter_execute/`` without them, so the ledger would lose the
    chapter's claims and the download would carry no outputs. Merge them back from the cache
    (the same record myst-nb rendered from). Returns whether the notebook was rewritten."""
    if not ipynb.exists():
        return False
    try:
        import nbformat
        from jupyter_cache import get_cache

        nb = nbformat.read(str(ipynb), as_version=4)
        if any(c.get("outputs") for c in nb.cells if c.cell_type == "code"):
            return False
        _, merged = get_cache(app.config.nb_execution_cache_path).merge_match_into_notebook(nb)
        nbformat.write(merged, str(ipynb))
        return True
    except Exception as err:  # noqa: BLE001 - the warning below names the consequence
        logger.info(f"{ipynb.name}: no cached outputs to restore ({type(err).__name__}: {err})")
        return False


def read_claims(ipynb: Path) -> list[dict]:
    return [c for p in read_payloads(ipynb) for c in p.get("claims", [])]


def check_payloads(docname: str, payloads: list[dict]) -> None:
    """A claim must not disappear: each of these is a build warning (an error under -W)."""
    slug = Path(docname).name
    if not payloads:
        logger.warning(f"{docname}: no claims recorded (the chapter never calls ch.table(), "
                       "or its output was lost)", location=docname, type="kexue", subtype="claims")
        return
    for p in payloads:
        if p.get("chapter") != slug:
            logger.warning(f"{docname}: Chapter({p.get('chapter')!r}) does not match the file "
                           f"name {slug!r}", location=docname, type="kexue", subtype="claims")
        if not p.get("claims"):
            logger.warning(f"{docname}: ch.table() emitted no claims", location=docname,
                           type="kexue", subtype="claims")
        for c in p.get("claims", []):
            if not c.get("passed"):
                logger.warning(f"{docname}: claim {c.get('name')!r} FAILED (value "
                               f"{c.get('value_text')}, reference {c.get('reference_text')}); "
                               "its AssertionError was caught", location=docname,
                               type="kexue", subtype="claims")


def on_doctree_read(app, doctree):
    env = app.env
    docname = env.docname
    src = Path(env.doc2path(docname))
    if src.suffix != ".md" or not docname.startswith("chapters/"):
        return
    meta = read_front_matter(src).get("kexue")
    if not meta:
        return
    env.kexue_meta[docname] = meta
    env.kexue_exec_keys[docname] = execkey.chapter_key(src)
    if os.environ.get("KEXUE_EXPECT_CACHED") == "1" and EXECUTION_ORIGIN.get(
            str(src.resolve()), "") is None:
        logger.warning(f"{docname}: executed by the build although make test's nbval stage "
                       "had just run it: nbval stored it under a different key (or not at "
                       "all); see conftest.py and _ext/execkey.py", type="kexue", subtype="exec")
    ipynb = executed_notebook(app, docname)
    payloads = read_payloads(ipynb)
    if not payloads and fill_from_cache(app, ipynb):
        payloads = read_payloads(ipynb)
    check_payloads(docname, payloads)
    env.kexue_claims[docname] = [c for p in payloads for c in p.get("claims", [])]
    env.kexue_extra[docname] = {
        "measured": [m for p in payloads for m in p.get("measured", [])],
        "source_numbers": [n for p in payloads for n in p.get("source_numbers", [])],
    }
    header = chapter_header(app, docname, meta, ipynb)
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        return
    title_index = next(
        (i for i, n in enumerate(section.children) if isinstance(n, nodes.title)), -1
    )
    section.insert(title_index + 1, header)


def chapter_header(app, docname, meta, ipynb: Path) -> nodes.Node:
    box = nodes.container(classes=["chapter-source"])
    para = nodes.paragraph()
    para += nodes.strong(text="Source: ")
    url = meta.get("url") or f"https://kexue.fm/archives/{meta['id']}"
    para += nodes.reference(text=meta.get("title", url), refuri=url)
    if meta.get("title_zh"):
        para += nodes.Text(f" ({meta['title_zh']})")
    if meta.get("date"):
        para += nodes.Text(f", Su Jianlin, Scientific Spaces, {meta['date']}.")
    box += para
    if meta.get("paper"):
        p2 = nodes.paragraph()
        p2 += nodes.strong(text="Paper discussed: ")
        if meta.get("paper_url"):
            p2 += nodes.reference(text=str(meta["paper"]), refuri=meta["paper_url"])
        else:
            p2 += nodes.Text(str(meta["paper"]))
        box += p2
    claims = app.env.kexue_claims.get(docname, [])
    nfail = sum(not c.get("passed") for c in claims)
    secs = _exec_seconds(app, docname)
    badge = nodes.paragraph(classes=["chapter-badge"])
    if claims and not nfail:
        badge += nodes.inline(text="✓ Verified", classes=["badge-verified"])
        text = f": all {len(claims)} claims checked"
    else:
        badge += nodes.inline(text="✗ Not verified", classes=["badge-failed"])
        text = f": {nfail} of {len(claims)} claims failing" if claims else ": no claims recorded"
    if secs is not None:
        text += f"; executed in {secs:.1f} s"
    badge += nodes.Text(text + " (")
    badge += ledger_link(slug=Path(docname).name)
    badge += nodes.Text(").")
    box += badge
    p3 = nodes.paragraph()
    p3 += nodes.strong(text="Run it: ")
    rel = "/" + Path(ipynb).relative_to(Path(app.srcdir)).as_posix()
    dl = addnodes.download_reference("", "", reftarget=rel, refdoc=docname, refexplicit=True)
    dl += nodes.literal(text=f"{Path(docname).name}.ipynb", classes=["xref", "download"])
    p3 += nodes.Text("download the executed notebook ")
    p3 += dl
    p3 += nodes.Text(", or run the chapter's checks with ")
    p3 += nodes.literal(text=f"make chapter CH={env_source(app, docname)}")
    p3 += nodes.Text(".")
    box += p3
    return box


def env_source(app, docname):
    return Path(app.env.doc2path(docname)).relative_to(Path(app.srcdir)).as_posix()


# --------------------------------------------------------------------------- ledger
class ledger_placeholder(nodes.General, nodes.Element):
    pass


class ledger_link(nodes.Inline, nodes.Element):
    """Link to a chapter's rows on the ledger page; resolved when the page is written."""


class _Placeholder(Directive):
    kind = ""

    def run(self):
        env = self.state.document.settings.env
        env.kexue_ledger_docs.add(env.docname)
        if self.kind == "ledger":
            env.kexue_ledger_page = env.docname
        return [ledger_placeholder(kind=self.kind)]


class ClaimsLedger(_Placeholder):
    kind = "ledger"


class ClaimsSummary(_Placeholder):
    kind = "summary"


class BookVersions(_Placeholder):
    kind = "versions"


class SourceNumbers(_Placeholder):
    kind = "source-numbers"


class ErrataIndex(_Placeholder):
    kind = "errata"


class DataLinks(_Placeholder):
    kind = "data-links"


def chapters_by_part(app) -> list[tuple[str, list[str]]]:
    """(part caption, [chapter docnames that have a ``kexue:`` header]), non-empty parts only."""
    out = []
    for part, docs in parts_in_order(app):
        chapters = [d for d in docs if d in app.env.kexue_meta]
        if chapters:
            out.append((part, chapters))
    return out


def parts_in_order(app) -> list[tuple[str, list[str]]]:
    """(part caption, [docnames]) in the order of _toc.yml."""
    site_map = getattr(app.env, "external_site_map", None)
    out = []
    if site_map is None:
        return [("Chapters", sorted(app.env.kexue_meta))]
    root = site_map[site_map.root.docname]
    for sub in root.subtrees:
        docs = []
        for item in sub.items:
            name = getattr(item, "docname", None) or str(item)
            docs.append(name)
        out.append((sub.caption or "", docs))
    return out


def _chapter_title(app, docname):
    t = app.env.titles.get(docname)
    return t.astext() if t is not None else docname


def _exec_seconds(app, docname):
    try:
        from myst_nb.sphinx_ import NbMetadataCollector

        data = NbMetadataCollector.get_exec_data(app.env, docname)
    except Exception:  # noqa: BLE001 - optional information
        data = None
    return data.get("runtime") if data else None


# --------------------------------------------------------------------------- data records
DATA_FILES = ("claims.json", "source-numbers.json", "errata.json")


def _article(app, docname) -> int | None:
    try:
        return int(app.env.kexue_meta[docname]["id"])
    except (KeyError, TypeError, ValueError):
        return None


def _num(x):
    """JSON has no NaN/inf: they become null."""
    if isinstance(x, bool) or x is None:
        return x
    if isinstance(x, int | float):
        return x if x == x and abs(x) != float("inf") else None
    if isinstance(x, list):
        return [_num(v) for v in x]
    return x


def data_records(app) -> dict[str, list[dict]]:
    """The three machine-readable tables (contract: chapter slug, kexue id, ...)."""
    claims, numbers, errata = [], [], []
    for _part, chapters in chapters_by_part(app):
        for d in chapters:
            slug, art = Path(d).name, _article(app, d)
            for c in app.env.kexue_claims.get(d, []):
                claims.append({
                    "chapter": slug, "article": art, "name": c["name"],
                    "statement": c.get("statement", ""), "value": _num(c.get("value")),
                    "relation": c.get("relation"), "reference": _num(c.get("reference")),
                    "rtol": c.get("rtol"), "atol": c.get("atol"),
                    "passed": bool(c.get("passed")), "erratum": bool(c.get("erratum", False)),
                    "stored": bool(c.get("stored", False)),
                })
                if c.get("erratum"):
                    errata.append({
                        "chapter": slug, "article": art, "claim": c["name"],
                        "article_says": c.get("article_says", ""),
                        "measured": f"{c.get('statement', c['name'])}: {c.get('value_text')} "
                                    f"({c.get('reference_text')})",
                    })
            for n in app.env.kexue_extra.get(d, {}).get("source_numbers", []):
                numbers.append({
                    "chapter": slug, "article": art, "printed": n["printed"],
                    "value": _num(n.get("value")), "where": n["where"], "fate": n["fate"],
                    "claim": n.get("claim"), "reason": n.get("reason") or None,
                })
    return {"claims.json": claims, "source-numbers.json": numbers, "errata.json": errata}


def write_data_files(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir) / "data"
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in data_records(app).items():
        (out / name).write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf8")


def _fate_counts(numbers) -> dict[str, int]:
    out = {"reproduced": 0, "contradicted": 0, "out of scope": 0}
    for n in numbers:
        out[n["fate"]] = out.get(n["fate"], 0) + 1
    return out


def source_numbers_html(app, fromdocname) -> str:
    e = html.escape
    recs = data_records(app)["source-numbers.json"]
    total = _fate_counts(recs)
    out = [f"<p class='ledger-total'><strong>{len(recs)}</strong> numbers printed in the "
           f"articles: {total['reproduced']} reproduced, {total['contradicted']} contradicted, "
           f"{total['out of scope']} out of scope.</p>"]
    missing = []
    for part, chapters in chapters_by_part(app):
        out.append(f"<h2 class='ledger-part'>{e(part)}</h2>")
        for d in chapters:
            rows = [r for r in recs if r["chapter"] == Path(d).name]
            uri = app.builder.get_relative_uri(fromdocname, d)
            c = _fate_counts(rows)
            out.append(f"<h3 class='ledger-chapter' id='numbers-{e(Path(d).name)}'><a href='{e(uri)}'>"
                       f"{e(_chapter_title(app, d))}</a> &middot; {len(rows)} numbers "
                       f"({c['reproduced']} reproduced, {c['contradicted']} contradicted, "
                       f"{c['out of scope']} out of scope)</h3>")
            if not rows:
                missing.append(d)
                out.append("<p class='ledger-bad'>No source-number record yet.</p>")
                continue
            out.append("<table class='claims-table'><thead><tr><th>Printed</th><th>Where</th>"
                       "<th>Fate</th><th>Claim / reason</th></tr></thead><tbody>")
            for r in rows:
                cls = {"reproduced": "claim-pass", "contradicted": "number-contradicted"}.get(r["fate"], "")
                link = (f"<code>{e(r['claim'])}</code>" if r["claim"] else e(r["reason"] or ""))
                out.append(f"<tr class='{cls}'><td>{e(r['printed'])}</td><td>{e(r['where'])}</td>"
                           f"<td>{e(r['fate'])}</td><td>{link}</td></tr>")
            out.append("</tbody></table>")
    return "".join(out)


def errata_html(app, fromdocname) -> str:
    e = html.escape
    recs = data_records(app)["errata.json"]
    out = [f"<p class='ledger-total'><strong>{len(recs)}</strong> errata in "
           f"{len({r['chapter'] for r in recs})} chapters.</p>"]
    for part, chapters in chapters_by_part(app):
        rows_part = [(d, r) for d in chapters for r in recs if r["chapter"] == Path(d).name]
        if not rows_part:
            continue
        out.append(f"<h2 class='ledger-part'>{e(part)}</h2><table class='claims-table'><thead>"
                   "<tr><th>Chapter</th><th>The article says</th><th>Measured</th><th>Claim</th>"
                   "</tr></thead><tbody>")
        for d, r in rows_part:
            meta = app.env.kexue_meta.get(d, {})
            url = meta.get("url") or f"https://kexue.fm/archives/{meta.get('id', '')}"
            uri = app.builder.get_relative_uri(fromdocname, d)
            out.append(f"<tr><td><a href='{e(uri)}'>{e(_chapter_title(app, d))}</a><br>"
                       f"<a href='{e(url)}'>kexue.fm/{e(str(meta.get('id', '')))}</a></td>"
                       f"<td>{e(r['article_says'])}</td><td>{e(r['measured'])}</td>"
                       f"<td><code>{e(r['claim'])}</code></td></tr>")
        out.append("</tbody></table>")
    return "".join(out)


def data_links_html(app, fromdocname) -> str:
    base = app.builder.get_relative_uri(fromdocname, app.config.root_doc)
    prefix = base.rsplit("/", 1)[0] + "/" if "/" in base else ""
    links = ", ".join(f"<a href='{prefix}data/{n}'><code>data/{n}</code></a>" for n in DATA_FILES)
    return f"<p class='data-links'>Machine-readable: {links}.</p>"


def ledger_html(app, fromdocname) -> str:
    e = html.escape
    out = []
    total = failed = 0
    for part, chapters in chapters_by_part(app):
        out.append(f"<h2 class='ledger-part'>{e(part)}</h2>")
        for d in chapters:
            claims = app.env.kexue_claims.get(d, [])
            uri = app.builder.get_relative_uri(fromdocname, d)
            nfail = sum(not c.get("passed") for c in claims)
            total += len(claims)
            failed += nfail
            status = (
                f"<span class='ledger-bad'>{nfail} FAILING</span>"
                if nfail
                else f"<span class='ledger-ok'>all {len(claims)} pass</span>"
            )
            if not claims:
                status = "<span class='ledger-bad'>no claims recorded</span>"
            out.append(
                f"<h3 class='ledger-chapter' id='ledger-{e(Path(d).name)}'>"
                f"<a href='{e(uri)}'>{e(_chapter_title(app, d))}</a> "
                f"&middot; {status}</h3>"
            )
            out.append(
                "<table class='claims-table'><thead><tr><th>Claim</th><th>Value</th>"
                "<th>Reference</th><th>Tolerance</th><th>Why this tolerance</th><th>Pass</th>"
                "</tr></thead><tbody>"
            )
            for c in claims:
                ok = c.get("passed")
                out.append(
                    f"<tr class='{'claim-pass' if ok else 'claim-fail'}'>"
                    f"<td><code>{e(c['name'])}</code>{_tags_html(c)}<br><span class='claim-statement'>"
                    f"{e(c.get('statement', ''))}</span></td><td>{e(c['value_text'])}</td>"
                    f"<td>{e(c['reference_text'])}</td><td>{e(c['tolerance_text'])}</td>"
                    f"<td>{e(c.get('why', ''))}</td><td>{'✓' if ok else '✗ FAIL'}</td></tr>"
                )
            out.append("</tbody></table>")
    head = (
        f"<p class='ledger-total'><strong>{total}</strong> claims in "
        f"<strong>{len(app.env.kexue_meta)}</strong> chapters; "
        + (
            f"<span class='ledger-bad'>{failed} failing</span>"
            if failed
            else "<span class='ledger-ok'>every claim passes</span>"
        )
        + ".</p>"
    )
    return head + "".join(out)


def summary_html(app, fromdocname) -> str:
    """One row per chapter, grouped by part: source article, claims, run time, status."""
    e = html.escape
    rows = []
    n_chapters = n_claims = n_failing = 0
    for part, chapters in chapters_by_part(app):
        rows.append(f"<tr class='part-row'><th colspan='5'>{e(part)}</th></tr>")
        for d in chapters:
            meta = app.env.kexue_meta[d]
            claims = app.env.kexue_claims.get(d, [])
            nfail = sum(not c.get("passed") for c in claims)
            n_chapters += 1
            n_claims += len(claims)
            n_failing += nfail if claims else 1
            secs = _exec_seconds(app, d)
            uri = app.builder.get_relative_uri(fromdocname, d)
            url = meta.get("url") or f"https://kexue.fm/archives/{meta['id']}"
            status = (
                f"<span class='ledger-bad'>✗ {nfail} failing</span>"
                if nfail or not claims
                else "<span class='ledger-ok'>✓ verified</span>"
            )
            rows.append(
                f"<tr><td><a href='{e(uri)}'>{e(_chapter_title(app, d))}</a></td>"
                f"<td><a href='{e(url)}'>{e(str(meta.get('title', url)))}</a><br>"
                f"<span class='claim-statement'>{e(str(meta.get('title_zh', '')))} &middot; "
                f"{e(str(meta.get('date', '')))}</span></td>"
                f"<td class='num'>{len(claims)}</td>"
                f"<td class='num'>{'' if secs is None else f'{secs:.1f}&nbsp;s'}</td>"
                f"<td>{status}</td></tr>"
            )
    verdict = (
        "<span class='ledger-ok'>all verified</span>"
        if n_failing == 0
        else f"<span class='ledger-bad'>{n_failing} failing</span>"
    )
    numbers = data_records(app)["source-numbers.json"]
    fc = _fate_counts(numbers)
    n_err = len(data_records(app)["errata.json"])
    return (
        f"<p class='ledger-total'><strong>{n_chapters}</strong> chapters, "
        f"<strong>{n_claims}</strong> claims, {verdict}. <strong>{len(numbers)}</strong> numbers "
        f"from the articles: {fc['reproduced']} reproduced, {fc['contradicted']} contradicted, "
        f"{fc['out of scope']} out of scope; <strong>{n_err}</strong> errata.</p>"
        "<table class='claims-table chapter-summary'><thead><tr><th>Chapter</th>"
        "<th>Source article (Scientific Spaces)</th><th>Claims</th><th>Run time</th>"
        "<th>Status</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def versions_html() -> str:
    pkgs = ["jupyter-book", "myst-nb", "sphinx", "torch", "numpy", "scipy", "sympy",
            "matplotlib", "nbval", "jupytext"]
    rows = [f"<tr><td>Python</td><td>{html.escape(platform.python_version())}</td></tr>"]
    for p in pkgs:
        try:
            v = importlib.metadata.version(p)
        except importlib.metadata.PackageNotFoundError:
            v = "not installed"
        rows.append(f"<tr><td>{html.escape(p)}</td><td>{html.escape(v)}</td></tr>")
    return (
        "<table class='claims-table'><thead><tr><th>Package</th><th>Version</th></tr></thead>"
        "<tbody>" + "".join(rows) + "</tbody></table>"
    )


def on_doctree_resolved(app, doctree, fromdocname):
    ledger_page = getattr(app.env, "kexue_ledger_page", None)
    for node in list(doctree.findall(ledger_link)):
        if ledger_page is None or app.builder.format != "html":
            node.replace_self(nodes.Text("claims ledger"))
            continue
        uri = app.builder.get_relative_uri(fromdocname, ledger_page) + f"#ledger-{node['slug']}"
        node.replace_self(nodes.reference("", "its rows in the claims ledger", refuri=uri))
    for node in list(doctree.findall(ledger_placeholder)):
        kind = node["kind"]
        if app.builder.format != "html":
            node.replace_self(nodes.paragraph(text="(see the HTML edition)"))
            continue
        render = {
            "ledger": ledger_html, "summary": summary_html, "source-numbers": source_numbers_html,
            "errata": errata_html, "data-links": data_links_html,
        }
        body = render[kind](app, fromdocname) if kind in render else versions_html()
        node.replace_self(nodes.raw("", body, format="html"))


# --------------------------------------------------------------------------- env plumbing
def on_builder_inited(app):
    env = app.env
    for attr, default in (("kexue_meta", dict), ("kexue_claims", dict), ("kexue_extra", dict),
                          ("kexue_ledger_docs", set), ("kexue_exec_keys", dict)):
        if not hasattr(env, attr):
            setattr(env, attr, default())
    if not hasattr(env, "kexue_ledger_page"):
        env.kexue_ledger_page = None


def on_purge(app, env, docname):
    env.kexue_meta.pop(docname, None)
    env.kexue_claims.pop(docname, None)
    env.kexue_extra.pop(docname, None)
    env.kexue_exec_keys.pop(docname, None)
    env.kexue_ledger_docs.discard(docname)


def on_merge(app, env, docnames, other):
    if getattr(other, "kexue_ledger_page", None):
        env.kexue_ledger_page = other.kexue_ledger_page
    env.kexue_meta.update({d: other.kexue_meta[d] for d in docnames if d in other.kexue_meta})
    env.kexue_claims.update({d: other.kexue_claims[d] for d in docnames if d in other.kexue_claims})
    env.kexue_extra.update({d: other.kexue_extra[d] for d in docnames if d in other.kexue_extra})
    env.kexue_exec_keys.update(
        {d: other.kexue_exec_keys[d] for d in docnames if d in other.kexue_exec_keys})
    env.kexue_ledger_docs |= {d for d in other.kexue_ledger_docs if d in docnames}


def chapter_sources(srcdir: Path) -> list[Path]:
    """Every chapter notebook in the tree (MyST markdown with a jupytext header)."""
    out = []
    for md in sorted((srcdir / "chapters").rglob("*.md")):
        head = md.read_text(encoding="utf8")[:2000]
        if head.startswith("---") and "format_name: myst" in head:
            out.append(md)
    return out


def on_check_consistency(app, env):
    """Chapters the build would silently skip, and two chapters claiming one slug."""
    srcdir = Path(app.srcdir)
    sources = chapter_sources(srcdir)
    slugs: dict[str, list[str]] = {}
    for md in sources:
        slugs.setdefault(md.stem, []).append(md.relative_to(srcdir).as_posix())
    for slug, files in slugs.items():
        if len(files) > 1:
            logger.warning(f"two chapters share the slug {slug!r}: {files} (ledger anchors, "
                           "labels and claim records would collide)", type="kexue", subtype="toc")
    toc = Path(getattr(app.config, "external_toc_path", "") or "_toc.yml")
    if not toc.is_absolute():
        toc = srcdir / toc
    if toc.resolve() != (srcdir / "_toc.yml").resolve():
        return  # a one-chapter build (tools/build_chapter.sh) lists only its chapter
    for md in sources:
        doc = md.relative_to(srcdir).with_suffix("").as_posix()
        if doc not in env.found_docs:
            logger.warning(f"{md.relative_to(srcdir)} is a chapter but is not in _toc.yml: "
                           "it would be neither built nor checked by the book", type="kexue",
                           subtype="toc")


def on_get_outdated(app, env, added, changed, removed):
    """Chapters whose execution key changed (a lib module they import, a data file they read,
    the lock file), though their own source did not: re-read, so re-executed. Pages that
    summarise all chapters are rebuilt whenever anything is."""
    stale = set()
    for docname, key in env.kexue_exec_keys.items():
        if docname in removed or docname in changed:
            continue
        src = Path(env.doc2path(docname))
        if not src.exists() or execkey.chapter_key(src) != key:
            stale.add(docname)
    if stale:
        logger.info(f"[bookext] {len(stale)} chapter(s) with a changed execution key: "
                    f"{', '.join(sorted(stale))}")
    return sorted(stale | (env.kexue_ledger_docs - set(removed)))


def setup(app):
    app.connect("config-inited", set_cache_path, priority=100)
    app.connect("builder-inited", on_builder_inited)
    # Before Sphinx's download collector (priority 500) sees the header's download link.
    app.connect("doctree-read", on_doctree_read, priority=400)
    app.connect("doctree-resolved", on_doctree_resolved)
    app.connect("env-purge-doc", on_purge)
    app.connect("env-merge-info", on_merge)
    app.connect("env-get-outdated", on_get_outdated)
    app.connect("env-check-consistency", on_check_consistency)
    app.connect("html-page-context", drop_thebe_scripts, priority=900)
    app.add_node(ledger_placeholder)
    app.add_node(ledger_link)
    app.add_directive("claims-ledger", ClaimsLedger)
    app.add_directive("claims-summary", ClaimsSummary)
    app.add_directive("book-versions", BookVersions)
    app.add_directive("source-numbers", SourceNumbers)
    app.add_directive("errata-index", ErrataIndex)
    app.add_directive("data-links", DataLinks)
    app.connect("build-finished", write_data_files)
    app.connect("build-finished", report_execution)
    stored.setup(app)
    app.add_css_file("bookext.css")
    return {"version": "1.0", "env_version": ext_version(), "parallel_read_safe": True,
            "parallel_write_safe": True}
