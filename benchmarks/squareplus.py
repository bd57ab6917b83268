"""Benchmark: SquarePlus against SoftPlus on the CPU (chapter *SquarePlus*, 8833).

The paper behind the chapter motivates SquarePlus by speed: one square root instead of an
exponential and a logarithm. This script times, side by side in one run,

* ``lib.softmax.squareplus`` (the cancellation-free form the chapter uses),
* the textbook formula ``0.5 * (x + sqrt(x*x + b))`` (cancels for x << 0 in float32),
* ``torch.nn.functional.softplus`` (PyTorch's fused kernel),
* ``torch.logaddexp(x, 0)`` (SoftPlus without the linear cut-off at x > 20),

forward only and forward + backward, on float32 and float64 tensors with entries ~ N(0, 3^2).
Runs are interleaved and each function's median over the repeats is compared, so load on a
shared machine affects all of them alike. Ratios are time / time(softplus): below 1 means
faster than SoftPlus.

Usage: ``.venv/bin/python benchmarks/squareplus.py [--size 1000000] [--repeats 15] [--threads 1]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from lib.softmax import squareplus  # noqa: E402

B = 1.52382103  # the chapter's minimax b; any b > 0 costs the same


def naive(x):
    return 0.5 * (x + torch.sqrt(x * x + B))


FUNCTIONS = {
    "squareplus (lib, stable)": lambda x: squareplus(x, B),
    "squareplus (textbook)": naive,
    "softplus (F.softplus)": F.softplus,
    "softplus (logaddexp)": lambda x: torch.logaddexp(x, torch.zeros((), dtype=x.dtype)),
}


def time_once(fn, x, backward: bool) -> float:
    if backward:
        xr = x.detach().requires_grad_(True)
        t0 = time.perf_counter()
        fn(xr).sum().backward()
        return time.perf_counter() - t0
    t0 = time.perf_counter()
    fn(x)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    print(f"torch {torch.__version__}, {args.threads} thread(s), {args.size:,} elements, "
          f"median of {args.repeats} interleaved runs\n")
    for dtype in (torch.float32, torch.float64):
        x = 3 * torch.randn(args.size, generator=g, dtype=dtype)
        for backward in (False, True):
            times = {name: [] for name in FUNCTIONS}
            for fn in FUNCTIONS.values():  # warm-up
                time_once(fn, x, backward)
            for _ in range(args.repeats):
                for name, fn in FUNCTIONS.items():
                    times[name].append(time_once(fn, x, backward))
            med = {name: statistics.median(ts) for name, ts in times.items()}
            ref = med["softplus (F.softplus)"]
            mode = "forward + backward" if backward else "forward"
            print(f"{str(dtype).removeprefix('torch.')}, {mode}:")
            for name, t in med.items():
                print(f"  {name:26s} {1e3 * t:8.2f} ms   ratio to F.softplus {t / ref:5.2f}")
            print()


if __name__ == "__main__":
    main()
