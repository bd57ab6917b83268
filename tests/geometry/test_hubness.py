"""Tests of lib.geometry.hubness (chapter geometry/hubness, kexue.fm/archives/9147)."""

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist
from scipy.special import roots_hermitenorm, roots_legendre

from lib.geometry import (
    ball_to_cube_ratio,
    expected_k_occurrence,
    hub_filter,
    k_occurrence,
    probit_hub_limit,
    skewness,
    top_share,
)


# -- ball_to_cube_ratio --------------------------------------------------------------------
@pytest.mark.parametrize("n, exact", [
    (1, 1.0), (2, math.pi / 4), (3, math.pi / 6), (4, math.pi**2 / 32),
    (10, math.pi**5 / 120 / 2**10), (20, math.pi**10 / math.factorial(10) / 2**20),
])
def test_ratio_closed_forms(n, exact):
    assert ball_to_cube_ratio(n) == pytest.approx(exact, rel=1e-14)
    assert isinstance(ball_to_cube_ratio(n), float)


def test_ratio_against_mpmath_log_space():
    ns = np.array([1, 7, 50, 333, 1000, 5000, 100_000])
    logs = ball_to_cube_ratio(ns, log=True)
    assert logs.dtype == np.float64 and logs.shape == ns.shape
    for n, got in zip(ns, logs, strict=True):
        n = int(n)
        want = float(n / 2 * mpmath.log(mpmath.pi) - mpmath.loggamma(mpmath.mpf(n) / 2 + 1)
                     - n * mpmath.log(2))
        assert got == pytest.approx(want, rel=1e-13)
    assert np.all(np.isfinite(logs))
    assert ball_to_cube_ratio(100_000) == 0.0  # underflow, finite
    assert ball_to_cube_ratio(np.int64(3)) == pytest.approx(math.pi / 6, rel=1e-14)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 20_000))
def test_ratio_recurrence(n):
    # V_{n+2} = 2 pi V_n / (n + 2)  =>  r_{n+2} = pi r_n / (2 (n + 2))
    lhs = ball_to_cube_ratio(n + 2, log=True) - ball_to_cube_ratio(n, log=True)
    assert lhs == pytest.approx(math.log(math.pi / (2 * (n + 2))), abs=1e-9 * (1 + abs(lhs)) + 1e-9)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, np.array([1.0, 2.0]), np.array([[1, 2]]),
                                 np.array([0, 3]), "3"])
def test_ratio_bad_input(bad):
    with pytest.raises(ValueError, match="n"):
        ball_to_cube_ratio(bad)


# -- k_occurrence --------------------------------------------------------------------------
def _brute(X, k):
    D = cdist(X, X, "sqeuclidean")
    np.fill_diagonal(D, np.inf)
    return np.bincount(np.argsort(D, axis=1, kind="stable")[:, :k].ravel(), minlength=len(X))


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 60), st.integers(1, 12), st.integers(0, 2**32 - 1), st.data())
def test_k_occurrence_matches_brute_force(n, d, seed, data):
    k = data.draw(st.integers(1, n - 1))
    X = np.random.default_rng(seed).standard_normal((n, d))
    got = k_occurrence(X, k, chunk=data.draw(st.integers(1, n + 3)))
    assert got.dtype == np.int64
    assert got.sum() == n * k
    np.testing.assert_array_equal(got, _brute(X, k))


def test_k_occurrence_against_kdtree_2d():
    X = np.random.default_rng(1).uniform(size=(500, 2))
    _, idx = cKDTree(X).query(X, k=6)  # first column is the point itself
    assert np.all(idx[:, 0] == np.arange(500))
    want = np.bincount(idx[:, 1:].ravel(), minlength=500)
    np.testing.assert_array_equal(k_occurrence(X, 5, chunk=64), want)


