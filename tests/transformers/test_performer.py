"""Tests of lib/transformers/performer.py (chapter performer-favor, article 7921): the random
feature matrix (orthogonality, norms, quantiles), the two feature maps against their
definitions, FAVOR+ attention against the explicit quadratic ratio (non-causal and causal),
its limit softmax attention, gradcheck, extreme and float32 inputs, the exact variances
against Gauss-Hermite quadrature, the fixed-norm mean against 1-D quadrature, bad input."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from lib.transformers import (
    favor_attention,
    feature_norms,
    fixed_norm_kernel_mean,
    kernel_estimates,
    positive_features,
    random_feature_matrix,
    softmax_attention,
    softmax_kernel_variance,
    trig_features,
)

F64 = torch.float64


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def explicit_ratio(q, k, v, omega, scale, causal=False):
    """The contract's definition, with the n_q x n_k matrix formed (reference only)."""
    r = math.sqrt(scale)
    a = positive_features(r * q, omega) @ positive_features(r * k, omega).transpose(-1, -2)
    if causal:
        a = a * torch.ones(a.shape[-2:], dtype=torch.bool).tril()
    return (a @ v) / a.sum(-1, keepdim=True)


# -- random_feature_matrix -------------------------------------------------------------------
@pytest.mark.parametrize("m,d", [(16, 16), (20, 8), (5, 7), (1, 3)])
def test_orthogonal_blocks_and_chi_norms(m, d):
    w = random_feature_matrix(m, d, generator=gen(1), dtype=F64)
    assert w.shape == (m, d) and w.dtype == F64
    for start in range(0, m, d):
        blk = w[start:start + d]
        gram = blk @ blk.T
        off = gram - torch.diag(torch.diag(gram))
        assert off.abs().max() <= 1e-12 * gram.diag().max()
    norms = w.norm(dim=-1)
    assert (norms > 0).all() and (m == 1 or norms.std() > 0)  # chi norms: random, not all equal
    assert torch.equal(feature_norms(m, d, "sqrt_d"), torch.full((m,), math.sqrt(d), dtype=F64))


def test_norm_options_exact():
    m, d = 12, 5
    w = random_feature_matrix(m, d, norms="sqrt_d", generator=gen(2), dtype=F64)
    assert torch.allclose(w.norm(dim=-1), torch.full((m,), math.sqrt(d), dtype=F64), atol=1e-13)
    for orth in (True, False):
        wq = random_feature_matrix(m, d, orthogonal=orth, norms="quantile", generator=gen(3), dtype=F64)
        want = np.sqrt(stats.chi2.ppf(np.arange(1, m + 1) / (m + 1), d))
        assert np.allclose(np.sort(wq.norm(dim=-1).numpy()), want, atol=1e-12)
    assert random_feature_matrix(4, 3).dtype == torch.get_default_dtype()


def test_rows_are_standard_normal_marginally():
    # chi norms + uniform directions: each coordinate ~ N(0,1), |w|^2 ~ chi2_d (KS tests)
    d = 6
    for orth in (True, False):
        w = random_feature_matrix(6000, d, orthogonal=orth, generator=gen(4), dtype=F64)
        assert stats.kstest(w[:, 0].numpy(), "norm").pvalue > 1e-3
        assert stats.kstest((w**2).sum(-1).numpy(), stats.chi2(d).cdf).pvalue > 1e-3
        # second moment E[w w^T] = I: 6000 rows, se ~ sqrt(2/6000) on the diagonal
        cov = w.T @ w / w.shape[0]
        assert (cov - torch.eye(d, dtype=F64)).abs().max() < 6 * math.sqrt(2 / 6000)


def test_iid_rows_are_not_orthogonal_and_seeded():
    w = random_feature_matrix(8, 8, orthogonal=False, generator=gen(5), dtype=F64)
    gram = w @ w.T
    assert (gram - torch.diag(torch.diag(gram))).abs().max() > 0.1
    assert torch.equal(w, random_feature_matrix(8, 8, orthogonal=False, generator=gen(5), dtype=F64))


