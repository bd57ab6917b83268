"""Tests of lib/generative (schedules, mixture, marginals, samplers, distances) (chapters reverse-time-sde and probability-flow-ode)."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, stats

from lib.generative import (
    GaussianMixture,
    VEGeometric,
    VPLinear,
    book_mixture,
    ddpm_discrete,
    diffuse,
    family_drift,
    integrate_family,
    ks_distance,
    marginal,
    ode_log_likelihood,
    posterior_moments,
    probability_flow,
    reverse_sample,
    score_evaluations,
    time_grid,
    wasserstein1,
)
from tests.generative.conftest import MU, SD, W


def ring(k=8, radius=2.0, std=0.15):
    ang = 2 * np.pi * np.arange(k) / k
    means = radius * np.stack([np.cos(ang), np.sin(ang)], 1)
    return GaussianMixture(np.full(k, 1 / k), means, np.full(k, std**2))


gmm_1d = st.integers(1, 4).flatmap(
    lambda k: st.tuples(
        st.lists(st.floats(0.05, 1.0), min_size=k, max_size=k),
        st.lists(st.floats(-5, 5), min_size=k, max_size=k),
        st.lists(st.floats(0.05, 3.0), min_size=k, max_size=k),
    )
).map(lambda p: GaussianMixture(np.array(p[0]) / sum(p[0]), p[1], np.array(p[2]) ** 2))


# --- schedules ------------------------------------------------------------------------------


@pytest.mark.parametrize("sched", [VPLinear(), VEGeometric(), VPLinear(0.5, 3.0)])
def test_schedule_f_and_g2_match_the_kernel(sched):
    """f = d log abar/dt and g^2 = abar^2 d(bbar^2/abar^2)/dt (central differences)."""
    h = 1e-6
    for t in [0.1, 0.37, 0.8]:
        dlog = (math.log(sched.abar(t + h)) - math.log(sched.abar(t - h))) / (2 * h)
        assert sched.f(t) == pytest.approx(dlog, rel=1e-7, abs=1e-8)
        ratio = lambda u: sched.bbar2(u) / sched.abar(u) ** 2
        g2 = sched.abar(t) ** 2 * (ratio(t + h) - ratio(t - h)) / (2 * h)
        assert sched.g2(t) == pytest.approx(g2, rel=1e-6)
    assert sched.abar(0.0) == 1.0 and sched.bbar(0.0) == 0.0


def test_vp_values_and_arrays():
    s = VPLinear()
    assert s.abar(1.0) == pytest.approx(math.exp(-5.025), rel=1e-14)
    assert s.abar(0.3) ** 2 + s.bbar(0.3) ** 2 == pytest.approx(1.0, rel=1e-15)
    t = np.linspace(0, 1, 5)
    assert s.abar(t).shape == (5,) and isinstance(s.abar(0.5), float)
    assert s.g2(0.5) == pytest.approx(-2 * s.f(0.5))


def test_ve_kernel_is_exact_from_zero():
    s = VEGeometric()
    assert s.bbar2(0.5) == pytest.approx(s.sigma(0.5) ** 2 - 0.01**2, rel=1e-12)
    assert s.bbar(1.0) == pytest.approx(math.sqrt(50.0**2 - 0.01**2), rel=1e-14)


def test_ddpm_discrete_su_notation():
    d = ddpm_discrete()
    assert d["abar"].shape == (1001,) and d["abar"][0] == 1.0
    assert d["abar"][-1] == pytest.approx(0.0063528, abs=1e-7)
    assert np.allclose(d["alpha"] ** 2 + d["beta"] ** 2, 1.0, rtol=0, atol=1e-15)
    assert np.allclose(d["abar"] ** 2 + d["bbar"] ** 2, 1.0, rtol=0, atol=1e-15)


@pytest.mark.parametrize("bad", [-0.1, 1.1, float("nan"), [0.2, 2.0]])
def test_schedule_rejects_t_outside_unit_interval(bad):
    with pytest.raises(ValueError, match="t"):
        VPLinear().abar(bad)
    with pytest.raises(ValueError, match="t"):
        marginal(GaussianMixture([1.0], [0.0], [1.0]), VPLinear(), bad)


def test_schedule_rejects_bad_parameters():
    with pytest.raises(ValueError, match="beta_min"):
        VPLinear(beta_min=0.0)
    with pytest.raises(ValueError, match="beta_max"):
        VPLinear(beta_min=1.0, beta_max=0.5)
    with pytest.raises(ValueError, match="sigma_max"):
        VEGeometric(sigma_min=1.0, sigma_max=1.0)
    with pytest.raises(ValueError, match="T"):
        ddpm_discrete(T=0)


# --- Gaussian mixture -------------------------------------------------------------------------


def test_log_prob_against_scipy(g1, g2):
    x = np.linspace(-4, 5, 41)
    ref = np.log(sum(w * stats.norm.pdf(x, m, s) for w, m, s in zip(W, MU, SD, strict=True)))
    assert np.allclose(g1.log_prob(x), ref, rtol=1e-13, atol=1e-13)
    pts = np.random.default_rng(0).normal(size=(30, 2))
    ref2 = np.log(
        sum(
            w * stats.multivariate_normal(m, c).pdf(pts)
            for w, m, c in zip(g2.weights, g2.means, g2.covs, strict=True)
        )
    )
    assert np.allclose(g2.log_prob(pts), ref2, rtol=1e-12, atol=1e-12)


def test_score_and_laplacian_against_finite_differences(g1, g2):
    h = 1e-5
    x = np.linspace(-3.5, 4.5, 33)
    fd = (g1.log_prob(x + h) - g1.log_prob(x - h)) / (2 * h)
    assert np.allclose(g1.score(x), fd, rtol=1e-7, atol=1e-7)
    fd2 = (g1.score(x + h) - g1.score(x - h)) / (2 * h)
    assert np.allclose(g1.laplacian_log_prob(x), fd2, rtol=1e-6, atol=1e-6)
    pts = np.random.default_rng(1).normal(size=(20, 2))
    lap = np.zeros(20)
    for j in range(2):
        e = np.zeros(2)
        e[j] = h
        sp, sm = g2.score(pts + e), g2.score(pts - e)
        assert np.allclose(g2.score(pts)[:, j],
                           (g2.log_prob(pts + e) - g2.log_prob(pts - e)) / (2 * h), atol=1e-6)
        lap += (sp[:, j] - sm[:, j]) / (2 * h)
    assert np.allclose(g2.laplacian_log_prob(pts), lap, rtol=1e-6, atol=1e-6)


def test_score_and_laplacian_against_autograd(g2):
    x = torch.randn(15, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    x.requires_grad_(True)
    lp = g2.log_prob(x)
    (grad,) = torch.autograd.grad(lp.sum(), x, create_graph=True)
    assert torch.allclose(grad, g2.score(x.detach()), rtol=1e-12, atol=1e-12)
    lap = sum(torch.autograd.grad(grad[:, j].sum(), x, retain_graph=True)[0][:, j] for j in range(2))
    assert torch.allclose(lap, g2.laplacian_log_prob(x.detach()), rtol=1e-10, atol=1e-10)


def test_gradcheck(g1, g2):
    x1 = torch.linspace(-3, 3, 7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(g1.log_prob, (x1,))
    assert torch.autograd.gradcheck(g1.score, (x1,))
    assert torch.autograd.gradcheck(g1.cdf, (x1,))
    x2 = torch.randn(5, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(g2.score, (x2,))
    assert torch.autograd.gradcheck(g2.laplacian_log_prob, (x2,))


def test_dtype_shape_and_type_preserved(g1, g2):
    x32 = torch.linspace(-3, 3, 5, dtype=torch.float32)
    for out in (g1.log_prob(x32), g1.score(x32), g1.laplacian_log_prob(x32), g1.cdf(x32)):
        assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.shape == (5,)
    assert g1.score(np.zeros((4, 1))).shape == (4, 1)
    assert g1.score(np.zeros(4, dtype=np.float32)).dtype == np.float32
    assert g2.posterior_weights(np.zeros((3, 2))).shape == (3, 3)
    assert g1.score([0, 1]).dtype == np.float64  # integers are promoted


def test_extreme_inputs_are_finite_or_rejected(g1):
    x = np.array([-1e6, 1e6, 1e100])
    assert np.all(np.isfinite(g1.log_prob(x))) and np.all(np.isfinite(g1.score(x)))
    assert np.all(np.isfinite(g1.laplacian_log_prob(x)))
    # far out the widest component (sd 0.6, mean 0.5) owns the point
    assert g1.score(np.array([1e6]))[0] == pytest.approx(-(1e6 - 0.5) / 0.36, rel=1e-12)
    with pytest.raises(ValueError, match="x"):
        g1.log_prob(np.array([1e200]))
    with pytest.raises(ValueError, match="x"):
        g1.score(np.array([0.0, np.nan]))


def test_sample_moments_match(g2):
    rng = np.random.default_rng(3)
    n = 40_000
    x = g2.sample(n, rng)
    assert x.shape == (n, 2)
    se = np.sqrt(np.diag(g2.covariance()) / n)
    assert np.all(np.abs(x.mean(0) - g2.mean()) < 5 * se)
    assert np.allclose(np.cov(x.T), g2.covariance(), atol=0.05)  # ~5 SE of the entries
    assert np.array_equal(g2.sample(5, np.random.default_rng(1)), g2.sample(5, np.random.default_rng(1)))


def test_central_moments_by_quadrature(g1):
    mu = g1.mean()[0]
    pdf = lambda x: math.exp(float(g1.log_prob(np.array([x]))[0]))
    for k in range(5):
        ref = integrate.quad(lambda x, k=k: (x - mu) ** k * pdf(x), -12, 14, limit=200)[0]
        assert g1.central_moment(k) == pytest.approx(ref, rel=1e-9, abs=1e-11)
    assert g1.central_moment(2) == pytest.approx(3.3015, rel=1e-14)


def test_cdf_icdf_against_scipy(g1):
    x = np.linspace(-6, 7, 27)
    ref = sum(w * stats.norm.cdf(x, m, s) for w, m, s in zip(W, MU, SD, strict=True))
    assert np.allclose(g1.cdf(x), ref, rtol=0, atol=1e-15)
    for u in [1e-9, 0.01, 0.3, 0.5, 0.77, 0.999999]:
        root = optimize.brentq(lambda y, u=u: g1.cdf(y) - u, -20, 20, xtol=1e-15, rtol=1e-15)
        # conditioning: an error of ~4 ulp in F moves the quantile by 4 ulp / p(x)
        tol = 1e-12 + 1e-15 / math.exp(float(g1.log_prob(np.array([root]))[0]))
        assert g1.icdf(u) == pytest.approx(root, abs=tol)
    assert g1.icdf(np.array([0.0, 1.0])).tolist() == [-np.inf, np.inf]


@settings(max_examples=40, deadline=None)
@given(gmm_1d, st.floats(1e-10, 1 - 1e-10))
def test_cdf_icdf_round_trip(g, u):
    x = g.icdf(np.array([u]))
    assert g.cdf(x)[0] == pytest.approx(u, rel=1e-9, abs=1e-15)


# coefficients are 0 or at least 0.01 in size: tinier ones underflow a^2, b^2 (a degenerate law)
noise_coef = st.one_of(st.just(0.0), st.floats(0.01, 2.0))
signal_coef = st.one_of(st.just(0.0), st.floats(0.01, 2.0), st.floats(-2.0, -0.01))


@settings(max_examples=40, deadline=None)
@given(gmm_1d, signal_coef, noise_coef)
def test_tweedie_identity(g, a, b):
    """a E[x | y] = y + b^2 grad log p(y) for y = a x + b eps (the score as a posterior average)."""
    y = np.linspace(-4, 4, 9)
    if b == 0 and a == 0:
        return
    mean, var = posterior_moments(y, g, a, b)
    score = diffuse(g, a, b).score(y)
    assert np.allclose(a * mean, y + b**2 * score, rtol=1e-9, atol=1e-9)
    assert np.all(var >= -1e-12)


@settings(max_examples=30, deadline=None)
@given(gmm_1d, signal_coef, noise_coef, signal_coef, noise_coef)
def test_diffuse_composes(g, a1, b1, a2, b2):
    """a2 (a1 x + b1 e1) + b2 e2 = a1 a2 x + sqrt(a2^2 b1^2 + b2^2) e."""
    if (a1 == 0 and b1 == 0) or (a2 == 0 and b2 == 0) or (a2 * b1 == 0 and a1 * a2 == 0 and b2 == 0):
        return
    two = diffuse(diffuse(g, a1, b1), a2, b2)
    one = diffuse(g, a1 * a2, math.sqrt(a2**2 * b1**2 + b2**2))
    assert np.allclose(two.means, one.means) and np.allclose(two.covs, one.covs, rtol=1e-12)


def test_posterior_moments_by_quadrature(g1):
    a, b = 0.6, 0.8
    for y in [-1.5, 0.2, 2.0]:
        like = lambda x, y=y: math.exp(float(g1.log_prob(np.array([x]))[0])) * stats.norm.pdf(y, a * x, b)
        z = integrate.quad(like, -12, 14, limit=200)[0]
        m1 = integrate.quad(lambda x, f=like: x * f(x), -12, 14, limit=200)[0] / z
        m2 = integrate.quad(lambda x, f=like: x * x * f(x), -12, 14, limit=200)[0] / z
        mean, var = posterior_moments(np.array([y]), g1, a, b)
        assert mean[0] == pytest.approx(m1, abs=1e-9)
        assert var[0] == pytest.approx(m2 - m1**2, abs=1e-9)


def test_posterior_moments_torch_matches_numpy(g2):
    y = np.random.default_rng(0).normal(size=(6, 2))
    mn, cn = posterior_moments(y, g2, 0.7, 0.5)
    mt, ct = posterior_moments(torch.from_numpy(y), g2, 0.7, 0.5)
    assert mn.shape == (6, 2) and cn.shape == (6, 2, 2)
    assert np.allclose(mt.numpy(), mn) and np.allclose(ct.numpy(), cn)


def test_marginal_against_monte_carlo(g1, g2):
    """x_t = abar x_0 + bbar eps with x_0 ~ p_0 has the law marginal(p_0, sched, t)."""
    rng = np.random.default_rng(7)
    n = 20_000
    for sched, t in [(VPLinear(), 0.3), (VEGeometric(), 0.4)]:
        a, b = sched.kernel(t)
        xt = a * g1.sample(n, rng) + b * rng.standard_normal((n, 1))
        # 99.9% quantile of the KS statistic under the null: 1.95/sqrt(n)
        assert ks_distance(xt, marginal(g1, sched, t)) < 1.95 / math.sqrt(n)
    pt = marginal(g2, VPLinear(), 0.2)
    a, b = VPLinear().kernel(0.2)
    xt = a * g2.sample(n, rng) + b * rng.standard_normal((n, 2))
    se = np.sqrt(np.diag(pt.covariance()) / n)
    assert np.all(np.abs(xt.mean(0) - pt.mean()) < 5 * se)
    assert np.allclose(np.cov(xt.T), pt.covariance(), atol=0.04)


def test_diffuse_rejects_degenerate_law(g1):
    with pytest.raises(ValueError, match="degenerate"):
        diffuse(g1, 0.0, 1e-200)
    with pytest.raises(ValueError, match="b"):
        diffuse(g1, 1.0, -0.5)


def test_marginal_endpoints(g1):
    p0 = marginal(g1, VPLinear(), 0.0)
    assert np.allclose(p0.means, g1.means) and np.allclose(p0.covs, g1.covs)


@pytest.mark.parametrize(
    "args, match",
    [
        (([-0.1, 1.1], [0, 1], [1, 1]), "non-negative"),
        (([0.3, 0.3], [0, 1], [1, 1]), "sum to 1"),
        (([0.5, 0.5], [0, 1], [1, 0]), "> 0"),
        (([0.5, 0.5], [0, 1], [1, -2]), "> 0"),
        (([0.5, 0.5], [0, 1, 2], [1, 1]), "means"),
        (([0.5, 0.5], [[0, 1], [1, 0]], [[[1, 0], [0, 1]]]), "covs"),
        (([1.0], [[0, 0]], [[[1, 2], [2, 1]]]), "positive definite"),
        (([1.0], [[0, 0]], [[[1, 0.5], [0, 1]]]), "symmetric"),
        (([1.0], [np.nan], [1.0]), "means"),
    ],
)
def test_mixture_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixture(*args)


def test_points_bad_shape(g1, g2):
    with pytest.raises(ValueError, match="x"):
        g2.log_prob(np.zeros(4))
    with pytest.raises(ValueError, match="x"):
        g2.score(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="one-dimensional"):
        g2.cdf(np.zeros(3))
    with pytest.raises(ValueError, match="u"):
        g1.icdf(np.array([1.5]))
    with pytest.raises(ValueError, match="rng"):
        g1.sample(3, 0)


# --- samplers -----------------------------------------------------------------------------------


def test_family_drift_weights(g1):
    s, x, t = VPLinear(), np.linspace(-2, 2, 5), 0.4
    pt = marginal(g1, s, t)
    pf = s.f(t) * x - 0.5 * s.g2(t) * pt.score(x)
    assert np.allclose(family_drift(x, t, g1, s, 0.0, "forward"), pf, rtol=1e-14)
    assert np.allclose(family_drift(x, t, g1, s, 0.0, "reverse"), pf, rtol=1e-14)
    rev = s.f(t) * x - 1.0 * s.g2(t) * pt.score(x)
    assert np.allclose(family_drift(x, t, g1, s, 1.0, "reverse"), rev, rtol=1e-14)
    assert np.allclose(family_drift(x, t, g1, s, 1.0, "forward"), s.f(t) * x, rtol=1e-14)


def test_time_grid():
    g = time_grid(1.0, 0.0, 4)
    assert g.tolist() == [1.0, 0.5625, 0.25, 0.0625, 0.0]
    assert time_grid(0.0, 0.3, 3, "uniform") == pytest.approx([0, 0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="steps"):
        time_grid(1.0, 0.0, 0)
    with pytest.raises(ValueError, match="kind"):
        time_grid(1.0, 0.0, 3, "cubic")


def test_probability_flow_is_the_quantile_map(g1):
    s = VPLinear()
    pT = marginal(g1, s, 1.0)
    xT = np.linspace(-2.5, 2.5, 11)
    x0 = probability_flow(xT, 1.0, 0.0, g1, s)
    assert np.max(np.abs(x0 - g1.icdf(pT.cdf(xT)))) < 1e-7
    back = probability_flow(x0, 0.0, 1.0, g1, s)
    assert np.max(np.abs(back - xT)) < 1e-7
    assert np.array_equal(probability_flow(xT, 0.5, 0.5, g1, s), xT)


def test_probability_flow_quantile_map_ve(g1):
    """The VE schedule with the exact kernel bbar^2 = sigma^2 - sigma_min^2 (no offset)."""
    s = VEGeometric()
    pT = marginal(g1, s, 1.0)
    xT = np.linspace(-60.0, 60.0, 7)
    x0 = probability_flow(xT, 1.0, 0.0, g1, s)
    assert np.max(np.abs(x0 - g1.icdf(pT.cdf(xT)))) < 1e-7


def test_heun_ode_sampler_second_order(g1):
    s = VPLinear()
    pT = marginal(g1, s, 1.0)
    xT = pT.icdf((np.arange(200) + 0.5) / 200)
    exact = g1.icdf(pT.cdf(xT))
    errs = [np.max(np.abs(reverse_sample(xT, g1, s, 0.0, k, None) - exact)) for k in (50, 100)]
    assert 3.3 < errs[0] / errs[1] < 4.8  # order 2 up to higher-order terms
    assert score_evaluations(100, "heun") == 200 and score_evaluations(100, "euler_maruyama") == 100


def test_reverse_sde_reaches_p0(g1):
    s, rng = VPLinear(), np.random.default_rng(0)
    n = 4000
    xT = marginal(g1, s, 1.0).sample(n, rng)
    x0 = reverse_sample(xT, g1, s, 1.0, 200, rng, scheme="euler_maruyama")
    assert x0.shape == (n, 1)
    assert ks_distance(x0, g1) < 1.95 / math.sqrt(n) + 0.01  # null 99.9% + EM bias at K=200


def test_sampler_torch_in_torch_out_and_path(g1):
    s = VPLinear()
    xT = torch.linspace(-2, 2, 5, dtype=torch.float32)
    out = reverse_sample(xT, g1, s, 0.0, 10, None)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.shape == (5,)
    out, path = reverse_sample(xT.numpy(), g1, s, 0.0, 10, None, return_path=True)
    assert path.shape == (11, 5) and np.allclose(path[-1], out)


def test_sampler_bad_input(g1):
    s, x = VPLinear(), np.zeros(3)
    with pytest.raises(ValueError, match="lam"):
        reverse_sample(x, g1, s, -0.5, 10, np.random.default_rng(0))
    with pytest.raises(ValueError, match="rng"):
        reverse_sample(x, g1, s, 1.0, 10, None)
    with pytest.raises(ValueError, match="scheme"):
        reverse_sample(x, g1, s, 0.0, 10, None, scheme="rk4")
    with pytest.raises(ValueError, match="monotone"):
        integrate_family(x, [0.0, 0.5, 0.2], g1, s, 0.0)
    with pytest.raises(ValueError, match="t_grid"):
        integrate_family(x, [0.0, 1.5], g1, s, 0.0)
    with pytest.raises(ValueError, match="x"):
        reverse_sample(np.zeros((3, 2)), g1, s, 0.0, 10, None)
    with pytest.raises(ValueError, match="t_from"):
        probability_flow(x, 1.2, 0.0, g1, s)


def test_ode_log_likelihood_1d_and_ring(g1):
    s = VPLinear()
    x = np.linspace(-3, 4, 9)
    assert np.max(np.abs(ode_log_likelihood(x, g1, s) - g1.log_prob(x))) < 1e-8
    r = ring()
    pts = r.sample(50, np.random.default_rng(0))
    ll = ode_log_likelihood(pts, r, s, rtol=1e-8, atol=1e-8)
    assert np.max(np.abs(ll - r.log_prob(pts))) < 1e-5
    assert np.array_equal(ode_log_likelihood(x, g1, s, t_end=0.0), g1.log_prob(x))


# --- distances ---------------------------------------------------------------------------------


def test_ks_distance_is_the_sup_over_a_fine_grid(g1):
    """ks_distance calls SciPy; check it against the definition sup_x |F_n(x) - F(x)|, taken
    at every sample point from both sides (where the sup of a step-minus-continuous is)."""
    x = np.sort(g1.sample(500, np.random.default_rng(2))[:, 0])
    F = g1.cdf(x)
    n = x.size
    right = np.arange(1, n + 1) / n - F  # F_n just at/after x_i
    left = F - np.arange(n) / n  # F_n just before x_i
    assert ks_distance(x, g1) == pytest.approx(max(right.max(), left.max()), rel=1e-12)


@pytest.mark.parametrize("n", [1, 2, 7, 300])
def test_wasserstein1_against_grid_integral(g1, n):
    x = np.sort(g1.sample(n, np.random.default_rng(n))[:, 0])
    grid = np.linspace(-12, 14, 400_001)
    fn = np.searchsorted(x, grid, side="right") / n
    ref = np.trapezoid(np.abs(fn - g1.cdf(grid)), grid)
    # the trapezoid rule smears each jump of 1/n over one grid step h: total error <= h
    assert wasserstein1(x, g1) == pytest.approx(ref, abs=grid[1] - grid[0])


def test_wasserstein1_of_a_point_is_mean_abs_deviation():
    g = GaussianMixture([1.0], [0.0], [1.0])
    assert wasserstein1(np.array([0.0]), g) == pytest.approx(math.sqrt(2 / math.pi), rel=1e-14)
    with pytest.raises(ValueError, match="samples"):
        wasserstein1(np.zeros((0,)), g)


def test_book_mixture_moments():
    """The chapters' test bed: mean 0.25 and variance 3.3015, as their prose states."""
    g = book_mixture()
    w, mu, sd = np.array([0.3, 0.5, 0.2]), np.array([-2.0, 0.5, 3.0]), np.array([0.3, 0.6, 0.4])
    mean = float(w @ mu)
    var = float(w @ (sd**2 + mu**2)) - mean**2
    assert mean == pytest.approx(0.25, abs=1e-15) and var == pytest.approx(3.3015, abs=1e-12)
    x = g.sample(200_000, np.random.default_rng(0)).ravel()
    # Monte Carlo: 5 standard errors (sd ~ 1.82, se ~ 0.0041 for the mean)
    assert abs(x.mean() - mean) < 5 * np.sqrt(var / x.size)
