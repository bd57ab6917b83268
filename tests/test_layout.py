"""The layout rules of lib/ (CONTRIBUTING, "lib rules"), checked so they cannot drift:
one package per part (every chapters/<part>/ has lib/<part>/), modules under ~400 lines, and
no public name exported by two modules of one part (a star re-export would silently keep
only the last one)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PARTS = sorted(p.name for p in (ROOT / "chapters").iterdir() if p.is_dir() and any(p.glob("*.md")))


def _exports(module: Path) -> set[str]:
    tree = ast.parse(module.read_text(encoding="utf8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return {ast.literal_eval(e) for e in node.value.elts}
    return {n.name for n in tree.body
            if isinstance(n, ast.FunctionDef | ast.ClassDef) and not n.name.startswith("_")}


@pytest.mark.parametrize("part", PARTS)
def test_every_part_has_a_package(part):
    assert (ROOT / "lib" / part / "__init__.py").exists(), f"chapters/{part}/ has no lib/{part}/"


def test_modules_are_small():
    big = {str(p.relative_to(ROOT)): n for p in (ROOT / "lib").rglob("*.py")
           if (n := len(p.read_text(encoding="utf8").splitlines())) > 400}
    assert not big, f"modules over 400 lines: {big}"


@pytest.mark.parametrize("part", sorted(p.parent.name for p in (ROOT / "lib").glob("*/__init__.py")))
def test_no_name_exported_twice(part):
    seen: dict[str, str] = {}
    clashes = []
    for module in sorted((ROOT / "lib" / part).glob("[!_]*.py")):
        for name in _exports(module):
            if name in seen:
                clashes.append(f"{name} ({seen[name]}, {module.name})")
            seen[name] = module.name
    assert not clashes, f"lib.{part} exports these names from two modules: {clashes}"
