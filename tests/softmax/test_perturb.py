"""Tests of lib.softmax.perturb_max_probs (chapter: discrete distributions from
reparameterisation, kexue.fm/archives/9085)."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import integrate, stats

from lib.softmax import perturb_max_probs

f64 = torch.float64
MU = torch.tensor([1.0, 2.0, 0.5], dtype=f64)


def reference_normal(mu):
    """Adaptive quadrature of p_i = ∫ φ(e) Π_{j≠i} Φ(μ_i − μ_j + e) de (independent of lib)."""
    mu = np.asarray(mu, dtype=float)
    out = []
    for i in range(len(mu)):
        d = np.delete(mu[i] - mu, i)

        def f(e, d=d):
            return stats.norm.pdf(e) * np.prod(stats.norm.cdf(d + e))

        out.append(integrate.quad(f, -np.inf, np.inf, epsabs=1e-14, epsrel=1e-13)[0])
    return np.array(out)


REF = reference_normal(MU.numpy())


def vectors(n_min=1, n_max=8, lo=-6.0, hi=6.0):
    el = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    return st.integers(n_min, n_max).flatmap(lambda n: arrays(np.float64, n, elements=el))


# ------------------------------------------------------------------ accuracy per method
def test_hermite_matches_adaptive_quadrature():
    p = perturb_max_probs(MU, nodes=32)
    assert np.abs(p.numpy() - REF).max() < 1e-11


def test_hermite_error_falls_fast_with_nodes():
    errs = [np.abs(perturb_max_probs(MU, nodes=m).numpy() - REF).max() for m in (4, 8, 16, 32)]
    assert all(a > b for a, b in zip(errs, errs[1:], strict=False))
    assert errs[-1] < 1e-11


def test_quantile_rule_biased_like_one_over_k_and_rows_not_normalised():
    errs, sums = [], []
    for K in (8, 32, 128, 1024):
        q = perturb_max_probs(MU, method="quantile", nodes=K)
        errs.append(np.abs(q.numpy() - REF).max())
        sums.append(float(q.sum()))
    assert all(a > b for a, b in zip(errs, errs[1:], strict=False))
    assert errs[-1] < 1e-3
    assert all(s < 1 for s in sums)
    # leading bias (p_i - 1/2)/K: the row-sum deficit times K approaches n/2 - 1 = 1/2
    deficit = [(1 - s) * K for s, K in zip(sums, (8, 32, 128, 1024), strict=True)]
    assert abs(deficit[-1] - 0.5) < abs(deficit[0] - 0.5)


def test_quantile_equal_logits_closed_form():
    # n equal logits: integrand t^{n-1}; the rule gives n/K Σ_k (k/(K+1))^{n-1}
    for n, K in ((3, 5), (4, 7)):
        q = perturb_max_probs(torch.zeros(n, dtype=f64), method="quantile", nodes=K)
        exact = n / K * sum((k / (K + 1)) ** (n - 1) for k in range(1, K + 1))
        assert float(q.sum()) == pytest.approx(exact, rel=1e-14)


def test_mc_within_four_standard_errors_and_reproducible():
    N = 100_000
    g = torch.Generator().manual_seed(1)
    p = perturb_max_probs(MU, method="mc", nodes=N, generator=g)
    se = np.sqrt(REF * (1 - REF) / N)
    assert (np.abs(p.numpy() - REF) <= 4 * se).all()
    g2 = torch.Generator().manual_seed(1)
    assert torch.equal(p, perturb_max_probs(MU, method="mc", nodes=N, generator=g2))
    assert float(p.sum()) == pytest.approx(1.0, abs=1e-12)


def test_gumbel_quantile_and_mc_converge_to_softmax():
    sm = torch.softmax(MU, -1).numpy()
    q = perturb_max_probs(MU, noise="gumbel", method="quantile", nodes=4096).numpy()
    assert np.abs(q - sm).max() < 1e-3  # O(1/K) bias
    N = 100_000
    g = torch.Generator().manual_seed(2)
    m = perturb_max_probs(MU, noise="gumbel", method="mc", nodes=N, generator=g).numpy()
    assert (np.abs(m - sm) <= 4 * np.sqrt(sm * (1 - sm) / N)).all()


@settings(max_examples=60, deadline=None)
@given(st.floats(-5, 5))
def test_two_classes_exact_probit(delta):
    p = perturb_max_probs(torch.tensor([delta, 0.0], dtype=f64), nodes=64)
    assert float(p[0]) == pytest.approx(stats.norm.cdf(delta / math.sqrt(2)), abs=1e-12)


def test_single_class_is_certain():
    for method in ("hermite", "quantile", "mc"):
        assert float(perturb_max_probs(torch.tensor([0.3], dtype=f64), method=method)) == 1.0


# ------------------------------------------------------------------ the four properties
@settings(max_examples=40, deadline=None)
@given(vectors(), st.floats(-100, 100))
def test_properties_hermite(mu, c):
    t = torch.tensor(mu, dtype=f64)
    p = perturb_max_probs(t, nodes=48)
    assert (p >= 0).all()
    assert float(p.sum()) == pytest.approx(1.0, abs=1e-8)
    # monotone: sorting mu sorts p the same way (ties in mu give ties in p)
    order = torch.argsort(t, stable=True)
    assert (p[order].diff() >= -1e-12).all()
    assert torch.allclose(perturb_max_probs(t + c, nodes=48), p, atol=1e-11, rtol=0)
    perm = torch.randperm(len(mu))
    assert torch.allclose(perturb_max_probs(t[perm], nodes=48), p[perm], atol=1e-14, rtol=0)


# ------------------------------------------------------------------ batching, dtypes, extremes
def test_batch_and_dim():
    mu = torch.randn(4, 5, 6, dtype=f64)
    out = perturb_max_probs(mu, dim=1)
    assert out.shape == mu.shape
    for a in range(4):
        for b in range(6):
            assert torch.allclose(out[a, :, b], perturb_max_probs(mu[a, :, b]), atol=1e-15)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, f64])
@pytest.mark.parametrize("method", ["hermite", "quantile"])
def test_extreme_logits_finite_and_dtype_preserved(dtype, method):
    mu = torch.tensor([[1e4, -1e4, 0.0], [5.0, 5.0, -1e4]], dtype=dtype)
    p = perturb_max_probs(mu, method=method)
    assert p.dtype == dtype
    assert torch.isfinite(p).all()
    expected = torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    assert torch.allclose(p.float(), expected, atol=1e-2)


def test_many_classes_do_not_underflow():
    mu = torch.linspace(-3, 3, 100, dtype=f64)
    p = perturb_max_probs(mu, nodes=128)  # many classes need many nodes (docstring)
    assert torch.isfinite(p).all() and (p > 0).all()
    assert float(p.sum()) == pytest.approx(1.0, abs=1e-12)


def test_gumbel_extreme_gradients_finite():
    mu = torch.tensor([1e4, -1e4, 0.0], dtype=f64, requires_grad=True)
    perturb_max_probs(mu, noise="gumbel", method="quantile")[2].backward()
    assert torch.isfinite(mu.grad).all()


# ------------------------------------------------------------------ gradients
@pytest.mark.parametrize("method,noise", [("hermite", "normal"), ("quantile", "normal"),
                                          ("quantile", "gumbel")])
def test_gradcheck(method, noise):
    mu = torch.randn(2, 4, dtype=f64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda m: perturb_max_probs(m, noise=noise, method=method, nodes=16), (mu,)
    )


def test_jacobian_rows_and_columns_sum_to_zero():
    mu = torch.tensor([0.3, -1.0, 0.8, 2.0], dtype=f64)
    J = torch.autograd.functional.jacobian(lambda m: perturb_max_probs(m, nodes=48), mu)
    assert J.sum(0).abs().max() < 1e-9  # sum_i p_i = 1 (quadrature-exact to ~1e-10)
    assert J.sum(1).abs().max() < 1e-12  # shift invariance holds exactly


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(mu=[1.0, 2.0]), "mu must be a torch.Tensor"),
        (dict(mu=torch.tensor([1, 2])), "mu must be a floating-point"),
        (dict(mu=torch.tensor([1.0, float("nan")])), "mu contains NaN"),
        (dict(mu=torch.tensor([1.0, float("inf")])), "mu must be finite"),
        (dict(mu=torch.tensor(1.0)), "mu must have at least one dimension"),
        (dict(mu=torch.zeros(2, 0)), "mu has an empty dimension"),
        (dict(noise="cauchy"), "noise must be one of"),
        (dict(method="simpson"), "method must be one of"),
        (dict(nodes=0), "nodes must be a positive int"),
        (dict(nodes=3.0), "nodes must be a positive int"),
        (dict(nodes=True), "nodes must be a positive int"),
        (dict(nodes=500), "nodes must be <= 200"),
        (dict(noise="gumbel", method="hermite"), "method='hermite' needs noise='normal'"),
    ],
)
def test_bad_input_raises(kwargs, match):
    args = dict(mu=MU)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        perturb_max_probs(**args)
