"""Tests of the logsumexp section of lib.softmax (chapter: logsumexp inequalities)."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lib.softmax import lse_bound_slacks, lse_weighted_lower_bound, renyi_entropy, smooth_max

f64 = torch.float64
finite = st.floats(-50, 50, allow_nan=False, allow_infinity=False)


def vectors(n_min=1, n_max=12):
    return st.integers(n_min, n_max).flatmap(lambda n: arrays(np.float64, n, elements=finite))


def probs(n):
    return arrays(np.float64, n, elements=st.floats(0, 1)).filter(lambda a: a.sum() > 1e-3).map(
        lambda a: a / a.sum()
    )


# ---------------------------------------------------------------- smooth_max
@settings(max_examples=200, deadline=None)
@given(vectors(), st.floats(0.01, 5))
def test_smooth_max_between_max_and_max_plus_tau_log_n(x, tau):
    t = torch.tensor(x, dtype=f64)
    v = float(smooth_max(t, tau))
    m = float(t.max())
    assert m - 1e-12 <= v <= m + tau * math.log(len(x)) + 1e-12


def test_smooth_max_matches_direct_formula():
    x = torch.tensor([0.3, -1.2, 2.0], dtype=f64)
    direct = 0.5 * math.log(sum(math.exp(v / 0.5) for v in x.tolist()))
    assert float(smooth_max(x, 0.5)) == pytest.approx(direct, rel=1e-15)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, f64])
def test_smooth_max_extreme_logits_finite_and_dtype_preserved(dtype):
    x = torch.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], dtype=dtype)
    out = smooth_max(x, 0.1)
    assert out.dtype == dtype
    assert torch.isfinite(out).all()
    assert torch.allclose(out.double(), x.double().amax(-1), rtol=1e-2)


def test_smooth_max_dim_and_batch():
    x = torch.randn(4, 5, 6, dtype=f64)
    assert smooth_max(x, 1.0, dim=1).shape == (4, 6)
    assert torch.allclose(smooth_max(x, 1.0, dim=1), torch.logsumexp(x, 1))


@pytest.mark.parametrize(
    "x, tau, match",
    [
        (torch.tensor([1.0, float("nan")]), 1.0, "x contains NaN"),
        (torch.tensor([1.0, 2.0]), 0.0, "tau"),
        (torch.tensor([1.0, 2.0]), -1.0, "tau"),
        (torch.tensor([1, 2]), 1.0, "floating-point"),
        (torch.empty(3, 0), 1.0, "empty"),
        ([1.0, 2.0], 1.0, "torch.Tensor"),
    ],
)
def test_smooth_max_bad_input(x, tau, match):
    with pytest.raises(ValueError, match=match):
        smooth_max(x, tau)


# ---------------------------------------------------------------- renyi_entropy
def test_renyi_closed_forms():
    p = torch.tensor([0.5, 0.25, 0.25, 0.0], dtype=f64)
    shannon = -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25))
    assert float(renyi_entropy(p, 1.0)) == pytest.approx(shannon, rel=1e-15)
    assert float(renyi_entropy(p, 2.0)) == pytest.approx(-math.log(0.375), rel=1e-15)
    assert float(renyi_entropy(p, math.inf)) == pytest.approx(-math.log(0.5), rel=1e-15)


def test_renyi_zero_probabilities_no_nan():
    p = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]], dtype=f64)
    for t in (1.0, 1.5, 2.0, 7.0):
        h = renyi_entropy(p, t)
        assert torch.isfinite(h).all()
        assert float(h[0]) == pytest.approx(0.0, abs=1e-15)
        assert float(h[1]) == pytest.approx(math.log(2), rel=1e-14)


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 10).flatmap(probs), st.floats(1.0, 8.0), st.floats(0.01, 4.0))
def test_renyi_nonincreasing_in_order(p, t, dt):
    pt = torch.tensor(p, dtype=f64)
    assert float(renyi_entropy(pt, t + dt)) <= float(renyi_entropy(pt, t)) + 1e-12


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 10).flatmap(probs), st.floats(1.0, 8.0))
def test_renyi_between_zero_and_log_n(p, t):
    h = float(renyi_entropy(torch.tensor(p, dtype=f64), t))
    assert -1e-12 <= h <= math.log(len(p)) + 1e-12


def test_renyi_continuous_at_one():
    # Found by hypothesis: at t = 1 + 2e-16 the naive quotient was off by 0.19 for p = (1/2, 1/2).
    p = torch.tensor([[0.5, 0.5], [0.7, 0.3]], dtype=f64)
    h1 = renyi_entropy(p, 1.0)
    for t in (1 + 2.2e-16, 1 + 1e-12, 1 + 1e-8, 1.49, 1.51):
        # H_t = H_1 - (t-1) Var_p(log p) / 2 + O((t-1)^2), with Var <= 0.2 here
        assert torch.allclose(renyi_entropy(p, t), h1, atol=0.11 * (t - 1) + 1e-15)


@pytest.mark.parametrize(
    "p, t, match",
    [
        (torch.tensor([0.5, 0.6], dtype=f64), 1.0, "sum to 1"),
        (torch.tensor([1.5, -0.5], dtype=f64), 1.0, "non-negative"),
        (torch.tensor([0.5, float("nan")], dtype=f64), 1.0, "NaN"),
        (torch.tensor([0.5, 0.5], dtype=f64), 0.5, "t must be >= 1"),
    ],
)
def test_renyi_bad_input(p, t, match):
    with pytest.raises(ValueError, match=match):
        renyi_entropy(p, t)


# ---------------------------------------------------------------- weighted bounds
@settings(max_examples=150, deadline=None)
@given(st.integers(1, 10).flatmap(lambda n: st.tuples(arrays(np.float64, n, elements=finite), probs(n))),
       st.floats(1.0, 10.0))
def test_weighted_bound_below_lse(xp, t):
    x, p = (torch.tensor(a, dtype=f64) for a in xp)
    assert float(lse_weighted_lower_bound(x, p, t)) <= float(torch.logsumexp(x, 0)) + 1e-10


def test_gibbs_bound_tight_at_softmax():
    x = torch.randn(50, 7, dtype=f64) * 4
    q = torch.softmax(x, -1)
    assert torch.allclose(lse_weighted_lower_bound(x, q, 1.0), torch.logsumexp(x, -1), atol=1e-12)


def test_weighted_bound_shape_mismatch():
    with pytest.raises(ValueError, match="same shape"):
        lse_weighted_lower_bound(torch.zeros(3, dtype=f64), torch.ones(2, dtype=f64) / 2)


# ---------------------------------------------------------------- all slacks
@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 10).flatmap(
        lambda n: st.tuples(arrays(np.float64, n, elements=finite), arrays(np.float64, n, elements=finite), probs(n))
    ),
    st.floats(1.01, 10),
    st.floats(0.01, 3),
    st.floats(0, 1),
)
def test_every_inequality_holds(xyp, t, tau, lam):
    x, y, p = (torch.tensor(a, dtype=f64) for a in xyp)
    slacks = lse_bound_slacks(x, y, p, t=t, tau=tau, lam=lam)
    for name, s in slacks.items():
        assert float(s) >= -1e-10, name


def test_slacks_bad_input():
    x = torch.zeros(3, dtype=f64)
    p = torch.full((3,), 1 / 3, dtype=f64)
    with pytest.raises(ValueError, match="lam"):
        lse_bound_slacks(x, x, p, t=2.0, tau=1.0, lam=1.5)
    with pytest.raises(ValueError, match="t must be > 1"):
        lse_bound_slacks(x, x, p, t=1.0, tau=1.0, lam=0.5)
    with pytest.raises(ValueError, match="one shape"):
        lse_bound_slacks(x, torch.zeros(2, dtype=f64), p, t=2.0, tau=1.0, lam=0.5)