def test_k_occurrence_chunk_independent_high_dim():
    X = np.random.default_rng(2).standard_normal((1500, 256))
    ref = k_occurrence(X, 5, chunk=1500)
    for chunk in (1, 7, 333, 1000, 10_000):
        np.testing.assert_array_equal(k_occurrence(X, 5, chunk=chunk), ref)


def test_k_occurrence_invariances_and_extremes():
    X = np.random.default_rng(3).standard_normal((300, 20))
    ref = k_occurrence(X, 4)
    for Y in (X * 1e150, X * 1e-150, X + 1e6, torch.tensor(X)):
        np.testing.assert_array_equal(k_occurrence(Y, 4), ref)
    np.testing.assert_array_equal(k_occurrence(X, 299), np.full(300, 299))
    # duplicates and an all-equal cloud: ties, still N k in total and never a self match
    D = np.repeat(X[:10], 3, axis=0)
    assert k_occurrence(D, 2).sum() == 60
    same = k_occurrence(np.zeros((7, 3)), 3)
    assert same.sum() == 21


@pytest.mark.parametrize("kw, name", [
    (dict(k=0), "k"), (dict(k=10), "k"), (dict(k=2.5), "k"), (dict(k=True), "k"),
    (dict(k=2, chunk=0), "chunk"), (dict(k=2, chunk=1.5), "chunk"),
])
def test_k_occurrence_bad_arguments(kw, name):
    X = np.random.default_rng(0).standard_normal((10, 3))
    with pytest.raises(ValueError, match=name):
        k_occurrence(X, **kw)


@pytest.mark.parametrize("X", [np.ones(5), np.ones((1, 3)), np.array([[0.0, np.nan], [1, 2]]),
                               np.array([[0.0, np.inf], [1, 2]]), np.ones((2, 2, 2))])
def test_k_occurrence_bad_X(X):
    with pytest.raises(ValueError, match="X"):
        k_occurrence(X, 1)


# -- expected_k_occurrence and its large-d limit --------------------------------------------
def test_expected_trivial_cases():
    # N = 2: the only other point always lists x
    np.testing.assert_allclose(expected_k_occurrence([0.3, 2.0, 9.0], 5, 2, 1), 1.0, rtol=1e-12)
    # k = N - 1: every other point lists everybody
    np.testing.assert_allclose(expected_k_occurrence([1.0, 4.0], 7, 6, 5), 5.0, rtol=1e-12)


def test_expected_three_points_against_simulation():
    # N = 3, k = 1: E[N_1 | x] = 2 P(|x - y| < |z - y|), y, z ~ N(0, I_d); x fixed with |x| = rho
    d, rho, m = 6, 1.5, 400_000
    rng = np.random.default_rng(5)
    x = np.zeros(d)
    x[0] = rho
    y, z = rng.standard_normal((m, d)), rng.standard_normal((m, d))
    hit = (((x - y) ** 2).sum(1) < ((z - y) ** 2).sum(1)).astype(float)
    mc, se = 2 * hit.mean(), 2 * hit.std() / math.sqrt(m)
    got = float(expected_k_occurrence(rho, d, 3, 1, n_y=641, n_s=48))
    assert abs(got - mc) < 4 * se + 1e-3


def test_expected_against_k_occurrence_simulation():
    d, n, k, seeds = 20, 400, 5, 40
    rng = np.random.default_rng(6)
    rho_all, c_all = [], []
    for _ in range(seeds):
        X = rng.standard_normal((n, d))
        rho_all.append(np.linalg.norm(X, axis=1))
        c_all.append(k_occurrence(X, k))
    rho, c = np.concatenate(rho_all), np.concatenate(c_all)
    small = rho < np.quantile(rho, 0.2)
    grid = np.linspace(rho.min(), rho.max(), 60)
    pred = np.exp(np.interp(rho, grid, np.log(expected_k_occurrence(grid, d, n, k))))
    diff = np.array([(cc - pp)[s].mean() for cc, pp, s in
                     zip(c.reshape(seeds, n), pred.reshape(seeds, n), small.reshape(seeds, n),
                         strict=True)])
    assert abs(diff.mean()) < 4 * diff.std(ddof=1) / math.sqrt(seeds)


