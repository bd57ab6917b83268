"""Tests of lib/geometry/lowrank.py (chapter low-rank-svd, kexue.fm 10407).

References are independent of the code under test: matrices built from chosen singular values
and Haar-random orthogonal factors (so the SVD is known), closed-form one-sided inverses, the
four Moore–Penrose conditions (which determine the pseudo-inverse uniquely), SciPy's linprog.
"""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize

from lib.geometry import (
    als_errors,
    als_low_rank,
    als_rate,
    best_rank_r,
    competitor_excess,
    moore_penrose_residual,
    pinv_via_svd,
    plot_competitors_and_als,
    plot_precision,
    random_orthonormal_rows,
    rms_loglog_slope,
    singular_value_errors,
    spectral_by_induction,
    svd_via_eigh,
)

EPS = np.finfo(np.float64).eps


def haar(n, rng):
    q, R = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(R))


def with_singular_values(s, n, m, rng):
    """An (n, m) matrix whose singular values are exactly ``s`` (up to rounding), with U, V."""
    k = len(s)
    U, V = haar(n, rng)[:, :k], haar(m, rng)[:, :k]
    return (U * s) @ V.T, U, V


def mp_residuals(M, X):
    nm, nx = np.linalg.norm(M, 2), max(np.linalg.norm(X, 2), 1e-300)
    return [np.linalg.norm(M @ X @ M - M, 2) / nm, np.linalg.norm(X @ M @ X - X, 2) / nx,
            np.linalg.norm((M @ X).T - M @ X, 2), np.linalg.norm((X @ M).T - X @ M, 2)]


# -- pinv_via_svd ---------------------------------------------------------------------------
def test_pinv_full_column_and_row_rank_closed_forms():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((12, 4))
    left = np.linalg.solve(A.T @ A, A.T)  # (A^T A)^{-1} A^T, no SVD involved
    np.testing.assert_allclose(pinv_via_svd(A), left, rtol=0, atol=1e-13)
    right = A @ np.linalg.inv(A.T @ A)  # pinv(A^T) = A (A^T A)^{-1}
    np.testing.assert_allclose(pinv_via_svd(A.T), right, rtol=0, atol=1e-13)


def test_pinv_rank_deficient_moore_penrose():
    rng = np.random.default_rng(1)
    M = rng.standard_normal((9, 3)) @ rng.standard_normal((3, 7))
    X = pinv_via_svd(M)
    assert X.shape == (7, 9)
    assert max(mp_residuals(M, X)) < 1e-13


def test_pinv_known_diagonal_and_rcond():
    M = np.diag([4.0, 1e-3, 1e-16])  # 1e-16 / 4 is below the default 3 * eps: dropped
    np.testing.assert_allclose(pinv_via_svd(M), np.diag([0.25, 1e3, 0.0]), rtol=1e-15)
    np.testing.assert_allclose(pinv_via_svd(M, rcond=1e-2), np.diag([0.25, 0.0, 0.0]))
    np.testing.assert_allclose(pinv_via_svd(M, rcond=0.0), np.diag([0.25, 1e3, 1e16]), rtol=1e-12)


def test_pinv_zero_extreme_and_torch():
    assert np.array_equal(pinv_via_svd(np.zeros((3, 2))), np.zeros((2, 3)))
    big = np.array([[1e200, 0.0], [0.0, 3e199]])
    np.testing.assert_allclose(pinv_via_svd(big), np.diag([1e-200, 1 / 3e199]), rtol=1e-14)
    t = torch.tensor([[2.0, 0.0], [0.0, 0.5]], dtype=torch.float32)
    out = pinv_via_svd(t)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, np.diag([0.5, 2.0]))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 6), m=st.integers(1, 6), k=st.integers(1, 6), seed=st.integers(0, 10**6))
def test_pinv_moore_penrose_property(n, m, k, seed):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, k)) @ rng.standard_normal((k, m))
    assert max(mp_residuals(M, pinv_via_svd(M))) < 1e-10


@pytest.mark.parametrize("bad, match", [(np.ones(3), "M"), (np.ones((2, 2, 2)), "M"),
                                        (np.array([[1.0, np.nan]]), "M"), (np.ones((0, 3)), "M")])
