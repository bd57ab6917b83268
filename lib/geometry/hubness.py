"""Hubness: the collapsing ball, k-occurrence counts and the hub filter for GAN latents
(chapter geometry/hubness, kexue.fm/archives/9147; Liang et al., ICML 2022).

* :func:`ball_to_cube_ratio` -- ``V_n / 2^n``, the unit ball's share of its circumscribed cube,
  in log space so that any dimension is finite;
* :func:`k_occurrence` -- the "hub value" ``N_k(x_i)``: how many other points list ``x_i``
  among their ``k`` nearest neighbours (row blocks, never an ``N x N`` matrix);
* :func:`expected_k_occurrence` -- the exact conditional mean ``E[N_k | ||x|| = rho]`` for
  standard normal data, by two-dimensional quadrature, and :func:`probit_hub_limit`, its
  closed-form large-dimension approximation;
* :func:`norm_bin_residuals` -- simulated counts minus that formula, averaged in norm bins;
* :func:`chi_norm_average` -- ``E[f(|x|)]`` for ``x ~ N(0, I_d)``, to average the above over norms;
* :func:`skewness`, :func:`top_share` -- two summaries of how unequal the counts are;
* :func:`hub_filter` -- keep the latents whose hub value exceeds ``t`` (the article's sampler);
* :func:`plot_ball_collapse`, :func:`plot_dimension_study`, :func:`plot_hub_norm` -- the
  chapter's figures.

Conventions (contract ``shared/contracts/geometry.md``): NumPy in, NumPy out; array inputs are
anything ``numpy.asarray`` accepts (CPU torch tensors included), computed in float64; counts are
int64. Bad input raises ``ValueError`` naming the argument. No global state; the only randomness
is inside the caller's ``sample_fn``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import special, stats

from lib import checks

__all__ = [
    "ball_to_cube_ratio",
    "k_occurrence",
    "expected_k_occurrence",
    "probit_hub_limit",
    "norm_bin_residuals",
    "chi_norm_average",
    "skewness",
    "top_share",
    "hub_filter",
    "plot_ball_collapse",
    "plot_dimension_study",
    "plot_hub_norm",
]


def ball_to_cube_ratio(n, log: bool = False):
    r"""``V_n / 2^n = pi^(n/2) / (Gamma(n/2 + 1) 2^n)``, the volume of the unit ``n``-ball over
    that of the cube ``[-1, 1]^n`` (chapter *Hubness*, eq. ``eq-hubness-ratio``).

    Computed as ``exp(n/2 log pi - gammaln(n/2 + 1) - n log 2)``; ``log=True`` returns the
    natural logarithm, finite for any ``n`` (the ratio itself underflows to 0 beyond
    ``n ~ 1100``). ``n``: a positive integer (returns a float) or a 1-D integer array (returns
    a float64 array). ``ValueError`` for ``n < 1``, non-integers (``2.5``, floats, bools).
    """
    if np.ndim(n) == 0:
        nn = np.float64(checks.integer(n, "n", minimum=1))
    else:
        arr = np.asarray(n)
        if arr.ndim != 1 or arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"n must be a positive integer or a 1-D integer array, got {arr.dtype} "
                             f"of shape {arr.shape}")
        if arr.size and arr.min() < 1:
            raise ValueError(f"n must be >= 1, got min {arr.min()}")
        nn = arr.astype(np.float64)
    logr = nn / 2 * math.log(math.pi) - special.gammaln(nn / 2 + 1) - nn * math.log(2.0)
    out = logr if log else np.exp(logr)
    return float(out) if np.ndim(out) == 0 else out


def _points(X, name: str = "X") -> np.ndarray:
    arr = checks.float64_array(X, name)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows are points), got shape {arr.shape}")
    return arr


def k_occurrence(X, k: int, chunk: int = 1000) -> np.ndarray:
    r"""Hub values ``N_k(x_i) = #{j != i : x_i in kNN(x_j)}`` under the Euclidean distance
    (chapter *Hubness*, eq. ``eq-hubness-nk``); int64 array of length ``N``.

    A point is never its own neighbour, so ``N_k.sum() == N * k``. Squared distances come from
    ``|a|^2 + |b|^2 - 2 a.b`` (clipped at 0) after centring and rescaling ``X`` (kNN lists do
    not change; the cancellation and overflow do), ``chunk`` query rows at a time; the k
    nearest are picked by ``torch.topk`` (a partial selection; ties: its deterministic choice;
    unlike ``np.argpartition`` it allocates only the k indices per row). ``ValueError``
    for ``k`` not an integer in ``[1, N - 1]``, ``chunk < 1``, ``X`` not 2-D or not finite.
    """
    X = _points(X)
    n = X.shape[0]
    if n < 2:
        raise ValueError(f"X needs at least 2 rows, got {n}")
    k = checks.integer(k, "k", minimum=1, maximum=n - 1)
    chunk = checks.integer(chunk, "chunk", minimum=1)
    Xc = X - X.mean(axis=0)
    scale = np.abs(Xc).max()
    if scale > 0:
        Xc = Xc / scale
    sq = np.einsum("ij,ij->i", Xc, Xc)
    counts = np.zeros(n, dtype=np.int64)
    buf = np.empty((min(chunk, n), n))  # one block of squared distances, reused
    for start in range(0, n, chunk):
        q = Xc[start:start + chunk]
        m = q.shape[0]
        d2 = np.matmul(q, Xc.T, out=buf[:m])
        d2 *= -2.0
        d2 += sq[start:start + m, None]
        d2 += sq[None, :]
        np.maximum(d2, 0.0, out=d2)
        d2[np.arange(m), start + np.arange(m)] = np.inf  # never one's own neighbour
        nearest = torch.topk(torch.from_numpy(d2), k, dim=1, largest=False, sorted=False).indices
        counts += np.bincount(nearest.numpy().ravel(), minlength=n)
    return counts


def expected_k_occurrence(rho, d: int, n_points: int, k: int, *, n_y: int = 161,
                          n_s: int = 24) -> np.ndarray:
    r"""``E[N_k(x) | ||x|| = rho]`` for ``n_points`` i.i.d. ``N(0, I_d)`` points (chapter
    *Hubness*, eq. ``eq-hubness-exact``):

    ``(N - 1) E_y[ BinomCDF(k - 1; N - 2, F_{d, |y|^2}(|x - y|^2)) ]``, where ``F_{d, lam}`` is
    the non-central chi-square CDF: given the query ``y``, each of the other ``N - 2`` points is
    closer to it than ``x`` independently with probability ``F``. Writing ``y = y1 e + y_perp``
    (``e = x / rho``), ``y1 ~ N(0, 1)`` and ``S = |y_perp|^2 ~ chi^2_{d-1}``; the ``y1``
    integral uses the trapezoid rule on ``n_y`` points of ``[-8, 8]``, the ``S`` integral
    ``n_s``-point Gauss-Hermite quadrature after mapping ``S`` to a standard normal variable
    through its CDF. Exact up to quadrature: with the defaults, averaging over ``|x| ~ chi_d``
    returns ``k`` to ~1e-11 relative for ``d >= 50`` and ~1e-4 at ``d = 10``; a tiny ``d``
    (``< 5``) needs much larger ``n_y``, ``n_s``.
    ``rho``: non-negative scalar or array; returns float64 of its shape. ``ValueError`` for
    ``d < 2``, ``n_points < 2``, ``k`` outside ``[1, n_points - 1]``, negative ``rho``.
    """
    r = checks.float64_array(rho, "rho")
    if np.any(r < 0):
        raise ValueError("rho must be >= 0 (it is a norm)")
    d = checks.integer(d, "d", minimum=2)
    n_points = checks.integer(n_points, "n_points", minimum=2)
    k = checks.integer(k, "k", minimum=1, maximum=n_points - 1)
    n_y = checks.integer(n_y, "n_y", minimum=3)
    n_s = checks.integer(n_s, "n_s", minimum=1)
    y = np.linspace(-8.0, 8.0, n_y)
    wy = stats.norm.pdf(y) * (y[1] - y[0])
    wy[[0, -1]] /= 2
    v, wv = special.roots_hermitenorm(n_s)  # S = chi2 quantile of Phi(v), v ~ N(0, 1)
    s = np.where(v < 0, stats.chi2.ppf(stats.norm.cdf(v), d - 1),
                 stats.chi2.isf(stats.norm.sf(v), d - 1))
    w = (wy[:, None] * (wv / wv.sum())[None, :])[None]
    lam = (y[:, None] ** 2 + s[None, :])[None]
    flat = r.ravel()
    out = np.empty(flat.shape)
    for i in range(0, flat.size, 32):
        rr = flat[i:i + 32, None, None]
        f = stats.ncx2.cdf((rr - y[None, :, None]) ** 2 + s[None, None, :], d, lam)
        out[i:i + 32] = (stats.binom.cdf(k - 1, n_points - 2, f) * w).sum(axis=(1, 2))
    return (n_points - 1) * out.reshape(r.shape)


def probit_hub_limit(s, n_points: int, k: int) -> np.ndarray:
    r"""Large-``d`` closed form of :func:`expected_k_occurrence` (chapter *Hubness*, eq.
    ``eq-hubness-probit``): ``(N - 1) Phi(-sqrt(3/2) z - s / sqrt(2))`` with
    ``z = Phi^{-1}(1 - k / (N - 1))`` and ``s = (|x|^2 - d) / sqrt(2 d)`` the standardised squared
    norm. It replaces every query's k-th neighbour distance by its quantile; averaged over
    ``s ~ N(0, 1)`` it equals ``k`` exactly. ``ValueError`` for ``n_points < 2`` or ``k`` outside
    ``[1, n_points - 1]``, non-finite ``s``.
    """
    s = checks.float64_array(s, "s")
    n_points = checks.integer(n_points, "n_points", minimum=2)
    k = checks.integer(k, "k", minimum=1, maximum=n_points - 1)
    z = stats.norm.isf(k / (n_points - 1))
    return (n_points - 1) * stats.norm.cdf(-math.sqrt(1.5) * z - s / math.sqrt(2.0))


def norm_bin_residuals(clouds, d: int, n_points: int, k: int,
                       quantiles=(0.01, 0.05, 0.2, 0.5), n_grid: int = 60) -> dict:
    r"""Compare simulated hub values with :func:`expected_k_occurrence` in norm bins (chapter
    *Hubness*, section 4.2). ``clouds``: a list of ``(counts, norms)`` pairs, one per cloud of
    ``n_points`` ``N(0, I_d)`` points. The formula is evaluated on ``n_grid`` norms spanning all
    clouds and interpolated in log space; bins are cut at the ``quantiles`` of ``chi_d``.
    Returns ``"diff"`` (clouds x bins: mean of count minus prediction per bin), ``"pred_first"``
    (per cloud, mean prediction in the first bin), and the pooled ``"norms"``, ``"counts"``,
    ``"grid"``, ``"expected"`` (the formula on the grid). ``ValueError`` for no clouds, or
    quantiles not increasing in ``(0, 1)``.
    """
    if len(clouds) == 0:
        raise ValueError("clouds must hold at least one (counts, norms) pair")
    q = np.asarray(quantiles, dtype=np.float64)
    if q.ndim != 1 or np.any(q <= 0) or np.any(q >= 1) or np.any(np.diff(q) <= 0):
        raise ValueError("quantiles must increase strictly inside (0, 1)")
    allr = np.concatenate([_sample(r, "norms") for _, r in clouds])
    grid = np.linspace(allr.min(), allr.max(), checks.integer(n_grid, "n_grid", minimum=2))
    log_e = np.log(expected_k_occurrence(grid, d, n_points, k))
    edges = np.sqrt(stats.chi2.ppf(q, d))
    diffs, first = [], []
    for cnt, r in clouds:
        pred, b = np.exp(np.interp(r, grid, log_e)), np.digitize(r, edges)
        diffs.append([(cnt[b == i] - pred[b == i]).mean() for i in range(q.size + 1)])
        first.append(pred[b == 0].mean())
    return {"diff": np.array(diffs), "pred_first": np.array(first), "norms": allr,
            "counts": np.concatenate([c for c, _ in clouds]), "grid": grid,
            "expected": np.exp(log_e)}


def chi_norm_average(f, d: int, nodes: int = 64) -> float:
    r"""``E[f(R)]`` for ``R = |x|``, ``x ~ N(0, I_d)`` (so ``R^2 ~ chi^2_d``), by ``nodes``-point
    Gauss-Legendre quadrature on ``[max(0, sqrt(d) - 7), sqrt(d) + 7]`` (about ten standard
    deviations of ``R`` each side; chapter *Hubness*, the check that eq. ``eq-hubness-exact``
    averages to ``k``). ``f``: vectorised, array of norms in, array out. ``ValueError`` for
    ``f`` not callable, ``d < 1`` or ``nodes < 1``.
    """
    if not callable(f):
        raise ValueError(f"f must be callable, got {type(f).__name__}")
    d = checks.integer(d, "d", minimum=1)
    nodes = checks.integer(nodes, "nodes", minimum=1)
    u, w = special.roots_legendre(nodes)
    lo, hi = max(0.0, math.sqrt(d) - 7), math.sqrt(d) + 7
    r = (u + 1) / 2 * (hi - lo) + lo
    return float((f(r) * w * (hi - lo) / 2 * stats.chi2.pdf(r * r, d) * 2 * r).sum())


def _sample(x, name: str) -> np.ndarray:
    arr = checks.float64_array(x, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return arr


def skewness(x) -> float:
    r"""Sample skewness ``m3 / m2^(3/2)`` with ``1/n`` central moments (= ``scipy.stats.skew(x)``,
    ``bias=True``; chapter *Hubness*, the hubness statistic). ``ValueError`` for ``x`` not 1-D,
    fewer than 2 values, or zero variance (``m2 <= (1e-15 * mean)^2``, SciPy's criterion).
    """
    x = _sample(x, "x")
    if x.size < 2:
        raise ValueError(f"x needs at least 2 values, got {x.size}")
    mu = x.mean()
    dev = x - mu
    m2 = np.mean(dev**2)
    if m2 == 0 or m2 <= (1e-15 * mu) ** 2:
        raise ValueError("x has zero variance: its skewness is undefined")
    return float(np.mean(dev**3) / m2**1.5)


def top_share(x, fraction: float = 0.2) -> float:
    r"""Share of ``sum(x)`` held by the ``ceil(fraction * n)`` largest entries of a non-negative
    1-D ``x`` (chapter *Hubness*: the "80/20" reading of hub values; 0.2 for equal entries).
    ``ValueError`` for negative entries, a zero total, ``fraction`` outside ``(0, 1]``.
    """
    x = _sample(x, "x")
    fraction = checks.real(fraction, "fraction", low=0.0, high=1.0, low_open=True)
    if x.size == 0 or np.any(x < 0) or x.sum() <= 0:
        raise ValueError("x must be non-empty and non-negative with a positive sum")
    m = max(1, math.ceil(fraction * x.size - 1e-9))
    return float(np.sort(x)[::-1][:m].sum() / x.sum())


def hub_filter(sample_fn, size: int, k: int = 5, t: float = 50, batch: int = 10000,
               max_rounds: int = 1000) -> np.ndarray:
    r"""The article's hub-value sampler (chapter *Hubness*, section "The hub filter"): repeat
    ``Z = sample_fn(batch)`` (a ``(batch, d)`` array), keep in order the rows with
    ``k_occurrence(Z, k) > t`` (**strict**, as in the article's code; each batch scored on its
    own) and append them; once ``size`` rows are collected return the first ``size``
    (float64, ``(size, d)``). ``RuntimeError`` after ``max_rounds`` rounds without enough rows.
    ``ValueError`` for ``size < 1``, ``batch < 2``, ``k`` outside ``[1, batch - 1]``, a
    non-finite ``t``, ``sample_fn`` not callable or returning the wrong shape.
    """
    if not callable(sample_fn):
        raise ValueError(f"sample_fn must be callable, got {type(sample_fn).__name__}")
    size = checks.integer(size, "size", minimum=1)
    batch = checks.integer(batch, "batch", minimum=2)
    k = checks.integer(k, "k", minimum=1, maximum=batch - 1)
    t = checks.real(t, "t")
    max_rounds = checks.integer(max_rounds, "max_rounds", minimum=1)
    kept, total, dim = [], 0, None
    for _ in range(max_rounds):
        Z = checks.float64_array(sample_fn(batch), "sample_fn output")
        if Z.ndim != 2 or Z.shape[0] != batch or (dim is not None and Z.shape[1] != dim):
            want = f"({batch}, {'d' if dim is None else dim})"
            raise ValueError(f"sample_fn must return a {want} array, got shape {Z.shape}")
        dim = Z.shape[1]
        z = Z[k_occurrence(Z, k) > t]
        kept.append(z)
        total += z.shape[0]
        if total >= size:
            return np.concatenate(kept, axis=0)[:size]
    raise RuntimeError(f"hub_filter: only {total} of {size} rows after max_rounds={max_rounds} "
                       f"rounds (lower t or raise max_rounds)")


def plot_ball_collapse(accepted, n_samples: int):
    r"""The figure of chapter *Hubness*, section 1 (``fig-hubness-ball``): left, ``V_n / 2^n``
    for ``n <= 100`` (line) and the measured acceptance rates ``accepted[n - 1] / n_samples`` of
    rejection sampling for ``n = 1..len(accepted)`` with 4 binomial standard errors; right, the
    volume share ``rho^n`` within radius ``rho`` for ``n`` = 2, 10, 100. Returns the figure.
    ``ValueError`` for ``accepted`` not 1-D or ``n_samples < 1``.
    """
    import matplotlib.pyplot as plt

    from lib.stats import proportion_se

    acc = _sample(accepted, "accepted")
    n_samples = checks.integer(n_samples, "n_samples", minimum=1)
    ns = np.arange(1, acc.size + 1)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
    nn = np.arange(1, 101)
    a1.semilogy(nn, ball_to_cube_ratio(nn), label=r"$V_n/2^n$")
    a1.errorbar(ns, acc / n_samples, yerr=4 * proportion_se(ball_to_cube_ratio(ns), n_samples),
                fmt="o", ms=4, label="rejection sampling")
    a1.set(xlabel="dimension $n$", ylabel="share of the cube")
    rho = np.linspace(0, 1, 200)
    for dim in (2, 10, 100):
        a2.plot(rho, rho**dim, label=f"$n={dim}$")
    a2.set(xlabel=r"radius $\varrho$", ylabel=r"volume share within $\varrho$")
    a1.legend()
    a2.legend()
    return fig


def plot_dimension_study(runs: dict, pooled: dict):
    r"""The four-panel figure of chapter *Hubness*, section 4.1-4.2 (``fig-hubness-dimension``).

    ``runs``: ``{d: [(counts, norms), ...]}``, one pair per cloud (same number of clouds for
    every ``d``); ``pooled``: ``{d: (norms, counts, grid, expected)}`` with ``expected`` the
    values of :func:`expected_k_occurrence` on ``grid``. Panels: histograms of the counts of the
    first cloud for ``d`` in 2, 10, 50, 200 (those present); skewness per cloud and its median;
    top-20% share and never-named share (mean, 2 standard errors); binned mean count against the
    standardised squared norm, with the formula as lines. Returns the matplotlib figure.
    ``ValueError`` for an empty ``runs``.
    """
    import matplotlib.pyplot as plt

    from lib.stats import mean_se

    if not runs:
        raise ValueError("runs must hold at least one dimension")
    dims = sorted(runs)
    seeds = len(runs[dims[0]])
    skew = {d: [skewness(c) for c, _ in runs[d]] for d in dims}
    share = {"top-20% share": {d: mean_se(np.array([top_share(c) for c, _ in runs[d]]))
                               for d in dims},
             "never named": {d: mean_se(np.array([(c == 0).mean() for c, _ in runs[d]]))
                             for d in dims}}
    fig, ((a1, a2), (a3, a4)) = plt.subplots(2, 2, figsize=(9, 6.6))
    for d in (d for d in (2, 10, 50, 200) if d in runs):
        cnt = runs[d][0][0]
        a1.hist(cnt, bins=np.arange(0, cnt.max() + 5, 5), histtype="step", label=f"$d={d}$")
    a1.set(yscale="log", xlabel="$N_k$", ylabel="points")
    jitter = np.random.default_rng(0)  # horizontal jitter of the dots only
    for d in dims:
        a2.plot(np.full(seeds, d) * np.exp(jitter.uniform(-0.08, 0.08, seeds)), skew[d], ".",
                color="C0", alpha=0.5)
    a2.plot(dims, [np.median(skew[d]) for d in dims], "-", color="C0",
            label=f"median of {seeds} clouds")
    a2.set(xscale="log", xlabel="dimension $d$", ylabel="skewness of $N_k$")
    for lab, ms in share.items():
        a3.errorbar(dims, [ms[d][0] for d in dims], yerr=[2 * ms[d][1] for d in dims],
                    fmt="o-", ms=4, label=lab)
    a3.axhline(0.8, color="grey", ls=":", lw=1)
    a3.set(xscale="log", xlabel="dimension $d$", ylabel="share")
    for j, (d, (r, cnt, grid, expected)) in enumerate(pooled.items()):
        sd, sg = (r**2 - d) / math.sqrt(2 * d), (grid**2 - d) / math.sqrt(2 * d)
        b = np.digitize(sd, np.quantile(sd, np.linspace(0, 1, 21)[1:-1]))
        a4.plot([sd[b == i].mean() for i in range(20)], [cnt[b == i].mean() for i in range(20)],
                "o", ms=4, color=f"C{j}", label=f"$d={d}$")
        a4.plot(sg, expected, "-", color=f"C{j}", lw=1)
    a4.set(yscale="log", xlim=(-3.5, 3.5), ylim=(0.05, 400),
           xlabel="standardised squared norm $s$", ylabel="mean $N_k$")
    for ax in (a1, a2, a3, a4):
        ax.legend()
    fig.tight_layout()
    return fig


def plot_hub_norm(norms, counts, t: float, d: int, n_points: int, k: int):
    r"""Hub value (plus one, log scale) against the norm for one batch of ``n_points`` standard
    normal latents (chapter *Hubness*, section 4.3, ``fig-hubness-norm``), with
    :func:`expected_k_occurrence` (solid), :func:`probit_hub_limit` (dashed) and the filter
    threshold ``t`` (dotted); the latents with ``counts > t`` are highlighted. ``d``: the
    dimension. Returns the matplotlib figure. ``ValueError`` for arrays of different lengths.
    """
    import matplotlib.pyplot as plt

    rho, c = _sample(norms, "norms"), _sample(counts, "counts")
    if rho.shape != c.shape:
        raise ValueError(f"counts must have the shape of norms {rho.shape}, got {c.shape}")
    d = checks.integer(d, "d", minimum=2)
    hubs = c > t
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.scatter(rho[~hubs], c[~hubs] + 1, s=3, alpha=0.3, label="latents")
    ax.scatter(rho[hubs], c[hubs] + 1, s=6, color="C1", label=f"kept: $N_{k} > {t:g}$")
    rg = np.linspace(rho.min(), rho.max(), 80)
    ax.plot(rg, expected_k_occurrence(rg, d, n_points, k) + 1, "k-", label="Eq. (exact)")
    ax.plot(rg, probit_hub_limit((rg**2 - d) / math.sqrt(2 * d), n_points, k) + 1, "k--",
            label="probit limit")
    ax.axhline(t + 1, color="grey", ls=":")
    ax.set(yscale="log", xlabel=r"$\|z\|$", ylabel=f"$N_{k} + 1$")
    ax.legend()
    return fig
