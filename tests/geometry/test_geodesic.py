"""Tests of lib.geometry.geodesic (chapter geodesic-distance, kexue.fm 9368).

References are independent of the code under test: a brute-force sort of the full distance
matrix for the kNN graph, Floyd-Warshall in NumPy for shortest paths, closed-form path lengths
on a regular polygon, numerical quadrature for the arc length, and polyline lengths on the roll
for the exact geodesic.
"""

import math

import numpy as np
import pytest
import scipy.sparse as sps
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.optimize import brentq
from scipy.spatial.distance import cdist
from scipy.stats import spearmanr

from lib.geometry import (
    geodesic_accuracy,
    geodesic_distances,
    knn_graph,
    pair_concordance,
    short_circuit_edges,
    spiral_arclength,
    spiral_arclength_inverse,
    swiss_roll,
    top_m_overlap,
)


def floyd_warshall(W):
    """All-pairs shortest paths of a dense weight matrix (0 = no edge), undirected."""
    n = W.shape[0]
    D = np.where(W > 0, W, np.inf)
    D = np.minimum(D, D.T)
    np.fill_diagonal(D, 0.0)
    for m in range(n):
        D = np.minimum(D, D[:, m : m + 1] + D[m : m + 1, :])
    return D


def random_graph(rng, n, p):
    W = rng.uniform(0.1, 5.0, size=(n, n)) * (rng.random((n, n)) < p)
    np.fill_diagonal(W, 0.0)
    return np.triu(W)  # each edge stored once: the undirected reading must walk it both ways


# -- knn_graph ------------------------------------------------------------------------------
def test_knn_graph_matches_brute_force():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 4))
    k = 5
    D = cdist(X, X)
    np.fill_diagonal(D, np.inf)
    nbr = np.argsort(D, axis=1)[:, :k]
    G = knn_graph(X, k, symmetric=False)
    assert G.dtype == np.float64 and G.shape == (80, 80)
    assert np.all(np.diff(G.indptr) == k)
    assert G.diagonal().max() == 0.0
    ref = np.zeros((80, 80))
    rows = np.repeat(np.arange(80), k)
    ref[rows, nbr.ravel()] = D[rows, nbr.ravel()]
    np.testing.assert_allclose(G.toarray(), ref, rtol=1e-14, atol=0)
    S = knn_graph(X, k)
    np.testing.assert_allclose(S.toarray(), np.maximum(ref, ref.T), rtol=1e-14, atol=0)
    assert (S != S.T).nnz == 0
    assert S.nnz >= 80 * k


def test_knn_graph_accepts_torch_and_extreme_scales():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 3))
    G = knn_graph(torch.tensor(X), 3)
    assert G.nnz > 0 and np.allclose(G.toarray(), knn_graph(X, 3).toarray())
    for scale in (1e-150, 1e150):
        Gs = knn_graph(X * scale, 3)
        assert np.all(np.isfinite(Gs.data)) and np.all(Gs.data > 0)
        assert (Gs != Gs.T).nnz == 0
    assert knn_graph(X[:2], 1).nnz == 2  # smallest case: one edge, stored both ways


@pytest.mark.parametrize("k", [0, 30, 2.5, True, -1])
def test_knn_graph_bad_k(k):
    X = np.random.default_rng(0).normal(size=(30, 2))
    with pytest.raises(ValueError, match="k"):
        knn_graph(X, k)


@pytest.mark.parametrize(
    "X", [np.zeros(5), np.zeros((0, 2)), np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 1.0]]),
          np.array([[0.0, 1.0], [2.0, 3.0], [0.0, 1.0]]), np.zeros((3, 0))])
def test_knn_graph_bad_X(X):
    with pytest.raises(ValueError, match="X"):
        knn_graph(X, 1)


def test_knn_graph_duplicates_many_copies():
    X = np.zeros((6, 2))
    X[5] = 1.0
    with pytest.raises(ValueError, match="X has duplicate"):
        knn_graph(X, 2)


