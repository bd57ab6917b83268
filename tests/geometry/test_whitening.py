"""Tests of BERT-whitening with beta, gamma (chapter geometry/bert-whitening,
kexue.fm/archives/9079) in lib.geometry: ``whitening_fit``, ``whitening_apply``, ``row_cosines``,
``cosine_spearman``, ``truncation_cosine_bound``, ``sts_toy``, ``spearman_grid``."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.geometry import (
    cosine_spearman,
    row_cosines,
    spearman_grid,
    sts_toy,
    truncation_cosine_bound,
    whitening_apply,
    whitening_fit,
)

EPS = np.finfo(np.float64).eps


def _data(seed=0, n=300, h=12, mean=20.0):
    """Rows with a large common mean and an anisotropic covariance (condition number 1e4)."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((h, h)))
    return mean * rng.standard_normal(h) / np.sqrt(h) + (rng.standard_normal((n, h))
                                                         * np.geomspace(10, 0.1, h)) @ Q.T


# -- whitening_fit ---------------------------------------------------------------------------
def test_fit_keys_and_moments_against_svd():
    X = _data()
    n = X.shape[0]
    for beta in (0.0, 0.4, 1.0):
        p = whitening_fit(X, beta=beta, gamma=0.7)
        np.testing.assert_allclose(p["mu"], beta * X.mean(0), rtol=1e-14)
        # independent route: singular values of the shifted data, squared, over N (1/N)
        s = np.linalg.svd((X - beta * X.mean(0)) / np.sqrt(n), compute_uv=False)
        np.testing.assert_allclose(p["lam"], s**2, rtol=1e-10, atol=1e-12 * s[0] ** 2)
        assert np.all(np.diff(p["lam"]) <= 0) and p["gamma"] == 0.7
        U = p["U"]
        np.testing.assert_allclose(U.T @ U, np.eye(X.shape[1]), atol=50 * EPS)
        S = (X - p["mu"]).T @ (X - p["mu"]) / n
        np.testing.assert_allclose(S @ U, U * p["lam"], atol=1e-11 * p["lam"][0])


def test_fit_uses_one_over_n_not_np_cov():
    X = _data(1)
    n = X.shape[0]
    lam_cov = np.sort(np.linalg.eigvalsh(np.cov(X.T)))[::-1]  # 1/(N-1)
    np.testing.assert_allclose(whitening_fit(X)["lam"], lam_cov * (n - 1) / n, rtol=1e-10)


def test_fit_clips_at_zero_and_accepts_torch():
    X = np.random.default_rng(2).standard_normal((5, 9))  # N < h: rank <= 4 after centring
    p = whitening_fit(torch.tensor(X), beta=1.0)
    assert np.all(p["lam"] >= 0) and p["lam"].dtype == np.float64
    assert np.sum(p["lam"] > 1e-12 * p["lam"][0]) == 4


@pytest.mark.parametrize("bad,match", [
    (np.ones(5), "X"), (np.ones((1, 3)), "X"), (np.array([[1.0, np.nan], [0, 1]]), "X"),
    ("abc", "X"),
])
def test_fit_bad_X(bad, match):
    with pytest.raises(ValueError, match=match):
        whitening_fit(bad)


@pytest.mark.parametrize("kw,match", [({"beta": np.nan}, "beta"), ({"gamma": np.inf}, "gamma"),
                                      ({"beta": True}, "beta"), ({"gamma": None}, "gamma")])
def test_fit_bad_scalars(kw, match):
    with pytest.raises(ValueError, match=match):
        whitening_fit(_data(), **kw)


# -- whitening_apply -------------------------------------------------------------------------
def test_full_whitening_gives_identity_covariance():
    X = _data(3)
    Y = whitening_apply(X, whitening_fit(X, 1.0, 1.0))
    kappa = whitening_fit(X)["lam"][0] / whitening_fit(X)["lam"][-1]
    np.testing.assert_allclose(Y.mean(0), 0, atol=10 * EPS * kappa)
    np.testing.assert_allclose(Y.T @ Y / len(Y), np.eye(X.shape[1]), atol=10 * EPS * kappa)


