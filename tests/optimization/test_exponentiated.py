"""Tests of lib/optimization/exponentiated.py (chapter: exponentiated-gradient, article 8968)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import minimize

from lib import optimization
from lib.optimization import (
    META_CLIP,
    eg_local_rate,
    eg_nnls_run,
    eg_step,
    gd_diag_rel_loss,
    lsq_loss_rounding_bound,
    meta_diag_rel_loss,
    meta_lr_descent,
    meta_lr_step,
    meta_phase_map,
)

small = st.floats(-20, 20, allow_nan=False, allow_infinity=False)
positive = st.floats(1e-3, 1e3, allow_nan=False, allow_infinity=False)


def pairs(elements_a, elements_b, max_n=8):
    """Two float64 vectors of one random length."""
    return st.integers(1, max_n).flatmap(
        lambda n: st.tuples(arrays(np.float64, n, elements=elements_a),
                            arrays(np.float64, n, elements=elements_b)))


# ---------------------------------------------------------------- eg_step
def test_eg_step_matches_formula_and_keeps_shape():
    rng = np.random.default_rng(0)
    theta = rng.uniform(0, 3, size=(4, 5))
    grad = rng.normal(size=(4, 5))
    out = eg_step(theta, grad, 0.3)
    assert out.shape == (4, 5) and out.dtype == np.float64
    ref = np.array([[t * math.exp(-0.3 * g) for t, g in zip(r1, r2, strict=True)]
                    for r1, r2 in zip(theta, grad, strict=True)])
    np.testing.assert_allclose(out, ref, rtol=4e-16, atol=0)


def test_eg_step_accepts_lists_and_eta_zero_is_identity():
    out = eg_step([1.0, 2.0], [5.0, -5.0], 0)
    np.testing.assert_array_equal(out, [1.0, 2.0])


@settings(max_examples=100, deadline=None)
@given(pairs(st.one_of(st.just(0.0), st.floats(1e-100, 1e3)), small), st.floats(0, 5))
def test_eg_step_keeps_the_orthant_and_the_zeros(tg, eta):
    theta, grad = tg
    out = eg_step(theta, grad, eta)
    assert np.all(out >= 0) and not np.any(np.isnan(out))
    assert np.all(out[theta == 0] == 0)
    assert np.all(out[theta > 0] > 0)  # |eta * grad| <= 100: no underflow from 1e-100


@settings(max_examples=100, deadline=None)
@given(pairs(positive, small), arrays(np.float64, 8, elements=small), st.floats(0, 0.5))
def test_eg_steps_compose_additively(tg, g2, eta):
    """Law: two EG steps equal one step on the summed gradients (log theta moves linearly)."""
    theta, g1 = tg
    g2 = g2[: theta.size]
    two = eg_step(eg_step(theta, g1, eta), g2, eta)
    one = eg_step(theta, g1 + g2, eta)
    np.testing.assert_allclose(two, one, rtol=1e-13)


def test_eg_step_is_the_entropic_mirror_step():
    """Independent route: minimise eta<g, x> + KL_gen(x || theta) numerically (L-BFGS-B)."""
    rng = np.random.default_rng(1)
    theta = rng.uniform(0.2, 2, 6)
    g = rng.normal(size=6)
    eta = 0.4

    def objective(x):
        return eta * g @ x + np.sum(x * np.log(x / theta) - x + theta)

    def gradient(x):
        return eta * g + np.log(x / theta)

    res = minimize(objective, theta, jac=gradient, method="L-BFGS-B",
                   bounds=[(1e-12, None)] * 6, options={"ftol": 1e-15, "gtol": 1e-12})
    np.testing.assert_allclose(eg_step(theta, g, eta), res.x, rtol=1e-7)


def test_eg_step_extremes_are_never_nan():
    out = eg_step([0.0, 1.0, 1e-300], [-1e6, -1e6, 1e6], 1.0)
    assert out[0] == 0.0 and out[1] == math.inf and out[2] == 0.0


@pytest.mark.parametrize("kw, match", [
    (dict(theta=[1.0, 2.0], grad=[1.0], eta=0.1), "grad"),
    (dict(theta=[1.0, -2.0], grad=[1.0, 1.0], eta=0.1), "theta"),
    (dict(theta=[1.0, math.nan], grad=[1.0, 1.0], eta=0.1), "theta"),
    (dict(theta=[1.0, math.inf], grad=[1.0, 1.0], eta=0.1), "theta"),
    (dict(theta=[1.0, 2.0], grad=[1.0, math.nan], eta=0.1), "grad"),
    (dict(theta=[1.0, 2.0], grad=[1.0, 1.0], eta=-0.1), "eta"),
    (dict(theta=[1.0, 2.0], grad=[1.0, 1.0], eta=math.inf), "eta"),
    (dict(theta=[1.0, 2.0], grad=[1.0, 1.0], eta=math.nan), "eta"),
    (dict(theta=["a"], grad=[1.0], eta=0.1), "theta"),
])
def test_eg_step_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        eg_step(**kw)


# ---------------------------------------------------------------- eg_local_rate
@pytest.mark.parametrize("a, c, eta", [(2.0, 3.0, 0.1), (1.5, -2.0, 0.2), (0.5, 4.0, 1.5)])
def test_eg_local_rate_one_dimension_closed_form(a, c, eta):
    """1-D: theta* = max(c/a, 0); active rate |1 - eta a c|, inactive exp(eta a c)."""
    rho = eg_local_rate([[a]], [c], [max(c / a, 0.0)], eta)
    ref = abs(1 - eta * a * c) if c / a > 0 else math.exp(eta * a * c)
    assert rho == pytest.approx(ref, rel=1e-14)


def test_eg_local_rate_matches_simulated_contraction():
    """Independent route: run EG and read the contraction of the error off its tail."""
    from scipy.optimize import nnls

    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(12, 4)), rng.normal(size=12)
    star = nnls(a, b)[0]
    eta = 0.05
    rho = eg_local_rate(a, b, star, eta)
    theta, errs = np.ones(4), []
    for _ in range(4000):
        theta = eg_step(theta, a.T @ (a @ theta - b), eta)
        errs.append(np.abs(theta - star).max())
    errs = np.array(errs)
    t1, t2 = int(np.argmax(errs < 1e-7)), int(np.argmax(errs < 1e-12))
    assert 0 < t1 < t2
    measured = np.log(errs[t2] / errs[t1]) / (t2 - t1)
    assert measured == pytest.approx(np.log(rho), rel=0.01)  # transient modes: ~1% on the log-rate


@pytest.mark.parametrize("kw, match", [
    (dict(A=[1.0, 2.0]), "A"),
    (dict(b=[1.0]), "b"),
    (dict(theta_star=[1.0]), "theta_star"),
    (dict(theta_star=[1.0, -1.0]), "theta_star"),
    (dict(A=[[1.0, math.nan], [0.0, 1.0]]), "A"),
    (dict(eta=0.0), "eta"),
    (dict(eta=math.inf), "eta"),
])
def test_eg_local_rate_bad_input(kw, match):
    args = dict(A=[[1.0, 0.0], [0.0, 1.0]], b=[1.0, -1.0], theta_star=[1.0, 0.0], eta=0.1)
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        eg_local_rate(**args)


# ---------------------------------------------------------------- meta_lr_step
def test_meta_lr_step_first_step_is_plain_gd():
    theta, nu, g = np.array([1.0, -2.0]), np.array([1.0, 3.0]), np.array([0.5, 0.25])
    t_new, nu_new = meta_lr_step(theta, nu, g, None, 0.1, 7.0)
    np.testing.assert_array_equal(nu_new, nu)
    np.testing.assert_allclose(t_new, [1.0 - 0.05, -2.0 - 0.075], rtol=1e-15)


def test_meta_lr_step_product_and_sign_modes():
    theta = np.array([1.0, 1.0, 1.0])
    nu = np.array([2.0, 1.0, 0.5])
    g = np.array([0.3, -0.2, 0.0])
    gp = np.array([0.4, 0.5, 1.0])
    t_p, nu_p = meta_lr_step(theta, nu, g, gp, 0.1, 2.0, mode="product")
    np.testing.assert_allclose(nu_p, [2 * math.exp(2 * 0.12), math.exp(-2 * 0.1), 0.5], rtol=1e-15)
    np.testing.assert_allclose(t_p, theta - 0.1 * nu_p * g, rtol=1e-15)
    _, nu_s = meta_lr_step(theta, nu, g, gp, 0.1, 2.0, mode="sign")
    np.testing.assert_allclose(nu_s, [2 * math.exp(2), math.exp(-2), 0.5], rtol=1e-15)


def test_meta_lr_step_clips_the_exponent():
    _, nu_new = meta_lr_step([0.0, 0.0], [1.0, 1.0], [1e3, -1e3], [1e3, 1e3], 0.1, 1.0)
    np.testing.assert_allclose(nu_new, [math.exp(META_CLIP), math.exp(-META_CLIP)], rtol=1e-15)
    _, nu_sign = meta_lr_step([0.0], [1.0], [1.0], [1.0], 0.1, 1e3, mode="sign")
    np.testing.assert_allclose(nu_sign, [math.exp(META_CLIP)], rtol=1e-15)


def test_meta_lr_step_gamma_zero_is_gd():
    rng = np.random.default_rng(2)
    theta, g, gp = rng.normal(size=(3, 5))
    nu = rng.uniform(0, 2, 5)
    t_new, nu_new = meta_lr_step(theta, nu, g, gp, 0.3, 0.0)
    np.testing.assert_array_equal(nu_new, nu)
    np.testing.assert_allclose(t_new, theta - 0.3 * nu * g, rtol=1e-15)


@pytest.mark.parametrize("kw, match", [
    (dict(mode="adam"), "mode"),
    (dict(nu=[1.0]), "nu"),
    (dict(g=[1.0, 2.0, 3.0]), "g"),
    (dict(g_prev=[1.0]), "g_prev"),
    (dict(nu=[1.0, -1.0]), "nu"),
    (dict(eta=-1.0), "eta"),
    (dict(eta=math.nan), "eta"),
    (dict(gamma=-0.5), "gamma"),
    (dict(gamma=math.inf), "gamma"),
    (dict(theta=[math.nan, 0.0]), "theta"),
])
def test_meta_lr_step_bad_input(kw, match):
    args = dict(theta=[1.0, 2.0], nu=[1.0, 1.0], g=[0.1, 0.2], g_prev=[0.3, 0.4], eta=0.1,
                gamma=1.0, mode="product")
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        meta_lr_step(**args)


# ---------------------------------------------------------------- meta_lr_descent
def scalar_reference(h, theta0, eta, gamma, steps):
    """Pure-Python spelling of the rule on L = h theta^2 / 2 (scalar, no clipping)."""
    thetas, nus = [theta0], []
    theta, nu, g_prev = theta0, 1.0, None
    for _ in range(steps):
        g = h * theta
        if g_prev is not None:
            nu = nu * math.exp(gamma * g_prev * g)
        theta = theta - eta * nu * g
        thetas.append(theta)
        nus.append(nu)
        g_prev = g
    return thetas, nus


def test_meta_lr_descent_matches_scalar_reference():
    thetas, nus = meta_lr_descent(lambda x: 0.7 * x, [1.3], 0.05, 2.0, 40)
    ref_t, ref_nu = scalar_reference(0.7, 1.3, 0.05, 2.0, 40)
    np.testing.assert_allclose(thetas[:, 0], ref_t, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(nus[:, 0], ref_nu, rtol=1e-12)


def test_meta_lr_descent_shapes_and_indexing():
    thetas, nus = meta_lr_descent(lambda x: 2 * x, np.ones((2, 3)), 0.1, 1.0, 5)
    assert thetas.shape == (6, 2, 3) and nus.shape == (5, 2, 3)
    np.testing.assert_array_equal(thetas[0], 1.0)
    np.testing.assert_array_equal(nus[0], 1.0)
    np.testing.assert_allclose(thetas[1], 1 - 0.1 * 2, rtol=1e-15)
    thetas0, nus0 = meta_lr_descent(lambda x: x, [1.0, 2.0], 0.1, 1.0, 0)
    assert thetas0.shape == (1, 2) and nus0.shape == (0, 2)


def test_meta_lr_descent_gamma_zero_is_gd_closed_form():
    h = np.array([0.01, 0.3, 1.0, 1.7])
    thetas, nus = meta_lr_descent(lambda x: h * x, np.ones(4), 1.0, 0.0, 30)
    t = np.arange(31)[:, None]
    np.testing.assert_allclose(thetas, (1 - h) ** t, rtol=1e-12, atol=1e-300)
    np.testing.assert_array_equal(nus, 1.0)


def test_meta_lr_descent_closed_form_of_nu():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(6, 4))
    target = rng.normal(size=6)

    def grad(x):
        return a.T @ (a @ x - target) / 6

    thetas, nus = meta_lr_descent(grad, np.zeros(4), 0.2, 0.5, 25)
    gs = np.array([grad(x) for x in thetas[:-1]])
    log_nu = np.concatenate([np.zeros((1, 4)), np.cumsum(0.5 * gs[:-1] * gs[1:], axis=0)])
    np.testing.assert_allclose(nus, np.exp(log_nu), rtol=1e-12)


def test_meta_lr_descent_agrees_with_repeated_steps_in_sign_mode():
    h = np.array([0.2, 1.0, 1.5])
    thetas, nus = meta_lr_descent(lambda x: h * x, np.ones(3), 0.1, 0.3, 12, mode="sign")
    theta, nu, gp = np.ones(3), np.ones(3), None
    for t in range(12):
        g = h * theta
        theta, nu = meta_lr_step(theta, nu, g, gp, 0.1, 0.3, mode="sign")
        gp = g
        np.testing.assert_allclose(thetas[t + 1], theta, rtol=1e-15)
        np.testing.assert_allclose(nus[t], nu, rtol=1e-15)


def test_meta_lr_descent_divergence_gives_nan_rows_without_raising():
    calls = []

    def grad(x):
        calls.append(1)
        return x

    thetas, nus = meta_lr_descent(grad, [1.0], 0.01, 50.0, 200)
    bad = ~np.isfinite(thetas[:, 0])
    assert bad.any()
    first = int(np.argmax(bad))
    assert np.all(np.isnan(thetas[first:])) and np.all(np.isfinite(thetas[:first]))
    assert np.all(np.isnan(nus[first:]))
    assert len(calls) == first  # no gradient is evaluated at a non-finite iterate


def test_reexported_from_package():
    for name in ("eg_step", "eg_local_rate", "meta_lr_step", "meta_lr_descent", "eg_nnls_run",
                 "lsq_loss_rounding_bound", "meta_phase_map", "gd_diag_rel_loss",
                 "meta_diag_rel_loss"):
        assert callable(getattr(optimization, name))


@pytest.mark.parametrize("kw, match", [
    (dict(steps=-1), "steps"),
    (dict(steps=2.5), "steps"),
    (dict(steps=True), "steps"),
    (dict(mode="rprop"), "mode"),
    (dict(eta=-0.1), "eta"),
    (dict(gamma=math.nan), "gamma"),
    (dict(theta0=[math.inf]), "theta0"),
    (dict(grad_fn=3), "grad_fn"),
    (dict(grad_fn=lambda x: np.ones(2)), "grad_fn"),
])
def test_meta_lr_descent_bad_input(kw, match):
    args = dict(grad_fn=lambda x: x, theta0=[1.0], eta=0.1, gamma=1.0, steps=3, mode="product")
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        meta_lr_descent(**args)


# ---------------------------------------------------------------- experiment drivers
def test_eg_nnls_run_reaches_nnls_and_matches_a_plain_loop():
    from scipy.optimize import nnls

    rng = np.random.default_rng(7)
    A, b = rng.normal(size=(2, 8, 3)), rng.normal(size=(2, 8))
    star = np.stack([nnls(A[p], b[p])[0] for p in range(2)])
    theta, ck, gaps, errs, lowest = eg_nnls_run(A, b, star, [0.05, 0.02], 3000)
    assert theta.shape == (2, 2, 3) and errs.shape == (3000, 2, 2) and gaps.shape == (ck.size, 2, 2)
    assert ck[0] == 1 and ck[-1] == 3000 and np.all(np.diff(ck) > 0)
    assert lowest >= 0 and np.abs(theta[0] - star).max() < 1e-8  # the optimum of scipy's nnls
    assert np.abs(gaps[-1, 0]).max() < 1e-12
    th = np.ones(3)  # independent route: the update written out, one problem, eta = 0.02
    for _ in range(3000):
        th = th * np.exp(-0.02 * A[1].T @ (A[1] @ th - b[1]))
    np.testing.assert_allclose(theta[1, 1], th, rtol=1e-12, atol=1e-300)
    th_log = eg_nnls_run(A, b, star, [0.05], 1, keep_factor=True)[0][0]  # one step, factor kept
    np.testing.assert_allclose(th_log, np.exp(-0.05 * np.einsum("pij,pi->pj", A, A.sum(-1) - b)),
                               rtol=1e-14)


@pytest.mark.parametrize("kw, match", [
    (dict(b=np.zeros((2, 7))), "A must be"),
    (dict(theta_star=np.zeros(3)), "A must be"),
    (dict(etas=[-0.1]), "etas"),
    (dict(steps=0), "steps"),
    (dict(A=np.full((2, 8, 3), np.nan)), "A"),
])
def test_eg_nnls_run_bad_input(kw, match):
    args = dict(A=np.ones((2, 8, 3)), b=np.ones((2, 8)), theta_star=np.zeros((2, 3)), etas=[0.1],
                steps=2)
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        eg_nnls_run(**args)


def test_lsq_loss_rounding_bound_covers_the_exact_error():
    from fractions import Fraction

    rng = np.random.default_rng(3)
    for scale in (1.0, 1e-3, 1e4):
        A, b, th = rng.normal(size=(30, 10)) * scale, rng.normal(size=30), rng.exponential(size=10)
        computed = 0.5 * np.sum((A @ th - b) ** 2)
        exact = sum((sum(Fraction(a) * Fraction(t) for a, t in zip(row, th, strict=True))
                     - Fraction(bi)) ** 2 for row, bi in zip(A, b, strict=True)) / 2
        bound = lsq_loss_rounding_bound(A, b, th)
        assert abs(Fraction(computed) - exact) <= Fraction(float(bound))
        assert bound < 1e-12 * (computed + scale * 1e3)  # and it is not absurdly loose
    assert lsq_loss_rounding_bound(np.ones((4, 3, 2)), np.ones((4, 3)), np.ones((4, 2))).shape == (4,)
    with pytest.raises(ValueError, match="A must be"):
        lsq_loss_rounding_bound(np.ones((3, 2)), np.ones(2), np.ones(2))


def test_meta_phase_map_agrees_with_direct_runs():
    etas, kappas = np.array([0.01, 0.5, 1.9]), np.array([1e-9, 2.0, 50.0])
    gain, s_final, hit_clip = meta_phase_map(etas, kappas, 100)
    assert gain.shape == s_final.shape == hit_clip.shape == (3, 3)
    for i, e in enumerate(etas):
        assert abs(gain[i, 0]) < 1e-5  # kappa -> 0 is plain GD: nothing gained
        thetas, nus = meta_lr_descent(lambda v: v, [1.0], e, 2.0, 100)
        ref = 100 * math.log10(abs(1 - e)) - math.log10(max(abs(thetas[-1, 0]), 1e-300))
        assert gain[i, 1] == pytest.approx(ref, rel=1e-12)
        assert s_final[i, 1] == pytest.approx(e * nus[-1, 0], rel=1e-12)
    assert np.isnan(gain[0, 2]) and np.isnan(s_final[0, 2]) and hit_clip[0, 2]  # kappa = 50 blows up
    with pytest.raises(ValueError, match="kappa_grid"):
        meta_phase_map(etas, [0.0, 1.0], 10)
    with pytest.raises(ValueError, match="steps"):
        meta_phase_map(etas, kappas, 0)


def test_gd_diag_rel_loss_matches_simulated_gd():
    rng = np.random.default_rng(5)
    h, ts = rng.uniform(0.1, 1, 4), rng.normal(size=4)
    curves = gd_diag_rel_loss(h, ts, [0.1, 1.5], 30)
    assert curves.shape == (2, 31) and np.all(curves[:, 0] == pytest.approx(1.0))
    for k, eta in enumerate((0.1, 1.5)):
        th, ref = np.zeros(4), []
        for _ in range(31):
            ref.append(np.sum(h * (th - ts) ** 2) / np.sum(h * ts**2))
            th = th - eta * h * (th - ts)
        # the simulated residual th - ts carries an absolute rounding error ~eps |ts|, so the
        # loss (~r^2) differs by ~2 |r| eps: relative agreement, plus an absolute floor
        np.testing.assert_allclose(curves[k], ref, rtol=1e-10, atol=1e-19)


def test_meta_diag_rel_loss_gamma_zero_is_gd_and_blowups_are_inf():
    h, ts = np.array([1.0, 0.3]), np.array([1.0, -2.0])
    np.testing.assert_allclose(meta_diag_rel_loss(h, ts, 0.4, 0.0, 25),
                               gd_diag_rel_loss(h, ts, [0.4], 25)[0], rtol=1e-12)
    blown = meta_diag_rel_loss(h, 30 * ts, 0.01, 50.0, 200)
    assert np.isinf(blown[-1]) and blown[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="theta_star"):
        meta_diag_rel_loss(h, np.zeros(2), 0.1, 1.0, 5)
    with pytest.raises(ValueError, match="h"):
        gd_diag_rel_loss([-1.0, 1.0], ts, [0.1], 5)
    with pytest.raises(ValueError, match="mode"):
        meta_diag_rel_loss(h, ts, 0.1, 1.0, 5, mode="adam")
