"""Sphinx extension: the downloadable chapter notebooks say where they come from.

Each chapter page offers its *executed* notebook for download (``_ext/bookext.py`` links the
``.ipynb`` that myst-nb wrote to ``jupyter_execute/``; Sphinx copies it to
``_build/html/_downloads/<hash>/<slug>.ipynb``). Opened elsewhere, such a notebook fails at
its first cell with a bare ``No module named 'lib'``. At ``build-finished`` this extension
rewrites every such copy (never the executed notebook itself, which the ledger reads) so that
it starts with

1. a one-line markdown cell: which chapter of which book this is, and how to run it (clone
   the repository, ``make lab``, open ``chapters/<part>/<slug>.md``);
2. a code cell that imports the book's ``lib`` and, if that fails with
   ``ModuleNotFoundError``, raises one whose message says the same thing.

Every other cell, output and the notebook metadata are kept as they are: it is the notebook
that ran. The repository URL is ``_config.yml``'s ``repository.url`` (Jupyter Book passes it
to Sphinx as ``html_theme_options["repository_url"]``); while it is not set (the book has no
public address yet) the text says "the book's source repository" instead of a link.
"""

from __future__ import annotations

import json
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

MARK = "kexue-download"  # cell metadata key of the two added cells (makes the rewrite idempotent)
ORIGIN_ID, GUARD_ID = "kexue-download-origin", "kexue-download-guard"


def repository_url(config) -> str:
    """``_config.yml``'s ``repository.url``, as Jupyter Book hands it to Sphinx."""
    url = ((getattr(config, "html_theme_options", None) or {}).get("repository_url") or "").strip()
    return url.rstrip("/")


def _clone(url: str, markdown: bool) -> str:
    """How to get the repository: ``git clone <address>``, or a description while it has none."""
    if not url:
        return "clone the book's source repository (the one this website was built from)"
    return f"`git clone {url}`" if markdown else f"git clone {url}"


def book_title(config) -> str:
    """``_config.yml``'s ``title`` (Jupyter Book's ``html_title``)."""
    return (getattr(config, "html_title", "") or "").strip() or config.project


def origin_line(chapter: str, book: str, url: str) -> str:
    """The markdown cell's one line."""
    return (
        f"This notebook is the chapter `{chapter}` of the book *{book}*, as it ran when the "
        f"book was built; to run it yourself, {_clone(url, True)}, run `make lab` in the "
        f"clone and open `{chapter}` there (it needs the book's `lib` package)."
    )


def guard_source(chapter: str, book: str, url: str) -> str:
    """The code cell: import the book's ``lib``; without it, say what this notebook needs."""
    message = (
        f"This notebook is the chapter {chapter} of the book {book!r} and needs the book's "
        f"`lib` package, which this Python cannot import. To run it: {_clone(url, False)}, run "
        f"`make lab` in the clone and open {chapter} there."
    )
    return (
        "# The book's code: this chapter imports it from `lib` (see the cell above).\n"
        "try:\n"
        "    import lib.book  # noqa: F401\n"
        "except ModuleNotFoundError as err:\n"
        f"    raise ModuleNotFoundError({message!r}, name=err.name) from None\n"
    )


def _lines(text: str) -> list[str]:
    """A cell source as nbformat writes it: a list of lines, each but the last ending in \\n."""
    return text.splitlines(keepends=True)


def with_origin(nb: dict, chapter: str, book: str, url: str) -> dict:
    """``nb`` with the two cells in front (replacing earlier ones of this extension); the
    notebook's own cells and metadata are the same objects, untouched."""
    cells = [c for c in nb.get("cells", []) if MARK not in c.get("metadata", {})]
    origin = {
        "cell_type": "markdown",
        "id": ORIGIN_ID,
        "metadata": {MARK: "origin"},
        "source": _lines(origin_line(chapter, book, url)),
    }
    guard = {
        "cell_type": "code",
        "execution_count": None,
        "id": GUARD_ID,
        "metadata": {MARK: "guard"},
        "outputs": [],
        "source": _lines(guard_source(chapter, book, url)),
    }
    if nb.get("nbformat_minor", 0) < 5 and nb.get("nbformat") == 4:  # ids came with 4.5
        origin.pop("id")
        guard.pop("id")
    return {**nb, "cells": [origin, guard, *cells]}


def dumps(nb: dict) -> str:
    """JSON as nbformat and myst-nb write it, without the final newline (myst-nb writes
    none, nbformat one): the kept cells stay byte-identical to the original."""
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False)


def rewrite(path: Path, chapter: str, book: str, url: str) -> None:
    """Rewrite the notebook file ``path`` in place with the two cells in front."""
    raw = path.read_text(encoding="utf8")
    text = dumps(with_origin(json.loads(raw), chapter, book, url))
    path.write_text(text + ("\n" if raw.endswith("\n") else ""), encoding="utf8")


def chapter_downloads(app) -> list[tuple[Path, str]]:
    """``(copy in _downloads, chapter source path)`` for every download that is the executed
    notebook of a chapter (a document under ``chapters/``)."""
    env = app.env
    executed = Path(env.mystnb_config.output_folder).resolve()
    out = []
    for src, (_docnames, dest) in env.dlfiles.items():
        if not src.endswith(".ipynb"):
            continue
        try:
            rel = (Path(app.srcdir) / src).resolve().relative_to(executed)
        except ValueError:  # not written by myst-nb
            continue
        docname = rel.with_suffix("").as_posix()
        if docname in env.all_docs and docname.startswith("chapters/"):
            chapter = Path(env.doc2path(docname)).resolve().relative_to(Path(app.srcdir).resolve())
            out.append((Path(app.outdir) / "_downloads" / dest, chapter.as_posix()))
    return sorted(out)


def on_build_finished(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    url, book = repository_url(app.config), book_title(app.config)
    done = 0
    for path, chapter in chapter_downloads(app):
        if path.exists():
            rewrite(path, chapter, book, url)
            done += 1
    logger.info(f"download.py: {done} chapter notebook(s) now say where they come from")


def setup(app):
    app.connect("build-finished", on_build_finished)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
