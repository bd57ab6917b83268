"""Tests of lib/optimization/zeroth_order.py (chapter policy-gradient-zeroth-order, article 7737)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtr
from scipy.stats import multivariate_normal

from lib.optimization import (
    argmax_objective,
    grad_cosine,
    grad_cosine_mc,
    probit_smoothed_grad_exact,
    probit_smoothed_objective,
    reinforce_grad,
    reinforce_variance_exact,
    softmax_policy_grad_exact,
    zo_grad,
)


def _problem(seed=0, n=40, d=3, C=3, scale=0.5):
    rng = np.random.default_rng(seed)
    X = np.c_[rng.normal(size=(n, d - 1)), np.ones(n)]
    W = scale * rng.normal(size=(d, C))
    R = rng.normal(size=(n, C))
    return W, X, R


def _surrogate(W, X, R, tau):
    """J(W) written out independently; works with complex W (complex-step derivative)."""
    z = X @ W / tau
    z = z - z.real.max(axis=1, keepdims=True)
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    return (p * R).sum(axis=1).mean()


# -- softmax_policy_grad_exact ----------------------------------------------------------------
@pytest.mark.parametrize("tau", [0.3, 1.0, 2.5])
def test_exact_grad_matches_complex_step(tau):
    W, X, R = _problem()
    g = softmax_policy_grad_exact(W, X, R, tau=tau)
    h = 1e-30
    cs = np.zeros_like(W)
    for a, c in itertools.product(range(W.shape[0]), range(W.shape[1])):
        E = np.zeros_like(W, dtype=complex)
        E[a, c] = 1j * h
        cs[a, c] = _surrogate(W + E, X, R, tau).imag / h
    assert g.shape == W.shape and g.dtype == np.float64
    np.testing.assert_allclose(g, cs, rtol=1e-12, atol=1e-15)


def test_exact_grad_shift_invariant_and_extreme():
    W, X, R = _problem(1)
    g = softmax_policy_grad_exact(W, X, R)
    np.testing.assert_allclose(softmax_policy_grad_exact(W, X, R + 7.0), g, atol=1e-14)
    big = softmax_policy_grad_exact(W * 1e4, X, R)
    assert np.all(np.isfinite(big))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), tau=st.floats(0.05, 5.0))
def test_exact_grad_temperature_law(seed, tau):
    # J_tau(W) = J_1(W / tau)  =>  grad J_tau(W) = grad J_1(W / tau) / tau
    W, X, R = _problem(seed, n=10)
    lhs = softmax_policy_grad_exact(W, X, R, tau=tau)
    rhs = softmax_policy_grad_exact(W / tau, X, R, tau=1.0) / tau
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("kw, match", [
    (dict(W=np.ones(3)), "W"),
    (dict(X=np.ones(3)), "X"),
    (dict(X=np.ones((4, 2))), "X"),
    (dict(rewards=np.ones((4, 2))), "rewards"),
    (dict(tau=0.0), "tau"),
    (dict(tau=math.inf), "tau"),
    (dict(W=np.full((3, 3), np.nan)), "W"),
])
def test_exact_grad_bad_input(kw, match):
    args = dict(W=np.ones((3, 3)), X=np.ones((4, 3)), rewards=np.ones((4, 3)), tau=1.0)
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        softmax_policy_grad_exact(**args)


# -- reinforce_grad and reinforce_variance_exact ----------------------------------------------
@pytest.mark.parametrize("baseline", [None, "mean", "optimal", 0.7])
def test_reinforce_unbiased(baseline):
    W, X, R = _problem(2)
    M = 20_000
    out = reinforce_grad(W, X, R, M, np.random.default_rng(3), baseline=baseline, tau=0.8)
    assert out.shape == (M,) + W.shape
    se = out.std(0, ddof=1) / math.sqrt(M)
    z = (out.mean(0) - softmax_policy_grad_exact(W, X, R, tau=0.8)) / se
    assert np.abs(z).max() < 4.5  # 9 coordinates, 4.5 sigma: P(false alarm) ~ 6e-5


def test_reinforce_draws_do_not_depend_on_rewards_or_baseline():
    W, X, R = _problem(4)
    a = reinforce_grad(W, X, R, 50, np.random.default_rng(5))
    b = reinforce_grad(W, X, R + 3.0, 50, np.random.default_rng(5), baseline=3.0)
    c = reinforce_grad(W, X, R + 3.0, 50, np.random.default_rng(5), baseline=np.full(40, 3.0))
    np.testing.assert_allclose(a, b, atol=1e-13)
    np.testing.assert_allclose(a, c, atol=1e-13)


def test_variance_exact_by_joint_enumeration():
    # n = 2 examples, C = 3 classes: 9 joint outcomes, the covariance computed by brute force.
    W, X, R = _problem(6, n=2)
    tau = 0.7
    z = X @ W / tau
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    for baseline, b in [(None, np.zeros(2)), ("mean", (p * R).sum(1)), (0.4, np.full(2, 0.4))]:
        vals, probs = [], []
        for y in itertools.product(range(3), repeat=2):
            g = sum((R[i, y[i]] - b[i]) * np.outer(X[i], np.eye(3)[y[i]] - p[i]) / tau
                    for i in range(2)) / 2
            vals.append(g.ravel())
            probs.append(p[0, y[0]] * p[1, y[1]])
        vals, probs = np.array(vals), np.array(probs)
        mean = probs @ vals
        tr = probs @ ((vals - mean) ** 2).sum(1)
        assert reinforce_variance_exact(W, X, R, baseline=baseline, tau=tau) == pytest.approx(
            tr, rel=1e-12)


def test_variance_matches_monte_carlo_and_optimal_is_minimal():
    W, X, R = _problem(7)
    R = R + 4.0
    M = 20_000
    for baseline in [None, "mean", "optimal"]:
        out = reinforce_grad(W, X, R, M, np.random.default_rng(8), baseline=baseline)
        dev = ((out - out.mean(0)) ** 2).reshape(M, -1).sum(1)
        est, se = dev.mean() * M / (M - 1), dev.std(ddof=1) / math.sqrt(M)
        exact = reinforce_variance_exact(W, X, R, baseline=baseline)
        assert abs(est - exact) < 5 * se
    v_opt = reinforce_variance_exact(W, X, R, baseline="optimal")
    v_mean = reinforce_variance_exact(W, X, R, baseline="mean")
    v_none = reinforce_variance_exact(W, X, R)
    assert v_opt <= v_mean <= v_none
    # any perturbation of the per-example optimal baselines increases the variance
    rng = np.random.default_rng(9)
    z = X @ W
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    sq = 1 - 2 * p + (p * p).sum(1, keepdims=True)
    b_opt = (p * sq * R).sum(1) / (p * sq).sum(1)
    for _ in range(5):
        assert reinforce_variance_exact(W, X, R, baseline=b_opt + 0.1 * rng.normal(size=40)) > v_opt


def test_reinforce_extreme_logits_finite():
    W, X, R = _problem(10)
    out = reinforce_grad(W * 1e4, X, R, 20, np.random.default_rng(0), baseline="optimal")
    assert np.all(np.isfinite(out))
    assert math.isfinite(reinforce_variance_exact(W * 1e4, X, R, baseline="optimal"))


@pytest.mark.parametrize("kw, match", [
    (dict(M=0), "M"),
    (dict(M=2.5), "M"),
    (dict(rng=None), "rng"),
    (dict(rng=np.random.RandomState(0)), "rng"),
    (dict(baseline="median"), "baseline"),
    (dict(baseline=np.ones(3)), "baseline"),
    (dict(baseline=True), "baseline"),
    (dict(tau=-1.0), "tau"),
    (dict(rewards=np.ones((4, 4))), "rewards"),
])
def test_reinforce_bad_input(kw, match):
    args = dict(W=np.ones((3, 3)), X=np.ones((4, 3)), rewards=np.ones((4, 3)), M=5,
                rng=np.random.default_rng(0))
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        reinforce_grad(**args)
    if "M" not in kw and "rng" not in kw:
        args.pop("M"), args.pop("rng")
        with pytest.raises(ValueError, match=match):
            reinforce_variance_exact(**args)


# -- zo_grad -------------------------------------------------------------------------------------
def test_zo_draws_are_standard_normals_of_rng():
    theta = np.zeros((2, 3))
    out = zo_grad(lambda t: 1.0, theta, 0.5, 7, np.random.default_rng(11), baseline=None)
    u = np.random.default_rng(11).standard_normal((7, 2, 3))
    np.testing.assert_allclose(out, u / 0.5, rtol=1e-15)


@pytest.mark.parametrize("eps", [0.1, 1.0, 3.0])
def test_zo_exact_for_quadratic(eps):
    # E[(f(x+eps u) - f(x)) u]/eps = grad f exactly for a quadratic (odd moments vanish)
    rng = np.random.default_rng(12)
    A = rng.normal(size=(4, 4))
    A = A + A.T
    c = rng.normal(size=4)
    x0 = rng.normal(size=4)

    def f(x):
        return 0.5 * x @ A @ x + c @ x

    M = 40_000
    out = zo_grad(f, x0, eps, M, np.random.default_rng(13))
    se = out.std(0, ddof=1) / math.sqrt(M)
    assert np.abs((out.mean(0) - (A @ x0 + c)) / se).max() < 4.5


def test_zo_baselines():
    rng = np.random.default_rng(14)
    x0 = rng.normal(size=3)

    def f(x):
        return float(np.sin(x).sum() + 2.0)

    u = np.random.default_rng(15).standard_normal((30, 3))
    fv = np.array([f(x0 + 0.2 * v) for v in u])
    sq = (u * u).sum(1)
    b_opt = (fv * sq).sum() / sq.sum()
    for baseline, b in [("f", f(x0)), (None, 0.0), ("optimal", b_opt), (1.5, 1.5)]:
        out = zo_grad(f, x0, 0.2, 30, np.random.default_rng(15), baseline=baseline)
        np.testing.assert_allclose(out, ((fv - b) / 0.2)[:, None] * u, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kw, match", [
    (dict(eps=0.0), "eps"),
    (dict(eps=-0.1), "eps"),
    (dict(eps=math.nan), "eps"),
    (dict(M=0), "M"),
    (dict(rng=0), "rng"),
    (dict(baseline="mean"), "baseline"),
    (dict(baseline=math.inf), "baseline"),
    (dict(fn=lambda t: math.nan), "fn"),
    (dict(fn=lambda t: np.ones(2)), "fn"),
    (dict(fn=3.0), "fn"),
    (dict(theta=[1.0, math.nan]), "theta"),
])
def test_zo_bad_input(kw, match):
    args = dict(fn=lambda t: float(t.sum()), theta=np.ones(2), eps=0.1, M=4,
                rng=np.random.default_rng(0))
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        zo_grad(**args)


# -- argmax objective and its probit smoothing ------------------------------------------------
def test_argmax_objective_by_hand():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    W = np.array([[2.0, 0.0, 1.0], [0.0, 3.0, 0.0]])  # logits: [2,0,1], [0,3,0], [2,3,1]
    R = np.array([[1.0, 0, 0], [0, 0, 1.0], [0, 1.0, 0]])
    assert argmax_objective(W, X, R) == pytest.approx(2 / 3)
    assert argmax_objective(np.zeros((2, 3)), X, R) == pytest.approx(1 / 3)  # ties -> class 0


def test_probit_two_classes_closed_form():
    W, X, R = _problem(16, C=2)
    eps = 0.4
    z = X @ W
    s = eps * np.linalg.norm(X, axis=1)
    P1 = ndtr((z[:, 0] - z[:, 1]) / (s * math.sqrt(2)))
    ref = (R[:, 0] * P1 + R[:, 1] * (1 - P1)).mean()
    assert probit_smoothed_objective(W, X, R, eps) == pytest.approx(ref, abs=1e-12)


def test_probit_three_classes_bivariate_normal():
    # P[argmax = k] = P[z_k - z_j + s(xi_k - xi_j) > 0 for both j != k]: a bivariate normal
    # orthant with correlation 1/2, evaluated by SciPy.
    W, X, R = _problem(17, n=5)
    eps = 0.6
    z = X @ W
    s = eps * np.linalg.norm(X, axis=1)
    cov = np.array([[2.0, 1.0], [1.0, 2.0]])
    total = 0.0
    for i in range(5):
        for k in range(3):
            js = [j for j in range(3) if j != k]
            upper = np.array([z[i, k] - z[i, j] for j in js]) / s[i]
            total += R[i, k] * multivariate_normal(mean=[0, 0], cov=cov).cdf(upper)
    assert probit_smoothed_objective(W, X, R, eps) == pytest.approx(total / 5, abs=1e-6)


@pytest.mark.parametrize("eps", [0.05, 0.3, 1.5])
def test_probit_grad_matches_finite_differences(eps):
    W, X, R = _problem(18, n=30)
    g = probit_smoothed_grad_exact(W, X, R, eps)
    h = 1e-5
    fd = np.zeros_like(W)
    for a, c in itertools.product(range(3), range(3)):
        E = np.zeros_like(W)
        E[a, c] = h
        fd[a, c] = (probit_smoothed_objective(W + E, X, R, eps)
                    - probit_smoothed_objective(W - E, X, R, eps)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-8)


def test_probit_grad_is_mean_of_zo_on_argmax():
    # Stein's identity for the discontinuous argmax objective
    W, X, R = _problem(19, n=50)
    eps, M = 0.4, 20_000
    out = zo_grad(lambda t: argmax_objective(t, X, R), W, eps, M, np.random.default_rng(20))
    se = out.std(0, ddof=1) / math.sqrt(M)
    z = (out.mean(0) - probit_smoothed_grad_exact(W, X, R, eps)) / se
    assert np.abs(z).max() < 4.5


def test_probit_extreme_and_bad_input():
    W, X, R = _problem(21)
    assert np.all(np.isfinite(probit_smoothed_grad_exact(W * 1e4, X, R, 1e-3)))
    assert math.isfinite(probit_smoothed_objective(W * 1e4, X, R, 1e-3))
    with pytest.raises(ValueError, match="eps"):
        probit_smoothed_objective(W, X, R, 0.0)
    with pytest.raises(ValueError, match="nodes"):
        probit_smoothed_grad_exact(W, X, R, 0.1, nodes=1)
    X0 = X.copy()
    X0[0] = 0.0
    with pytest.raises(ValueError, match="X"):
        probit_smoothed_grad_exact(W, X0, R, 0.1)
    with pytest.raises(ValueError, match="rewards"):
        argmax_objective(W, X, R[:, :2])


# -- grad_cosine ----------------------------------------------------------------------------
def test_grad_cosine():
    assert grad_cosine([1.0, 0.0], [0.0, 2.0]) == pytest.approx(0.0)
    assert grad_cosine([[1.0, 1.0]], [2.0, 2.0]) == pytest.approx(1.0)
    assert grad_cosine([1.0, 2.0], [-1.0, -2.0]) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="a"):
        grad_cosine([0.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="b"):
        grad_cosine([1.0, 0.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="size|entries"):
        grad_cosine([1.0, 0.0], [1.0, 0.0, 0.0])


# -- grad_cosine_mc -------------------------------------------------------------------------
def test_grad_cosine_mc_value_and_se_match_replicates():
    # Draws = mean + Gaussian noise: the bootstrap s.e. of the cosine must match the spread of
    # the cosine over independent replicates (an independent route), within sampling error.
    rng = np.random.default_rng(0)
    mu, ref = np.array([1.0, 0.5, -0.3]), np.array([0.8, 0.9, 0.1])
    reps = [rng.normal(mu, 2.0, size=(2000, 3)) for _ in range(300)]
    spread = np.std([grad_cosine(r.mean(0), ref) for r in reps], ddof=1)
    cos, se = grad_cosine_mc(reps[0], ref, np.random.default_rng(1))
    assert cos == pytest.approx(reps[0].mean(0) @ ref / np.linalg.norm(reps[0].mean(0))
                                / np.linalg.norm(ref), abs=1e-14)
    assert se == pytest.approx(spread, rel=0.3)  # 500 resamples of 200 batches: ~10% noise
    assert grad_cosine_mc(reps[0], ref, np.random.default_rng(1)) == (cos, se)  # seeded
    cos2, _ = grad_cosine_mc(reps[0].reshape(2000, 3, 1), ref.reshape(3, 1), np.random.default_rng(1))
    assert cos2 == pytest.approx(cos, abs=1e-15)  # shapes are flattened


def test_grad_cosine_mc_bad_input():
    d, ref = np.ones((200, 3)), np.ones(3)
    with pytest.raises(ValueError, match="batches"):
        grad_cosine_mc(d[:150], ref, np.random.default_rng(0))
    with pytest.raises(ValueError, match="ref"):
        grad_cosine_mc(d, np.ones(4), np.random.default_rng(0))
    with pytest.raises(ValueError, match="batches"):
        grad_cosine_mc(d, ref, np.random.default_rng(0), batches=1)
    with pytest.raises(ValueError, match="rng|Generator|generator"):
        grad_cosine_mc(d, ref, 0)
    with pytest.raises(ValueError, match="draws"):
        grad_cosine_mc(np.full((200, 3), np.nan), ref, np.random.default_rng(0))