def test_pinv_bad_matrix(bad, match):
    with pytest.raises(ValueError, match=match):
        pinv_via_svd(bad)


@pytest.mark.parametrize("rcond", [-1e-3, np.inf, "x"])
def test_pinv_bad_rcond(rcond):
    with pytest.raises(ValueError, match="rcond"):
        pinv_via_svd(np.eye(2), rcond=rcond)


# -- best_rank_r ----------------------------------------------------------------------------
def test_best_rank_r_known_svd():
    rng = np.random.default_rng(2)
    s = np.array([5.0, 3.0, 2.0, 0.5])
    M, U, V = with_singular_values(s, 7, 5, rng)
    for r in range(5):
        k = min(r, 4)
        ref = (U[:, :k] * s[:k]) @ V[:, :k].T
        X = best_rank_r(M, r)
        np.testing.assert_allclose(X, ref, atol=1e-13)
        np.testing.assert_allclose(np.sum((M - X) ** 2), np.sum(s[k:] ** 2), atol=1e-12)
        tail = s[k] if k < 4 else 0.0
        np.testing.assert_allclose(np.linalg.norm(M - X, 2), tail, atol=1e-13)


def test_best_rank_r_diagonal_keeps_largest_entries():
    M = np.diag([1.0, 4.0, 2.0, 3.0])
    np.testing.assert_allclose(best_rank_r(M, 2), np.diag([0.0, 4.0, 0.0, 3.0]), atol=1e-15)
    assert np.array_equal(best_rank_r(M, 0), np.zeros((4, 4)))
    np.testing.assert_allclose(best_rank_r(M, 4), M, atol=1e-15)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 7), m=st.integers(1, 7), seed=st.integers(0, 10**6), data=st.data())
def test_best_rank_r_beats_random_rank_r(n, m, seed, data):
    r = data.draw(st.integers(0, min(n, m)))
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, m))
    err = np.sum((M - best_rank_r(M, r)) ** 2)
    A = rng.standard_normal((n, r))
    B = np.linalg.lstsq(A, M, rcond=None)[0] if r else np.zeros((0, m))
    assert err <= np.sum((M - A @ B) ** 2) + 1e-12
    assert np.linalg.matrix_rank(best_rank_r(M, r)) <= r


def test_best_rank_r_extreme_scale():
    M = np.diag([3e200, 1e200])
    np.testing.assert_allclose(best_rank_r(M, 1), np.diag([3e200, 0.0]), rtol=1e-14, atol=0)


@pytest.mark.parametrize("r", [-1, 4, 1.5, True, "2"])
def test_best_rank_r_bad_r(r):
    with pytest.raises(ValueError, match="r must"):
        best_rank_r(np.ones((3, 5)), r)


def test_best_rank_r_bad_matrix():
    with pytest.raises(ValueError, match="M"):
        best_rank_r(np.ones(4), 1)


# -- spectral_by_induction ------------------------------------------------------------------
def test_spectral_by_induction_repeated_and_zero_eigenvalues():
    rng = np.random.default_rng(3)
    ev = np.array([2.0, 2.0, 2.0, -1.0, 0.0, 0.0, 5.0])
    Q = haar(7, rng)
    M = (Q * ev) @ Q.T
    lam, U = spectral_by_induction(M)
    np.testing.assert_allclose(U.T @ U, np.eye(7), atol=1e-14)
    np.testing.assert_allclose(U.T @ M @ U, np.diag(lam), atol=1e-13)
    np.testing.assert_allclose(np.sort(lam), np.sort(ev), atol=1e-13)


def test_spectral_by_induction_small_cases():
    lam, U = spectral_by_induction([[3.0]])
    assert lam.tolist() == [3.0] and U.tolist() == [[1.0]]
    lam, U = spectral_by_induction(np.zeros((3, 3)))
    assert np.all(lam == 0)
    np.testing.assert_allclose(U.T @ U, np.eye(3), atol=1e-15)