# -- geodesic_distances ---------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_geodesic_distances_matches_floyd_warshall(seed):
    rng = np.random.default_rng(seed)
    W = random_graph(rng, 40, 0.08)  # sparse enough to be disconnected sometimes
    ref = floyd_warshall(W)
    np.testing.assert_allclose(geodesic_distances(sps.csr_matrix(W)), ref, rtol=1e-12, atol=0)
    np.testing.assert_allclose(geodesic_distances(W), ref, rtol=1e-12, atol=0)
    np.testing.assert_allclose(geodesic_distances(W.T), ref, rtol=1e-12, atol=0)
    src = [3, 0, 3]
    np.testing.assert_allclose(geodesic_distances(W, src), ref[src], rtol=1e-12, atol=0)


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 12), st.floats(0.0, 1.0), st.integers(0, 2**31 - 1))
def test_geodesic_distances_property(n, p, seed):
    rng = np.random.default_rng(seed)
    W = random_graph(rng, n, p)
    D = geodesic_distances(W)
    np.testing.assert_allclose(D, floyd_warshall(W), rtol=1e-12, atol=0)
    assert np.all(np.diag(D) == 0)
    np.testing.assert_allclose(D, D.T, rtol=1e-13, atol=0)  # summation order may differ
    via = D[:, :, None] + D[None, :, :]  # via[i, m, j] = D[i, m] + D[m, j]
    assert np.all(D[:, None, :] <= via * (1 + 1e-12))  # triangle inequality (inf <= inf)


