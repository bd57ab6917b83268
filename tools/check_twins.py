"""Check every chapter's MyST ``.md`` and its ``py:percent`` twin hold the same notebook.

Run ``jupytext --sync chapters/<part>/<slug>.md`` to fix a pair that differs.
Also refuses ``.ipynb`` files under chapters/ (the tree holds text notebooks only).
"""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext
from jupytext.config import load_jupytext_config

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    problems = []
    mds = sorted((ROOT / "chapters").rglob("*.md"))
    pairs = 0
    for md in mds:
        head = md.read_text(encoding="utf8")[:2000]
        if "format_name: myst" not in head:
            continue
        py = md.with_suffix(".py")
        rel = md.relative_to(ROOT)
        if not py.exists():
            problems.append(f"{rel}: no py:percent twin (run: jupytext --sync {rel})")
            continue
        if "formats: md:myst,py:percent" not in head:
            problems.append(f"{rel}: header must pair formats md:myst,py:percent")
        config = load_jupytext_config(str(md.parent))  # jupytext.toml at the repo root
        expected = jupytext.writes(jupytext.read(md), fmt="py:percent", config=config)
        if expected.strip() != py.read_text(encoding="utf8").strip():
            problems.append(f"{rel}: differs from its twin {py.name} (run: jupytext --sync {rel})")
        pairs += 1
    for nb in (ROOT / "chapters").rglob("*.ipynb"):
        problems.append(f"{nb.relative_to(ROOT)}: .ipynb files are not kept in chapters/")
    for p in problems:
        print("twin check:", p)
    print(f"twin check: {pairs} chapter pairs, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
