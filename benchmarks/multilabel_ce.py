"""Benchmark: multi-label softmax-CE (ZLPR) against BCE-with-logits, and sparse against dense.

Chapters *Multi-label softmax + cross-entropy* (7359) and *Soft labels* (9064). Prints ratios
measured side by side in one run (timings on a shared machine are noisy; runs are
interleaved and the median of each is compared).

1. forward + backward of ``lib.losses.multilabel_ce`` vs
   ``torch.nn.functional.binary_cross_entropy_with_logits`` on (4096, 10000) and
   (64, 100000) float32 (goal: ratio <= 1.5; both are O(n)).
2. ``sparse_multilabel_ce`` (positives as indices) vs ``multilabel_ce`` (dense 0/1 targets)
   at 1e5 and 1e6 labels with 10 positives per row: time, and the peak memory of the whole
   computation *including the target tensor the dense loss needs* (measured in a fresh
   subprocess: growth of the resident set's high-water mark, Linux ``/proc``).

Usage: ``.venv/bin/python benchmarks/multilabel_ce.py [--repeats 7] [--threads 1]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lib.losses import multilabel_ce, soft_multilabel_ce, sparse_multilabel_ce  # noqa: E402


def _fwd_bwd(fn, x, *args):
    x.grad = None
    t0 = time.perf_counter()
    fn(x, *args).backward()
    return time.perf_counter() - t0


def _interleaved(cases: dict, repeats: int) -> dict[str, float]:
    """Median time of each case; the cases take turns so that load drifts hit all alike."""
    times = {k: [] for k in cases}
    for fn, args in cases.values():  # warm-up
        fn(*args)
    for _ in range(repeats):
        for k, (fn, args) in cases.items():
            times[k].append(fn(*args))
    return {k: statistics.median(v) for k, v in times.items()}


def dense_vs_bce(shape, repeats: int, density: float = 0.01) -> dict[str, float]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(*shape, generator=g).requires_grad_()
    y = (torch.rand(*shape, generator=g) < density).float()
    cases = {
        "bce_with_logits": (_fwd_bwd, (F.binary_cross_entropy_with_logits, x, y)),
        "multilabel_ce": (_fwd_bwd, (multilabel_ce, x, y)),
        "multilabel_ce (bool targets)": (_fwd_bwd, (multilabel_ce, x, y.bool())),
        "soft_multilabel_ce": (_fwd_bwd, (soft_multilabel_ce, x, y)),
    }
    return _interleaved(cases, repeats)


def _sparse_inputs(rows: int, labels: int, positives: int):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(rows, labels, generator=g).requires_grad_()
    idx = torch.stack([torch.randperm(labels, generator=g)[:positives] for _ in range(rows)])
    return x, idx


def _dense_from_index(x, idx):
    """What a dense caller has to do: build the 0/1 target tensor, then call the loss."""
    y = torch.zeros(x.shape, dtype=torch.bool).scatter_(-1, idx, True)
    return multilabel_ce(x, y)


def sparse_vs_dense_time(rows, labels, positives, repeats) -> dict[str, float]:
    x, idx = _sparse_inputs(rows, labels, positives)
    cases = {
        "dense (build targets + multilabel_ce)": (_fwd_bwd, (_dense_from_index, x, idx)),
        "sparse_multilabel_ce": (_fwd_bwd, (sparse_multilabel_ce, x, idx)),
    }
    return _interleaved(cases, repeats)


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
    if mode == "dense":
        y = torch.zeros(x.shape, dtype=torch.float32).scatter_(-1, idx, 1.0)  # float 0/1 targets
        multilabel_ce(x, y).backward()
    elif mode == "dense-bool":
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.child:
        mode, rows, labels, positives = a.child
        _peak_rss_child(mode, int(rows), int(labels), int(positives))
        return
    print(f"torch {torch.__version__}, {a.threads} thread(s), median of {a.repeats} interleaved runs\n")
    print("1. forward+backward, float32, 1% positives; ratio to BCE-with-logits (goal <= 1.5)")
    for shape in [(4096, 10_000), (64, 100_000)]:
        t = dense_vs_bce(shape, a.repeats)
        base = t["bce_with_logits"]
        for k, v in t.items():
            print(f"   {str(shape):>14s}  {k:30s} {v * 1e3:9.1f} ms   ratio {v / base:5.2f}")
    print("\n2. sparse (indices) vs dense (0/1 targets), 10 positives per row, float32")
    for rows, labels in [(64, 100_000), (16, 1_000_000)]:
        t = sparse_vs_dense_time(rows, labels, 10, a.repeats)
        dense = t["dense (build targets + multilabel_ce)"]
        for k, v in t.items():
            print(f"   ({rows}, {labels:>9,d})  {k:40s} {v * 1e3:9.1f} ms   ratio {v / dense:5.2f}")
        for mode in ("dense", "dense-bool", "sparse"):
            m = peak_memory(mode, rows, labels, 10)
            print(
                f"   ({rows}, {labels:>9,d})  peak extra memory, {mode:10s} {m['extra_mib']:8.0f} MiB"
                f"  = {m['extra_mib'] / m['logits_mib']:4.1f} x logits"
            )


if __name__ == "__main__":
    main()
