"""One benchmark table: run every ``benchmarks/*.py`` and print ratios against named peers.

Each script ``benchmarks/<name>.py`` defines ``rows(quick: bool = False) -> list[dict]``; every
row has the keys ``benchmark``, ``case``, ``peer``, ``ratio`` (ours / peer, lower is better),
``goal`` (the largest acceptable ratio, or None when no claim fixes one) and ``met``
(``ratio <= goal``, None when ``goal`` is None; the runner recomputes it and rejects a row whose
``met`` disagrees). This runner imports the scripts by path, one after another in one
single-threaded process, prints one table and the wall and CPU time of each script, and writes

    _build/bench.json = {"machine": {...}, "rows": [{benchmark, case, peer, ratio, goal, met}]}

Usage (``make bench [QUICK=1]`` runs the first two)::

    .venv/bin/python tools/bench.py            # full runs
    .venv/bin/python tools/bench.py --quick    # short runs (budget: well under 3 min wall)
    .venv/bin/python tools/bench.py --store    # also write data/benchmarks.json (committed copy)
    .venv/bin/python tools/bench.py --strict   # exit 1 when a goal is not met

Exit status 1 when a script has no ``rows``, raises, or returns malformed rows (the other
scripts still run; their rows are written), or, with ``--strict``, when a goal is not met.
``--store`` refuses to write the committed copy unless every script succeeded. Files whose
name starts with ``_`` are helpers, not benchmarks, and are skipped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import math
import numbers
import os
import platform
import resource
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "benchmarks"
OUT = ROOT / "_build" / "bench.json"
STORE = ROOT / "data" / "benchmarks.json"
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
KEYS = ("benchmark", "case", "peer", "ratio", "goal", "met")


def single_threaded() -> None:
    """Pin torch and the BLAS libraries to one thread (env vars first, then torch)."""
    for var in THREAD_ENV:
        os.environ[var] = "1"
    import torch

    torch.set_num_threads(1)


def met(ratio: float, goal: float | None) -> bool | None:
    """Whether ``ratio`` (ours / peer) meets ``goal`` (largest acceptable ratio); None if no goal."""
    return None if goal is None else bool(ratio <= goal)


def _positive_number(value) -> bool:
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)


def check_row(row, where: str) -> dict:
    """Validate one row of a script's ``rows()``; return it with the keys in table order."""
    if not isinstance(row, dict):
        raise ValueError(f"{where}: a row must be a dict, got {type(row).__name__}")
    missing = [k for k in KEYS[:5] if k not in row]
    extra = sorted(set(row) - set(KEYS))
    if missing or extra:
        raise ValueError(f"{where}: missing keys {missing}, unknown keys {extra}")
    for k in ("benchmark", "case", "peer"):
        if not isinstance(row[k], str) or not row[k].strip():
            raise ValueError(f"{where}: {k} must be a non-empty string, got {row[k]!r}")
    if not _positive_number(row["ratio"]):
        raise ValueError(f"{where}: ratio must be a finite number > 0, got {row['ratio']!r}")
    if row["goal"] is not None and not _positive_number(row["goal"]):
        raise ValueError(f"{where}: goal must be None or a finite number > 0, got {row['goal']!r}")
    expected = met(row["ratio"], row["goal"])
    given = row.get("met", expected)
    if (given is None) != (expected is None) or (given is not None and bool(given) != expected):
        raise ValueError(f"{where}: met = {row['met']!r}, but ratio {row['ratio']!r} and goal "
                         f"{row['goal']!r} give {expected!r}")
    return {"benchmark": row["benchmark"], "case": row["case"], "peer": row["peer"],
            "ratio": float(row["ratio"]),
            "goal": None if row["goal"] is None else float(row["goal"]), "met": expected}


def discover(directory: Path) -> list[Path]:
    """The benchmark scripts of ``directory``, sorted by name (``_*.py`` helpers skipped)."""
    return sorted(p for p in Path(directory).glob("*.py") if not p.name.startswith("_"))


