"""Hand the book's chapters to nbval straight from their MyST sources.

With ``--nbval-lax`` (or ``--nbval``), every ``chapters/**/*.md`` whose YAML header says
``format_name: myst`` is read with jupytext and executed cell by cell by nbval's kernel
machinery, so no ``.ipynb`` is ever generated in the tree. At the end of the run a table of
per-chapter execution times is printed (the budget is 60 s a chapter).

Execute once: a chapter whose every cell ran and passed is stored, with the outputs nbval
received, in the book build's execution cache (``_build/.jupyter_cache``) under the key the
build will look up (``_ext/execkey.py``), so the build that follows renders it without
executing it again. A chapter with a failing or skipped cell is not stored (the build would
execute it, and fail on it, again).
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import pytest

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


# --------------------------------------------------------------------------- execute once
_runs: dict[str, dict] = {}  # chapter path -> {"cells": {num: outputs}, "failed": bool, "t": s}


def _chapter_item(item) -> bool:
    return hasattr(item, "cell_num") and str(item.path).endswith(".md")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if not _chapter_item(item):
        return
    report = outcome.get_result()
    run = _runs.setdefault(str(item.path), {"cells": {}, "failed": False, "t": 0.0})
    run["t"] += report.duration
    if report.failed or report.skipped:
        run["failed"] = True
    elif report.when == "call":
        run["cells"][item.cell_num] = list(getattr(item, "test_outputs", None) or [])


def pytest_runtest_teardown(item, nextitem):
    if not _chapter_item(item):
        return
    if nextitem is not None and getattr(nextitem, "parent", None) is item.parent:
        return
    run = _runs.pop(str(item.path), None)
    if run is None or run["failed"]:
        return
    try:
        _store_executed(Path(item.path), item.parent.nb, run["cells"], run["t"])
    except Exception as err:  # noqa: BLE001 - storing is an optimisation; say why it failed
        print(f"\n[execute once] {item.path}: not stored ({type(err).__name__}: {err})")


def _store_executed(md: Path, nbval_nb, outputs: dict, seconds: float) -> None:
    """Store one executed chapter in the build's jupyter-cache, under the build's key."""
    import fcntl
    import platform

    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    if str(ROOT / "_ext") not in sys.path:
        sys.path.insert(0, str(ROOT / "_ext"))
    import execkey

    ran = [c.source for c in nbval_nb.cells if c.cell_type == "code"]
    if sorted(outputs) != list(range(len(ran))):
        return  # not every cell ran (a -k selection): nothing to store
    nb = execkey.build_notebook(md, ROOT)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if [c.source for c in code] != ran:
        raise ValueError("myst-nb and jupytext read different code cells")
    for i, cell in enumerate(code):
        cell.outputs = outputs[i]
        cell.execution_count = i + 1
        for out in cell.outputs:
            if out.get("output_type") == "execute_result":
                out["execution_count"] = i + 1
    nb.metadata["language_info"] = {
        "name": "python", "version": platform.python_version(), "mimetype": "text/x-python",
        "file_extension": ".py", "pygments_lexer": "ipython3", "nbconvert_exporter": "python",
        "codemirror_mode": {"name": "ipython", "version": 3}}
    cache_dir = execkey.cache_dir(ROOT)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir.parent / ".jupyter_cache.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two xdist workers share one SQLite database
        get_cache(str(cache_dir)).cache_notebook_bundle(
            CacheBundleIn(nb, str(md.resolve()), data={"execution_seconds": round(seconds, 2),
                                                       "executed_by": "nbval"}),
            check_validity=False, overwrite=True)
