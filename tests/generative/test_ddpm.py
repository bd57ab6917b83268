"""Tests of lib/generative/ddpm.py (chapter ddpm-bayes-denoising): the DDPM posterior, the
eps <-> x_0 maps, the exact mixture denoiser, the true reverse step of mixture data, the
ancestral sampler, schedule_from_abar and the DDPM / Euler-Maruyama coupling."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.generative import (
    GaussianMixture,
    VPLinear,
    ancestral_sample,
    book_mixture,
    ddpm_discrete,
    ddpm_em_coupling,
    ddpm_posterior,
    diffuse,
    eps_to_x0,
    gmm_denoiser,
    mean_reverse_variance,
    renoise_sample,
    reverse_moments,
    schedule_from_abar,
    x0_to_eps,
)

SCHED = ddpm_discrete(50, 1e-3, 0.2)


def joint_conditioning(x_t, x_0, t, s):
    """Independent route: (x_{t-1}, x_t) given x_0 is jointly Gaussian; condition by the Schur
    complement of its 2x2 covariance (Ho's notation: a = abar^2, b = beta^2)."""
    a_prev = np.prod(1 - s["beta"][1:t] ** 2)          # Ho's alpha-bar_{t-1}
    b = s["beta"][t] ** 2
    v_prev = 1 - a_prev                                 # Var x_{t-1} | x_0
    cov = math.sqrt(1 - b) * v_prev                     # Cov(x_{t-1}, x_t) | x_0
    v_t = (1 - b) * v_prev + b                          # Var x_t | x_0
    m_prev, m_t = math.sqrt(a_prev) * x_0, math.sqrt(a_prev * (1 - b)) * x_0
    return m_prev + cov / v_t * (x_t - m_t), v_prev - cov**2 / v_t


# -- ddpm_posterior --------------------------------------------------------------------------


@pytest.mark.parametrize("t", [2, 3, 17, 50])
def test_posterior_matches_joint_gaussian_conditioning(t):
    rng = np.random.default_rng(t)
    x_t, x_0 = rng.normal(size=7), rng.normal(size=7)
    mean, var = ddpm_posterior(x_t, x_0, t, SCHED)
    ref_mean, ref_var = joint_conditioning(x_t, x_0, t, SCHED)
    assert isinstance(var, float)
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-12, atol=1e-12)
    assert var == pytest.approx(ref_var, rel=1e-10)


def test_posterior_at_t1_is_x0_exactly():
    x_t, x_0 = np.array([0.3, -2.0]), np.array([1.25, 7.0])
    mean, var = ddpm_posterior(x_t, x_0, 1, SCHED)
    assert var == 0.0 and np.array_equal(mean, x_0)


def test_posterior_dtypes_shapes_and_gradient():
    x_t32 = np.ones((4, 3), dtype=np.float32)
    mean, _ = ddpm_posterior(x_t32, np.zeros((4, 3)), 5, SCHED)
    assert mean.dtype == np.float32 and mean.shape == (4, 3)
    xt = torch.randn(5, 2, dtype=torch.float64, requires_grad=True)
    x0 = torch.randn(5, 2, dtype=torch.float32)
    mean, _ = ddpm_posterior(xt, x0, 9, SCHED)
    assert mean.dtype == torch.float64
    mean.sum().backward()
    c_x = SCHED["alpha"][9] * SCHED["bbar"][8] ** 2 / SCHED["bbar"][9] ** 2
    torch.testing.assert_close(xt.grad, torch.full_like(xt, c_x), rtol=1e-14, atol=0)


def test_posterior_extreme_inputs_finite():
    mean, var = ddpm_posterior(np.array([1e300, -1e300]), np.array([1e300, 0.0]), 50, SCHED)
    assert np.all(np.isfinite(mean)) and math.isfinite(var)


@pytest.mark.parametrize("t", [0, 51, -1, True, 1.5, "3"])
def test_posterior_bad_t(t):
    with pytest.raises(ValueError, match="t"):
        ddpm_posterior(np.zeros(2), np.zeros(2), t, SCHED)


def test_posterior_bad_arrays():
    with pytest.raises(ValueError, match="x_0"):
        ddpm_posterior(np.zeros(2), np.zeros(3), 2, SCHED)
    with pytest.raises(ValueError, match="x_0"):
        ddpm_posterior(np.zeros(2), torch.zeros(2), 2, SCHED)
    with pytest.raises(ValueError, match="x_t"):
        ddpm_posterior(np.array([np.nan, 0.0]), np.zeros(2), 2, SCHED)
    with pytest.raises(ValueError, match="x_0"):
        ddpm_posterior(torch.zeros(2), torch.tensor([0.0, math.inf]), 2, SCHED)