def load(path: Path):
    """Import a script by path (its ``__main__`` block does not run)."""
    name = f"_bench_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _cpu_seconds() -> float:
    """CPU time (user + system) of this process and of its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_one(path: Path, quick: bool) -> dict:
    """Import one script and call ``rows(quick)``; errors are caught and returned."""
    wall, cpu = time.perf_counter(), _cpu_seconds()
    out = {"name": path.stem, "rows": [], "error": None}
    try:
        module = load(path)
        fn = getattr(module, "rows", None)
        if not callable(fn):
            raise AttributeError(f"{path.name} defines no rows(quick) function")
        rows = fn(quick)
        if not isinstance(rows, list) or not rows:
            raise ValueError(f"{path.name}: rows() must return a non-empty list, got {rows!r}")
        out["rows"] = [check_row(r, f"{path.name} row {i}") for i, r in enumerate(rows)]
    except Exception as exc:  # report it, keep running the other scripts
        out["error"] = f"{type(exc).__name__}: {exc}"
        out["traceback"] = traceback.format_exc()
    out["wall"] = time.perf_counter() - wall
    out["cpu"] = _cpu_seconds() - cpu
    return out


def _git(*args: str) -> str | None:
    try:
        res = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return res.stdout.strip() if res.returncode == 0 else None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def machine(quick: bool) -> dict:
    """What the ratios were measured on (and when, at which commit)."""
    import numpy
    import torch

    status = _git("status", "--porcelain")
    return {
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "torch_threads": torch.get_num_threads(),
        "thread_env": {var: os.environ.get(var) for var in THREAD_ENV},
        "platform": platform.platform(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "commit": _git("rev-parse", "--short", "HEAD"),
        "dirty": None if status is None else bool(status),
    }


def format_table(rows: list[dict]) -> str:
    """The rows as a plain-text table (ratio = ours / peer; goal = largest acceptable ratio)."""
    head = ("benchmark", "case", "peer", "ratio", "goal", "met")
    body = [(r["benchmark"], r["case"], r["peer"], f"{r['ratio']:.3g}",
             "-" if r["goal"] is None else f"<= {r['goal']:g}",
             {True: "yes", False: "NO", None: "-"}[r["met"]]) for r in rows]
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]
    fmt = lambda line: "  ".join(  # noqa: E731
        c.rjust(w) if i in (3, 4) else c.ljust(w)
        for i, (c, w) in enumerate(zip(line, widths, strict=True))).rstrip()
    return "\n".join([fmt(head), fmt(tuple("-" * w for w in widths)), *map(fmt, body)])


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")


def _display(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="each script's short mode")
    ap.add_argument("--store", nargs="?", const=STORE, type=Path, default=None, metavar="PATH",
                    help=f"also write the JSON to PATH (default {_display(STORE)})")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a goal is not met")
    ap.add_argument("--dir", type=Path, default=BENCH_DIR, help="directory of the scripts")
    ap.add_argument("--out", type=Path, default=OUT, help="where the JSON goes")
    args = ap.parse_args(argv)
    single_threaded()
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))

    scripts = discover(args.dir)
    if not scripts:
        print(f"no benchmark scripts in {args.dir}", file=sys.stderr)
        return 1
    info = machine(args.quick)
    print(f"# {info['cpu']} | {info['cpu_count']} CPUs ({info['affinity']} usable) | load "
          f"{info['load_average']} | torch {info['torch']}, {info['torch_threads']} thread | "
          f"{'quick' if args.quick else 'full'} | commit {info['commit']}", flush=True)
    results = []
    for path in scripts:
        print(f"running {path.name} ...", flush=True)
        res = run_one(path, args.quick)
        if res["error"]:
            print(res["traceback"].rstrip(), file=sys.stderr)
            print(f"ERROR in {path.name}: {res['error']}", flush=True)
        results.append(res)

    rows = [r for res in results for r in res["rows"]]
    print()
    print(format_table(rows) if rows else "(no rows)")
    print("\nper script: wall s (CPU s, this process + its subprocesses)")
    for res in results:
        status = f"ERROR: {res['error']}" if res["error"] else f"{len(res['rows'])} rows"
        print(f"  {res['name']:20s} {res['wall']:7.1f} s ({res['cpu']:7.1f} s CPU)   {status}")
    print(f"  {'total':20s} {sum(r['wall'] for r in results):7.1f} s "
          f"({sum(r['cpu'] for r in results):7.1f} s CPU)")

    data = {"machine": info, "rows": rows}
    write_json(args.out, data)
    print(f"\nwrote {_display(args.out)}")
    failed = [res["name"] for res in results if res["error"]]
    if args.store is not None:
        if failed:
            print(f"not writing {_display(args.store)}: {', '.join(failed)} failed")
        else:
            write_json(args.store, data)
            print(f"wrote {_display(args.store)}")
    unmet = [f"{r['benchmark']} / {r['case']} / {r['peer']}" for r in rows if r["met"] is False]
    if unmet:
        print(f"{len(unmet)} goal(s) not met" + (" (--strict: failing)" if args.strict else ""))
    if failed:
        print(f"{len(failed)} script(s) failed: {', '.join(failed)}")
        return 1
    return 1 if (args.strict and unmet) else 0


if __name__ == "__main__":
    sys.exit(main())