# -- feature maps ----------------------------------------------------------------------------
def test_feature_maps_match_definitions():
    g = gen(6)
    x = torch.randn(3, 4, 5, generator=g, dtype=F64)
    om = torch.randn(7, 5, generator=g, dtype=F64)
    pos = positive_features(x, om)
    trig = trig_features(x, om)
    assert pos.shape == (3, 4, 7) and trig.shape == (3, 4, 14)
    i, j, l = 2, 1, 3
    xv, wv = x[i, j].tolist(), om[l].tolist()
    dot, nn = sum(a * b for a, b in zip(xv, wv, strict=True)), sum(a * a for a in xv)
    assert math.isclose(float(pos[i, j, l]), math.exp(dot - nn / 2) / math.sqrt(7), rel_tol=1e-14)
    assert math.isclose(float(trig[i, j, l]), math.exp(nn / 2) * math.cos(dot) / math.sqrt(7), rel_tol=1e-13)
    assert math.isclose(float(trig[i, j, 7 + l]), math.exp(nn / 2) * math.sin(dot) / math.sqrt(7), rel_tol=1e-13)


def test_trig_inner_product_is_cosine_of_difference():
    g = gen(7)
    q, k = torch.randn(2, 6, generator=g, dtype=F64)
    om = torch.randn(9, 6, generator=g, dtype=F64)
    lhs = trig_features(q, om) @ trig_features(k, om)
    rhs = math.exp(float(q @ q + k @ k) / 2) * torch.cos(om @ (q - k)).mean()
    assert torch.allclose(lhs, rhs, rtol=1e-13)


def test_positive_features_bounded_for_huge_x():
    om = torch.randn(16, 8, generator=gen(8), dtype=torch.float32)
    x = torch.randn(10, 8, generator=gen(9)) * 1e4
    f = positive_features(x, om)
    bound = torch.exp((om**2).sum(-1) / 2) / 4
    assert torch.isfinite(f).all() and (f <= bound * (1 + 1e-5)).all()
    assert positive_features(x.half(), om).dtype == torch.float16


# -- FAVOR+ ----------------------------------------------------------------------------------
@pytest.mark.parametrize("causal", [False, True])
def test_favor_equals_explicit_ratio(causal):
    g = gen(10)
    n, d, m, dv = 23, 6, 17, 3
    q, k = (torch.randn(2, 3, n, d, generator=g, dtype=F64) for _ in range(2))
    v = torch.randn(2, 3, n, dv, generator=g, dtype=F64)
    om = random_feature_matrix(m, d, generator=g, dtype=F64)
    for scale in (None, 1.0, 0.3):
        s = 1 / math.sqrt(d) if scale is None else scale
        out = favor_attention(q, k, v, om, causal=causal, scale=scale)
        ref = explicit_ratio(q, k, v, om, s, causal)
        assert out.shape == (2, 3, n, dv) and out.dtype == F64
        assert (out - ref).abs().max() < 1e-12


def test_causal_chunks_and_rows():
    from lib.transformers.performer import _favor_causal

    g = gen(11)
    n, d, m = 40, 4, 8
    q, k, v = (torch.randn(n, d, generator=g, dtype=F64) for _ in range(3))
    om = random_feature_matrix(m, d, generator=g, dtype=F64)
    full = favor_attention(q, k, v, om, causal=True)
    a = q / d**0.25 @ om.T
    ks = k / d**0.25
    b = ks @ om.T - 0.5 * (ks * ks).sum(-1, keepdim=True)
    for chunk in (1, 7, 64):
        assert (_favor_causal(a, b, v, chunk) - full).abs().max() < 1e-13
    # row i only sees j <= i: it equals non-causal attention on the prefix
    for i in (0, 5, n - 1):
        pre = favor_attention(q[i:i + 1], k[: i + 1], v[: i + 1], om)
        assert torch.allclose(full[i], pre[0], atol=1e-13)