def bad_scheds():
    s = {k: v.copy() for k, v in SCHED.items()}
    missing = {k: v for k, v in s.items() if k != "bbar"}
    unequal = dict(s, beta=s["beta"][:-1])
    short = {k: v[:1] for k, v in s.items()}
    two_d = dict(s, alpha=s["alpha"][None])
    ho = dict(s, beta=s["beta"] ** 2)                   # Ho's beta passed for Su's
    no_data = {k: v[1:] for k, v in s.items()}          # index 0 is not the data
    return [missing, unequal, short, two_d, ho, no_data, [1, 2], dict(s, abar=s["abar"] * np.nan)]


@pytest.mark.parametrize("sched", bad_scheds())
def test_bad_sched(sched):
    with pytest.raises(ValueError, match="sched"):
        ddpm_posterior(np.zeros(2), np.zeros(2), 2, sched)


# -- eps <-> x_0 -----------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 50), st.floats(-50, 50), st.floats(-5, 5))
def test_eps_x0_round_trip(t, x0, eps):
    x_t = SCHED["abar"][t] * x0 + SCHED["bbar"][t] * eps   # the forward kernel, independently
    x0_hat = eps_to_x0(np.array([x_t]), np.array([eps]), t, SCHED)
    eps_hat = x0_to_eps(np.array([x_t]), np.array([x0]), t, SCHED)
    assert x0_hat[0] == pytest.approx(x0, abs=1e-9 * (1 + abs(x0)) / SCHED["abar"][t])
    assert eps_hat[0] == pytest.approx(eps, abs=1e-9 * (1 + abs(x0)) / SCHED["bbar"][t])


def test_eps_x0_torch_and_bad_input():
    x = torch.randn(3, dtype=torch.float32, requires_grad=True)
    out = eps_to_x0(x, torch.zeros(3), 4, SCHED)
    assert out.dtype == torch.float32
    out.sum().backward()
    assert torch.allclose(x.grad, torch.full((3,), 1 / SCHED["abar"][4], dtype=torch.float32))
    with pytest.raises(ValueError, match="t"):
        x0_to_eps(np.zeros(2), np.zeros(2), 0, SCHED)
    with pytest.raises(ValueError, match="eps"):
        eps_to_x0(np.zeros(2), np.zeros((2, 1)), 3, SCHED)
    with pytest.raises(ValueError, match="sched"):
        x0_to_eps(np.zeros(2), np.zeros(2), 3, {"alpha": SCHED["alpha"]})


def test_eps_form_of_the_posterior_mean():
    rng = np.random.default_rng(0)
    x_t, eps = rng.normal(size=5), rng.normal(size=5)
    for t in range(2, 51):
        mean, _ = ddpm_posterior(x_t, eps_to_x0(x_t, eps, t, SCHED), t, SCHED)
        a, b, bb = SCHED["alpha"][t], SCHED["beta"][t], SCHED["bbar"][t]
        np.testing.assert_allclose(mean, (x_t - b**2 / bb * eps) / a, rtol=1e-11, atol=1e-12)


# -- gmm_denoiser ----------------------------------------------------------------------------


@pytest.mark.parametrize("t", [1, 10, 50])
def test_denoiser_is_tweedie(t):
    p0 = book_mixture()
    den = gmm_denoiser(p0, SCHED)
    a, b = SCHED["abar"][t], SCHED["bbar"][t]
    y = np.linspace(-4, 5, 37)
    score = diffuse(p0, a, b).score(y)
    np.testing.assert_allclose(den(y, t), (y + b**2 * score) / a, rtol=1e-10, atol=1e-10)


def test_denoiser_2d_torch_and_t0():
    g = GaussianMixture([0.4, 0.6], [[-1.0, 0.0], [1.0, 2.0]], [0.3, 0.5])
    den = gmm_denoiser(g, SCHED)
    x = torch.randn(6, 2, dtype=torch.float64)
    out = den(x, 20)
    assert isinstance(out, torch.Tensor) and out.shape == (6, 2)
    np.testing.assert_allclose(den(x.numpy(), 0), x.numpy(), rtol=1e-12, atol=1e-12)


