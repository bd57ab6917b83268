"""Mutation testing of one ``lib`` module: can its tests fail?

Usage: ``make mutate MODULE=lib/<part>/<module>.py``, or
``.venv/bin/python tools/mutate.py lib/<part>/<module>.py [--tests tests/<part>/test_x.py ...]``.

1. **Scratch copy.** ``_build/mutate/<part>.<module>/`` is recreated from ``lib/``, ``tests/``
   (not ``tests/site``), ``data/``, ``conftest.py`` and ``pyproject.toml`` plus a
   ``[tool.mutmut]`` section (mutate only this module; the tests below). mutmut's ``mutants/``,
   its log (``mutmut.log``) and the survivors' diffs (``report.txt``) stay there: the
   repository root is untouched and runs on different modules can go concurrently.
2. **Tests.** Every ``tests/**/test_*.py`` (not ``tests/site``) that imports the part
   (``lib.<part>``, ``from lib import <part>``) and names the module or one of its ``__all__``
   names as a word; ``--tests`` overrides. Each mutant runs against the selected tests that
   executed the mutated function. Hypothesis is derandomized, without example database.
3. **mutmut** ``run --max-children 1`` with ``OMP/MKL/OPENBLAS_NUM_THREADS=1``.
4. **Survivors** are classified:

   * ``equivalent (rule)``: the mutant differs from the original function only in string
     literals ``s -> "XX" + s + "XX"`` inside the message of an exception built in a ``raise``
     statement or in the ``name`` argument (2nd positional or ``name=``) of a ``checks.*``
     call: only message text changes, and it still contains ``s`` (only an anchored
     ``match="^name "`` can tell). Case changes (``s.upper()``) are not classified.
   * ``equivalent (listed)``: under ``## lib/<part>/<module>.py`` in
     ``data/mutation-survivors.md`` as ``- `<mutant>`: `<+ line of its diff>` -- reason``;
     counted only while the mutant survives and its ``+`` line still matches.

5. **Kill rate** = (killed + timeout + segfault) / (total - equivalent - skipped). A timeout
   is detected (the suite would hang; mutmut counts it so) and shown apart, as are crashes
   (mutmut's "segfault": a worker killed by a signal). Survivors, ``no tests``,
   ``suspicious`` and ``not checked`` stay in the denominator. Bar (issue #20): 85 %.
6. The record (module, UTC date, commit, counts, kill rate, mutmut version, wall and CPU
   seconds, tests, survivors) is appended to ``data/mutation.json`` (a list; file-locked).
"""

from __future__ import annotations

import argparse
import ast
import difflib
import fcntl
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BAR = 0.85
DETECTED = ("killed", "timeout", "segfault")
STATUSES = (*DETECTED, "survived", "equivalent (rule)", "equivalent (listed)", "no tests",
            "suspicious", "skipped", "not checked")
DEFINITION = "(killed + timeout + segfault) / (total - equivalent - skipped)"
LISTING = re.compile(r"^- `([^`]+)`: `([^`]*)`\s*[—-]+\s*(.+)$")


def select_tests(module: Path) -> list[str]:
    """Test files naming the module's dotted path or one of its ``__all__`` names."""
    tree = ast.parse((ROOT / module).read_text())
    names = [
        e for n in tree.body if isinstance(n, ast.Assign)
        and any(getattr(t, "id", None) == "__all__" for t in n.targets)
        for e in ast.literal_eval(n.value)
    ]
    dotted = ".".join(module.with_suffix("").parts)
    part = module.with_suffix("").parts[1]  # the part's package, or a shared module
    imports = re.compile(rf"\blib\.{part}\b|from lib import [^\n]*\b{part}\b")
    pat = re.compile(r"\b(" + "|".join(map(re.escape, [dotted, *names])) + r")\b")
    files = sorted(p for p in (ROOT / "tests").rglob("test_*.py")
                   if p.relative_to(ROOT / "tests").parts[0] != "site")
    return [str(p.relative_to(ROOT)) for p in files
            if imports.search(t := p.read_text()) and pat.search(t)]


def prepare(scratch: Path, module: Path, tests: list[str]) -> None:
    """A fresh scratch copy of the repository parts the tests need, with mutmut's config."""
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    junk = shutil.ignore_patterns("__pycache__", ".hypothesis", "*.pyc")
    shutil.copytree(ROOT / "lib", scratch / "lib", ignore=junk)
    shutil.copytree(ROOT / "tests", scratch / "tests",
                    ignore=shutil.ignore_patterns("site", "__pycache__", ".hypothesis"))
    shutil.copytree(ROOT / "data", scratch / "data")
    conftest = (ROOT / "conftest.py").read_text() + (
        "\n\n# added by tools/mutate.py: repeatable hypothesis runs\n"
        "from hypothesis import settings as _s  # noqa: E402\n\n"
        "_s.register_profile('mutate', derandomize=True, database=None)\n"
        "_s.load_profile('mutate')\n")
    (scratch / "conftest.py").write_text(conftest)
    cfg = {"source_paths": ["lib"], "only_mutate": [str(module)],
           "pytest_add_cli_args_test_selection": tests, "also_copy": ["conftest.py", "data/"],
           "use_git_change_detection": False}
    lines = ["", "[tool.mutmut]"] + [f"{k} = {json.dumps(v)}" for k, v in cfg.items()]
    (scratch / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text()
                                            + "\n".join(lines) + "\n")