@pytest.mark.parametrize("bad", [np.ones((2, 3)), np.array([[1.0, 2.0], [0.0, 1.0]]), np.ones(3)])
def test_spectral_by_induction_bad_input(bad):
    with pytest.raises(ValueError, match="M"):
        spectral_by_induction(bad)


# -- svd_via_eigh ---------------------------------------------------------------------------
def test_svd_via_eigh_well_conditioned():
    rng = np.random.default_rng(4)
    s = np.array([3.0, 2.0, 1.5, 1.0])
    M, _, _ = with_singular_values(s, 8, 6, rng)
    U, sv, V = svd_via_eigh(M)
    assert U.shape == (8, 4) and sv.shape == (4,) and V.shape == (6, 4)
    np.testing.assert_allclose(sv, s, rtol=1e-14)
    np.testing.assert_allclose(U.T @ U, np.eye(4), atol=1e-14)
    np.testing.assert_allclose(V.T @ V, np.eye(4), atol=1e-14)
    np.testing.assert_allclose(U @ np.diag(sv) @ V.T, M, atol=1e-14)  # V, not V^T


def test_svd_via_eigh_rank_cut_and_wide():
    rng = np.random.default_rng(5)
    M = rng.standard_normal((4, 2)) @ rng.standard_normal((2, 9))  # wide, rank 2
    U, sv, V = svd_via_eigh(M)
    assert len(sv) == 2
    np.testing.assert_allclose(U * sv @ V.T, M, atol=1e-13)
    M2 = np.diag([1.0, 1e-3, 1e-9])
    assert len(svd_via_eigh(M2, rtol=1e-6)[1]) == 2
    assert len(svd_via_eigh(M2, rtol=1e-2)[1]) == 1


def test_svd_via_eigh_zero_and_extreme():
    U, sv, V = svd_via_eigh(np.zeros((3, 2)))
    assert U.shape == (3, 0) and sv.shape == (0,) and V.shape == (2, 0)
    for scale in (1e-200, 1e200):
        U, sv, V = svd_via_eigh(np.diag([3.0, 1.0]) * scale)
        np.testing.assert_allclose(sv, np.array([3.0, 1.0]) * scale, rtol=1e-15)
        assert np.all(np.isfinite(U)) and np.all(np.isfinite(V))


def test_svd_via_eigh_squares_condition_number():
    # sigma = 1e-9 is below sqrt(eps) * sigma_1: the eigh route cannot resolve it, SVD can.
    rng = np.random.default_rng(6)
    M, _, _ = with_singular_values(np.array([1.0, 1e-3, 1e-9]), 6, 3, rng)
    sv = svd_via_eigh(M, rtol=0.0)[1]
    assert abs(sv[1] - 1e-3) / 1e-3 < 1e-8  # ~ eps / sigma^2 = 2e-10
    ref = np.linalg.svd(M, compute_uv=False)[2]
    assert abs(ref - 1e-9) / 1e-9 < 1e-5
    assert len(sv) < 3 or abs(sv[2] - 1e-9) / 1e-9 > 0.1


@pytest.mark.parametrize("rtol", [-0.1, np.nan, "a"])
def test_svd_via_eigh_bad_rtol(rtol):
    with pytest.raises(ValueError, match="rtol"):
        svd_via_eigh(np.eye(2), rtol=rtol)


def test_svd_via_eigh_bad_matrix():
    with pytest.raises(ValueError, match="M"):
        svd_via_eigh([[1.0, np.inf]])


# -- random_orthonormal_rows ----------------------------------------------------------------
def test_random_orthonormal_rows_orthonormal_and_haar_moments():
    rng = np.random.default_rng(7)
    W = np.stack([random_orthonormal_rows(3, 5, rng) for _ in range(4000)])
    assert W.shape == (4000, 3, 5)
    np.testing.assert_allclose(W @ W.transpose(0, 2, 1), np.broadcast_to(np.eye(3), (4000, 3, 3)),
                               atol=1e-14)
    # Haar: E[u_ij^2] = 1/n and E[u_ij] = 0 for every entry; se of a mean of u^2 is ~sqrt(2/(n^2 N))
    se2 = np.sqrt(2 / (25 * 4000))
    assert np.abs((W**2).mean(0) - 0.2).max() < 5 * se2
    assert np.abs(W.mean(0)).max() < 5 * np.sqrt(0.2 / 4000)


