"""Geodesic distances from a k-nearest-neighbour graph (chapter ``geodesic-distance``, kexue.fm 9368).

An embedding is trusted only at short range; long-range distances are rebuilt by chaining short
ones. The construction (Isomap's, Tenenbaum, de Silva & Langford 2000):

1. :func:`knn_graph` — join every point to its k Euclidean nearest neighbours, edge weight = the
   Euclidean length (``scipy.spatial.cKDTree``), symmetrised as ``G.maximum(G.T)``;
2. :func:`geodesic_distances` — shortest-path lengths on that graph
   (``scipy.sparse.csgraph.dijkstra``), the estimate of the geodesic distance
   (eq-geodesic-distance-graph);
3. :func:`spiral_arclength`, :func:`spiral_arclength_inverse`, :func:`swiss_roll` — a test
   manifold whose exact geodesic distances are known: the Swiss roll is developable, so the
   unrolled coordinates ``U = (S(t), h)`` are isometric and ``||U_i - U_j||`` is the geodesic
   distance (eq-geodesic-distance-arclength, eq-geodesic-distance-unrolled);
4. :func:`geodesic_accuracy`, :func:`pair_concordance`, :func:`short_circuit_edges`,
   :func:`top_m_overlap` — how an estimate compares with the truth (relative error, Spearman
   rank correlation, pairwise order, top-m retrieval) and how many graph edges jump a fold;
5. :func:`roll_path_length`, :func:`knn_sweep` — the chapter's polyline check and its sweep
   over (N, k); :func:`plot_estimates`, :func:`plot_sweeps` — two of its figures.

NumPy in, NumPy out: array inputs may be anything ``numpy.asarray`` accepts (CPU torch tensors
included) and are computed in float64; results are float64 arrays (counts: int). Bad input raises
``ValueError`` naming the argument (contract: shared/contracts/geometry.md, section 9368).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sps
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist
from scipy.stats import mannwhitneyu, spearmanr

from lib import checks

__all__ = [
    "knn_graph",
    "geodesic_distances",
    "spiral_arclength",
    "spiral_arclength_inverse",
    "swiss_roll",
    "geodesic_accuracy",
    "pair_concordance",
    "short_circuit_edges",
    "top_m_overlap",
    "roll_path_length",
    "knn_sweep",
    "plot_estimates",
    "plot_sweeps",
]


def _points(X, name: str = "X") -> np.ndarray:
    X = checks.float64_array(X, name)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"{name} must be 2-D (N points, d coordinates), got shape {X.shape}")
    return X


def knn_graph(X, k: int, symmetric: bool = True) -> sps.csr_matrix:
    """The k-nearest-neighbour graph of the rows of ``X`` (chapter geodesic-distance, step 3).

    ``G[i, j] = ||x_i - x_j||`` (float64) for each of the ``k`` Euclidean nearest *other* points
    ``j`` of ``i``; no self loops. ``symmetric=False``: exactly ``k`` stored entries per row
    (ties broken by ``cKDTree``). ``symmetric=True``: the union of both relations,
    ``G.maximum(G.T)``, so an edge exists when j is a kNN of i or i of j.
    ValueError: ``X`` not 2-D or not finite; ``k`` not an integer in [1, N-1]; duplicate rows
    (a zero-length edge cannot be stored in a sparse graph).
    """
    X = _points(X)
    n = X.shape[0]
    k = checks.integer(k, "k", minimum=1, maximum=n - 1)
    dist, idx = cKDTree(X).query(X, k=k + 1)
    own = idx == np.arange(n)[:, None]
    # Without duplicates each point is its own unique nearest neighbour (distance exactly 0).
    if not own.any(axis=1).all() or np.any(dist[~own] == 0.0):
        raise ValueError("X has duplicate rows (a zero-length edge cannot be stored)")
    rows = np.repeat(np.arange(n), k)
    G = sps.csr_matrix((dist[~own], (rows, idx[~own])), shape=(n, n), dtype=np.float64)
    if symmetric:
        G = G.maximum(G.T).tocsr()
    G.sort_indices()
    return G


def geodesic_distances(G, sources=None) -> np.ndarray:
    """Shortest-path lengths on ``G`` as an undirected graph (eq-geodesic-distance-graph).

    Chapter geodesic-distance, step 3: Dijkstra (``scipy.sparse.csgraph.dijkstra``) from each
    source. ``G``: a SciPy sparse matrix or a dense (N, N) array; a zero entry (stored or not)
    means "no edge"; an edge stored in either direction can be walked both ways (if both
    directions are stored with different weights, the smaller is used). ``sources``: a 1-D
    sequence of node indices, or ``None`` for all N nodes. Returns a float64 array
    ``(len(sources), N)``: 0 at the source, ``np.inf`` where unreachable.
    ValueError: ``G`` not square, not finite or with a negative weight; a source that is not an
    integer in [0, N).
    """
    if sps.issparse(G):
        G = sps.csr_matrix(G, dtype=np.float64)
        data = G.data
    else:
        G = checks.float64_array(G, "G", finite_only=False)
        data = G
    if G.ndim != 2 or G.shape[0] != G.shape[1] or G.shape[0] < 1:
        raise ValueError(f"G must be a square (N, N) matrix, got shape {G.shape}")
    if not np.all(np.isfinite(data)):
        raise ValueError("G must be finite (use 0 for 'no edge')")
    if np.any(data < 0):
        raise ValueError("G has a negative weight; shortest paths need weights >= 0")
    n = G.shape[0]
    if sps.issparse(G):
        G = G.copy()
        G.eliminate_zeros()
    else:
        G = sps.csr_matrix(G)  # drops the zeros: "no edge"
    if sources is None:
        idx = np.arange(n)
    else:
        idx = np.asarray(sources)
        if idx.ndim != 1 or not (idx.size == 0 or np.issubdtype(idx.dtype, np.integer)):
            raise ValueError(f"sources must be a 1-D sequence of integer node indices, got {sources!r}")
        if idx.dtype == bool:
            raise ValueError("sources must hold integer node indices, not booleans")
        idx = idx.astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise ValueError(f"sources must lie in [0, {n}), got min {idx.min()}, max {idx.max()}")
    if idx.size == 0:
        return np.zeros((0, n))
    return np.asarray(dijkstra(G, directed=False, indices=idx), dtype=np.float64).reshape(idx.size, n)


def spiral_arclength(t):
    """``S(t) = (t sqrt(1 + t^2) + asinh t) / 2`` (eq-geodesic-distance-arclength), elementwise.

    Chapter geodesic-distance, step 1: the arc length of the spiral ``(t cos t, t sin t)`` from 0
    to t (odd in t). Float64 array (0-d input gives a NumPy float). For ``|t| > ~1.9e154`` the
    value exceeds the float64 range and is ``inf``. ValueError: ``t`` not finite.
    """
    t = checks.float64_array(t, "t")
    out = 0.5 * (t * np.hypot(1.0, t) + np.arcsinh(t))
    return out[()] if out.ndim == 0 else out


def spiral_arclength_inverse(s, iters: int = 60):
    """The t with ``spiral_arclength(t) = s`` (inverse of eq-geodesic-distance-arclength).

    Chapter geodesic-distance, step 1 (mapping unrolled coordinates back onto the roll).
    Newton's method on the increasing, odd function S (``S'(t) = sqrt(1 + t^2)``), started from
    ``sign(s) * min(|s|, sqrt(2|s|))``, which never overshoots (S is convex for t > 0), so the
    iterates increase monotonically to the root. Float64, elementwise, relative accuracy ~1e-15.
    ValueError: ``s`` not finite, ``iters`` < 1.
    """
    s = checks.float64_array(s, "s")
    iters = checks.integer(iters, "iters", minimum=1)
    a = np.abs(s)
    t = np.minimum(a, np.sqrt(2.0 * a))
    for _ in range(iters):
        step = (spiral_arclength(t) - a) / np.hypot(1.0, t)
        t = t - step
        if np.all(np.abs(step) <= 4 * np.finfo(float).eps * np.maximum(t, 1.0)):
            break
    out = np.sign(s) * t
    return out[()] if out.ndim == 0 else out


def swiss_roll(n: int, rng, t_min: float = 1.5 * math.pi, t_max: float = 4.5 * math.pi,
               height: float = 21.0):
    """Sample the Swiss roll and its exact unrolled coordinates (eq-geodesic-distance-unrolled).

    Chapter geodesic-distance, step 1: ``t ~ U[t_min, t_max]`` then ``h ~ U[0, height]``
    (independent), ``X = (t cos t, h, t sin t)`` (n, 3) and ``U = (S(t), h)`` (n, 2) with
    S = :func:`spiral_arclength`; the surface is developable and the unrolled domain a rectangle,
    so ``||U_i - U_j||`` is the exact geodesic distance between ``X_i`` and ``X_j``.
    ValueError: ``n`` < 1, ``rng`` not a ``numpy.random.Generator``, not ``0 < t_min < t_max``,
    ``height`` <= 0.
    """
    n = checks.integer(n, "n", minimum=1)
    checks.generator(rng)
    t_min = checks.real(t_min, "t_min", low=0.0, low_open=True)
    t_max = checks.real(t_max, "t_max", low=t_min, low_open=True)
    height = checks.real(height, "height", low=0.0, low_open=True)
    t = rng.uniform(t_min, t_max, size=n)
    h = rng.uniform(0.0, height, size=n)
    X = np.stack([t * np.cos(t), h, t * np.sin(t)], axis=1)
    U = np.stack([spiral_arclength(t), h], axis=1)
    return X, U


def geodesic_accuracy(D_est, D_true, min_true: float = 1.0) -> dict:
    """How well estimated distances match true ones (chapter geodesic-distance, experiments).

    Over the entries with ``D_true > min_true`` (the ratio is unstable near 0): ``"rel_err"``
    the mean of ``|D_est - D_true| / D_true``, ``"bias"`` the mean of ``(D_est - D_true) /
    D_true``, ``"spearman"`` Spearman's rank correlation of the two (``scipy.stats.spearmanr``),
    ``"n_pairs"`` the number of entries used. ``D_est`` may hold ``inf`` (unreachable): then
    ``"frac_inf"`` > 0, ``rel_err`` and ``bias`` are ``inf``, and Spearman ranks ``inf`` last.
    ValueError: shapes differ; ``D_true`` not finite; NaN in ``D_est``; fewer than 3 pairs.
    """
    D_est = checks.float64_array(D_est, "D_est", finite_only=False)
    D_true = checks.float64_array(D_true, "D_true")
    if D_est.shape != D_true.shape:
        raise ValueError(f"D_est must have the shape of D_true {D_true.shape}, got {D_est.shape}")
    if np.isnan(D_est).any():
        raise ValueError("D_est contains NaN")
    min_true = checks.real(min_true, "min_true", low=0.0)
    mask = D_true > min_true
    est, true = D_est[mask], D_true[mask]
    if est.size < 3:
        raise ValueError(f"min_true leaves {est.size} pairs; at least 3 are needed")
    rel = (est - true) / true
    return {
        "rel_err": float(np.mean(np.abs(rel))),
        "bias": float(np.mean(rel)),
        "spearman": float(spearmanr(est, true).statistic),
        "frac_inf": float(np.mean(np.isinf(est))),
        "n_pairs": int(est.size),
    }


def pair_concordance(d, d_true, a: float, b: float, width: float = 0.05) -> float:
    """How often ``d`` orders a pair at true distance ~a before one at ~b (a < b).

    Chapter geodesic-distance, step 2 (the article's "1 < 2 but not 10 < 11"). First pairs:
    ``|d_true - a| <= width * a``; second pairs: ``|d_true - b| <= width * b``. Returns the
    fraction of (first, second) combinations with ``d(first) < d(second)``, ties counting 1/2
    (the Mann-Whitney U statistic over ``n_first * n_second``): 1 = always right, 0.5 = chance.
    ValueError: shapes differ, not finite (``d`` may hold ``inf``), not ``0 < a < b``,
    ``width`` not in (0, 1), an empty band.
    """
    d = checks.float64_array(d, "d", finite_only=False).ravel()
    d_true = checks.float64_array(d_true, "d_true").ravel()
    if d.shape != d_true.shape or np.isnan(d).any():
        raise ValueError(f"d must be NaN-free with the shape of d_true {d_true.shape}")
    a = checks.real(a, "a", low=0.0, low_open=True)
    b = checks.real(b, "b", low=a, low_open=True)
    width = checks.real(width, "width", low=0.0, high=1.0, low_open=True, high_open=True)
    first, second = d[np.abs(d_true - a) <= width * a], d[np.abs(d_true - b) <= width * b]
    if first.size == 0 or second.size == 0:
        raise ValueError(f"a or b: empty band (sizes {first.size}, {second.size})")
    return float(mannwhitneyu(second, first).statistic / (first.size * second.size))


def short_circuit_edges(G, U, ratio: float = 2.0) -> int:
    """Count the undirected edges of ``G`` that short-circuit the manifold.

    Chapter geodesic-distance, step 4: an edge (i, j) short-circuits when its true geodesic
    length ``||U_i - U_j||`` exceeds ``ratio`` times its stored (Euclidean) length; on the Swiss
    roll an in-sheet edge has ratio ~1 and an edge across a fold a ratio of 5 or more. ``G``:
    SciPy sparse (N, N); ``U``: (N, m) coordinates in which distances are geodesic.
    ValueError: ``G`` not sparse square, ``U`` not (N, m), ``ratio`` < 1.
    """
    if not sps.issparse(G) or G.shape[0] != G.shape[1]:
        raise ValueError("G must be a square SciPy sparse matrix")
    U = _points(U, "U")
    if U.shape[0] != G.shape[0]:
        raise ValueError(f"U must have {G.shape[0]} rows (one per node of G), got {U.shape[0]}")
    ratio = checks.real(ratio, "ratio", low=1.0)
    C = sps.triu(sps.coo_matrix(G).maximum(sps.coo_matrix(G).T), k=1).tocoo()
    true = np.linalg.norm(U[C.row] - U[C.col], axis=1)
    return int(np.sum(true > ratio * C.data))


def top_m_overlap(D, D_true, m: int, exclude=None) -> np.ndarray:
    """Per row, the fraction of the true m nearest columns that ``D`` also ranks in its top m.

    Chapter geodesic-distance, step 5 (a summariser keeps the m best-scoring sentences; a score
    ``1/d`` ranks like ``d``). ``D``, ``D_true``: (q, n) distances from q queries to n items;
    ``exclude``: optional (q,) column index per row left out of both rankings (the query
    itself). Ties are broken by column order (stable sort). Returns float64 (q,).
    ValueError: shapes differ or not 2-D, NaN, ``m`` not an integer in [1, n - 1 if exclude
    else n], ``exclude`` of the wrong length or out of range.
    """
    D = checks.float64_array(D, "D", finite_only=False)
    D_true = checks.float64_array(D_true, "D_true", finite_only=False)
    if D.ndim != 2 or D.shape != D_true.shape:
        raise ValueError(f"D must be 2-D with the shape of D_true {D_true.shape}, got {D.shape}")
    if np.isnan(D).any() or np.isnan(D_true).any():
        raise ValueError("D and D_true must not contain NaN")
    q, n = D.shape
    last = np.zeros((q, n), dtype=bool)  # the excluded column sorts after everything
    if exclude is not None:
        ex = np.asarray(exclude)
        if ex.shape != (q,) or not np.issubdtype(ex.dtype, np.integer) or ex.dtype == bool:
            raise ValueError(f"exclude must hold {q} integer column indices")
        if q and (ex.min() < 0 or ex.max() >= n):
            raise ValueError(f"exclude must lie in [0, {n})")
        last[np.arange(q), ex] = True
    m = checks.integer(m, "m", minimum=1, maximum=n - (exclude is not None))
    top = np.lexsort((D, last), axis=-1)[:, :m]  # stable: ties keep column order
    top_true = np.lexsort((D_true, last), axis=-1)[:, :m]
    hit = np.zeros((q, n), dtype=bool)
    hit[np.arange(q)[:, None], top_true] = True
    return hit[np.arange(q)[:, None], top].sum(axis=1) / m


def roll_path_length(P) -> np.ndarray:
    """Length in space of the polyline on the Swiss roll through unrolled points ``P``
    (chapter geodesic-distance, step 1): ``P[..., :, 0] = S(t)``, ``P[..., :, 1] = h``, shape
    ``(..., m + 1, 2)``, mapped back by :func:`spiral_arclength_inverse`; float64 of shape
    ``P.shape[:-2]``. ValueError: ``P`` not finite or its last axis not of length 2.
    """
    P = checks.float64_array(P, "P")
    if P.ndim < 2 or P.shape[-1] != 2:
        raise ValueError(f"P must have shape (..., m + 1, 2), got {P.shape}")
    tt = spiral_arclength_inverse(P[..., 0])
    Y = np.stack([tt * np.cos(tt), P[..., 1], tt * np.sin(tt)], axis=-1)
    return np.linalg.norm(np.diff(Y, axis=-2), axis=-1).sum(-1)


def knn_sweep(settings, seeds, seed_key=(), n_src: int = 50) -> dict:
    """The chapter's sweep over (N, k) (chapter geodesic-distance, section 4).

    Per ``(n, k)`` and ``seed``: ``rng = default_rng([*seed_key, seed, n])``, ``X, U =
    swiss_roll(n, rng)``, ``n_src`` sources from ``rng``, the kNN graph, and
    :func:`geodesic_accuracy` against ``||U_i - U_j||`` (the cloud depends on (seed, n) only, so
    settings differing in k are paired). Returns ``{(n, k): {q: array over seeds}}``: the keys
    of :func:`geodesic_accuracy`, ``"spearman_euclid"`` (straight lines), ``"short"``
    (:func:`short_circuit_edges`), ``"x" = sqrt(k A / (pi^3 n))`` (eq-geodesic-distance-threshold).
    ValueError: empty ``settings`` or ``seeds``, bad ``n``/``k`` (from the callees).
    """
    if not (settings := list(settings)) or not (seeds := list(seeds)):
        raise ValueError("settings and seeds must be non-empty")
    area = (spiral_arclength(4.5 * math.pi) - spiral_arclength(1.5 * math.pi)) * 21.0
    clouds, out = {}, {}  # one cloud per (n, seed), shared by every k
    for n, k in settings:
        runs = []
        for seed in seeds:
            if (n, seed) not in clouds:
                rng = np.random.default_rng([*seed_key, seed, n])
                X, U = swiss_roll(n, rng)
                src = rng.choice(n, n_src, replace=False)
                D_true = cdist(U[src], U)
                clouds[(n, seed)] = (X, U, src, D_true,
                                     geodesic_accuracy(cdist(X[src], X), D_true)["spearman"])
            X, U, src, D_true, rho_e = clouds[(n, seed)]
            G = knn_graph(X, k)
            acc = geodesic_accuracy(geodesic_distances(G, src), D_true)
            acc.update(spearman_euclid=rho_e, short=short_circuit_edges(G, U),
                       x=math.sqrt(k * area / (math.pi**3 * n)))
            runs.append(acc)
        out[(n, k)] = {q: np.array([r[q] for r in runs]) for q in runs[0]}
    return out


def plot_sweeps(by_k: dict, by_n: dict, euclid: tuple):
    """The sweep figure of chapter geodesic-distance, section 4: ``by_k``, ``by_n`` as returned
    by :func:`knn_sweep`. Left: Spearman against ``x`` (mean ± se), a grey band ``euclid =
    (mean, se)`` ± 2 se for straight lines, the threshold x = 1; right: relative error and bias
    against k for ``by_k``. Returns the figure. ValueError: an empty sweep.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

    from lib.stats import mean_se

    if not by_k or not by_n:
        raise ValueError("by_k and by_n must each hold at least one setting")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for runs, label, fmt in ((by_k, "vary k", "o-"), (by_n, "vary N", "s--")):
        m_se = np.array([mean_se(r["spearman"]) for r in runs.values()])
        ax1.errorbar([r["x"][0] for r in runs.values()], m_se[:, 0], m_se[:, 1], fmt=fmt, ms=4,
                     capsize=2, label=label)
    ax1.axhspan(euclid[0] - 2 * euclid[1], euclid[0] + 2 * euclid[1], color="0.8", label="straight line")
    ax1.axvline(1.0, color="k", ls=":", lw=1, label="predicted threshold $x=1$")
    ax1.set(xlabel="$x$", ylabel="Spearman with exact geodesic", ylim=(0.2, 1.03))
    ax1.legend(loc="center left")
    ks = [k for _, k in by_k]
    for q, lab in (("rel_err", "mean |relative error|"), ("bias", "mean signed error")):
        m_se = np.array([mean_se(r[q]) for r in by_k.values()])
        ax2.errorbar(ks, m_se[:, 0], m_se[:, 1], fmt="o-", ms=4, capsize=2, label=lab)
    ax2.axhline(0, color="k", lw=0.8)
    ax2.set(xscale="log", xlabel="$k$", ylabel="relative error")
    ax2.xaxis.set_major_locator(FixedLocator(ks)), ax2.xaxis.set_minor_locator(NullLocator())
    ax2.xaxis.set_major_formatter(ScalarFormatter()), ax2.legend()
    return fig


def plot_estimates(d_true, panels: dict, n_show: int, rng):
    """Estimated against exact distance (chapter geodesic-distance, section 3), one panel per
    ``panels`` entry (title -> array like ``d_true``), ``n_show`` pairs drawn by ``rng``.
    Returns the figure. ValueError: shapes differ, ``n_show`` not in [1, d_true.size].
    """
    import matplotlib.pyplot as plt

    d_true = checks.float64_array(d_true, "d_true").ravel()
    n_show = checks.integer(n_show, "n_show", minimum=1, maximum=d_true.size)
    show = rng.choice(d_true.size, n_show, replace=False)
    fig, axes = plt.subplots(1, len(panels), figsize=(10, 3.4), sharey=True, squeeze=False)
    for ax, (title, d) in zip(axes[0], panels.items(), strict=True):
        d = checks.float64_array(d, "panels").ravel()
        if d.shape != d_true.shape:
            raise ValueError(f"panels: {title!r} has shape {d.shape}, want {d_true.shape}")
        ax.plot(d_true[show], d[show], ".", ms=2, alpha=0.5)
        ax.plot([0, 100], [0, 100], "k--", lw=1)
        ax.set(title=title, xlabel="exact geodesic $d_M$", xlim=(0, 100), ylim=(0, 110))
    axes[0, 0].set_ylabel("estimated distance")
    return fig