def run_mutmut(scratch: Path) -> tuple[int, float, float]:
    """``mutmut run --max-children 1`` in ``scratch``; (exit code, wall s, CPU s)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               PYTHONDONTWRITEBYTECODE="1")
    mutmut = Path(sys.executable).parent / "mutmut"
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    with open(scratch / "mutmut.log", "w") as log:
        proc = subprocess.Popen([str(mutmut), "run", "--max-children", "1"], cwd=scratch,
                                env=env, stdout=log, stderr=subprocess.STDOUT)
        minute = 0
        while proc.poll() is None:
            time.sleep(2)
            if (time.monotonic() - t0) // 60 > minute:  # a progress line a minute
                minute += 1
                with open(scratch / "mutmut.log", "rb") as f:
                    f.seek(max(0, f.seek(0, 2) - 2000))
                    tail = f.read().decode(errors="replace").replace("\r", "\n").split("\n")
                last = [t.strip() for t in tail if t.strip()][-1:] or [""]
                print(f"  [{time.monotonic() - t0:5.0f} s] {last[0][:100]}", flush=True)
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return proc.returncode, time.monotonic() - t0, cpu


def _functions(mod, name: str) -> tuple[str, str]:
    """Source of the original function and of the mutant ``name`` in the parsed mutants file."""
    import libcst as cst
    from mutmut.mutation.diff_apply import read_mutant_function, read_original_function

    return (cst.Module([read_original_function(mod, name)]).code,
            cst.Module([read_mutant_function(mod, name)]).code)


def _message_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes inside exception messages and ``checks.*`` name arguments."""
    roots = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Raise) and isinstance(n.exc, ast.Call):
            roots += n.exc.args + [k.value for k in n.exc.keywords]
        f = getattr(n, "func", None)
        if (isinstance(n, ast.Call) and isinstance(f, ast.Attribute)
                and isinstance(f.value, ast.Name) and f.value.id == "checks"):
            roots += n.args[1:2] + [k.value for k in n.keywords if k.arg == "name"]
    return {id(d) for r in roots for d in ast.walk(r)}


def _same_but_messages(a, b, msg: set[int]) -> bool:
    """``a`` and ``b`` (ASTs) equal except for ``s -> "XX" + s + "XX"`` in message nodes."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same_but_messages(x, y, msg) for x, y in zip(a, b, strict=True))
    if not isinstance(a, ast.AST):
        return a == b
    if isinstance(a, ast.Constant) and isinstance(a.value, str) and a.value != b.value:
        return id(a) in msg and b.value == f"XX{a.value}XX"
    return all(_same_but_messages(getattr(a, f), getattr(b, f), msg) for f in a._fields)


def message_only(orig: str, mutant: str) -> bool:
    """Rule E1 (module docstring): the mutant changes only exception-message text."""
    a, b = ast.parse(orig), ast.parse(mutant)
    return _same_but_messages(a, b, _message_nodes(a))


def listed(module: Path) -> dict[str, tuple[str | None, str]]:
    """``{mutant: (+ line, reason)}`` from the module's section of the survivors file."""
    path, out, inside = ROOT / "data" / "mutation-survivors.md", {}, False
    for line in path.read_text().splitlines() if path.exists() else []:
        if line.startswith("## "):
            inside = line[3:].strip().strip("`") == str(module)
        elif inside and (m := LISTING.match(line.strip())):
            out[m[1]] = (m[2], m[3].strip())
    return out