def test_denoiser_bad_input():
    with pytest.raises(ValueError, match="gmm"):
        gmm_denoiser("not a mixture", SCHED)
    den = gmm_denoiser(book_mixture(), SCHED)
    for t in (-1, 51, 2.0):
        with pytest.raises(ValueError, match="t"):
            den(np.zeros(3), t)
    with pytest.raises(ValueError, match="sched"):
        gmm_denoiser(book_mixture(), dict(SCHED, beta=SCHED["beta"] ** 2))


# -- ancestral_sample ------------------------------------------------------------------------


def test_ancestral_matches_a_hand_written_loop():
    p0 = book_mixture()
    den = gmm_denoiser(p0, SCHED)
    x_T = np.random.default_rng(1).normal(size=200)
    for var in ("posterior", "beta"):
        out = ancestral_sample(x_T, den, SCHED, np.random.default_rng(7), var=var)
        rng, x = np.random.default_rng(7), x_T.copy()
        for t in range(50, 0, -1):       # Ho's formulas: mean coefficients in his notation
            ab, ab_prev = SCHED["abar"][t] ** 2, SCHED["abar"][t - 1] ** 2
            b = SCHED["beta"][t] ** 2
            x0 = den(x, t)
            mean = (math.sqrt(ab_prev) * b * x0 + math.sqrt(1 - b) * (1 - ab_prev) * x) / (1 - ab)
            sd = math.sqrt((1 - ab_prev) / (1 - ab) * b) if var == "posterior" else math.sqrt(b)
            x = mean + sd * rng.standard_normal(x.shape) if t > 1 else mean
        np.testing.assert_allclose(out, x, rtol=1e-11, atol=1e-11)


def test_ancestral_draw_count_shape_and_delta_data():
    rng = np.random.default_rng(3)
    out = ancestral_sample(np.ones((10, 2), dtype=np.float32), lambda x, t: np.zeros_like(x),
                           SCHED, rng)
    assert out.dtype == np.float64 and out.shape == (10, 2) and np.all(out == 0)
    ref = np.random.default_rng(3)
    ref.standard_normal((49, 10, 2))                    # T - 1 draws, none at t = 1
    assert rng.standard_normal() == ref.standard_normal()


def test_ancestral_gaussian_data_variance_recursion():
    """N(0, 1) data: the plug-in mean is alpha_t x_t, so Var x_{t-1} = alpha_t^2 Var x_t +
    sigma_t^2 (sigma_1 = 0); the sample variance must match within 5 standard errors."""
    den = gmm_denoiser(GaussianMixture([1.0], [0.0], [1.0]), SCHED)
    n = 40_000
    for var in ("posterior", "beta"):
        x = ancestral_sample(np.random.default_rng(0).standard_normal(n), den, SCHED,
                             np.random.default_rng(1), var=var)
        v = 1.0
        for t in range(50, 0, -1):
            sig2 = 0.0 if t == 1 else (SCHED["bbar"][t - 1] * SCHED["beta"][t] / SCHED["bbar"][t]) ** 2 \
                if var == "posterior" else SCHED["beta"][t] ** 2
            v = SCHED["alpha"][t] ** 2 * v + sig2
        assert abs(x.var() - v) < 5 * v * math.sqrt(2 / n)


def test_ancestral_bad_input():
    den = gmm_denoiser(book_mixture(), SCHED)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="var"):
        ancestral_sample(np.zeros(3), den, SCHED, rng, var="ho")
    with pytest.raises(ValueError, match="rng"):
        ancestral_sample(np.zeros(3), den, SCHED, 0)
    with pytest.raises(ValueError, match="denoise"):
        ancestral_sample(np.zeros(3), "den", SCHED, rng)
    with pytest.raises(ValueError, match="denoise"):
        ancestral_sample(np.zeros(3), lambda x, t: np.zeros(4), SCHED, rng)
    with pytest.raises(ValueError, match="denoise"):
        ancestral_sample(np.zeros(3), lambda x, t: np.full(3, np.nan), SCHED, rng)
    with pytest.raises(ValueError, match="sched"):
        ancestral_sample(np.zeros(3), den, {}, rng)
    with pytest.raises(ValueError, match="x_T"):
        ancestral_sample(np.array([np.inf]), den, SCHED, rng)


# -- schedule_from_abar ----------------------------------------------------------------------


