"""The article's table of RoPE base lower bounds (kexue.fm/archives/10122), d = 128.

For L = 1k ... 1M (1k = 1024) this prints, per L: the article's nested-grid search replayed with
float64 feasibility (``lib.transformers.su_grid_search``); the same search with float32
feasibility, as the article's JAX code computes by default (``--float32``: a machine-independent
model of its float32 phases, and NumPy's own float32 arithmetic); the certified continuous
infimum (``lib.transformers.certified_base_infimum``, ``--certify``); and the article's two
printed rows. It also runs a plain vectorised NumPy implementation of the float64 search side by
side with the library's at small L and prints the time ratio.

    .venv/bin/python benchmarks/rope_bound.py                       # float64 search, 1k .. 1M
    .venv/bin/python benchmarks/rope_bound.py --certify --float32 --write-data   # + data/ file

Table rows (``rows(quick)``, for ``tools/bench.py``): the article's nested-grid search (four
stages, d = 128) by ``lib.transformers.su_grid_search`` against :func:`plain_numpy_search` (the
peer: the same search written with plain vectorised NumPy), CPU-time ratio lib / plain at
L = 1024 (quick) and 1024, 2048 (full). The two sides differ ~500-fold in cost, so they cannot be
interleaved run for run: the library search runs three times before and three times after the
plain one and its median is used; CPU time (``time.process_time``), not wall time, so that load
changes between the two sides do not enter the ratio. Both must return the same base (else the
script raises). Goal 1.0, from the chapter's section 4 "Deciding feasibility fast, and exactly"
(and ``su_grid_search``'s docstring: "it is fast because refutations are reused"): the blocked
angle-addition product and reused witnesses are there to make the search faster than the direct
sum. The chapter quotes the ratio of one stored run (the plain search ~490x slower) as a
measurement, not a claim, so no tighter goal is set.

    .venv/bin/python benchmarks/rope_bound.py --quick    # side by side at L = 1k, table to 16k

Not a test (see benchmarks/README.md). The article's printed table is typed once, under the key
``article_table`` of data/rope_base_bounds.json; this script reads it from there and keeps it
when it rewrites the file. The chapter reads the computed rows, and
tests/transformers/test_rope.py re-verifies them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from lib import transformers  # noqa: E402

DATA = ROOT / "data" / "rope_base_bounds.json"


def round_sig(x: float, n: int = 2) -> float:
    return float(f"{x:.{n - 1}e}")


# -- the baseline of the timing comparison ------------------------------------------------
def plain_numpy_search(
    L: int, d: int = 128, stages: int = 5, batch: int = 32, chunk: int = 1024
) -> float:
    """The same nested grid with a plain vectorised NumPy feasibility test (the baseline).

    Candidates are tested ``batch`` at a time over chunks of ``m`` with early exit once every
    candidate of the batch has a negative value: what one writes without the tricks of
    lib.transformers (blocked angle-addition product, reuse of refutations).
    """
    i = np.arange(d // 2, dtype=np.float64)
    B = 1000 * L
    for k in range(1, stages + 1):
        bs = np.linspace(0, 1, 10**k + 1)[1:] * B
        found = None
        for s in range(0, len(bs), batch):
            cand = bs[s : s + batch]
            th = cand[:, None] ** (-2 * i / d)
            ok = np.ones(len(cand), dtype=bool)
            for m0 in range(0, L, chunk):
                m = np.arange(m0, min(L, m0 + chunk), dtype=np.float64)
                f = np.cos(m[None, :, None] * th[ok][:, None, :]).sum(-1)
                ok[np.nonzero(ok)[0][(f < 0).any(1)]] = False
                if not ok.any():
                    break
            if ok.any():
                found = cand[np.argmax(ok)]
                break
        B = found if found is not None else B
    return float(B)


# -- the article's search in float32 (its JAX code, default precision) ---------------------
def f32_pairs(bases, ms, d: int = 128, native: bool = False) -> np.ndarray:
    """f_b(m) for paired arrays ``bases[k], ms[k]`` with the article's float32 phases.

    The article's JAX code evaluates ``cos(m[:, None] * b ** (-2 * i / d)).sum(1)`` without
    64-bit mode, i.e. in float32. This model rounds what matters to float32, exactly as IEEE
    float32 would: the base, the frequencies ``fl32(b32 ** (-2i/d))`` (the power correctly
    rounded) and the phases ``fl32(m * theta32)``. The cosines and the 64-term sum are then
    evaluated in float64: their float32 rounding (~1e-6) is negligible next to the phase
    errors (~1e-2 at m ~ 5e5), and skipping it keeps the model independent of the machine's
    float32 libm and summation order. ``native=True`` instead runs every step in NumPy
    float32 (this machine's float32 power, cosine and pairwise sum): another float32
    implementation, whose verdicts near the bound differ from the model's.
    """
    if native:
        i = np.arange(d // 2, dtype=np.float32)
        th = np.asarray(bases, dtype=np.float32).reshape(-1, 1) ** (np.float32(-2) * i / np.float32(d))
        return np.cos(np.asarray(ms).astype(np.float32)[:, None] * th).sum(-1, dtype=np.float32)
    e = (np.float32(-2) * np.arange(d // 2, dtype=np.float32) / np.float32(d)).astype(np.float64)
    b32 = np.asarray(bases, dtype=np.float32).astype(np.float64).reshape(-1, 1)
    th = (b32**e).astype(np.float32)
    ph = np.asarray(ms).astype(np.float32)[:, None] * th  # float32 products, IEEE rounded
    return np.cos(ph.astype(np.float64)).sum(-1)


def f32_first_negative(b: float, L: int, d: int = 128, native: bool = False,
                       chunk: int = 8192) -> int | None:
    """The most negative float32 ``m`` of the first chunk holding one, or None (feasible)."""
    for s in range(0, L, chunk):
        ms = np.arange(s, min(L, s + chunk))
        v = f32_pairs(np.full(ms.size, b), ms, d, native)
        if (v < 0).any():
            return int(ms[np.argmin(v)])
    return None


class _Float32Replay:
    """First float32-feasible point of ascending grids, with reused refutations.

    A grid point is rejected only by an ``m`` whose float32 value is negative, so the result
    is exactly that of the article's loop under this float32 arithmetic. Candidate ``m`` come
    from the nearest bases refuted earlier, the most recent witnesses, and the float64
    argmin (``lib.transformers.cos_sum_min``); only when none is negative in float32 is the
    base scanned in full.
    """

    def __init__(self, L: int, d: int, native: bool):
        self.L, self.d, self.native = L, d, native
        self.mem_b, self.mem_m = np.zeros(0), np.zeros(0, dtype=np.int64)
        self.recent: list[int] = []
        self.full_scans = 0

    def first_feasible(self, grid: np.ndarray, batch: int = 256) -> int | None:
        rb: list[float] = []
        rm: list[int] = []
        try:
            for p in range(0, len(grid), batch):
                bs = grid[p : p + batch]
                alive = np.ones(len(bs), dtype=bool)

                def kill(idx, ms, bs=bs, alive=alive):
                    neg = f32_pairs(bs[idx], ms, self.d, self.native) < 0
                    alive[idx[neg]] = False
                    rb.extend(bs[idx[neg]])
                    rm.extend(np.asarray(ms)[neg])

                if self.mem_b.size:
                    k = np.searchsorted(self.mem_b, bs)
                    for nb in (np.clip(k - 1, 0, None), np.clip(k, None, self.mem_b.size - 1)):
                        idx = np.nonzero(alive)[0]
                        if idx.size:
                            kill(idx, self.mem_m[nb[idx]])
                for w in self.recent[-16:][::-1]:
                    idx = np.nonzero(alive)[0]
                    if idx.size:
                        kill(idx, np.full(idx.size, w))
                for i in np.nonzero(alive)[0]:
                    if not alive[i]:
                        continue
                    b = float(bs[i])
                    m = transformers.cos_sum_min(b, self.L, self.d)[1]
                    if not f32_pairs([b], [m], self.d, self.native)[0] < 0:
                        self.full_scans += 1
                        m = f32_first_negative(b, self.L, self.d, self.native)
                        if m is None:
                            return p + int(i)
                    alive[i] = False
                    rb.append(b)
                    rm.append(m)
                    if m in self.recent:
                        self.recent.remove(m)
                    self.recent.append(m)
                    rest = np.nonzero(alive)[0]
                    rest = rest[rest > i]
                    if rest.size:
                        kill(rest, np.full(rest.size, m))
            return None
        finally:
            b = np.concatenate((self.mem_b, np.asarray(rb, dtype=np.float64)))
            m = np.concatenate((self.mem_m, np.asarray(rm, dtype=np.int64)))
            order = np.argsort(b, kind="stable")
            self.mem_b, self.mem_m = b[order], m[order]


def float32_search(L: int, d: int = 128, stages: int = 5, native: bool = False) -> list[float]:
    """The article's nested grid (as ``lib.transformers.su_grid_search``), float32 verdicts
    (:func:`f32_pairs`; ``native`` selects NumPy's own float32 arithmetic)."""
    return transformers.nested_grid(_Float32Replay(L, d, native).first_feasible, L, stages)


GOAL = 1.0  # the chapter's section 4: the library's search is the fast one


def time_side_by_side(L: int, d: int = 128, stages: int = 4, lib_runs: int = 3) -> dict:
    """CPU seconds of the plain search (one run) and of the library's (median of 2 x lib_runs,
    half before and half after the plain run); raises if the two bases differ."""
    lib_times = []

    def lib_run() -> float:
        t0 = time.process_time()
        b = transformers.su_grid_search(L, d, stages=stages)[-1]
        lib_times.append(time.process_time() - t0)
        return b

    for _ in range(lib_runs):
        lib_run()
    t0 = time.process_time()
    b_plain = plain_numpy_search(L, d, stages=stages)
    t_plain = time.process_time() - t0
    b_lib = [lib_run() for _ in range(lib_runs)][-1]
    if b_plain != b_lib:
        raise RuntimeError(f"L = {L}: plain search gives {b_plain!r}, lib gives {b_lib!r}")
    return {"L": L, "stages": stages, "base": b_lib, "plain": t_plain,
            "lib": statistics.median(lib_times)}


def rows(quick: bool = False) -> list[dict]:
    """Benchmark-table rows: CPU time of the library's search / the plain NumPy search."""
    out = []
    for L in (1024,) if quick else (1024, 2048):
        t = time_side_by_side(L)
        ratio = t["lib"] / t["plain"]
        out.append({"benchmark": "rope_bound",
                    "case": f"article's nested grid, {t['stages']} stages, L = {L}, d = 128",
                    "peer": "plain vectorised NumPy search", "ratio": ratio, "goal": GOAL,
                    "met": ratio <= GOAL})
    return out


def machine() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()),
        "torch_threads": torch.get_num_threads(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--max-k", type=int, default=None,
                    help="largest L in units of 1024 (default 1024; 16 with --quick)")
    ap.add_argument("--certify", action="store_true", help="also the certified infimum")
    ap.add_argument("--float32", action="store_true", help="also the float32 replay")
    ap.add_argument("--write-data", action="store_true", help="rewrite data/rope_base_bounds.json")
    ap.add_argument("--no-baseline", action="store_true", help="skip the plain NumPy comparison")
    ap.add_argument("--quick", action="store_true",
                    help="side by side at L = 1k only; table up to 16k unless --max-k")
    args = ap.parse_args()
    args.max_k = args.max_k or (16 if args.quick else 1024)
    torch.set_num_threads(1)
    d = 128
    stored = json.loads(DATA.read_text())
    table = stored["article_table"]  # the article's printed table: its one copy
    info = machine()
    print(f"# {info['cpu']} | {info['cpus']} CPUs | load {info['load_average_at_start']}")
    print("# d = 128, 1k = 1024, one torch thread\n")

    baseline = []
    if not args.no_baseline:
        # 4 stages: the plain version needs minutes for the 5-stage search at L = 1k
        print("side by side: the article's search (4 stages), plain vectorised NumPy vs "
              "lib.transformers (CPU time; lib: median of 6 runs around the plain one)")
        for L in (1024,) if args.quick else (1024, 2048):
            t = time_side_by_side(L, d)
            ratio = t["plain"] / t["lib"]
            baseline.append({"L": L, "stages": 4, "time_ratio_plain_over_lib": round(ratio, 1),
                             "same_value": True})
            print(f"  L={L:5d}: plain {t['plain']:.2f} s, lib {1e3 * t['lib']:.1f} ms, "
                  f"plain / lib time ratio {ratio:6.1f}x (same value: {t['base']:.6g})")
        print()

    print(f"{'L':>5} {'float64 search':>15} {'float32 model':>15} {'NumPy float32':>15}"
          f" {'article':>8} {'paper':>8}"
          f" {'certified infimum':>19}")
    rows = []
    for label, L, su, paper in zip(table["labels"], table["L"], table["article"], table["paper"],
                                   strict=True):
        if L > 1024 * args.max_k:
            break
        stages = transformers.su_grid_search(L, d)
        b = stages[-1]
        fmin, argmin = transformers.cos_sum_min(b, L, d)
        row = {"L": L, "label": label, "su_grid_float64": b, "su_grid_stages": stages,
               "min_f_at_su_grid": fmin, "argmin_m_at_su_grid": argmin}
        line = f"{label:>5} {b:15.8e}"
        if args.float32:
            stages32 = float32_search(L, d)
            row["su_grid_float32"] = stages32[-1]
            row["su_grid_float32_stages"] = stages32
            row["su_grid_float32_numpy"] = float32_search(L, d, native=True)[-1]
            line += f" {stages32[-1]:15.8e} {row['su_grid_float32_numpy']:15.8e}"
        else:
            line += f" {'':>31}"
        line += f" {su:>8} {paper:>8}"
        if args.certify:
            cert = transformers.certified_base_infimum(L, d)
            row["certified"] = cert
            line += f" {cert['b_lo']:19.12e}"
        rows.append(row)
        print(line, flush=True)

    if args.write_data:
        if args.quick or not (args.certify and args.float32) or len(rows) < len(table["labels"]):
            sys.exit("--write-data needs --certify, --float32 and the full range (not --quick)")
        out = {
            "description": (
                "Lower bounds on the RoPE base (kexue.fm/archives/10122), d = 128, 1k = 1024. "
                "article_table: the article's printed table (typed by hand, the repository's "
                "only copy). rows, computed by benchmarks/rope_bound.py: su_grid_float64 = the "
                "article's nested-grid search with float64 feasibility "
                "(lib.transformers.su_grid_search, 5 stages); su_grid_float32 = the same search "
                "with the float32 phases of the article's JAX code (default precision; "
                "model: benchmarks/rope_bound.py:f32_pairs); su_grid_float32_numpy = the same with "
                "NumPy's own float32 arithmetic on the machine below; certified = the bracket "
                "[b_lo, b_hi] of lib.transformers.certified_base_infimum (every base in [1, b_lo) "
                "refuted, b_hi feasible)."
            ),
            "article_table": table,
            "paper_fit": stored["paper_fit"],
            "provenance": {
                "script": "benchmarks/rope_bound.py",
                "command": ".venv/bin/python benchmarks/rope_bound.py --certify --float32 --write-data",
                "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "machine": info,
                "versions": {"python": platform.python_version(), "numpy": np.__version__,
                             "torch": torch.__version__},
            },
            "settings": {"d": d, "stages": 5, "rel_gap": 1e-12},
            "benchmark": {
                "plain_numpy_vs_lib": baseline,
                "note": "CPU-time ratio (time.process_time), both run side by side in one "
                        "process, one thread; lib: median of 6 runs around the plain one",
            },
            "rows": rows,
        }
        DATA.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {DATA.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
