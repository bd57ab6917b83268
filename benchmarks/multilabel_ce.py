"""Benchmark: multi-label softmax-CE (ZLPR) against BCE-with-logits, and sparse against dense.

Chapters *Multi-label softmax + cross-entropy* (7359) and *Soft labels* (9064).

1. Forward + backward of ``lib.losses.multilabel_ce`` (float and bool 0/1 targets) and
   ``soft_multilabel_ce`` (label-smoothed targets) against the peer
   ``torch.nn.functional.binary_cross_entropy_with_logits`` on its natural input (float
   targets), float32 logits, 1% positives, at (64, 100000), (4096, 10000), (16, 1000000)
   (wide label spaces, where the per-entry cost dominates), at the typical (1024, 1000) and
   (256, 100) (where the fixed per-call cost of a few dozen torch ops and an autograd node
   counts: ~0.1 ms of BCE's ~0.07 ms at (256, 100)); and (64, 100000) again with glibc's heap
   trimming off, where no call pays page faults ("heap kept" rows, see ``NO_TRIM_SHAPE``).
2. (``__main__`` full run only, not in ``rows``) ``sparse_multilabel_ce`` (positives as
   indices) vs ``multilabel_ce`` (dense bool targets built from the indices) with 10 positives
   per row: time, and the peak memory of the whole computation including the dense target
   tensor (fresh subprocess; growth of the resident set's high-water mark, Linux ``/proc``).

Method: single-threaded torch; a warm-up round, then repetitions in which ours and the peer
take turns (the order rotates each round), so load drifts on the shared machine hit all
alike. The reported ``ratio`` is the median over repetitions of ours / peer from the same
round, timed by process CPU time (user + sys: the page faults of fresh allocations count;
unlike wall time it is not inflated while other jobs hold the core). The table also shows the
interquartile range of the per-round ratios, the median wall-time ratio and the page faults.

``rows(quick)`` returns one dict per case of part 1 (keys ``benchmark case peer ratio goal
met``) for ``tools/bench.py``. Usage: ``.venv/bin/python benchmarks/multilabel_ce.py [--quick]``
(``--quick``: (64, 100000), also heap kept, (4096, 10000), (1024, 1000) and (256, 100), fewer
repetitions, no part 2; about 10 CPU seconds, two torch imports included). The goals are the issue's (#19 §2): at most 1.25 x BCE-with-logits for
``multilabel_ce`` (float or bool targets) and 1.5 x for ``soft_multilabel_ce``, at every shape.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

if __name__ == "__main__":  # before torch loads: single-threaded OpenMP / BLAS
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lib.losses import multilabel_ce, soft_multilabel_ce, sparse_multilabel_ce  # noqa: E402

BENCHMARK = "multilabel_ce"
PEER = "F.binary_cross_entropy_with_logits (float targets)"
GOAL = {"multilabel_ce": 1.25, "soft_multilabel_ce": 1.5}
# (shape, repetitions in a full run, in a quick run); quick drops (16, 1000000). A call at the
# small shapes takes 0.1-10 ms, so they get many rounds: their per-call noise is relatively large.
SHAPES = [((64, 100_000), 31, 15), ((4096, 10_000), 11, 3), ((16, 1_000_000), 11, 0),
          ((1024, 1_000), 101, 41), ((256, 100), 801, 301)]
# glibc's free() hands the top of the heap back to the system once about two buffers of this
# size lie free there, so BCE, with 4-5 full-size temporaries alive at once, pays page faults
# on fresh memory at this shape in some runs and not in others, while ours (1-2) does not: the
# ratio then mixes compute with allocator state. This shape (buffers < 32 MiB, below glibc's
# mmap ceiling) is therefore measured once more in a subprocess with trimming off (mallopt), where
# no call faults: compute alone, the conservative comparison. (Larger buffers are always fresh
# mmaps, faulted by every call of either loss; those shapes count them as they are.)
NO_TRIM_SHAPE = SHAPES[0][0]


def _fwd_bwd(fn, x, t) -> tuple[float, float, int]:
    """(CPU seconds, wall seconds, minor page faults) of one forward + backward."""
    x.grad = None
    f0, c0, w0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.process_time(), time.perf_counter()
    fn(x, t).backward()
    c, w = time.process_time() - c0, time.perf_counter() - w0
    return c, w, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0


def _quartiles(v: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(v, n=4, method="inclusive") if len(v) > 1 else [v[0]] * 3
    return q[0], statistics.median(v), q[2]


def _interleaved(cases: dict, peer: str, repeats: int) -> dict[str, dict]:
    """Per case: median CPU time and page faults, quartiles of the per-round ratio to ``peer``
    (CPU time) and the median wall-time ratio."""
    names = list(cases)
    times = {k: [] for k in names}
    for k in names:  # warm-up
        _fwd_bwd(*cases[k])
    for r in range(repeats):
        for k in names[r % len(names):] + names[: r % len(names)]:
            times[k].append(_fwd_bwd(*cases[k]))
    out = {}
    for k, v in times.items():
        cpu = [a[0] / b[0] for a, b in zip(v, times[peer], strict=True)]
        wall = [a[1] / b[1] for a, b in zip(v, times[peer], strict=True)]
        out[k] = {
            "cpu_ms": 1e3 * statistics.median(a[0] for a in v),
            "faults": statistics.median(a[2] for a in v),
            "ratio": _quartiles(cpu),
            "wall_ratio": statistics.median(wall),
        }
    return out


def dense_vs_bce(shape, repeats: int, density: float = 0.01) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(*shape, generator=g).requires_grad_()
    y = (torch.rand(*shape, generator=g) < density).float()
    cases = {
        "peer": (F.binary_cross_entropy_with_logits, x, y),
        f"multilabel_ce {shape} float targets": (multilabel_ce, x, y),
        f"multilabel_ce {shape} bool targets": (multilabel_ce, x, y.bool()),
        f"soft_multilabel_ce {shape} smoothed targets": (soft_multilabel_ce, x, 0.05 + 0.9 * y),
    }
    res = _interleaved(cases, "peer", repeats)
    p = res.pop("peer")
    return [
        {"case": k, "peer": PEER, "goal": GOAL[k.split()[0]], "peer_ms": p["cpu_ms"], "peer_faults": p["faults"],
         "repeats": repeats, **v}
        for k, v in res.items()
    ]


def _sparse_inputs(rows: int, labels: int, positives: int):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(rows, labels, generator=g).requires_grad_()
    idx = torch.stack([torch.randperm(labels, generator=g)[:positives] for _ in range(rows)])
    return x, idx


def _dense_from_index(x, idx):
    """What a dense caller has to do: build the 0/1 target tensor, then call the loss."""
    y = torch.zeros(x.shape, dtype=torch.bool).scatter_(-1, idx, True)
    return multilabel_ce(x, y)


def sparse_vs_dense(rows: int, labels: int, positives: int, repeats: int) -> None:
    """Prints time (ratio to the dense loss with its target tensor) and peak extra memory."""
    x, idx = _sparse_inputs(rows, labels, positives)
    cases = {"dense": (_dense_from_index, x, idx), "sparse": (sparse_multilabel_ce, x, idx)}
    res = _interleaved(cases, "dense", repeats)["sparse"]
    lo, med, hi = res["ratio"]
    print(f"   ({rows}, {labels:>9,d})  time {res['cpu_ms']:7.1f} ms, ratio to dense {med:5.2f} [{lo:.2f}, {hi:.2f}]")
    for mode in ("dense-bool", "sparse"):
        m = peak_memory(mode, rows, labels, positives)
        print(f"   ({rows}, {labels:>9,d})  peak extra memory, {mode:10s} {m['extra_mib']:8.0f} MiB"
              f"  = {m['extra_mib'] / m['logits_mib']:4.1f} x logits")


def _proc_status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _peak_rss_child(mode: str, rows: int, labels: int, positives: int) -> None:
    x, idx = _sparse_inputs(rows, labels, positives)
    with open("/proc/self/clear_refs", "w") as f:  # reset the high-water mark (Linux)
        f.write("5")
    base = _proc_status_kib("VmRSS")
    if mode == "dense-bool":
        _dense_from_index(x, idx).backward()
    else:
        sparse_multilabel_ce(x, idx).backward()
    peak = _proc_status_kib("VmHWM")
    print(json.dumps({"extra_mib": (peak - base) / 1024, "logits_mib": x.numel() * 4 / 2**20}))


def peak_memory(mode, rows, labels, positives) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(rows), str(labels), str(positives)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _no_trim_child(repeats: int) -> None:
    """Part 1 at ``NO_TRIM_SHAPE`` with glibc's heap trimming off (this process only), as JSON."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    if not (libc.mallopt(-1, 1 << 30) and libc.mallopt(-3, 32 << 20)):  # M_TRIM/M_MMAP_THRESHOLD
        raise OSError("mallopt failed")
    print(json.dumps(dense_vs_bce(NO_TRIM_SHAPE, repeats)))