def test_geodesic_distances_regular_polygon_exact():
    n = 200
    theta = 2 * np.pi * np.arange(n) / n
    X = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    D = geodesic_distances(knn_graph(X, 2), [0, 17])
    steps = np.minimum(np.arange(n), n - np.arange(n))
    chord = 2 * np.sin(np.pi / n)
    np.testing.assert_allclose(D[0], steps * chord, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(D[1], np.roll(steps, 17) * chord, rtol=1e-12, atol=1e-15)
    # the arc-length truth is underestimated by the chord/arc factor, and only by it
    np.testing.assert_allclose(D[0][1:] / (steps[1:] * 2 * np.pi / n),
                               np.sin(np.pi / n) / (np.pi / n), rtol=1e-12)


def test_geodesic_distances_zeros_and_inf():
    W = np.array([[0, 1.0, 0], [0, 0, 0], [0, 0, 0]])
    D = geodesic_distances(W)
    assert D[0, 1] == 1.0 and np.isinf(D[0, 2]) and D.shape == (3, 3)
    S = sps.csr_matrix((np.array([0.0, 1.0]), (np.array([0, 1]), np.array([2, 2]))), shape=(3, 3))
    assert np.isinf(geodesic_distances(S, [0])[0, 2])  # an explicitly stored 0 is no edge
    assert geodesic_distances(W, []).shape == (0, 3)
    assert geodesic_distances(W, np.array([2], dtype=np.int32)).shape == (1, 3)


@pytest.mark.parametrize(
    "G, sources, name",
    [(np.zeros((3, 4)), None, "G"), (np.zeros(3), None, "G"),
     (np.array([[0, -1.0], [0, 0]]), None, "G"), (np.array([[0, np.nan], [0, 0]]), None, "G"),
     (np.array([[0, np.inf], [0, 0]]), None, "G"),
     (sps.csr_matrix(np.array([[0, -2.0], [0, 0]])), None, "G"),
     (np.ones((3, 3)), [3], "sources"), (np.ones((3, 3)), [-1], "sources"),
     (np.ones((3, 3)), [0.5], "sources"), (np.ones((3, 3)), [[0, 1]], "sources"),
     (np.ones((3, 3)), 1, "sources"), (np.ones((3, 3)), [True], "sources")])
def test_geodesic_distances_bad_input(G, sources, name):
    with pytest.raises(ValueError, match=name):
        geodesic_distances(G, sources)


# -- spiral_arclength and its inverse --------------------------------------------------------
def test_spiral_arclength_against_quadrature():
    for t in [0.0, 1e-8, 0.3, 1.0, 4.7, 14.1, 100.0, -2.5]:
        ref = math.copysign(quad(lambda u: math.hypot(1.0, u), 0, abs(t), epsabs=0,
                                 epsrel=1e-13)[0], t)
        assert spiral_arclength(t) == pytest.approx(ref, rel=1e-13, abs=1e-300)
    assert isinstance(spiral_arclength(1.0), float)
    t = np.linspace(-20, 20, 101)
    np.testing.assert_allclose(spiral_arclength(-t), -spiral_arclength(t), rtol=0, atol=0)
    assert np.isfinite(spiral_arclength(1e150)) and spiral_arclength(1e-300) == 1e-300
    assert spiral_arclength(torch.tensor([1.0])).dtype == np.float64


def test_spiral_arclength_bad_input():
    for bad in (np.nan, [1.0, np.inf], "x"):
        with pytest.raises(ValueError, match="t"):
            spiral_arclength(bad)


def test_spiral_arclength_inverse():
    s = np.array([0.0, 1e-12, 0.5, 3.0, 12.5, 101.8, 1e6, -7.0])
    t = spiral_arclength_inverse(s)
    np.testing.assert_allclose(spiral_arclength(t), s, rtol=1e-14, atol=1e-300)
    for si in s[1:7]:
        ref = brentq(lambda u, si=si: spiral_arclength(u) - si, 0, si + 1, xtol=1e-300,
                     rtol=1e-15)
        assert spiral_arclength_inverse(si) == pytest.approx(ref, rel=1e-13)
    for bad, name in ((np.nan, "s"), ([1.0, np.inf], "s")):
        with pytest.raises(ValueError, match=name):
            spiral_arclength_inverse(bad)
    with pytest.raises(ValueError, match="iters"):
        spiral_arclength_inverse(1.0, iters=0)


# -- swiss_roll --------------------------------------------------------------------------------
def test_swiss_roll_shapes_and_coordinates():
    X, U = swiss_roll(500, np.random.default_rng(3))
    assert X.shape == (500, 3) and U.shape == (500, 2) and X.dtype == U.dtype == np.float64
    t = spiral_arclength_inverse(U[:, 0])
    assert t.min() >= 1.5 * np.pi - 1e-12 and t.max() <= 4.5 * np.pi + 1e-12
    np.testing.assert_allclose(X, np.stack([t * np.cos(t), U[:, 1], t * np.sin(t)], 1),
                               rtol=1e-12, atol=1e-12)
    assert U[:, 1].min() >= 0 and U[:, 1].max() <= 21.0
    X2, _ = swiss_roll(500, np.random.default_rng(3))
    assert np.array_equal(X, X2)


def test_swiss_roll_unrolled_distance_is_geodesic():
    """The straight segment in U, mapped onto the roll, is a surface path of length ||dU||."""
    X, U = swiss_roll(20, np.random.default_rng(4))
    m = 4000
    s = np.linspace(0, 1, m + 1)[:, None]
    for i, j in [(0, 1), (2, 3), (4, 5), (6, 7)]:
        P = U[i] + s * (U[j] - U[i])
        t = spiral_arclength_inverse(P[:, 0])
        Y = np.stack([t * np.cos(t), P[:, 1], t * np.sin(t)], 1)
        length = np.linalg.norm(np.diff(Y, axis=0), axis=1).sum()
        L = np.linalg.norm(U[i] - U[j])
        # inscribed polyline: shorter by at most kappa^2 (L/m)^2 / 24 relatively, kappa <= 0.22
        assert 0 <= (L - length) / L <= 0.22**2 * (L / m) ** 2 / 24 + 1e-13
        assert np.linalg.norm(X[i] - X[j]) <= L + 1e-12


@pytest.mark.parametrize(
    "kwargs, name",
    [({"n": 0}, "n"), ({"n": 2.0}, "n"), ({"rng": 0}, "rng"), ({"t_min": 0.0}, "t_min"),
     ({"t_max": 1.0}, "t_max"), ({"height": 0.0}, "height"), ({"height": np.inf}, "height")])
def test_swiss_roll_bad_input(kwargs, name):
    args = {"n": 10, "rng": np.random.default_rng(0)} | kwargs
    with pytest.raises(ValueError, match=name):
        swiss_roll(**args)


def test_graph_geodesics_on_the_roll():
    """Dense sampling, moderate k: graph distances track the exact geodesics."""
    rng = np.random.default_rng(5)
    X, U = swiss_roll(2000, rng)
    G = knn_graph(X, 12)
    src = rng.choice(2000, 30, replace=False)
    Dg, Dt, De = geodesic_distances(G, src), cdist(U[src], U), cdist(X[src], X)
    acc = geodesic_accuracy(Dg, Dt)
    assert acc["frac_inf"] == 0 and acc["rel_err"] < 0.06 and acc["spearman"] > 0.99
    assert geodesic_accuracy(De, Dt)["spearman"] < 0.6
    assert short_circuit_edges(G, U) == 0
    C = G.tocoo()
    c = (np.linalg.norm(U[C.row] - U[C.col], axis=1) / C.data).max()
    assert np.all(Dg >= Dt / c - 1e-9)  # path lower bound when no edge short-circuits
    assert np.all(Dg >= De - 1e-9)  # triangle inequality in R^3
    assert short_circuit_edges(knn_graph(X, 80), U) > 0


# -- geodesic_accuracy and short_circuit_edges --------------------------------------------------
def test_geodesic_accuracy_values():
    true = np.array([[0.5, 2.0, 4.0], [1.0, 8.0, 3.0]])
    est = np.array([[9.0, 3.0, 2.0], [1.0, 8.0, 6.0]])
    a = geodesic_accuracy(est, true, min_true=1.0)
    rel = np.array([0.5, -0.5, 0.0, 1.0])
    assert a["n_pairs"] == 4 and a["frac_inf"] == 0
    assert a["rel_err"] == pytest.approx(np.abs(rel).mean()) and a["bias"] == pytest.approx(rel.mean())
    assert a["spearman"] == pytest.approx(spearmanr([3.0, 2.0, 8.0, 6.0], [2.0, 4.0, 8.0, 3.0]).statistic)
    b = geodesic_accuracy(np.where(true > 5, np.inf, true), true, min_true=0.0)
    assert b["frac_inf"] == pytest.approx(1 / 6) and math.isinf(b["rel_err"])
    assert b["spearman"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "est, true, kw, name",
    [(np.ones(3), np.ones(4), {}, "D_est"), (np.array([1, np.nan, 2, 3]), np.arange(4.0) + 2, {}, "D_est"),
     (np.ones(4), np.array([2, np.inf, 3, 4]), {}, "D_true"), (np.ones(4), np.arange(4.0), {}, "min_true"),
     (np.ones(4), np.arange(4.0) + 2, {"min_true": -1}, "min_true")])
def test_geodesic_accuracy_bad_input(est, true, kw, name):
    with pytest.raises(ValueError, match=name):
        geodesic_accuracy(est, true, **kw)


def test_short_circuit_edges_counts():
    U = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0]])
    G = sps.csr_matrix(np.array([[0, 1.0, 2.0], [0, 0, 0], [0, 0, 0]]))  # 0-2: true 10 > 2*2
    assert short_circuit_edges(G, U) == 1
    assert short_circuit_edges(G + G.T, U) == 1  # each undirected edge counted once
    assert short_circuit_edges(G, U, ratio=6.0) == 0
    with pytest.raises(ValueError, match="G"):
        short_circuit_edges(G.toarray(), U)
    with pytest.raises(ValueError, match="U"):
        short_circuit_edges(G, U[:2])
    with pytest.raises(ValueError, match="ratio"):
        short_circuit_edges(G, U, ratio=0.5)


