"""The article's table of RoPE base lower bounds (kexue.fm/archives/10122), d = 128, float64.

For L = 1k ... 1M (1k = 1024) this prints, per L: the article's nested-grid search
(``lib.transformers.base_lower_bound``) and its time, the certified continuous infimum
(``lib.transformers.certified_base_infimum``, with ``--certify``) and its time, the article's two
rows beside them, and whether the paper's value is feasible at all. It also times a plain
vectorised NumPy implementation of the same search side by side with the library's at
small L, and prints the ratio.

    .venv/bin/python benchmarks/rope_bound.py                 # the search, 1k .. 1M
    .venv/bin/python benchmarks/rope_bound.py --certify --write-data   # + data/ file

Not a test (see benchmarks/README.md); the chapter reads the values written by
``--write-data`` and tests/test_rope.py re-verifies them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from lib import transformers  # noqa: E402

# The article's table (d = 128): the paper's row as quoted by Su ("原文") and Su's ("本文").
LABELS = ["1k", "2k", "4k", "8k", "16k", "32k", "64k", "128k", "256k", "512k", "1M"]
PAPER = [4.3e3, 1.6e4, 2.7e4, 8.4e4, 3.1e5, 6.4e5, 2.1e6, 7.8e6, 3.6e7, 6.4e7, 5.1e8]
SU = [4.3e3, 1.2e4, 2.7e4, 8.4e4, 2.3e5, 6.3e5, 2.1e6, 4.9e6, 2.4e7, 5.8e7, 6.5e7]


def round_sig(x: float, n: int = 2) -> float:
    return float(f"{x:.{n - 1}e}")


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
    ap.add_argument("--max-k", type=int, default=1024, help="largest L in units of 1024")
    ap.add_argument("--certify", action="store_true", help="also the certified infimum")
    ap.add_argument("--write-data", action="store_true", help="write data/rope_base_bounds.json")
    ap.add_argument("--no-baseline", action="store_true", help="skip the plain NumPy timing")
    args = ap.parse_args()
    torch.set_num_threads(1)
    d = 128
    info = machine()
    print(f"# {info['cpu']} | {info['cpus']} CPUs | load {info['load_average_at_start']}")
    print("# d = 128, float64, 1k = 1024, one torch thread\n")

    baseline = []
    if not args.no_baseline:
        # 4 stages: the plain version needs ~200 s for the 5-stage search at L = 1k
        print("side by side: the article's search (4 stages), plain vectorised NumPy vs lib.transformers")
        for L in (1024, 2048):
            t0 = time.perf_counter()
            b_plain = plain_numpy_search(L, d, stages=4)
            t1 = time.perf_counter()
            b_lib = transformers.su_grid_search(L, d, stages=4)[-1]
            t2 = time.perf_counter()
            same = "same value" if b_plain == b_lib else "DIFFERENT"
            baseline.append(
                {
                    "L": L,
                    "stages": 4,
                    "plain_numpy_seconds": round(t1 - t0, 2),
                    "lib_seconds": round(t2 - t1, 3),
                    "ratio": (t1 - t0) / (t2 - t1),
                    "same_value": b_plain == b_lib,
                }
            )
            print(
                f"  L={L:5d}: plain {t1 - t0:6.2f} s, lib {t2 - t1:5.2f} s, "
                f"ratio {(t1 - t0) / (t2 - t1):5.1f}x ({same}: {b_lib:.6g})"
            )
        print()

    head = (
        f"{'L':>5} {'search':>13} {'2 s.f.':>7} {'Su':>7} {'paper':>7} {'time':>7}"
        f" {'min f':>9} {'paper feas.':>11}"
    )
    if args.certify:
        head += f" {'certified infimum':>19} {'time':>7}"
    print(head)
    rows, total, total_128k = [], 0.0, None
    for label, paper, su in zip(LABELS, PAPER, SU, strict=True):
        k = int(label[:-1]) * (1024 if label.endswith("M") else 1)
        if k > args.max_k:
            break
        L = 1024 * k
        t0 = time.perf_counter()
        stages = transformers.su_grid_search(L, d)
        t_search = time.perf_counter() - t0
        total += t_search
        b = stages[-1]
        fmin, argmin = transformers.cos_sum_min(b, L, d)
        fn_paper = transformers.first_negative(paper, L, d)
        row = {
            "L": L,
            "label": label,
            "su_grid_float64": b,
            "su_grid_stages": stages,
            "su_grid_seconds": round(t_search, 2),
            "min_f_at_su_grid": fmin,
            "argmin_m_at_su_grid": argmin,
            "article_su": su,
            "article_paper": paper,
            "paper_value_first_negative": fn_paper,
        }
        line = (
            f"{label:>5} {b:13.6e} {round_sig(b):7.1e} {su:7.1e} {paper:7.1e} {t_search:6.2f}s"
            f" {fmin:9.2e} {'yes' if fn_paper == L else f'no (m={fn_paper})':>11}"
        )
        if args.certify:
            t0 = time.perf_counter()
            cert = transformers.certified_base_infimum(L, d)
            t_cert = time.perf_counter() - t0
            cert["seconds"] = round(t_cert, 2)
            row["certified"] = cert
            line += f" {cert['b_lo']:19.12e} {t_cert:6.1f}s"
        rows.append(row)
        print(line, flush=True)
        if k == 128:
            total_128k = total
            print(f"{'':>5} cumulative search time 1k-128k: {total:.1f} s")
    print(f"cumulative search time 1k-{rows[-1]['label']}: {total:.1f} s")

    if args.write_data:
        if not args.certify or len(rows) < len(LABELS):
            sys.exit("--write-data needs --certify and the full range")
        out = {
            "description": (
                "Lower bounds on the RoPE base (kexue.fm/archives/10122), d = 128, 1k = 1024, "
                "float64. su_grid_float64: the article's nested-grid search "
                "(lib.transformers.su_grid_search, 5 stages); certified: the continuous infimum "
                "bracket [b_lo, b_hi] of lib.transformers.certified_base_infimum (every base in "
                "[1, b_lo) refuted, b_hi feasible)."
            ),
            "provenance": {
                "script": "benchmarks/rope_bound.py",
                "command": ".venv/bin/python benchmarks/rope_bound.py --certify --write-data",
                "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "machine": info,
                "versions": {
                    "python": platform.python_version(),
                    "numpy": np.__version__,
                    "torch": torch.__version__,
                },
            },
            "settings": {"d": d, "dtype": "float64", "stages": 5, "rel_gap": 1e-12},
            "timing": {
                "search_seconds_1k_128k": round(total_128k, 2),
                "search_seconds_1k_1M": round(total, 2),
                "plain_numpy_vs_lib": baseline,
                "note": "wall-clock seconds on a shared 2-CPU machine, one thread",
            },
            "rows": rows,
        }
        path = ROOT / "data" / "rope_base_bounds.json"
        path.write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