def test_favor_tends_to_softmax_attention():
    g = gen(12)
    n, d = 16, 4
    q, k, v = (0.5 * torch.randn(n, d, generator=g, dtype=F64) for _ in range(3))
    ref = softmax_attention(q, k, v)
    errs = []
    for m in (64, 4096):
        om = random_feature_matrix(m, d, generator=g, dtype=F64)
        errs.append(float((favor_attention(q, k, v, om) - ref).norm() / ref.norm()))
    assert errs[1] < errs[0] / 3 and errs[1] < 0.04  # error ~ m^(-1/2): 8x smaller


def test_gradcheck():
    g = gen(13)
    n, d, m = 4, 2, 3
    q, k, v = (torch.randn(n, d, generator=g, dtype=F64, requires_grad=True) for _ in range(3))
    om = random_feature_matrix(m, d, generator=g, dtype=F64)
    for causal in (False, True):
        fn = lambda a, b, c, causal=causal: favor_attention(a, b, c, om, causal=causal)  # noqa: E731
        assert torch.autograd.gradcheck(fn, (q, k, v))
    assert torch.autograd.gradcheck(lambda x: positive_features(x, om), (q,))


def test_float32_large_norms_accurate():
    g = gen(14)
    d, m = 8, 32
    q = torch.randn(50, d, generator=g)
    q = 15 * q / q.norm(dim=-1, keepdim=True)
    k = torch.randn(60, d, generator=g)
    k = 15 * torch.rand(60, 1, generator=g) * k / k.norm(dim=-1, keepdim=True)
    v = torch.randn(60, 4, generator=g)
    om = random_feature_matrix(m, d, generator=g)
    out = favor_attention(q, k, v, om, scale=1.0)
    ref = favor_attention(q.double(), k.double(), v.double(), om.double(), scale=1.0)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    # exponents of size ~|q||w| ~ 100 carry float32 rounding ~ 100 * 6e-8
    assert (out.double() - ref).abs().max() < 1e-3 * v.abs().max()
    # the naive route overflows/underflows here: features are 0 for most keys
    assert (positive_features(k, om) == 0).any()


def test_extreme_inputs_finite_causal_and_half():
    g = gen(15)
    q = torch.randn(30, 4, generator=g, dtype=F64) * 40
    k = torch.randn(30, 4, generator=g, dtype=F64) * 40
    v = torch.randn(30, 2, generator=g, dtype=F64) * 1e6
    om = random_feature_matrix(8, 4, generator=g, dtype=F64)
    for causal in (False, True):
        out = favor_attention(q, k, v, om, causal=causal, scale=1.0)
        assert torch.isfinite(out).all()
        # a convex combination of the rows of v
        assert (out <= v.max(0).values * (1 + 1e-12)).all() and (out >= v.min(0).values * (1 + 1e-12)).all()
    h = favor_attention((q / 40).half(), (k / 40).half(), (v / 1e6).half(), om.half())
    assert h.dtype == torch.float16 and torch.isfinite(h).all()


def test_constant_values_and_large_n():
    n = 200_000
    g = gen(16)
    q, k = (torch.randn(n, 8, generator=g, dtype=F64) for _ in range(2))
    v = torch.ones(n, 2, dtype=F64) * 3.0
    om = random_feature_matrix(16, 8, generator=g, dtype=F64)
    for causal in (False, True):
        out = favor_attention(q, k, v, om, causal=causal)
        assert out.shape == (n, 2) and (out - 3.0).abs().max() < 1e-12


