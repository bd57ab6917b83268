"""The downloadable chapter notebook: two cells in front saying where it comes from
(``_ext/download.py``), everything else as it ran."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))
import download  # noqa: E402

URL = "https://example.org/owner/book"
BOOK = "Derivations from Scientific Spaces, executed"
CHAPTER = "chapters/softmax/squareplus.md"


def executed_notebook() -> dict:
    """A small executed notebook as myst-nb writes it: ids, outputs of several kinds,
    metadata (nbformat's own constructors, so it is valid by construction)."""
    v4 = nbformat.v4
    nb = v4.new_notebook(metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "kexue": {"id": 8833, "title": "SquarePlus"},
    })
    nb.cells = [
        v4.new_markdown_cell("(ch-squareplus)=\n# SquarePlus\n\nÜnïcode and $x^2$."),
        v4.new_code_cell("from lib.book import Chapter\nch = Chapter('squareplus', seed=1)",
                         execution_count=1, metadata={"tags": ["hide-input"]}),
        v4.new_code_cell("print(1)\n1.5", execution_count=2, outputs=[
            v4.new_output("stream", name="stdout", text="1\n"),
            v4.new_output("execute_result", data={"text/plain": "1.5"}, execution_count=2),
            v4.new_output("display_data", data={"text/html": "<table class='claims-table'/>",
                                                "application/vnd.kexue.claims+json": {"a": 1}}),
        ]),
    ]
    return json.loads(nbformat.writes(nb))


def test_two_cells_in_front_and_the_rest_byte_identical():
    nb = executed_notebook()
    out = download.with_origin(nb, CHAPTER, BOOK, URL)
    nbformat.validate(nbformat.from_dict(out))  # still a valid nbformat 4.5 notebook
    origin, guard, *rest = out["cells"]
    assert [c["cell_type"] for c in (origin, guard)] == ["markdown", "code"]
    line = "".join(origin["source"])
    assert "\n" not in line  # one line
    for needed in (CHAPTER, URL, f"git clone {URL}", "make lab", BOOK):
        assert needed in line
    assert guard["outputs"] == [] and guard["execution_count"] is None
    # The notebook that ran: its cells, outputs and metadata serialise exactly as before.
    dump = lambda x: json.dumps(x, sort_keys=True, indent=1, ensure_ascii=False)  # noqa: E731
    assert [dump(c) for c in rest] == [dump(c) for c in nb["cells"]]
    assert dump({k: v for k, v in out.items() if k != "cells"}) == dump(
        {k: v for k, v in nb.items() if k != "cells"})
    assert len({c["id"] for c in out["cells"]}) == len(out["cells"])  # ids stay unique


def test_rewrite_of_a_file_keeps_the_original_text_after_the_new_cells(tmp_path):
    """In the file, the original JSON is unchanged apart from the two inserted cells."""
    nb = executed_notebook()
    path = tmp_path / "squareplus.ipynb"
    original = json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False)  # myst-nb's layout
    path.write_text(original, encoding="utf8")
    download.rewrite(path, CHAPTER, BOOK, URL)
    text = path.read_text(encoding="utf8")
    added = download.with_origin(nb, CHAPTER, BOOK, URL)["cells"][:2]
    without = json.loads(text)
    without["cells"] = without["cells"][2:]
    assert json.dumps(without, sort_keys=True, indent=1, ensure_ascii=False) == original
    assert json.loads(text)["cells"][:2] == added
    assert not text.endswith("\n")  # as myst-nb wrote it (nbformat's files keep theirs)


def test_rewrite_is_idempotent(tmp_path):
    """Sphinx copies the executed notebook over the download at every build; a download that
    was not copied again must not get the cells twice."""
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(executed_notebook(), indent=1) + "\n", encoding="utf8")
    download.rewrite(path, CHAPTER, BOOK, URL)
    once = path.read_text(encoding="utf8")
    download.rewrite(path, CHAPTER, BOOK, URL)
    assert path.read_text(encoding="utf8") == once
    assert once.endswith("\n")


def run_guard(*python_args: str, cwd: Path) -> subprocess.CompletedProcess:
    code = "".join(download.with_origin(executed_notebook(), CHAPTER, BOOK, URL)["cells"][1]["source"])
    return subprocess.run([sys.executable, *python_args, "-c", code], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def test_guard_without_lib_says_what_the_notebook_needs(tmp_path):
    """-I -S: no site-packages (where lib is installed editable), no cwd on the path."""
    r = run_guard("-I", "-S", cwd=tmp_path)
    assert r.returncode == 1
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("ModuleNotFoundError: This notebook is the chapter " + CHAPTER)
    for needed in (BOOK, "needs the book's `lib` package", f"git clone {URL}", "make lab"):
        assert needed in last
    assert "No module named" not in r.stderr  # the bare error is replaced, not chained


def test_guard_with_lib_passes(tmp_path):
    r = run_guard(cwd=tmp_path)
    assert r.returncode == 0, r.stderr


def test_repository_url_comes_from_the_config():
    cfg = SimpleNamespace(html_theme_options={"repository_url": URL + "/"})
    assert download.repository_url(cfg) == URL
    for missing in ({}, {"repository_url": ""}, {"repository_url": "  "}):
        assert download.repository_url(SimpleNamespace(html_theme_options=missing)) == ""


def test_without_an_address_the_text_still_says_how_to_run_it():
    """The book has no public address yet: the lines describe the repository instead."""
    line = download.origin_line(CHAPTER, BOOK, "")
    guard = download.guard_source(CHAPTER, BOOK, "")
    for text in (line, guard):
        assert "the book's source repository" in text and "make lab" in text
        assert CHAPTER in text and "](" not in text.replace("](http", "")


def test_book_title_is_the_configured_title():
    cfg = SimpleNamespace(html_title=" " + BOOK + " ", project="Project name not set")
    assert download.book_title(cfg) == BOOK
    assert download.book_title(SimpleNamespace(html_title="", project="P")) == "P"


def test_only_the_executed_notebooks_of_chapters_are_rewritten(tmp_path):
    """The mapping from Sphinx's download table to chapter sources."""
    src = tmp_path
    executed = src / "_build" / "jupyter_execute"
    docs = {"chapters/softmax/squareplus": src / "chapters/softmax/squareplus.md",
            "pages/status": src / "pages/status.md"}
    env = SimpleNamespace(
        mystnb_config=SimpleNamespace(output_folder=str(executed)),
        all_docs=dict.fromkeys(docs, 0.0),
        doc2path=lambda d: str(docs[d]),
        dlfiles={
            "_build/jupyter_execute/chapters/softmax/squareplus.ipynb":
                ({"chapters/softmax/squareplus"}, "aa/squareplus.ipynb"),
            "_build/jupyter_execute/pages/status.ipynb": ({"pages/status"}, "bb/status.ipynb"),
            "data/other.ipynb": ({"chapters/softmax/squareplus"}, "cc/other.ipynb"),
            "data/table.csv": ({"chapters/softmax/squareplus"}, "dd/table.csv"),
        },
    )
    app = SimpleNamespace(env=env, srcdir=str(src), outdir=str(src / "_build" / "html"))
    assert download.chapter_downloads(app) == [
        (src / "_build/html/_downloads/aa/squareplus.ipynb", CHAPTER)]
