"""Benchmark: FAVOR+ attention against exact softmax attention as the sequence grows.

Chapter *Performer: softmax attention from positive random features* (7921). Su estimates
that, with the number of random features m a few times the head size d, Performer only pays
off above about 5000 tokens. This script measures, side by side in one run (runs interleaved, medians
compared, so load on a shared machine hits every method alike):

1. forward time of ``lib.transformers.favor_attention`` (m = 4d random features),
   ``lib.transformers.softmax_attention`` and PyTorch's fused
   ``F.scaled_dot_product_attention`` (the named peer) for one head of size d = 64, float32,
   against n; ratios to SDPA, the crossover length where FAVOR+ becomes faster than SDPA
   (log-log interpolation on the grid), and the flop-count crossover n = 2m for comparison;
2. the peak memory of one call (growth of the resident set's high-water mark in a fresh
   subprocess, Linux ``/proc``): quadratic for the exact methods that form the n x n matrix,
   linear for FAVOR+;
3. the approximation error of FAVOR+ (relative Frobenius error against exact attention,
   float64) against m at d = 64, for i.i.d. and orthogonal features and three logit scales
   (the standard deviation of q.k/sqrt(d)), next to the error of plain uniform attention.

Table rows (``rows(quick)``, for ``tools/bench.py``): forward time of FAVOR+ divided by that of
SDPA (the PyTorch built-in) and of ``softmax_attention`` at n = 1024, 4096, 8192 (+ 16384 and a
causal row at 16384, against causal SDPA, in the full run), medians of interleaved runs. Goal
1.0 at n > 5000, from the article's claim (Su, section "问题与思考"; quoted in the chapter's
section 7, paragraph "Cost") that with m a few times d Performer pays off above about 5000
tokens; no goal at n = 1024 and 4096, below the claimed break-even, where the claim promises
nothing (they are tabled to show the crossover). The claim does not distinguish the causal
form (the prefix sums cost the same O(n m d) flops), so the causal row at 16384 carries the
same goal, although ``favor_attention(causal=True)`` takes its prefix sums in log space, an
m x d state per position, which costs far more than the flop count.

Usage: ``.venv/bin/python benchmarks/favor_attention.py [--quick] [--repeats 5] [--threads 1]``
(``--quick`` finishes in well under a minute).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lib.transformers import favor_attention, random_feature_matrix, softmax_attention  # noqa: E402

D = 64


def _inputs(n: int, d: int, dtype=torch.float32, seed: int = 0, tau: float = 1.0):
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(1, n, d, generator=g, dtype=dtype) for _ in range(3))
    return math.sqrt(tau) * q, math.sqrt(tau) * k, v


def _methods(m: int, d: int, causal: bool):
    om = random_feature_matrix(m, d, generator=torch.Generator().manual_seed(1))
    if causal:
        return {
            "sdpa (causal)": lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
            "favor+ (causal)": lambda q, k, v: favor_attention(q, k, v, om, causal=True),
        }
    return {
        "sdpa": lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
        "softmax_attention": lambda q, k, v: softmax_attention(q, k, v),
        "favor+": lambda q, k, v: favor_attention(q, k, v, om),
    }


def time_methods(n: int, m: int, repeats: int, causal: bool = False) -> dict[str, float]:
    q, k, v = _inputs(n, D)
    fns = _methods(m, D, causal)
    times = {name: [] for name in fns}
    with torch.no_grad():
        for fn in fns.values():  # warm-up
            fn(q, k, v)
        for _ in range(repeats):
            for name, fn in fns.items():
                t0 = time.perf_counter()
                fn(q, k, v)
                times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def crossover(ns, slow, fast) -> float | None:
    """Smallest n where ``fast`` beats ``slow``, interpolating log(ratio) against log(n)."""
    ratios = [math.log(f / s) for f, s in zip(fast, slow, strict=True)]
    for i in range(1, len(ns)):
        if ratios[i - 1] > 0 >= ratios[i]:
            t = ratios[i - 1] / (ratios[i - 1] - ratios[i])
            return math.exp(math.log(ns[i - 1]) + t * (math.log(ns[i]) - math.log(ns[i - 1])))
    if ratios[0] <= 0:
        return float(ns[0])  # already faster at the smallest n
    return None


def _proc_status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _peak_child(method: str, n: int, m: int) -> None:
    fn = _methods(m, D, causal=False)[method]
    with torch.no_grad():
        fn(*_inputs(64, D))  # warm-up: one-off allocations of the kernels
    q, k, v = _inputs(n, D)
    base = _proc_status_kib("VmRSS")
    with torch.no_grad():
        fn(q, k, v)
    peak = _proc_status_kib("VmHWM")
    print(json.dumps({"extra_mib": (peak - base) / 1024}))


def peak_memory(method: str, n: int, m: int) -> float:
    out = subprocess.run([sys.executable, __file__, "--child", method, str(n), str(m)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["extra_mib"]


def approximation_errors(n: int, ms, taus, seeds: int) -> dict:
    """Relative Frobenius error of FAVOR+ vs exact attention (float64), mean over seeds."""
    out = {}
    for tau in taus:
        errs = {(orth, m): [] for orth in (False, True) for m in ms}
        uni = []
        for seed in range(seeds):
            q, k, v = _inputs(n, D, torch.float64, seed=100 + seed, tau=tau)
            ref = softmax_attention(q, k, v)
            uni.append(float((v.mean(-2, keepdim=True) - ref).norm() / ref.norm()))
            g = torch.Generator().manual_seed(200 + seed)
            for orth in (False, True):
                for m in ms:
                    om = random_feature_matrix(m, D, orthogonal=orth, generator=g, dtype=torch.float64)
                    errs[orth, m].append(float((favor_attention(q, k, v, om) - ref).norm() / ref.norm()))
        out[tau] = ({key: statistics.fmean(e) for key, e in errs.items()}, statistics.fmean(uni))
    return out


BREAK_EVEN = 5000  # Su's estimate of the length above which Performer pays off (m a few d)
GOAL = 1.0


def rows(quick: bool = False) -> list[dict]:
    """Benchmark-table rows: FAVOR+ time / peer time against n (goal above Su's break-even)."""
    m = 4 * D
    ns, repeats = ([1024, 4096, 8192], 3) if quick else ([1024, 4096, 8192, 16384], 7)
    out = []

    def row(case: str, peer: str, ratio: float, goal: float | None) -> dict:
        return {"benchmark": "favor_attention", "case": case, "peer": peer, "ratio": ratio,
                "goal": goal, "met": None if goal is None else ratio <= goal}

    for n in ns:
        t = time_methods(n, m, repeats)
        goal = GOAL if n > BREAK_EVEN else None
        case = f"favor+ m = 4d = {m}, d = {D}, n = {n}, forward, float32"
        out.append(row(case, "F.scaled_dot_product_attention", t["favor+"] / t["sdpa"], goal))
        out.append(row(case, "lib softmax_attention", t["favor+"] / t["softmax_attention"], goal))
    if not quick:
        n = ns[-1]
        t = time_methods(n, m, repeats, causal=True)
        out.append(row(f"favor+ causal (prefix sums), m = {m}, d = {D}, n = {n}, forward, float32",
                       "F.scaled_dot_product_attention (is_causal=True)",
                       t["favor+ (causal)"] / t["sdpa (causal)"], GOAL))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small grid, finishes in well under a minute")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.child:
        method, n, m = a.child
        _peak_child(method, int(n), int(m))
        return
    m = 4 * D
    ns = [256, 512, 1024, 2048, 4096] if a.quick else [256, 512, 1024, 2048, 4096, 8192, 16384]
    repeats = a.repeats or (3 if a.quick else 7)
    print(f"torch {torch.__version__}, {a.threads} thread(s), d = {D}, m = 4d = {m}, float32, "
          f"median of {repeats} interleaved runs\n")
    print("1. forward time against n; ratio = time / time(sdpa)")
    table = {}
    for n in ns:
        t = time_methods(n, m, repeats)
        table[n] = t
        cells = "   ".join(f"{k} {v * 1e3:8.2f} ms ({v / t['sdpa']:5.2f})" for k, v in t.items())
        print(f"   n = {n:6d}   {cells}")
    cross = crossover(ns, [table[n]["sdpa"] for n in ns], [table[n]["favor+"] for n in ns])
    cross_sm = crossover(ns, [table[n]["softmax_attention"] for n in ns], [table[n]["favor+"] for n in ns])
    fmt = lambda c: "beyond the grid" if c is None else f"n ~ {c:,.0f}"  # noqa: E731
    print(f"   crossover FAVOR+ vs sdpa: {fmt(cross)};  vs softmax_attention: {fmt(cross_sm)}")
    print(f"   flop-count crossover (4 n^2 d = 8 n m d): n = 2m = {2 * m};  Su's estimate: ~5000")
    if not a.quick:
        print("\n   causal (prefix sums) against causal sdpa")
        for n in (1024, 4096, 16384):
            t = time_methods(n, m, repeats, causal=True)
            r = t["favor+ (causal)"] / t["sdpa (causal)"]
            print(f"   n = {n:6d}   " + "   ".join(f"{k} {v * 1e3:8.2f} ms" for k, v in t.items())
                  + f"   ratio {r:5.2f}")
    print("\n2. peak extra memory of one forward call (fresh subprocess)")
    for n in ([4096] if a.quick else [4096, 16384]):
        cells = "   ".join(f"{k} {peak_memory(k, n, m):8.1f} MiB" for k in _methods(m, D, False))
        print(f"   n = {n:6d}   {cells}   (n x n float32 = {n * n * 4 / 2**20:.0f} MiB)")
    print("\n3. relative error of FAVOR+ vs exact attention (float64, d = 64), mean over seeds;"
          "\n   tau = std of the logits q.k/sqrt(d); 'uniform' = error of plain averaging of v")
    ms = [64, 256, 1024] if a.quick else [64, 128, 256, 512, 1024, 2048, 4096]
    n_err, seeds = (256, 2) if a.quick else (1024, 3)
    for tau, (errs, uni) in approximation_errors(n_err, ms, [0.125, 0.25, 0.5], seeds).items():
        for orth in (False, True):
            cells = "  ".join(f"m={mm}: {errs[orth, mm]:.3f}" for mm in ms)
            print(f"   tau = {tau:5.3f} {'orthogonal' if orth else 'i.i.d.    '}  {cells}   uniform {uni:.3f}")


if __name__ == "__main__":
    main()