def test_random_orthonormal_rows_square_is_orthogonal():
    W = random_orthonormal_rows(4, 4, np.random.default_rng(8))
    np.testing.assert_allclose(W.T @ W, np.eye(4), atol=1e-14)


def test_diagonal_lemma_against_linprog():
    # min sum_j sigma_j^2 w_j over 0 <= w <= 1, sum w = k is the sum of the k smallest sigma^2
    rng = np.random.default_rng(9)
    sig2 = np.sort(rng.uniform(0, 5, 6))[::-1]
    k = 2
    lp = optimize.linprog(sig2, A_eq=np.ones((1, 6)), b_eq=[k], bounds=[(0, 1)] * 6)
    assert abs(lp.fun - sig2[-k:].sum()) < 1e-9
    for _ in range(200):
        W = random_orthonormal_rows(k, 6, rng)
        assert np.sum((W * np.sqrt(sig2)) ** 2) >= lp.fun - 1e-12


@pytest.mark.parametrize("k, n, match", [(0, 3, "k"), (4, 3, "k"), (1, 0, "n"), (1.0, 3, "k")])
def test_random_orthonormal_rows_bad_sizes(k, n, match):
    with pytest.raises(ValueError, match=match):
        random_orthonormal_rows(k, n, np.random.default_rng(0))


def test_random_orthonormal_rows_bad_rng():
    with pytest.raises(ValueError, match="rng"):
        random_orthonormal_rows(1, 3, 0)


# -- ALS ------------------------------------------------------------------------------------
def test_als_reaches_eckart_young_with_a_gap():
    rng = np.random.default_rng(10)
    M, _, _ = with_singular_values(np.array([5.0, 4.0, 1.0, 0.5, 0.2]), 9, 7, rng)
    A, B = als_low_rank(M, 2, iters=60, rng=np.random.default_rng(1))
    assert A.shape == (9, 2) and B.shape == (2, 7)
    np.testing.assert_allclose(A @ B, best_rank_r(M, 2), atol=1e-12)


def test_als_errors_monotone_and_consistent():
    rng = np.random.default_rng(11)
    M = rng.standard_normal((8, 6))
    err = als_errors(M, 2, iters=30, rng=np.random.default_rng(5))
    assert err.shape == (30,)
    assert np.all(np.diff(err) <= 1e-12 * err[0])  # each half-step is an exact minimisation
    A, B = als_low_rank(M, 2, iters=30, rng=np.random.default_rng(5))
    assert err[-1] == pytest.approx(np.sum((A @ B - M) ** 2), rel=1e-14)
    assert err[-1] >= np.sum(np.linalg.svd(M, compute_uv=False)[2:] ** 2) - 1e-12


def test_als_default_rng_and_zero_matrix():
    M = np.random.default_rng(12).standard_normal((5, 4))
    A1, B1 = als_low_rank(M, 1, iters=3)
    A2, B2 = als_low_rank(M, 1, iters=3, rng=np.random.default_rng(0))
    assert np.array_equal(A1, A2) and np.array_equal(B1, B2)
    A, B = als_low_rank(np.zeros((3, 4)), 2, iters=2)
    assert np.all(A @ B == 0) and np.all(np.isfinite(A)) and np.all(np.isfinite(B))


@pytest.mark.parametrize("kw, match", [({"r": 0}, "r"), ({"r": 5}, "r"), ({"r": 1.5}, "r"),
                                       ({"r": 1, "iters": 0}, "iters"),
                                       ({"r": 1, "rng": 3}, "rng")])
def test_als_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        als_low_rank(np.ones((4, 4)), **kw)
    with pytest.raises(ValueError, match=match):
        als_errors(np.ones((4, 4)), **kw)


def test_als_bad_matrix():
    with pytest.raises(ValueError, match="M"):
        als_low_rank(np.ones(3), 1)