def test_rotation_keeps_inner_products_and_cosines():
    X = _data(4)
    Y = whitening_apply(X, whitening_fit(X, 0.0, 0.0))
    G = X @ X.T
    np.testing.assert_allclose(Y @ Y.T, G, atol=20 * X.shape[1] * EPS * np.abs(G).max())
    np.testing.assert_allclose(row_cosines(Y[:150], Y[150:]), row_cosines(X[:150], X[150:]),
                               atol=1e-14)


def test_pca_scores_match_svd_of_centred_data():
    X = _data(5)
    Xc = X - X.mean(0)
    _, _, Vt = np.linalg.svd(Xc, full_matrices=False)
    P = Xc @ Vt.T
    Y = whitening_apply(X, whitening_fit(X, 1.0, 0.0))
    signs = np.sign(np.sum(P * Y, axis=0))
    np.testing.assert_allclose(Y, P * signs, atol=1e-10 * np.abs(P).max())


@settings(max_examples=25, deadline=None)
@given(st.floats(-1.0, 2.0), st.floats(-1.0, 2.0), st.integers(0, 10_000))
def test_second_moment_is_lambda_power(beta, gamma, seed):
    """Law (eq-bert-whitening-moment): (1/N) sum x~^T x~ = diag(lam^(1-gamma)) for any beta, gamma."""
    X = _data(seed, n=200, h=8)
    p = whitening_fit(X, beta, gamma)
    Y = whitening_apply(X, p)
    target = np.diag(p["lam"] ** (1 - gamma))
    np.testing.assert_allclose(Y.T @ Y / len(Y), target, atol=1e-9 * np.abs(target).max())


def test_truncation_is_first_columns_and_new_rows():
    X, Xnew = _data(6), _data(7, n=20)
    p = whitening_fit(X, 0.5, 0.5)
    np.testing.assert_allclose(whitening_apply(Xnew, p, k=5), whitening_apply(Xnew, p)[:, :5],
                               rtol=1e-13)
    ref = (Xnew - p["mu"]) @ p["U"][:, :5] * p["lam"][:5] ** (-0.25)  # the contract's formula
    np.testing.assert_allclose(whitening_apply(Xnew, p, k=5), ref, rtol=1e-11)


@pytest.mark.parametrize("c", [1e-140, 1e140])
def test_extreme_scales_stay_finite_and_scale_free(c):
    X = _data(8)
    Y = whitening_apply(X, whitening_fit(X))
    Yc = whitening_apply(c * X, whitening_fit(c * X))
    assert np.all(np.isfinite(Yc))
    np.testing.assert_allclose(Yc, Y, atol=1e-9 * np.abs(Y).max())


def test_apply_refuses_zero_eigenvalues_unless_truncated():
    X = np.random.default_rng(9).standard_normal((5, 9))
    p = whitening_fit(X, 1.0, 1.0)
    with pytest.raises(ValueError, match="k"):
        whitening_apply(X, p)
    assert np.all(np.isfinite(whitening_apply(X, p, k=4)))
    p0 = whitening_fit(X, 1.0, 0.0)  # gamma = 0 never divides
    assert np.all(np.isfinite(whitening_apply(X, p0)))
    const = whitening_fit(np.ones((4, 3)), 1.0, 1.0)  # all eigenvalues zero
    with pytest.raises(ValueError, match="k"):
        whitening_apply(np.ones((4, 3)), const, k=1)


@pytest.mark.parametrize("k", [0, 13, 2.0, True, "3"])
def test_apply_bad_k(k):
    X = _data()
    with pytest.raises(ValueError, match="k"):
        whitening_apply(X, whitening_fit(X), k=k)


def test_apply_bad_X_and_params():
    X = _data()
    p = whitening_fit(X)
    with pytest.raises(ValueError, match="X"):
        whitening_apply(X[:, :5], p)
    with pytest.raises(ValueError, match="X"):
        whitening_apply(X[0], p)
    with pytest.raises(ValueError, match="params"):
        whitening_apply(X, {"mu": p["mu"]})
    with pytest.raises(ValueError, match="params"):
        whitening_apply(X, {**p, "U": p["U"][:, :3]})


