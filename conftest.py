"""Hand the book's chapters to nbval straight from their MyST sources.

With ``--nbval-lax`` (or ``--nbval``), every ``chapters/**/*.md`` whose YAML header says
``format_name: myst`` is read with jupytext and executed cell by cell by nbval's kernel
machinery, so no ``.ipynb`` is ever generated in the tree. At the end of the run a table of
per-chapter execution times is printed (the budget is 60 s a chapter).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).parent
CHAPTER_BUDGET_S = 60.0

collect_ignore_glob = ["_build/*", ".venv/*"]


def _is_myst_notebook(path: Path) -> bool:
    if path.suffix != ".md" or "chapters" not in path.parts:
        return False
    head = path.read_text(encoding="utf8")[:2000]
    return head.startswith("---") and "format_name: myst" in head


def pytest_collect_file(file_path: Path, parent):
    opt = parent.config.option
    if not (getattr(opt, "nbval", False) or getattr(opt, "nbval_lax", False)):
        return None
    if _is_myst_notebook(file_path):
        return MystNotebook.from_parent(parent, path=file_path)
    return None


def _make_collector():
    import jupytext
    from nbval.plugin import IPyNbCell, IPyNbFile, find_comment_markers, find_metadata_tags

    class _MystNotebook(IPyNbFile):
        """nbval's notebook collector, reading the notebook with jupytext."""

        def collect(self):
            self.nb = jupytext.read(self.path)
            cell_num = 0
            for cell in self.nb.cells:
                if cell.cell_type != "code":
                    continue
                options = defaultdict(bool, find_metadata_tags(cell.metadata))
                options.update(dict(find_comment_markers(cell.source)))
                options.setdefault("check", self.compare_outputs)
                yield IPyNbCell.from_parent(
                    self, name=f"Cell {cell_num}", cell_num=cell_num, cell=cell, options=options
                )
                cell_num += 1

    return _MystNotebook


class _Lazy:
    """Import nbval/jupytext only when a chapter is actually collected."""

    _cls = None

    def from_parent(self, parent, **kw):
        if _Lazy._cls is None:
            _Lazy._cls = _make_collector()
        return _Lazy._cls.from_parent(parent, **kw)


MystNotebook = _Lazy()

_chapter_time: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::")[0]
    if path.endswith(".md"):
        _chapter_time[path] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _chapter_time:
        return
    tr = terminalreporter
    tr.section("chapter execution times (budget 60 s each)")
    for path, t in sorted(_chapter_time.items(), key=lambda kv: -kv[1]):
        flag = "  OVER BUDGET" if t > CHAPTER_BUDGET_S else ""
        tr.write_line(f"{t:7.1f} s  {path}{flag}")
