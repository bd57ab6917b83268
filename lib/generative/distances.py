"""Distances of a 1-D sample to a Gaussian mixture: Kolmogorov-Smirnov and exact W1.

The sampler checks of the generative chapters (and ``benchmarks/ode_vs_sde.py``). The KS
statistic is SciPy's (``scipy.stats.kstest`` against the mixture's exact CDF); W1 is exact.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from lib import checks
from lib.generative.mixture import GaussianMixture

__all__ = [
    "ks_distance",
    "wasserstein1",
]


# ---------------------------------------------------------------------------------------------
# Distances of a 1-D sample to a mixture (both chapters' experiments; benchmarks/ode_vs_sde.py)
# ---------------------------------------------------------------------------------------------


def _sample_1d(samples, name: str = "samples") -> np.ndarray:
    x = checks.float64_array(samples, name)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"{name} must have shape (n,) or (n, 1), got {x.shape}")
    return np.sort(x)


def ks_distance(samples, gmm: GaussianMixture) -> float:
    """Kolmogorov-Smirnov distance ``sup_x |F_n(x) - F(x)|`` of a 1-D sample to the mixture
    (the sampler checks of reverse-time-sde and probability-flow-ode): SciPy's ``kstest``
    statistic against the mixture's exact CDF."""
    gmm._need_1d("ks_distance")
    x = _sample_1d(samples)
    return float(stats.kstest(x, gmm.cdf).statistic)


def wasserstein1(samples, gmm: GaussianMixture) -> float:
    """Exact Wasserstein-1 distance ``int |F_n(x) - F(x)| dx`` of a 1-D sample to the mixture
    (probability-flow-ode, "What the ODE buys"; ``benchmarks/ode_vs_sde.py``).

    Between consecutive order statistics ``F_n = i/n`` is constant and ``int F`` has the closed
    form ``sum_k w_k s_k psi((x - m_k)/s_k)``, ``psi(z) = z Phi(z) + phi(z)``; an interval where
    F crosses ``i/n`` is split at the quantile ``F^{-1}(i/n)``. No grid, no truncation.
    """
    gmm._need_1d("wasserstein1")
    x = _sample_1d(samples)
    n = x.size
    total = gmm._G(x[:1])[0] + gmm._G(x[-1:], upper=True)[0]
    if n == 1:
        return float(total)
    a, b = x[:-1], x[1:]
    c = np.arange(1, n) / n
    F = gmm.cdf(x)
    Fa, Fb = F[:-1], F[1:]
    Ga, Gb = gmm._G(a), gmm._G(b)
    below = Fb <= c
    above = (Fa >= c) & ~below
    cross = ~(below | above)
    total += np.sum(c[below] * (b - a)[below] - (Gb - Ga)[below])
    total += np.sum((Gb - Ga)[above] - c[above] * (b - a)[above])
    if np.any(cross):
        cc, ac, bc = c[cross], a[cross], b[cross]
        xs = np.clip(gmm.icdf(cc), ac, bc)
        Gs = gmm._G(xs)
        total += np.sum(cc * (xs - ac) - (Gs - Ga[cross]) + (Gb[cross] - Gs) - cc * (bc - xs))
    return float(total)