def test_schedule_from_abar_reproduces_ddpm_and_respaces():
    full = ddpm_discrete(1000)
    s = schedule_from_abar(full["abar"])
    for k in ("alpha", "beta", "abar", "bbar"):
        np.testing.assert_allclose(s[k], full[k], rtol=1e-9, atol=1e-12)
    idx = (np.arange(11) * 1000) // 10
    coarse = schedule_from_abar(full["abar"][idx])
    np.testing.assert_allclose(np.cumprod(coarse["alpha"]), full["abar"][idx], rtol=1e-12)
    np.testing.assert_allclose(coarse["alpha"] ** 2 + coarse["beta"] ** 2, 1.0, rtol=1e-14)
    ddpm_posterior(np.zeros(1), np.zeros(1), 10, coarse)   # a valid schedule


@pytest.mark.parametrize("abar", [[0.9, 0.5], [1.0, 1.0, 0.5], [1.0, 0.5, 0.0], [[1.0, 0.5]],
                                  [1.0], [1.0, np.nan]])
def test_schedule_from_abar_bad_input(abar):
    with pytest.raises(ValueError, match="abar"):
        schedule_from_abar(abar)


# -- renoise_sample --------------------------------------------------------------------------


def test_renoise_with_rho_t_is_the_ancestral_sampler():
    den = gmm_denoiser(book_mixture(), SCHED)
    x_T = np.random.default_rng(2).normal(size=300)
    a = ancestral_sample(x_T, den, SCHED, np.random.default_rng(5))
    r = renoise_sample(x_T, den, SCHED, np.random.default_rng(5))
    np.testing.assert_allclose(r, a, rtol=1e-10, atol=1e-10)


def test_renoise_rho_one_is_deterministic_and_rho_zero_forgets_x_t():
    den = gmm_denoiser(book_mixture(), SCHED)
    x_T = np.random.default_rng(2).normal(size=50)
    r1 = renoise_sample(x_T, den, SCHED, np.random.default_rng(0), rho=1.0)
    r2 = renoise_sample(x_T, den, SCHED, np.random.default_rng(9), rho=1)
    np.testing.assert_array_equal(r1, r2)
    # rho = 0: the state after the first step depends on x_T only through denoise(x_T, T)
    one = schedule_from_abar(SCHED["abar"][[0, 49, 50]])
    d1 = gmm_denoiser(book_mixture(), one)
    f = renoise_sample(x_T, lambda x, t: np.zeros_like(x) if t == 2 else d1(x, t), one,
                       np.random.default_rng(4), rho=0.0)
    g = renoise_sample(-x_T, lambda x, t: np.zeros_like(x) if t == 2 else d1(x, t), one,
                       np.random.default_rng(4), rho=0.0)
    np.testing.assert_array_equal(f, g)


@pytest.mark.parametrize("rho", [-0.1, 1.5, "beta", math.nan, True])
def test_renoise_bad_rho(rho):
    with pytest.raises(ValueError, match="rho"):
        renoise_sample(np.zeros(3), lambda x, t: x, SCHED, np.random.default_rng(0), rho=rho)


def test_renoise_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="rng"):
        renoise_sample(np.zeros(3), lambda x, t: x, SCHED, None)
    with pytest.raises(ValueError, match="denoise"):
        renoise_sample(np.zeros(3), None, SCHED, rng)
    with pytest.raises(ValueError, match="denoise"):
        renoise_sample(np.zeros(3), lambda x, t: x[:2], SCHED, rng)
    with pytest.raises(ValueError, match="sched"):
        renoise_sample(np.zeros(3), lambda x, t: x, dict(SCHED, bbar=SCHED["bbar"][::-1]), rng)


# -- reverse_moments and mean_reverse_variance -----------------------------------------------


@pytest.mark.parametrize("t", [1, 2, 10, 50])
def test_reverse_moments_match_bayes_on_a_grid(t):
    """Independent route: p(x_{t-1} | x_t) ~ p_{t-1}(u) N(x_t; alpha_t u, beta_t^2), normalised
    on a fine grid; its mean and variance by quadrature."""
    p0 = book_mixture()
    u = np.linspace(-12.0, 12.0, 200_001)
    prior = np.exp(diffuse(p0, SCHED["abar"][t - 1], SCHED["bbar"][t - 1]).log_prob(u))
    x = np.array([-2.5, 0.0, 0.7, 3.1])
    mean, var = reverse_moments(x, p0, t, SCHED)
    for i, xt in enumerate(x):
        w = prior * np.exp(-0.5 * ((xt - SCHED["alpha"][t] * u) / SCHED["beta"][t]) ** 2)
        m = np.sum(w * u) / np.sum(w)
        np.testing.assert_allclose(mean[i], m, rtol=1e-8, atol=1e-9)
        np.testing.assert_allclose(var[i], np.sum(w * (u - m) ** 2) / np.sum(w), rtol=1e-6)


