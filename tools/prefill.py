"""Execute, two at a time, the chapters the execution cache lacks — before the book build.

Sphinx executes notebooks one after another while it reads them; on a fresh clone that is
every chapter, serially. ``make book`` first runs this script: it finds the chapters of
``_toc.yml`` whose notebook (stamped with its execution key, ``_ext/execkey.py``) has no record
in the execution cache and runs them under nbval with two workers, which stores each one that
passes (``conftest.py``); the build then renders them from the cache. A chapter that fails here
(a failing claim, an error) stops ``make book`` with nbval's report of the failing cell.

With ``KEXUE_EXPECT_CACHED=1`` (set by ``make test``, whose nbval stage has just run every
chapter) it only lists what is missing: the build then fails on those chapters.

usage: python tools/prefill.py [--workers 2] [--list]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))
import execkey  # noqa: E402


def toc_chapters(root: Path = ROOT) -> list[Path]:
    """The chapter files ``_toc.yml`` lists, in order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf8"))
    files: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return [root / f"{f}.md" for f in files if f.startswith("chapters/")]


def missing(chapters: list[Path], root: Path = ROOT) -> list[Path]:
    """The chapters whose stamped notebook has no record in the execution cache."""
    from jupyter_cache import get_cache

    cache_dir = execkey.cache_dir(root)
    if not (cache_dir / "global.db").exists():
        return list(chapters)
    cache = get_cache(str(cache_dir))
    out = []
    for md in chapters:
        try:
            cache.match_cache_notebook(execkey.build_notebook(md, root))
        except KeyError:
            out.append(md)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--list", action="store_true", help="only list the missing chapters")
    args = ap.parse_args()
    chapters = toc_chapters()
    todo = missing(chapters)
    rel = [md.relative_to(ROOT).as_posix() for md in todo]
    print(f"prefill: {len(chapters) - len(todo)} of {len(chapters)} chapters in the execution "
          f"cache; {len(todo)} to execute")
    if not todo:
        return 0
    if args.list or os.environ.get("KEXUE_EXPECT_CACHED") == "1":
        print("  " + "\n  ".join(rel))
        return 0
    cmd = ["bash", "tools/pytest.sh", *rel, "-p", "no:cacheprovider", "--nbval-lax",
           "--nbval-current-env", "--nbval-cell-timeout=300", "-q"]
    if args.workers > 1 and len(todo) > 1:
        cmd += ["-n", str(min(args.workers, len(todo))), "--dist", "loadfile"]
    rc = subprocess.call(cmd, cwd=ROOT)
    if rc != 0:
        print("prefill: a chapter failed (see above); the book is not built")
    return rc


if __name__ == "__main__":
    sys.exit(main())