# -- exact variances -------------------------------------------------------------------------
def gauss_hermite_moments(q, k, kind, nodes=80):
    """E[Z] and E[Z^2] by 2-D Gauss-Hermite quadrature over span(q, k), from the features."""
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / math.sqrt(2 * math.pi)
    basis, _ = torch.linalg.qr(torch.stack([q, k], 1))  # (d, 2)
    xx, yy = np.meshgrid(x, x, indexing="ij")
    ww = torch.tensor(np.outer(w, w).ravel(), dtype=F64)
    om = torch.tensor(np.stack([xx.ravel(), yy.ravel()], 1), dtype=F64) @ basis.T  # (nodes^2, d)
    z = kernel_estimates(q, k, om, kind)
    return float((ww * z).sum()), float((ww * z * z).sum())


@pytest.mark.parametrize("kind", ["positive", "trig", "hyp"])
def test_variance_against_quadrature(kind):
    g = gen(17)
    for scale in (0.3, 0.8, 1.2):
        q, k = scale * torch.randn(2, 5, generator=g, dtype=F64)
        m1, m2 = gauss_hermite_moments(q, k, kind)
        sm = math.exp(float(q @ k))
        # trig: |Z| <= e^{(|q|^2+|k|^2)/2} cancels down to a small mean (absolute rounding)
        zmax = math.exp(float(q @ q + k @ k) / 2) if kind == "trig" else 0.0
        assert math.isclose(m1, sm, rel_tol=1e-11, abs_tol=1e-14 * zmax)
        ref = float(softmax_kernel_variance(q, k, kind))
        assert math.isclose(m2 - m1**2, ref, rel_tol=1e-9, abs_tol=1e-14 * zmax**2)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.0, 2.0), st.floats(0.0, 2.0), st.floats(0.0, math.pi))
def test_variance_laws(r1, r2, ang):
    q = torch.tensor([r1, 0.0, 0.0], dtype=F64)
    k = torch.tensor([r2 * math.cos(ang), r2 * math.sin(ang), 0.0], dtype=F64)
    vp, vt, vh = (float(softmax_kernel_variance(q, k, kk)) for kk in ("positive", "trig", "hyp"))
    s2 = float(((q + k) ** 2).sum())
    assert vp >= 0 and vt >= 0 and vh >= 0
    # hyperbolic = antithetic positive: never worse, by the factor (1 - e^{-|s|^2}) / 2
    assert math.isclose(vh, 0.5 * -math.expm1(-s2) * vp, rel_tol=1e-12, abs_tol=1e-300)
    assert vh <= vp / 2 * (1 + 1e-12)


def test_kernel_estimates_definitions():
    g = gen(20)
    q, k = torch.randn(2, 4, generator=g, dtype=F64)
    om = torch.randn(6, 4, generator=g, dtype=F64)
    a = float(q @ q + k @ k)
    pos = torch.exp(om @ (q + k) - a / 2)
    assert torch.allclose(kernel_estimates(q, k, om, "positive"), pos, rtol=1e-13)
    assert torch.allclose(kernel_estimates(q, k, om, "trig"), math.exp(a / 2) * torch.cos(om @ (q - k)), rtol=1e-12)
    assert torch.allclose(kernel_estimates(q, k, om, "hyp"), math.exp(-a / 2) * torch.cosh(om @ (q + k)), rtol=1e-13)
    with pytest.raises(ValueError, match="k"):
        kernel_estimates(q, k[:3], om)
    with pytest.raises(ValueError, match="kind"):
        kernel_estimates(q, k, om, "sin")


def test_variance_degenerate_and_batched():
    q = torch.tensor([0.7, -0.2], dtype=F64)
    assert float(softmax_kernel_variance(q, -q, "positive")) == 0.0
    assert float(softmax_kernel_variance(q, q, "trig")) == 0.0
    qs = torch.randn(4, 1, 3, generator=gen(18), dtype=F64)
    ks = torch.randn(5, 3, generator=gen(19), dtype=F64)
    out = softmax_kernel_variance(qs, ks, "hyp")
    assert out.shape == (4, 5)
    assert math.isclose(float(out[2, 3]), float(softmax_kernel_variance(qs[2, 0], ks[3], "hyp")), rel_tol=1e-14)
    big = softmax_kernel_variance(torch.tensor([30.0]), torch.tensor([-30.0]), "positive")
    assert float(big) == 0.0  # no inf * 0