def test_expected_averages_to_k():
    for d, n, k in [(20, 500, 3), (200, 3000, 10)]:
        x, w = roots_legendre(64)
        a, b = max(0.0, math.sqrt(d) - 7), math.sqrt(d) + 7
        r = (x + 1) / 2 * (b - a) + a
        dens = stats.chi2.pdf(r * r, d) * 2 * r * w * (b - a) / 2
        assert (expected_k_occurrence(r, d, n, k) * dens).sum() == pytest.approx(k, rel=1e-4)


def test_expected_decreasing_and_shape():
    r = np.linspace(4, 10, 13).reshape(13, 1)
    e = expected_k_occurrence(r, 50, 2000, 10)
    assert e.shape == (13, 1) and np.all(np.diff(e[:, 0]) < 0) and np.all(e >= 0)


@pytest.mark.parametrize("args, name", [
    ((-1.0, 10, 100, 5), "rho"), ((np.nan, 10, 100, 5), "rho"), ((1.0, 1, 100, 5), "d"),
    ((1.0, 10, 1, 1), "n_points"), ((1.0, 10, 100, 100), "k"), ((1.0, 10, 100, 0), "k"),
])
def test_expected_bad_input(args, name):
    with pytest.raises(ValueError, match=name):
        expected_k_occurrence(*args)


def test_probit_limit_mean_and_range():
    v, w = roots_hermitenorm(120)
    w = w / w.sum()
    for n, k in [(2000, 10), (10_000, 5), (50, 7)]:
        assert (probit_hub_limit(v, n, k) * w).sum() == pytest.approx(k, rel=1e-10)
    s = np.linspace(-5, 5, 11)
    p = probit_hub_limit(s, 1000, 5)
    assert np.all(np.diff(p) < 0) and np.all((p >= 0) & (p <= 999))
    np.testing.assert_allclose(probit_hub_limit(s, 11, 10), 10.0)


@pytest.mark.parametrize("args, name", [((np.inf, 100, 5), "s"), ((0.0, 1, 1), "n_points"),
                                        ((0.0, 100, 100), "k"), ((0.0, 100, 0.5), "k")])
def test_probit_bad_input(args, name):
    with pytest.raises(ValueError, match=name):
        probit_hub_limit(*args)


# -- skewness and top_share ----------------------------------------------------------------
def test_skewness_exact_small_case():
    x = [0, 0, 1]  # mean 1/3; m2 = 2/9, m3 = 2/27 -> 2/27 / (2/9)^(3/2) = 1/sqrt(2)
    m2 = Fraction(2, 9)
    m3 = Fraction(2, 27)
    assert skewness(x) == pytest.approx(float(m3) / float(m2) ** 1.5, rel=1e-14)
    assert skewness(x) == pytest.approx(1 / math.sqrt(2), rel=1e-14)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=3, max_size=200))
def test_skewness_matches_scipy_and_is_odd(xs):
    x = np.array(xs)
    if np.ptp(x) < 1e-6 * (1 + np.abs(x).max()):
        return
    assert skewness(x) == pytest.approx(stats.skew(x), rel=1e-9, abs=1e-9)
    assert skewness(-x) == pytest.approx(-skewness(x), rel=1e-9, abs=1e-9)


def test_skewness_counts_and_tensor():
    c = np.random.default_rng(0).poisson(3.0, size=5000)
    assert skewness(c) == pytest.approx(stats.skew(c), rel=1e-12)
    assert skewness(torch.tensor(c)) == pytest.approx(stats.skew(c), rel=1e-12)


@pytest.mark.parametrize("x", [np.ones((3, 2)), [1.0], [2.0, 2.0, 2.0], [1.0, np.nan, 2.0]])
def test_skewness_bad_input(x):
    with pytest.raises(ValueError, match="x"):
        skewness(x)