# -- pair_concordance and top_m_overlap ---------------------------------------------------------
def test_pair_concordance_brute_force():
    rng = np.random.default_rng(6)
    d_true = rng.uniform(0, 12, 3000)
    d = d_true + rng.normal(0, 1.0, 3000)
    d[:5] = np.round(d[:5])  # a few ties are harmless
    for a, b in [(1, 2), (5, 6), (9, 10)]:
        first = d[np.abs(d_true - a) <= 0.1 * a]
        second = d[np.abs(d_true - b) <= 0.1 * b]
        ref = np.mean((first[:, None] < second[None, :]) + 0.5 * (first[:, None] == second[None, :]))
        assert pair_concordance(d, d_true, a, b, width=0.1) == pytest.approx(ref, rel=1e-12)
    assert pair_concordance(d_true, d_true, 1, 5) == 1.0
    assert pair_concordance(-d_true, d_true, 1, 5) == 0.0
    assert pair_concordance(np.where(d_true > 4, np.inf, d_true), d_true, 1, 5) == 1.0
    assert pair_concordance(np.ones(3000), d_true, 1, 5) == 0.5


@pytest.mark.parametrize(
    "kw, name",
    [({"a": 0.0}, "a"), ({"b": 1.0}, "b"), ({"width": 0.0}, "width"), ({"width": 1.0}, "width"),
     ({"a": 100.0, "b": 200.0}, "a or b"), ({"d": np.ones(5)}, "d"),
     ({"d_true": np.full(10, np.nan)}, "d_true")])
def test_pair_concordance_bad_input(kw, name):
    args = {"d": np.arange(10.0), "d_true": np.arange(10.0), "a": 1.0, "b": 5.0} | kw
    with pytest.raises(ValueError, match=name):
        pair_concordance(**args)


def test_top_m_overlap_brute_force():
    rng = np.random.default_rng(7)
    D_true = rng.random((20, 50))
    D = D_true + rng.normal(0, 0.1, (20, 50))
    ex = rng.integers(0, 50, 20)
    for m in (1, 5, 49):
        got = top_m_overlap(D, D_true, m, exclude=ex)
        for r in range(20):
            keep = [c for c in range(50) if c != ex[r]]
            a = set(sorted(keep, key=lambda c, r=r: D[r, c])[:m])
            b = set(sorted(keep, key=lambda c, r=r: D_true[r, c])[:m])
            assert got[r] == pytest.approx(len(a & b) / m)
    assert np.all(top_m_overlap(D_true, D_true, 10) == 1.0)
    assert np.all(top_m_overlap(D_true, D_true, 50) == 1.0)
    # unreachable items (inf) and the excluded column do not get mixed up
    Dinf = np.where(D_true > 0.5, np.inf, D_true)
    Dinf[np.arange(20), ex] = 0.0
    assert top_m_overlap(Dinf, D_true, 3, exclude=ex).shape == (20,)
    assert np.all(top_m_overlap(Dinf, Dinf, 49, exclude=ex) == 1.0)