def test_fixed_norm_mean_against_quadrature_and_chi_average():
    d = 5
    q = torch.tensor([0.5, 0.1, 0.0, 0.0, 0.0], dtype=F64)
    k = torch.tensor([0.2, 0.4, -0.3, 0.0, 0.0], dtype=F64)
    s = float((q + k).norm())
    pref = math.exp(-float(q @ q + k @ k) / 2)
    for r in (0.5, 2.0, 4.0):
        # u.s/|s| = t has density prop. to (1 - t^2)^((d-3)/2) on [-1, 1]
        dens = lambda t: (1 - t * t) ** ((d - 3) / 2)  # noqa: E731
        num = integrate.quad(lambda t, r=r, dens=dens: math.exp(r * s * t) * dens(t), -1, 1)[0]
        ref = pref * num / integrate.quad(dens, -1, 1)[0]
        assert math.isclose(float(fixed_norm_kernel_mean(q, k, [r])[0]), ref, rel_tol=1e-10)
    # averaged over R ~ chi_d (quadrature in R) it is exactly e^{q.k}
    avg = integrate.quad(lambda r: float(fixed_norm_kernel_mean(q, k, [r])[0]) * stats.chi(d).pdf(r), 0, 30)[0]
    assert math.isclose(avg, math.exp(float(q @ k)), rel_tol=1e-9)


# -- bad input -------------------------------------------------------------------------------
def test_bad_input():
    om = torch.randn(4, 3, dtype=F64)
    q = torch.randn(5, 3, dtype=F64)
    v = torch.randn(5, 2, dtype=F64)
    with pytest.raises(ValueError, match="m"):
        random_feature_matrix(0, 3)
    with pytest.raises(ValueError, match="d"):
        random_feature_matrix(3, 0)
    with pytest.raises(ValueError, match="norms"):
        random_feature_matrix(3, 3, norms="gauss")
    with pytest.raises(ValueError, match="generator"):
        random_feature_matrix(3, 3, generator=np.random.default_rng(0))
    with pytest.raises(ValueError, match="dtype"):
        random_feature_matrix(3, 3, dtype=torch.int64)
    with pytest.raises(ValueError, match="omega"):
        positive_features(q, torch.randn(4, 2, dtype=F64))
    with pytest.raises(ValueError, match="omega"):
        trig_features(q, torch.randn(4, dtype=F64))
    with pytest.raises(ValueError, match="k"):
        favor_attention(q, torch.randn(5, 4, dtype=F64), v, om)
    with pytest.raises(ValueError, match="v"):
        favor_attention(q, q, torch.randn(6, 2, dtype=F64), om)
    with pytest.raises(ValueError, match="omega"):
        favor_attention(q, q, v, torch.randn(4, 2, dtype=F64))
    with pytest.raises(ValueError, match="causal"):
        favor_attention(q[:3], q, v, om, causal=True)
    with pytest.raises(ValueError, match="leading"):
        favor_attention(q.expand(2, 5, 3), q.expand(3, 5, 3), v, om)
    with pytest.raises(ValueError, match="q"):
        favor_attention(q * float("nan"), q, v, om)
    with pytest.raises(ValueError, match="scale"):
        favor_attention(q, q, v, om, scale=0.0)
    with pytest.raises(ValueError, match="kind"):
        softmax_kernel_variance(q, q, "cos")
    with pytest.raises(ValueError, match="k"):
        softmax_kernel_variance(q, torch.randn(5, 4, dtype=F64))
    with pytest.raises(ValueError, match="norms"):
        fixed_norm_kernel_mean(q[0], q[1], [-1.0])