# -- cosines and Spearman --------------------------------------------------------------------
def test_row_cosines_reference_and_extremes():
    rng = np.random.default_rng(10)
    A, B = rng.standard_normal((50, 7)), rng.standard_normal((50, 7))
    ref = np.array([a @ b / np.sqrt((a @ a) * (b @ b)) for a, b in zip(A, B, strict=True)])
    np.testing.assert_allclose(row_cosines(A, B), ref, atol=8 * EPS)
    for c in (1e-200, 1e200):
        np.testing.assert_allclose(row_cosines(c * A, B), ref, atol=8 * EPS)
    np.testing.assert_allclose(row_cosines(A, A), 1.0, atol=4 * EPS)
    np.testing.assert_allclose(row_cosines(A, -A), -1.0, atol=4 * EPS)


def test_row_cosines_bad_input():
    A = np.ones((3, 2))
    with pytest.raises(ValueError, match="B"):
        row_cosines(A, np.ones((3, 3)))
    with pytest.raises(ValueError, match="A"):
        row_cosines(np.array([[0.0, 0.0], [1, 1], [1, 2]]), A)
    with pytest.raises(ValueError, match="A"):
        row_cosines(np.ones(3), np.ones(3))


def test_cosine_spearman_matches_rank_formula():
    rng = np.random.default_rng(11)
    A, B, g = rng.standard_normal((200, 5)), rng.standard_normal((200, 5)), rng.random(200)
    c = row_cosines(A, B)
    rc = np.argsort(np.argsort(c)).astype(float)  # no ties with continuous data
    rg = np.argsort(np.argsort(g)).astype(float)
    n = len(g)
    ref = 1 - 6 * np.sum((rc - rg) ** 2) / (n * (n**2 - 1))
    assert cosine_spearman(A, B, g) == pytest.approx(ref, abs=1e-13)
    assert cosine_spearman(A, B, c) == pytest.approx(1.0, abs=1e-15)


def test_cosine_spearman_bad_input():
    rng = np.random.default_rng(12)
    A, B = rng.standard_normal((10, 3)), rng.standard_normal((10, 3))
    with pytest.raises(ValueError, match="gold"):
        cosine_spearman(A, B, np.arange(9.0))
    with pytest.raises(ValueError, match="gold"):
        cosine_spearman(A, B, np.ones(10))
    with pytest.raises(ValueError, match="gold"):
        cosine_spearman(A[:2], B[:2], np.arange(2.0))
    with pytest.raises(ValueError, match="cosines"):
        cosine_spearman(np.ones((10, 3)), 2 * np.ones((10, 3)), np.arange(10.0))


# -- truncation bound ------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 12), st.floats(0.01, 10.0))
def test_truncation_bound_holds(seed, d, decay):
    """Eq. (eq-bert-whitening-trunc): |cos(a[:k], b[:k]) - cos(a, b)| <= max(e, f) + sqrt(e f)."""
    rng = np.random.default_rng(seed)
    w = np.exp(-decay * np.arange(d) / d)
    A, B = rng.standard_normal((40, d)) * w, rng.standard_normal((40, d)) * w
    for k in range(1, d + 1):
        gap = np.abs(row_cosines(A[:, :k], B[:, :k]) - row_cosines(A, B))
        assert np.all(gap <= truncation_cosine_bound(A, B, k) + 1e-13)


def test_truncation_bound_is_attained_and_zero_at_full_k():
    p = np.array([[1.0, 2.0, 0.0, 0.0]])
    a, b = p + [0, 0, 0.3, 0.4], p - [0, 0, 0.3, 0.4]  # equal kept parts, opposite dropped parts
    e = 0.25 / 5.25
    gap = abs(row_cosines(a[:, :2], b[:, :2]) - row_cosines(a, b))[0]
    assert truncation_cosine_bound(a, b, 2)[0] == pytest.approx(2 * e, rel=1e-14)
    assert gap == pytest.approx(2 * e, rel=1e-13)
    assert np.all(truncation_cosine_bound(a, b, 4) == 0)


def test_truncation_bound_bad_input():
    A = np.ones((3, 4))
    with pytest.raises(ValueError, match="k"):
        truncation_cosine_bound(A, A, 5)
    with pytest.raises(ValueError, match="B"):
        truncation_cosine_bound(A, np.ones((3, 3)), 2)
    with pytest.raises(ValueError, match="A"):
        truncation_cosine_bound(np.zeros((3, 4)), A, 2)