@pytest.mark.parametrize(
    "kw, name",
    # with exclude, only 9 items remain, so m = 10 is out of range
    [({"m": 0}, "m"), ({"m": 10}, "m"), ({"m": 2.0}, "m"), ({"D": np.ones((3, 9))}, "D"),
     ({"D": np.full((3, 10), np.nan)}, "D"), ({"exclude": [0, 1]}, "exclude"),
     ({"exclude": [0, 1, 10]}, "exclude"), ({"exclude": [0.0, 1.0, 2.0]}, "exclude")])
def test_top_m_overlap_bad_input(kw, name):
    args = {"D": np.ones((3, 10)), "D_true": np.ones((3, 10)), "m": 3, "exclude": [0, 1, 2]} | kw
    with pytest.raises(ValueError, match=name):
        top_m_overlap(**args)


# -- chapter helpers moved into the module ----------------------------------------------------
def test_roll_path_length():
    from lib.geometry import roll_path_length

    # along h at fixed t the roll is a straight line: the polyline length is exact
    P = np.stack([np.full(11, spiral_arclength(6.0)), np.linspace(0, 7, 11)], axis=1)
    assert roll_path_length(P) == pytest.approx(7.0, rel=1e-14)
    # along u at fixed h: an inscribed polyline of the spiral, shorter by at most k^2 (L/m)^2 / 24
    u0, u1 = spiral_arclength(5.0), spiral_arclength(12.0)
    P = np.stack([np.linspace(u0, u1, 2001), np.zeros(2001)], axis=1)
    L, kappa = u1 - u0, (2 + 25) / 26**1.5
    got = roll_path_length(np.stack([P, P]))
    assert got.shape == (2,)
    assert np.all((L - got) / L >= -1e-14) and np.all((L - got) / L <= kappa**2 * (L / 2000) ** 2 / 24)
    with pytest.raises(ValueError, match="P"):
        roll_path_length(np.ones((4, 3)))


def test_knn_sweep_matches_manual_trial():
    from lib.geometry import knn_sweep

    out = knn_sweep([(300, 6), (300, 12)], [0, 1], seed_key=(5,), n_src=20)
    assert set(out) == {(300, 6), (300, 12)}
    r6, r12 = out[(300, 6)], out[(300, 12)]
    assert r6["spearman"].shape == (2,)
    np.testing.assert_array_equal(r6["spearman_euclid"], r12["spearman_euclid"])  # paired
    rng = np.random.default_rng([5, 1, 300])
    X, U = swiss_roll(300, rng)
    src = rng.choice(300, 20, replace=False)
    G = knn_graph(X, 12)
    acc = geodesic_accuracy(geodesic_distances(G, src), cdist(U[src], U))
    assert r12["rel_err"][1] == acc["rel_err"] and r12["spearman"][1] == acc["spearman"]
    assert r12["short"][1] == short_circuit_edges(G, U)
    area = (spiral_arclength(4.5 * math.pi) - spiral_arclength(1.5 * math.pi)) * 21.0
    assert r12["x"][0] == pytest.approx(math.sqrt(12 * area / (math.pi**3 * 300)), rel=1e-15)
    with pytest.raises(ValueError, match="settings"):
        knn_sweep([], [0])


def test_geodesic_plots_smoke():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lib.geometry import knn_sweep, plot_estimates, plot_sweeps

    by_k = knn_sweep([(200, 6), (200, 10)], [0, 1], n_src=10)
    by_n = knn_sweep([(150, 6), (200, 6)], [0, 1], n_src=10)
    assert len(plot_sweeps(by_k, by_n, (0.5, 0.01)).axes) == 2
    rng = np.random.default_rng(0)
    d = rng.uniform(1, 50, 100)
    assert len(plot_estimates(d, {"a": d, "b": 2 * d}, 30, rng).axes) == 2
    with pytest.raises(ValueError, match="panels"):
        plot_estimates(d, {"a": d[:5]}, 3, rng)
    with pytest.raises(ValueError, match="by_k"):
        plot_sweeps({}, by_n, (0.5, 0.01))
    plt.close("all")