def test_top_share():
    assert top_share(np.ones(10)) == pytest.approx(0.2)
    assert top_share([0, 0, 0, 0, 5]) == 1.0
    assert top_share([1, 2, 3, 4], fraction=0.5) == pytest.approx(0.7)
    assert top_share([1, 2, 3], fraction=0.2) == pytest.approx(0.5)  # ceil(0.6) = 1 entry
    assert top_share(np.arange(2000), fraction=0.2) == pytest.approx(
        np.arange(1600, 2000).sum() / np.arange(2000).sum())


@pytest.mark.parametrize("x, kw, name", [([1, -1], {}, "x"), ([0, 0], {}, "x"), ([], {}, "x"),
                                         ([1, 2], dict(fraction=0), "fraction"),
                                         ([1, 2], dict(fraction=1.5), "fraction")])
def test_top_share_bad_input(x, kw, name):
    with pytest.raises(ValueError, match=name):
        top_share(x, **kw)


# -- hub_filter ----------------------------------------------------------------------------
def _sampler(seed, d=16):
    rng = np.random.default_rng(seed)
    batches = []

    def fn(n):
        z = rng.standard_normal((n, d))
        batches.append(z)
        return z

    return fn, batches


def test_hub_filter_matches_manual_selection():
    fn, batches = _sampler(0)
    out = hub_filter(fn, size=40, k=5, t=12, batch=400)
    manual = np.concatenate([b[k_occurrence(b, 5) > 12] for b in batches])
    np.testing.assert_array_equal(out, manual[:40])
    assert out.shape == (40, 16) and out.dtype == np.float64 and len(batches) >= 2


def test_hub_filter_is_strict():
    Z = np.random.default_rng(1).standard_normal((300, 16))
    c = k_occurrence(Z, 5)
    t = int(np.sort(c)[-12])  # a value some counts equal exactly
    assert np.any(c == t)
    out = hub_filter(lambda n: Z, size=int((c > t).sum()), k=5, t=t, batch=300, max_rounds=1)
    np.testing.assert_array_equal(out, Z[c > t])
    with pytest.raises(RuntimeError, match="max_rounds"):  # ties at t are not kept
        hub_filter(lambda n: Z, size=int((c >= t).sum()), k=5, t=t, batch=300, max_rounds=1)


def test_hub_filter_torch_output_and_many_rounds():
    g = torch.Generator().manual_seed(0)
    out = hub_filter(lambda n: torch.randn(n, 8, generator=g, dtype=torch.float64), size=25,
                     k=3, t=8, batch=200)
    assert isinstance(out, np.ndarray) and out.shape == (25, 8)


@pytest.mark.parametrize("kw, name", [
    (dict(size=0), "size"), (dict(size=5, k=0), "k"), (dict(size=5, k=100, batch=100), "k"),
    (dict(size=5, batch=1), "batch"), (dict(size=5, t=np.nan), "t"),
    (dict(size=5, max_rounds=0), "max_rounds"),
])
def test_hub_filter_bad_arguments(kw, name):
    fn, _ = _sampler(0)
    kw.setdefault("batch", 100)
    with pytest.raises(ValueError, match=name):
        hub_filter(fn, **kw)


def test_hub_filter_bad_sample_fn():
    with pytest.raises(ValueError, match="sample_fn"):
        hub_filter(None, size=3, batch=50)
    with pytest.raises(ValueError, match="sample_fn"):
        hub_filter(lambda n: np.zeros((n + 1, 3)), size=3, batch=50)
    with pytest.raises(ValueError, match="sample_fn"):
        hub_filter(lambda n: np.zeros(n), size=3, batch=50)
    with pytest.raises(ValueError, match="sample_fn"):
        hub_filter(lambda n: np.full((n, 3), np.nan), size=3, batch=50)
    dims = iter([3, 4, 5])
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="sample_fn"):
        hub_filter(lambda n: rng.standard_normal((n, next(dims))), size=10**6, k=2, t=-1,
                   batch=50, max_rounds=3)


