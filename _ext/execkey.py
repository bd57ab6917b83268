"""The execution-cache key of one chapter: what its outputs depend on, and nothing else.

jupyter-cache matches an executed notebook on its code cells and its ``kernelspec``; it
cannot see that a chapter's outputs also depend on the ``lib`` modules it imports, the
``data/`` files it reads and the installed packages. :func:`chapter_key` hashes exactly those:

* the ``lib`` modules the chapter imports, **transitively** (found statically with ``ast``:
  ``import lib.x``, ``from lib.x import y`` where ``y`` may itself be a module, relative
  imports inside ``lib``, imports inside functions; importing a package runs its
  ``__init__``, so a package's ``__init__`` and everything it re-exports count);
* the files of ``data/`` whose name occurs in the chapter's code or in one of those modules;
* the lock file ``constraints.txt`` (every installed distribution, pinned) and the Python
  version (major.minor).

The key is written into the notebook's ``kernelspec`` metadata (``kexue_exec_key``), which
jupyter-cache hashes, by both writers of the cache: the book build (``_ext/bookext.py``, before
myst-nb looks the notebook up) and the nbval run of ``make test`` (``conftest.py``, which stores
each chapter it executed, so the build that follows renders it without executing it again).
So editing one lib module re-executes only the chapters that import it, and changing a pinned
version re-executes every chapter.
"""

from __future__ import annotations

import ast
import hashlib
import re
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEY_FIELD = "kexue_exec_key"
LOCK_FILE = "constraints.txt"
_MAGIC = re.compile(r"^\s*(%|!(?!=))")  # a line magic or shell escape, not a `!=` continuation


def _parse(source: str) -> ast.AST | None:
    """Parse Python source; IPython magics and shell lines are dropped first."""
    source = "\n".join("" if _MAGIC.match(line) else line for line in source.splitlines())
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


def _module_file(root: Path, dotted: str) -> Path | None:
    """``lib.x.y`` -> ``lib/x/y.py`` or ``lib/x/y/__init__.py`` (None if not in the tree)."""
    base = root.joinpath(*dotted.split("."))
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def _package_of(root: Path, path: Path) -> str:
    """The package a module file belongs to (``lib/x/y.py`` and ``lib/x/__init__.py``: ``lib.x``)."""
    return ".".join(path.relative_to(root).parent.parts)


def _imported_modules(tree: ast.AST, package: str | None) -> set[str]:
    """Dotted names of ``lib`` modules (and candidate submodules) a syntax tree imports."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if package is None:
                    continue
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return {name for name in found if name == "lib" or name.startswith("lib.")}


def _with_parents(dotted: str) -> list[str]:
    parts = dotted.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


@cache
def _module_info(root: Path, path: Path) -> tuple[frozenset[Path], tuple[str, ...]]:
    """Files of ``lib`` a module's own imports name directly, and its string constants."""
    tree = _parse(path.read_text(encoding="utf8"))
    if tree is None:
        return frozenset(), ()
    deps = frozenset(_resolve(root, _imported_modules(tree, _package_of(root, path))))
    return deps, tuple(_strings(tree))


def _resolve(root: Path, names: set[str]) -> set[Path]:
    files = set()
    for name in names:
        for dotted in _with_parents(name):
            f = _module_file(root, dotted)
            if f is not None:
                files.add(f)
    return files


def chapter_cells(md: Path) -> list[str]:
    """The code cells of a MyST notebook (jupytext's reading of the file)."""
    import jupytext

    return [c.source for c in jupytext.read(md).cells if c.cell_type == "code"]


def _strings(tree: ast.AST) -> list[str]:
    """String constants of a syntax tree, docstrings excluded (a file named in a docstring is
    documentation, not a read)."""
    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docs.add(id(body[0].value))
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]


def dependencies(md: Path, root: Path = ROOT) -> list[Path]:
    """Every repository file a chapter's execution depends on (sorted, relative to ``root``)."""
    parsed = [_parse(cell) for cell in chapter_cells(md)]
    trees = [t for t in parsed if t is not None]
    todo: set[Path] = set()
    for tree in trees:
        todo |= _resolve(root, _imported_modules(tree, None))
    if len(trees) < len(parsed):  # a cell we cannot read may import anything: all of lib
        todo |= set((root / "lib").rglob("*.py"))
    seen: set[Path] = set()
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        todo |= set(_module_info(root, f)[0]) - seen
    strings = [s for t in trees for s in _strings(t)]
    for f in sorted(seen):
        strings += _module_info(root, f)[1]
    data = root / "data"
    if data.is_dir():
        for f in sorted(data.rglob("*")):
            if f.is_file() and any(f.name in s for s in strings):
                seen.add(f)
    return sorted(p.relative_to(root) for p in seen)


def environment_digest(root: Path = ROOT) -> str:
    """The locked dependency set and the Python version, hashed."""
    h = hashlib.sha256()
    lock = root / LOCK_FILE
    h.update(lock.read_bytes() if lock.is_file() else b"no lock file")
    h.update(f"python{sys.version_info[0]}.{sys.version_info[1]}".encode())
    return h.hexdigest()


def chapter_key(md: Path, root: Path = ROOT) -> str:
    """The execution key of one chapter (16 hex digits); see the module docstring."""
    md = Path(md).resolve()
    h = hashlib.sha256(environment_digest(root).encode())
    for rel in dependencies(md, root):
        h.update(rel.as_posix().encode() + b"\0")
        h.update(hashlib.sha256((root / rel).read_bytes()).digest())
    return h.hexdigest()[:16]


def stamp(notebook, key: str) -> None:
    """Write the key where jupyter-cache hashes it (the notebook's ``kernelspec``)."""
    if "kernelspec" not in notebook.metadata:
        notebook.metadata["kernelspec"] = {}
    notebook.metadata["kernelspec"][KEY_FIELD] = key


def build_notebook(md: Path, root: Path = ROOT):
    """The notebook the book build makes of a chapter (myst-nb's reader, with the MyST
    extensions of ``_config.yml``), with its execution key stamped: what the build looks up in
    the execution cache."""
    import yaml
    from myst_nb.core.read import read_myst_markdown_notebook
    from myst_parser.config.main import MdParserConfig

    config_file = root / "_config.yml"
    conf = yaml.safe_load(config_file.read_text(encoding="utf8")) if config_file.exists() else {}
    extensions = set((conf or {}).get("parse", {}).get("myst_enable_extensions", []))
    nb = read_myst_markdown_notebook(Path(md).read_text(encoding="utf8"),
                                     config=MdParserConfig(enable_extensions=extensions),
                                     add_source_map=True, path=str(md))
    stamp(nb, chapter_key(Path(md), root))
    return nb


def cache_dir(root: Path = ROOT) -> Path:
    """The execution cache every build of this tree and the nbval stage share."""
    return root / "_build" / ".jupyter_cache"


def clear_caches() -> None:
    """Forget parsed modules (a long-lived process that sees lib/ change)."""
    _module_info.cache_clear()


if __name__ == "__main__":  # python _ext/execkey.py chapters/<part>/<slug>.md ...
    for arg in sys.argv[1:]:
        deps = dependencies(Path(arg).resolve())
        print(f"{arg}: key {chapter_key(Path(arg))}")
        for d in deps:
            print(f"    {d}")