def no_trim(repeats: int) -> list[dict]:
    """The ``no_trim`` rows, measured in a fresh subprocess (Linux with glibc only)."""
    if not sys.platform.startswith("linux") or ctypes.util.find_library("c") is None:
        return []
    out = subprocess.run([sys.executable, __file__, "--no-trim-child", str(repeats)],
                         capture_output=True, text=True, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    return [{**r, "case": r["case"] + ", heap kept (no page faults)", "ratio": tuple(r["ratio"])} for r in res]


def _measure(quick: bool = False) -> list[dict]:
    """Every case with its spread (the table's rows); :func:`rows` keeps the contract's keys."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = []
        for shape, full, short in SHAPES:
            if (short if quick else full) > 0:
                out += dense_vs_bce(shape, short if quick else full)
        out += no_trim(SHAPES[0][2] if quick else SHAPES[0][1])
    finally:
        torch.set_num_threads(threads)
    for r in out:
        r["met"] = None if r["goal"] is None else bool(r["ratio"][1] <= r["goal"])
    return out


def rows(quick: bool = False) -> list[dict]:
    """One dict per measured case: benchmark, case, peer, ratio (median ours / peer, lower is
    better), goal (largest acceptable ratio or None), met (bool or None)."""
    return [
        {"benchmark": BENCHMARK, "case": r["case"], "peer": r["peer"], "ratio": float(r["ratio"][1]),
         "goal": r["goal"], "met": r["met"]}
        for r in _measure(quick)
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, no sparse part")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--no-trim-child", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.no_trim_child:
        _no_trim_child(a.no_trim_child)
        return
    if a.child:
        mode, rows_, labels, positives = a.child
        _peak_rss_child(mode, int(rows_), int(labels), int(positives))
        return
    t0 = time.perf_counter()
    res = _measure(a.quick)
    print(f"torch {torch.__version__}, 1 thread; ms = median CPU time of forward + backward; ratio ="
          " median over rounds of ours / peer (CPU time) [interquartile range]; wall = the same in wall"
          " time; faults = median minor page faults per call, ours and the peer's\n")
    print(f"{'case':78s} {'ours ms':>7s} {'peer ms':>7s} {'ratio [IQR]':>19s} {'wall':>5s} {'faults':>13s}"
          f" {'n':>3s} {'goal':>5s} met")
    for r in res:
        lo, med, hi = r["ratio"]
        print(f"{r['case']:78s} {r['cpu_ms']:7.3g} {r['peer_ms']:7.3g} {med:5.2f} [{lo:5.2f}, {hi:5.2f}]"
              f" {r['wall_ratio']:5.2f} {r['faults']:6.0f} {r['peer_faults']:6.0f} {r['repeats']:3d}"
              f" {r['goal']:5.2f} {'yes' if r['met'] else 'NO'}")
    print(f"peer: {PEER}")
    if not a.quick:
        print("\nsparse_multilabel_ce (indices) vs multilabel_ce (dense bool targets built from them),"
              " 10 positives per row, float32")
        for rows_, labels in [(64, 100_000), (16, 1_000_000)]:
            sparse_vs_dense(rows_, labels, 10, 11)
    print(f"\n{time.perf_counter() - t0:.0f} s wall")


if __name__ == "__main__":
    main()