def classify(scratch: Path, module: Path) -> dict:
    """Counts per status, with the survivors split into equivalent (rule / listed) and not."""
    import libcst as cst
    from mutmut.stats import status_by_exit_code

    meta = json.loads((scratch / "mutants" / f"{module}.meta").read_text())
    mod = cst.parse_module((scratch / "mutants" / module).read_text())
    status = {k: status_by_exit_code[v] for k, v in meta["exit_code_by_key"].items()}
    counts = dict.fromkeys(STATUSES, 0)
    notes = listed(module)
    res = {"survivors": {}, "listed": {}, "stale": [], "diffs": {}}
    for name, st in sorted(status.items()):
        if st == "survived":
            orig, mutant = _functions(mod, name)
            diff = "\n".join(difflib.unified_diff(orig.splitlines(), mutant.splitlines(),
                                                  str(module), str(module), lineterm=""))
            plus = [ln[1:].strip() for ln in diff.splitlines()
                    if ln.startswith("+") and not ln.startswith("+++")]
            note = notes.get(name)
            if message_only(orig, mutant):
                st = "equivalent (rule)"
            elif note and note[0].lstrip("+ ").strip() in plus:
                st, res["listed"][name] = "equivalent (listed)", note[1]
            else:
                res["survivors"][name] = " | ".join(plus)
                res["diffs"][name] = diff
                if note:
                    res["stale"].append(name)
        elif name in notes:
            res["stale"].append(name)
        counts[st if st in counts else "suspicious"] += 1
    detected = sum(counts[s] for s in DETECTED)
    denom = len(status) - sum(counts[s] for s in STATUSES[4:6]) - counts["skipped"]
    res.update(counts=counts, total=len(status), detected=detected,
               kill_rate=detected / denom if denom else float("nan"))
    return res


def record(entry: dict) -> None:
    """Append ``entry`` to data/mutation.json under an exclusive lock (concurrent runs)."""
    path = ROOT / "data" / "mutation.json"
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        runs = json.loads(text) if (text := f.read()).strip() else []
        f.seek(0)
        f.truncate()
        f.write(json.dumps([*runs, entry], indent=1, ensure_ascii=False) + "\n")


def _git(*args: str) -> str:
    r = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return r.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("module", help="lib/<part>/<module>.py")
    ap.add_argument("--tests", nargs="+", help="test files (default: those naming the module)")
    a = ap.parse_args(argv)
    module = Path(a.module)
    if module.is_absolute():
        module = module.relative_to(ROOT)
    if module.parts[:1] != ("lib",) or module.suffix != ".py" or not (ROOT / module).is_file():
        ap.error(f"module must be an existing lib/<part>/<module>.py, got {a.module!r}")
    tests = a.tests or select_tests(module)
    if not tests:
        ap.error(f"no test file under tests/ names {module} or its __all__; pass --tests")
    import mutmut

    scratch = ROOT / "_build" / "mutate" / ".".join(module.with_suffix("").parts[1:])
    print(f"mutate {module}: tests {' '.join(tests)}\n  scratch {scratch.relative_to(ROOT)}")
    prepare(scratch, module, tests)
    rc, wall, cpu = run_mutmut(scratch)
    if rc != 0 or not (scratch / "mutants" / f"{module}.meta").exists():
        log = (scratch / "mutmut.log").read_text(errors="replace").replace("\r", "\n")
        print("\n".join(log.splitlines()[-40:]) + f"\nmutmut failed (exit {rc})", file=sys.stderr)
        return 1
    r = classify(scratch, module)
    c = r["counts"]
    print(f"\n{module}: {r['total']} mutants, mutmut {mutmut.__version__}, "
          f"{wall:.0f} s wall, {cpu:.0f} s CPU")
    for k, v in c.items():
        print(f"  {k:<20} {v:5d}")
    denom = r["total"] - c["equivalent (rule)"] - c["equivalent (listed)"] - c["skipped"]
    print(f"  kill rate = {DEFINITION} = {r['detected']}/{denom} = {r['kill_rate']:.1%}"
          f"  ({'meets' if r['kill_rate'] >= BAR else 'BELOW'} the {BAR:.0%} bar)\n"
          "  equivalent (rule): the only change is s -> 'XX'+s+'XX' in a raised exception's "
          "message or a checks.* name argument\n"
          "  equivalent (listed): with a reason in data/mutation-survivors.md")
    for name in r["stale"]:
        print(f"  STALE listing in data/mutation-survivors.md (killed, or + line changed): {name}")
    for name, plus in r["survivors"].items():
        print(f"  survived  {name}: {plus[:120]}")
    (scratch / "report.txt").write_text("\n\n".join(f"# {n}\n{d}" for n, d in r["diffs"].items()))
    if r["survivors"]:
        print(f"  diffs: {(scratch / 'report.txt').relative_to(ROOT)}")
    dirty = _git("status", "--porcelain", "--", "lib", "tests")
    record({
        "module": str(module), "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _git("rev-parse", "--short", "HEAD") + ("+dirty" if dirty else ""),
        "mutmut": mutmut.__version__, "duration_s": round(wall, 1), "cpu_s": round(cpu, 1),
        "tests": tests, "total": r["total"], "counts": c, "kill_rate": round(r["kill_rate"], 4),
        "kill_rate_definition": DEFINITION,
        "survivors": sorted(r["survivors"]), "equivalent_listed": sorted(r["listed"]),
    })
    print("  recorded in data/mutation.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
