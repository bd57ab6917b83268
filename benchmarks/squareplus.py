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

Table rows (``rows(quick)``, for ``tools/bench.py``): the library SquarePlus and the textbook
formula against ``F.softplus`` (the peer: PyTorch's built-in), forward and forward + backward,
float32 and float64. Goal 1.0 for every row, from the paper's claim (Barron 2021, quoted in the
chapter's section 5 "Is it faster?": "the paper's motivation is speed") that SquarePlus is
faster than SoftPlus on the CPU. The chapter reports that in eager PyTorch it is not (the
library form is several times slower; each elementwise operation is a separate pass over
memory), so the table is expected to say "not met": it records whether the paper's claim holds
for this implementation, not a property the book asserts. ``logaddexp`` is printed by ``main``
only.

Usage: ``.venv/bin/python benchmarks/squareplus.py [--quick] [--size 1000000] [--repeats 15]
[--threads 1]`` (``--quick``: 7 repeats, as ``rows(quick=True)``).
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


QUICK_REPEATS = 7
GOAL = 1.0  # the paper's claim: SquarePlus is faster than SoftPlus on the CPU
PEER = "softplus (F.softplus)"
OURS = {"squareplus (lib, stable)": "lib squareplus", "squareplus (textbook)": "textbook formula"}


def measure(dtype, backward: bool, size: int, repeats: int, seed: int = 0) -> dict[str, float]:
    """Median time of each function of FUNCTIONS, runs interleaved after one warm-up each."""
    g = torch.Generator().manual_seed(seed)
    x = 3 * torch.randn(size, generator=g, dtype=dtype)
    times = {name: [] for name in FUNCTIONS}
    for fn in FUNCTIONS.values():  # warm-up
        time_once(fn, x, backward)
    for _ in range(repeats):
        for name, fn in FUNCTIONS.items():
            times[name].append(time_once(fn, x, backward))
    return {name: statistics.median(ts) for name, ts in times.items()}


def rows(quick: bool = False) -> list[dict]:
    """Benchmark-table rows: time / time(F.softplus) of the two SquarePlus forms."""
    size, repeats = 1_000_000, QUICK_REPEATS if quick else 15
    out = []
    for dtype in (torch.float32, torch.float64):
        for backward in (False, True):
            med = measure(dtype, backward, size, repeats)
            mode = "forward + backward" if backward else "forward"
            for name, label in OURS.items():
                ratio = med[name] / med[PEER]
                out.append({"benchmark": "squareplus",
                            "case": f"{label}, {str(dtype).removeprefix('torch.')}, {mode}, "
                                    f"1e6 elements",
                            "peer": "F.softplus", "ratio": ratio, "goal": GOAL,
                            "met": ratio <= GOAL})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help=f"{QUICK_REPEATS} repeats unless --repeats")
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=None, help="default 15")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    repeats = args.repeats or (QUICK_REPEATS if args.quick else 15)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), {args.size:,} elements, "
          f"median of {repeats} interleaved runs\n")
    for dtype in (torch.float32, torch.float64):
        for backward in (False, True):
            med = measure(dtype, backward, args.size, repeats)
            ref = med[PEER]
            mode = "forward + backward" if backward else "forward"
            print(f"{str(dtype).removeprefix('torch.')}, {mode}:")
            for name, t in med.items():
                print(f"  {name:26s} {1e3 * t:8.2f} ms   ratio to F.softplus {t / ref:5.2f}")
            print()


if __name__ == "__main__":
    main()
