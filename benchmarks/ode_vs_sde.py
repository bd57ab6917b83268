"""Score evaluations to reach equal accuracy: probability-flow ODE (Heun) vs reverse SDE (EM).

Chapter: probability-flow-ode (kexue.fm/archives/9228), section "What the ODE buys".

Set-up: the 1-D Gaussian mixture of the chapter, VP-linear schedule, both samplers start from
the *exact* p_T (stratified: x_T = F_T^{-1}((i - 1/2)/N), the same points for both) and use
the exact score on the same quadratic time grid. For each number of steps K the script
measures the exact Wasserstein-1 distance of the N output points to p_0 and counts score
evaluations (Heun: 2 per step; Euler-Maruyama: 1 per step). For each W1 target it reports the
fewest evaluations after which each sampler stays at or below the target, and their ratio.

The SDE's output is random, so its W1 cannot go below the Monte Carlo floor of an N-point
sample (printed; a target below 3x that floor is flagged and its count is not trusted). The ODE
is deterministic and, from stratified starts, has no such floor. Finally the script fits
power laws W1 ~ c * evals^-p to each curve (ODE: its last five points; SDE: its points above
3x the floor) and prints the ratio they *extrapolate* to at smaller targets, marked as such.

Run: ``.venv/bin/python benchmarks/ode_vs_sde.py [--n 500000] [--seed 0]`` (about two CPU
minutes at the default size).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from lib.generative import (
    GaussianMixture,
    VPLinear,
    marginal,
    reverse_sample,
    score_evaluations,
    wasserstein1,
)

W, MU, SD = [0.3, 0.5, 0.2], [-2.0, 0.5, 3.0], [0.3, 0.6, 0.4]
ODE_STEPS = [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32]
SDE_STEPS = [4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384]
TARGETS = [0.1, 0.05, 0.03, 0.02, 0.01, 0.0075]


def curve(x_T, gmm, sched, lam, scheme, steps, rng):
    rows = []
    for k in steps:
        x0 = reverse_sample(x_T, gmm, sched, lam, k, rng, scheme=scheme)
        rows.append((score_evaluations(k, scheme), wasserstein1(x0, gmm)))
    return rows


def evaluations_to_reach(rows, target):
    """Fewest evaluations after which W1 stays <= target (None if never)."""
    best = None
    for nfe, w1 in reversed(rows):
        if w1 > target:
            break
        best = nfe
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500_000, help="points per run")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    n, rng = args.n, np.random.default_rng(args.seed)

    gmm = GaussianMixture(W, MU, np.array(SD) ** 2)
    sched = VPLinear()
    x_T = marginal(gmm, sched, 1.0).icdf((np.arange(n) + 0.5) / n)

    t0 = time.process_time()
    floor = [wasserstein1(gmm.sample(n, rng), gmm) for _ in range(5)]
    ode = curve(x_T, gmm, sched, 0.0, "heun", ODE_STEPS, rng)
    t1 = time.process_time()
    sde = curve(x_T, gmm, sched, 1.0, "euler_maruyama", SDE_STEPS, rng)
    t2 = time.process_time()

    print(f"1-D mixture, VP-linear, exact p_T start, quadratic grid, N = {n}, seed {args.seed}")
    print(f"W1 of an exact i.i.d. N-sample (Monte Carlo floor), 5 draws: "
          f"mean {np.mean(floor):.4f}, max {np.max(floor):.4f}")
    print("\nODE (Heun)                      SDE (Euler-Maruyama)")
    print(f"{'evals':>6} {'W1':>10}                {'evals':>6} {'W1':>10}")
    for i in range(max(len(ode), len(sde))):
        left = f"{ode[i][0]:6d} {ode[i][1]:10.5f}" if i < len(ode) else " " * 17
        right = f"{sde[i][0]:6d} {sde[i][1]:10.5f}" if i < len(sde) else ""
        print(f"{left}                {right}")
    print(f"\n{'W1 target':>10} {'ODE evals':>10} {'SDE evals':>10} {'SDE/ODE':>8}")
    for target in TARGETS:
        a, b = evaluations_to_reach(ode, target), evaluations_to_reach(sde, target)
        ratio = f"{b / a:8.1f}" if a and b else "     n/a"
        floor_note = "  (< 3x MC floor)" if target < 3 * np.mean(floor) else ""
        print(f"{target:10.3f} {a!s:>10} {b!s:>10} {ratio}{floor_note}")
    ode_fit = np.polyfit(np.log([r[0] for r in ode[-5:]]), np.log([r[1] for r in ode[-5:]]), 1)
    usable = [r for r in sde if r[1] >= 3 * np.mean(floor)]
    sde_fit = np.polyfit(np.log([r[0] for r in usable]), np.log([r[1] for r in usable]), 1)
    print(f"\nfitted W1 ~ c * evals^-p:  ODE p = {-ode_fit[0]:.2f}   SDE p = {-sde_fit[0]:.2f} "
          f"(SDE fit on {len(usable)} points above 3x the floor)")
    print("extrapolated from the fits (NOT measured):")
    for target in [0.005, 0.002, 0.001]:
        a = math.exp((math.log(target) - ode_fit[1]) / ode_fit[0])
        b = math.exp((math.log(target) - sde_fit[1]) / sde_fit[0])
        print(f"  W1 {target:6.3f}: ODE ~{a:6.0f} evals, SDE ~{b:7.0f} evals, ratio ~{b / a:5.1f}")
    print(f"\nCPU time: ODE sweep {t1 - t0:.1f} s, SDE sweep {t2 - t1:.1f} s "
          f"(one process; ratios above are counts, not times)")


if __name__ == "__main__":
    main()