def test_reverse_moments_exact_cases_and_bad_input():
    x = np.linspace(-3, 3, 7)
    m, v = reverse_moments(x, GaussianMixture([1.0], [0.0], [1.0]), 20, SCHED)  # N(0, 1) data
    np.testing.assert_allclose(m, SCHED["alpha"][20] * x, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(v, SCHED["beta"][20] ** 2, rtol=1e-12)
    with pytest.raises(ValueError, match="gmm"):
        reverse_moments(x, "p0", 2, SCHED)
    for t in (0, 51):
        with pytest.raises(ValueError, match="t"):
            reverse_moments(x, book_mixture(), t, SCHED)


def test_mean_reverse_variance_exact_cases_and_total_variance():
    g = np.linspace(-9.0, 9.0, 4001)
    gauss = mean_reverse_variance(GaussianMixture([1.0], [0.0], [1.0]), SCHED, g)
    np.testing.assert_allclose(gauss, SCHED["beta"][1:] ** 2, rtol=1e-10)
    # mixture: E Var(x_{t-1}|x_t) = Var x_{t-1} - Var E[x_{t-1}|x_t] (law of total variance)
    p0, t = book_mixture(), 7
    w = np.exp(diffuse(p0, SCHED["abar"][t], SCHED["bbar"][t]).log_prob(g))
    w /= w.sum()
    m = reverse_moments(g, p0, t, SCHED)[0]
    var_prev = diffuse(p0, SCHED["abar"][t - 1], SCHED["bbar"][t - 1]).central_moment(2)
    ref = var_prev - (np.sum(w * m**2) - np.sum(w * m) ** 2)
    assert mean_reverse_variance(p0, SCHED, g)[t - 1] == pytest.approx(ref, rel=1e-8)


def test_mean_reverse_variance_bad_input():
    with pytest.raises(ValueError, match="gmm"):
        mean_reverse_variance(GaussianMixture([1.0], [[0.0, 0.0]], [1.0]), SCHED, np.zeros(5))
    with pytest.raises(ValueError, match="grid"):
        mean_reverse_variance(book_mixture(), SCHED, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="sched"):
        mean_reverse_variance(book_mixture(), {}, np.linspace(-1, 1, 5))


# -- ddpm_em_coupling --------------------------------------------------------------------------


def test_ddpm_em_coupling_matches_hand_written_samplers():
    """Euler-Maruyama of the reverse VP SDE written out (drift f x - g^2 score, t from 1 down
    to 1/K, one draw per step) and DDPM with the same draws, then the same denoising step."""
    p0, vp, K = book_mixture(), VPLinear(), 12
    x1 = np.random.default_rng(0).normal(size=40)
    out = ddpm_em_coupling(x1, p0, vp, K, seed=3)
    s = schedule_from_abar(vp.abar(np.arange(K + 1) / K))
    den = gmm_denoiser(p0, s)
    rng, x = np.random.default_rng(3), x1.copy()
    for k in range(K, 1, -1):
        t, h = k / K, 1 / K
        score = diffuse(p0, *vp.kernel(t)).score(x)
        x = x + (-0.5 * vp.beta(t) * x - vp.beta(t) * score) * -h \
            + math.sqrt(vp.beta(t) * h) * rng.standard_normal(x.shape)
    np.testing.assert_allclose(out["em"], den(x, 1), rtol=1e-10, atol=1e-10)
    for v in ("posterior", "beta"):
        ref = ancestral_sample(x1, den, s, np.random.default_rng(3), var=v)
        np.testing.assert_array_equal(out[v], ref)
    far = ddpm_em_coupling(x1, p0, vp, 4 * K, seed=3)
    assert np.mean(np.abs(far["beta"] - far["em"])) < np.mean(np.abs(out["beta"] - out["em"]))


def test_ddpm_em_coupling_bad_input():
    p0, vp, x1 = book_mixture(), VPLinear(), np.zeros(3)
    with pytest.raises(ValueError, match="steps"):
        ddpm_em_coupling(x1, p0, vp, 1, seed=0)
    with pytest.raises(ValueError, match="seed"):
        ddpm_em_coupling(x1, p0, vp, 5, seed=-1)
    with pytest.raises(ValueError, match="sde"):
        ddpm_em_coupling(x1, p0, object(), 5, seed=0)