# -- moore_penrose_residual -----------------------------------------------------------------
def test_moore_penrose_residual_zero_for_closed_form_and_positive_otherwise():
    A = np.random.default_rng(13).standard_normal((6, 3))
    left = np.linalg.solve(A.T @ A, A.T)  # the pseudo-inverse of a full-column-rank A, no SVD
    assert moore_penrose_residual(A, left) < 1e-14
    assert max(mp_residuals(A, left)) == pytest.approx(moore_penrose_residual(A, left), abs=1e-15)
    assert moore_penrose_residual(A, 2 * left) == pytest.approx(1.0, rel=1e-12)  # MXM = 2M
    assert moore_penrose_residual(np.diag([2.0, 0.0]), np.diag([0.5, 0.0])) == 0.0
    assert moore_penrose_residual(np.diag([2.0, 0.0]), np.zeros((2, 2))) == 1.0  # finite at X = 0


def test_moore_penrose_residual_bad_input():
    with pytest.raises(ValueError, match="X must have shape"):
        moore_penrose_residual(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="X"):
        moore_penrose_residual(np.ones((2, 2)), [[np.nan, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="M"):
        moore_penrose_residual(np.ones(2), np.ones((2, 1)))


# -- singular_value_errors, rms_loglog_slope --------------------------------------------------
def test_singular_value_errors_shapes_and_error_laws():
    sigma = np.array([1.0, 1e-2, 1e-4, 1e-6])
    rel_e, rel_s, dlam = singular_value_errors(sigma, 6, 5, np.random.default_rng(14))
    assert rel_e.shape == rel_s.shape == dlam.shape == (5, 4)
    assert np.all(np.abs(rel_s) * sigma < 10 * EPS)  # direct SVD: absolute error ~ eps sigma_1
    assert np.all(np.abs(dlam) < 20 * EPS)  # eigenvalues of M^T M: absolute error ~ eps sigma_1^2
    assert np.median(rel_e[:, -1]) > 1e-6  # sigma = 1e-6: eps / sigma^2 ~ 1e-4, far above SVD's


def test_singular_value_errors_bad_input():
    rng = np.random.default_rng(0)
    for bad in ([1.0, 2.0], [1.0, 0.0], [], [[1.0]]):
        with pytest.raises(ValueError, match="sigma"):
            singular_value_errors(bad, 3, 1, rng)
    with pytest.raises(ValueError, match="n"):
        singular_value_errors([1.0, 0.5], 1, 1, rng)
    with pytest.raises(ValueError, match="trials"):
        singular_value_errors([1.0], 2, 0, rng)
    with pytest.raises(ValueError, match="rng"):
        singular_value_errors([1.0], 2, 1, 0)


def test_rms_loglog_slope_exact_power_laws_and_batches():
    sigma = np.logspace(0, -6, 7)
    window = sigma <= 1e-1
    for p in (-2.0, -1.0, 0.5):
        rel = np.vstack([sigma**p, 3 * sigma**p])  # RMS = sqrt(5) sigma^p: slope p exactly
        assert rms_loglog_slope(rel, sigma, window) == pytest.approx(p, abs=1e-12)
    stack = np.stack([np.vstack([sigma**-2, sigma**-2]), np.vstack([sigma**-1, sigma**-1])])
    np.testing.assert_allclose(rms_loglog_slope(stack, sigma, window), [-2.0, -1.0], atol=1e-12)


def test_rms_loglog_slope_bad_input():
    sigma = np.array([1.0, 0.1, 0.01])
    with pytest.raises(ValueError, match="rel"):
        rms_loglog_slope(np.ones(3), sigma, [True] * 3)
    with pytest.raises(ValueError, match="window"):
        rms_loglog_slope(np.ones((2, 3)), sigma, [True, False, False])
    with pytest.raises(ValueError, match="rel must have a positive RMS"):
        rms_loglog_slope(np.zeros((2, 3)), sigma, [True] * 3)


# -- competitor_excess ------------------------------------------------------------------------
def test_competitor_excess_families_never_beat_the_bound():
    rng = np.random.default_rng(15)
    s = np.array([4.0, 3.0, 1.0, 0.5, 0.25])
    M, _, _ = with_singular_values(s, 7, 5, rng)
    for fam in ("gaussian", "best-b", "perturbed"):
        fro, spec = competitor_excess(M, 2, fam, rng, draws=200, chunk=50)
        assert fro.shape == spec.shape == (200,)
        assert fro.min() >= -1e-13 and spec.min() >= -1e-13
    fro, spec = competitor_excess(M, 2, "perturbed", rng, draws=200, chunk=100)
    assert fro.min() < 1e-6  # noise 1e-6 around the optimum: excess of order 1e-12 .. 1e-2
    # the optimal B for a given A: its Frobenius error is that of the projection onto range(A)
    fro_b, _ = competitor_excess(M, 2, "best-b", np.random.default_rng(1), draws=10, chunk=10)
    G = np.random.default_rng(1).standard_normal((10, 7, 2))
    direct = [np.sum((g @ np.linalg.lstsq(g, M, rcond=None)[0] - M) ** 2) for g in G]
    np.testing.assert_allclose(fro_b, np.array(direct) / np.sum(s[2:] ** 2) - 1, atol=1e-12)


@pytest.mark.parametrize("kw, match", [({"r": 0}, "r"), ({"r": 5}, "r"), ({"family": "x"}, "family"),
                                       ({"draws": 12}, "draws"), ({"chunk": 0}, "chunk"),
                                       ({"rng": 1}, "rng")])
def test_competitor_excess_bad_input(kw, match):
    args = {"r": 1, "family": "gaussian", "rng": np.random.default_rng(0), "draws": 10, "chunk": 5}
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        competitor_excess(np.random.default_rng(0).standard_normal((6, 5)), **args)


def test_competitor_excess_rank_deficient_matrix():
    with pytest.raises(ValueError, match="rank"):
        competitor_excess(np.diag([1.0, 0.0, 0.0]), 1, "gaussian", np.random.default_rng(0),
                          draws=5, chunk=5)


# -- als_rate -------------------------------------------------------------------------------
def test_als_rate_recovers_a_geometric_decay():
    k = np.arange(1, 101)
    rel = np.vstack([0.5 * 0.8**k, 2.0 * 0.9**k + 1e-30])
    np.testing.assert_allclose(als_rate(rel, 1e-9, 1e-2), [0.8, 0.9], rtol=1e-10)


def test_als_rate_matches_theory_on_a_matrix():
    rng = np.random.default_rng(16)
    s = np.array([4.0, 2.0, 1.8, 0.1])  # slow mode (1.8/2)^4; the 0.1 mode dies at once
    M, _, _ = with_singular_values(s, 6, 4, rng)
    E = np.stack([als_errors(M, 2, 100, np.random.default_rng(i)) for i in range(3)])
    rate = als_rate(E / np.sum(s[2:] ** 2) - 1, 1e-12, 1e-6)
    np.testing.assert_allclose(rate, (s[2] / s[1]) ** 4, rtol=1e-3)


def test_als_rate_bad_input():
    with pytest.raises(ValueError, match="rel_excess"):
        als_rate(np.ones(5))
    with pytest.raises(ValueError, match="run 0"):
        als_rate(np.ones((1, 5)))
    with pytest.raises(ValueError, match="high"):
        als_rate(np.ones((1, 5)), low=1e-3, high=1e-4)
    with pytest.raises(ValueError, match="low"):
        als_rate(np.ones((1, 5)), low=0.0)


# -- the figures ----------------------------------------------------------------------------
def test_plots_draw_every_series():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sigma = np.logspace(0, -4, 5)
    fig, ax = plt.subplots()
    plot_precision(ax, sigma, sigma**-2 * EPS, sigma**-1 * EPS, 0.1, 0.1)
    assert len(ax.lines) == 5 and ax.xaxis_inverted()
    fig, axes = plt.subplots(1, 3)
    rng = np.random.default_rng(0)
    excess = {"a": (rng.uniform(size=20), rng.uniform(size=20)), "b": (np.zeros(20), np.ones(20))}
    plot_competitors_and_als(axes, excess, 0.5 ** np.arange(1, 31)[None, :].repeat(3, 0), 0.5)
    assert len(axes[0].patches) == len(axes[1].patches) == 120  # 60 bins per family
    assert len(axes[2].lines) == 4  # three runs and the predicted rate
    plt.close("all")