# -- synthetic benchmark and sweep -----------------------------------------------------------
def test_sts_toy_clean_embedding_is_an_isometry_of_the_gold_space():
    ls = np.array([2.0, 1.0, 0.5])
    A, B, gold = sts_toy(100, np.random.default_rng(13), dim=6, latent_scales=ls,
                         gold_scales=ls, latent_mean=1.5)
    assert A.shape == B.shape == (100, 6) and gold.shape == (100,)
    np.testing.assert_allclose(row_cosines(A, B), gold, atol=1e-14)  # noise 0, no mean, no nuisance


def test_sts_toy_mean_nuisance_and_determinism():
    kw = dict(dim=10, latent_scales=[1.0, 1.0], nuisance_scales=[5.0], mean_norm=7.0, noise=0.1)
    A1, B1, g1 = sts_toy(4000, np.random.default_rng(14), **kw)
    A2, _, _ = sts_toy(4000, np.random.default_rng(14), **kw)
    np.testing.assert_array_equal(A1, A2)
    X = np.vstack([A1, B1])
    assert np.linalg.norm(X.mean(0)) == pytest.approx(7.0, rel=0.03)
    lam = whitening_fit(X)["lam"]
    np.testing.assert_allclose(lam[:3], [25.0, 1.01, 1.01], rtol=0.06)  # nuisance, 2 latent
    np.testing.assert_allclose(lam[3:], 0.01, rtol=0.15)                  # noise only
    assert np.all((g1 >= -1) & (g1 <= 1))


@pytest.mark.parametrize("kw,match", [
    ({"n_pairs": 2}, "n_pairs"), ({"rng": 0}, "rng"), ({"dim": 1}, "dim"),
    ({"latent_scales": [1.0, -1.0]}, "latent_scales"), ({"gold_scales": [1.0]}, "gold_scales"),
    ({"noise": -1.0}, "noise"), ({"mean_norm": np.nan}, "mean_norm"),
    ({"nuisance_scales": [[1.0]]}, "nuisance_scales"),
])
def test_sts_toy_bad_input(kw, match):
    args = dict(n_pairs=10, rng=np.random.default_rng(0), dim=3, latent_scales=[1.0, 1.0])
    args.update(kw)
    n, rng = args.pop("n_pairs"), args.pop("rng")
    with pytest.raises(ValueError, match=match):
        sts_toy(n, rng, **args)


def test_spearman_grid_matches_direct_evaluation():
    A, B, g = sts_toy(300, np.random.default_rng(15), dim=8, latent_scales=[2.0, 1.0, 0.5],
                      mean_norm=3.0, noise=0.2)
    halves = [np.arange(150), np.arange(150, 300)]
    R = spearman_grid(A, B, g, [0.0, 1.0], [0.0, 0.5, 1.0], [2, 8], subsets=halves)
    assert R.shape == (2, 2, 3, 2)
    X = np.vstack([A, B])
    for i, beta in enumerate([0.0, 1.0]):
        for j, gamma in enumerate([0.0, 0.5, 1.0]):
            p = whitening_fit(X, beta, gamma)
            for t, k in enumerate([2, 8]):
                for s, idx in enumerate(halves):
                    ref = cosine_spearman(whitening_apply(A[idx], p, k),
                                          whitening_apply(B[idx], p, k), g[idx])
                    assert R[s, i, j, t] == pytest.approx(ref, abs=1e-12)
    full = spearman_grid(A, B, g, [0.0], [0.0], [8])
    assert full[0, 0, 0, 0] == pytest.approx(cosine_spearman(A, B, g), abs=1e-12)  # a rotation


def test_spearman_grid_bad_input():
    A, B, g = sts_toy(30, np.random.default_rng(16), dim=4, latent_scales=[1.0], noise=0.1)
    with pytest.raises(ValueError, match="ks"):
        spearman_grid(A, B, g, [1.0], [1.0], [5])
    with pytest.raises(ValueError, match="gold"):
        spearman_grid(A, B, g[:5], [1.0], [1.0], [2])
    with pytest.raises(ValueError, match="gammas"):
        spearman_grid(A, B, g, [1.0], [np.nan], [2])