# -- chapter helpers moved into the module ----------------------------------------------------
def test_chi_norm_average_moments_and_bad_input():
    from lib.geometry import chi_norm_average

    for d in (5, 50, 512):  # E R^2 = d and E 1 = 1 for R^2 ~ chi^2_d
        assert chi_norm_average(lambda r: r**2, d) == pytest.approx(d, rel=1e-10)
        assert chi_norm_average(np.ones_like, d) == pytest.approx(1.0, rel=1e-10)
    want = math.sqrt(2) * math.exp(math.lgamma(25.5) - math.lgamma(25))  # E R, d = 50
    assert chi_norm_average(lambda r: r, 50) == pytest.approx(want, rel=1e-10)
    with pytest.raises(ValueError, match="f"):
        chi_norm_average(3.0, 10)
    with pytest.raises(ValueError, match="d"):
        chi_norm_average(np.ones_like, 0)
    with pytest.raises(ValueError, match="nodes"):
        chi_norm_average(np.ones_like, 10, nodes=0)


def test_norm_bin_residuals_against_manual_binning():
    from lib.geometry import norm_bin_residuals

    rng = np.random.default_rng(3)
    clouds = []
    for _ in range(3):
        X = rng.standard_normal((300, 20))
        clouds.append((k_occurrence(X, 5), np.linalg.norm(X, axis=1)))
    res = norm_bin_residuals(clouds, 20, 300, 5, quantiles=(0.1, 0.5), n_grid=40)
    assert res["diff"].shape == (3, 3) and res["pred_first"].shape == (3,)
    assert res["counts"].sum() == 3 * 300 * 5 and res["norms"].size == 900
    edges = np.sqrt(stats.chi2.ppf([0.1, 0.5], 20))
    cnt, r = clouds[1]
    pred = np.interp(r, res["grid"], res["expected"])  # linear vs log-linear: close on a fine grid
    b = np.searchsorted(edges, r, side="right")
    manual = [(cnt[b == i] - pred[b == i]).mean() for i in range(3)]
    np.testing.assert_allclose(res["diff"][1], manual, atol=0.05)
    np.testing.assert_allclose(res["expected"], expected_k_occurrence(res["grid"], 20, 300, 5))
    with pytest.raises(ValueError, match="quantiles"):
        norm_bin_residuals(clouds, 20, 300, 5, quantiles=(0.5, 0.1))
    with pytest.raises(ValueError, match="clouds"):
        norm_bin_residuals([], 20, 300, 5)


def test_plots_smoke():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lib.geometry import plot_ball_collapse, plot_dimension_study, plot_hub_norm

    fig = plot_ball_collapse(np.array([100, 80, 52, 31, 16]), 100)
    assert len(fig.axes) == 2
    rng = np.random.default_rng(0)
    runs, pooled = {}, {}
    for d in (2, 10):
        X = rng.standard_normal((200, d))
        runs[d] = [(k_occurrence(X, 5), np.linalg.norm(X, axis=1))] * 2
        grid = np.linspace(0.1, 5, 10)
        pooled[d] = (runs[d][0][1], runs[d][0][0], grid, np.ones_like(grid))
    assert len(plot_dimension_study(runs, pooled).axes) == 4
    X = rng.standard_normal((300, 20))
    c = k_occurrence(X, 5)
    assert len(plot_hub_norm(np.linalg.norm(X, axis=1), c, 12, 20, 300, 5).axes) == 1
    with pytest.raises(ValueError, match="counts"):
        plot_hub_norm(np.ones(3), np.ones(4), 1, 20, 300, 5)
    with pytest.raises(ValueError, match="n_samples"):
        plot_ball_collapse(np.ones(3), 0)
    with pytest.raises(ValueError, match="runs"):
        plot_dimension_study({}, {})
    plt.close("all")
