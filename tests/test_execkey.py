"""The execution-cache key of a chapter (``_ext/execkey.py``): exactly what a chapter's outputs
depend on — the lib modules it imports (transitively), the data files it reads, the lock file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))
import execkey  # noqa: E402

HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A chapter

```{code-cell} ipython3
%matplotlib inline
CODE
```
"""


def _tree(tmp_path: Path, code: str) -> Path:
    files = {
        "lib/__init__.py": '"""lib."""\n',
        "lib/checks.py": "def integer(x):\n    return x\n",
        "lib/book.py": "from lib import checks\n",
        "lib/alpha/__init__.py": "from .one import *  # noqa\n",
        "lib/alpha/one.py": ("from ..checks import integer\n\ndef f():\n"
                             "    '''Reads nothing; see data/table.json in the docs.'''\n"
                             "    from lib.beta import two\n    return two\n"),
        "lib/beta/__init__.py": "",
        "lib/beta/two.py": "X = 2\n",
        "lib/gamma/__init__.py": "",
        "lib/gamma/three.py": "PATH = 'data/stored.json'\n",
        "data/table.json": "{}",
        "data/stored.json": "{}",
        "constraints.txt": "torch==2.13.0\n",
    }
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    md = tmp_path / "chapters" / "part" / "ch.md"
    md.parent.mkdir(parents=True)
    md.write_text(HEADER.replace("CODE", code))
    execkey.clear_caches()
    return md


def _deps(md: Path, root: Path) -> list[str]:
    return [p.as_posix() for p in execkey.dependencies(md, root)]


def test_transitive_imports_relative_and_function_level(tmp_path):
    md = _tree(tmp_path, "from lib.book import *\nfrom lib.alpha import f")
    assert _deps(md, tmp_path) == [
        "lib/__init__.py", "lib/alpha/__init__.py", "lib/alpha/one.py", "lib/beta/__init__.py",
        "lib/beta/two.py", "lib/book.py", "lib/checks.py"]


def test_from_package_import_submodule_and_data_literal(tmp_path):
    md = _tree(tmp_path, "from lib.gamma import three\nprint(three.PATH)")
    # data/table.json is named only in a docstring of a module the chapter does not import,
    # data/stored.json in a string literal of one it does.
    assert _deps(md, tmp_path) == [
        "data/stored.json", "lib/__init__.py", "lib/gamma/__init__.py", "lib/gamma/three.py"]


def test_docstring_mention_is_not_a_read(tmp_path):
    md = _tree(tmp_path, "from lib.alpha import f")
    assert "data/table.json" not in _deps(md, tmp_path)


def test_key_changes_exactly_with_what_the_chapter_depends_on(tmp_path):
    md = _tree(tmp_path, "from lib.alpha import f")
    key = execkey.chapter_key(md, tmp_path)
    (tmp_path / "lib/gamma/three.py").write_text("PATH = 'elsewhere'\n")  # not imported
    execkey.clear_caches()
    assert execkey.chapter_key(md, tmp_path) == key
    (tmp_path / "lib/beta/two.py").write_text("X = 3\n")  # imported inside a function of alpha
    execkey.clear_caches()
    key2 = execkey.chapter_key(md, tmp_path)
    assert key2 != key
    (tmp_path / "constraints.txt").write_text("torch==2.14.1\n")  # a locked version bumped
    assert execkey.chapter_key(md, tmp_path) != key2


def test_unparsable_cell_depends_on_all_of_lib(tmp_path):
    md = _tree(tmp_path, "from lib.checks import integer\ndef (:")
    # a cell that does not parse could import anything: the safe answer is every lib module
    deps = _deps(md, tmp_path)
    assert [d for d in deps if d.startswith("lib/")] == sorted(
        p.relative_to(tmp_path).as_posix() for p in (tmp_path / "lib").rglob("*.py"))
    assert len(execkey.chapter_key(md, tmp_path)) == 16


@pytest.mark.parametrize("chapter", sorted((ROOT / "chapters").glob("*/*.md"))[:3],
                         ids=lambda p: p.stem)
def test_real_chapters_depend_on_the_runtime(chapter):
    deps = _deps(chapter, ROOT)
    assert "lib/book.py" in deps and "lib/checks.py" in deps


def test_continuation_line_starting_with_bang_equals_is_code(tmp_path):
    md = _tree(tmp_path, "ok = (1\n      != 2)\nfrom lib.checks import integer")
    assert _deps(md, tmp_path) == ["lib/__init__.py", "lib/checks.py"]
