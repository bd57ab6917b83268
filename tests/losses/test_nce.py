"""Tests of InfoNCE and FlatNCE (chapter losses/flatnce, kexue.fm/archives/8586) in
lib.losses: ``info_nce`` and ``flatnce``."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.losses import flatnce, info_nce

F64 = torch.float64
EPS = torch.finfo(F64).eps


def _batch(seed: int, b: int = 5, k: int = 7, scale: float = 3.0):
    g = torch.Generator().manual_seed(seed)
    s = scale * torch.randn(b, k, generator=g, dtype=F64)
    t = torch.randint(0, k, (b,), generator=g)
    return s, t


def _log_xi(s: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Reference log xi: logsumexp over the negatives, minus the positive (float64)."""
    mask = F.one_hot(t, s.shape[-1]).bool()
    return torch.logsumexp(s.masked_fill(mask, -math.inf), -1) - s.gather(-1, t[:, None])[:, 0]


# -- values -------------------------------------------------------------------------------
def test_info_nce_is_cross_entropy():
    s, t = _batch(0)
    for red in ("none", "mean", "sum"):
        torch.testing.assert_close(
            info_nce(s, t, reduction=red), F.cross_entropy(s, t, reduction=red)
        )


def test_flatnce_is_lse_over_negatives_minus_positive():
    s, t = _batch(1)
    torch.testing.assert_close(flatnce(s, t, reduction="none"), _log_xi(s, t))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(2, 9), st.floats(0.1, 30.0))
def test_info_nce_is_softplus_of_flatnce(seed, k, scale):
    s, t = _batch(seed, k=k, scale=scale)
    v = flatnce(s, t, reduction="none")
    torch.testing.assert_close(info_nce(s, t, reduction="none"), torch.log1p(v.exp()))
    assert torch.all(flatnce(s, t, reduction="none") >= info_nce(s, t, reduction="none").log() - 1e-12)


# -- gradients ----------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(2, 9))
def test_per_sample_gradient_is_rescaled_ce_gradient(seed, k):
    s, t = _batch(seed, k=k)
    s.requires_grad_()
    (g_flat,) = torch.autograd.grad(flatnce(s, t, reduction="sum"), s)
    (g_ce,) = torch.autograd.grad(info_nce(s, t, reduction="sum"), s)
    xi = _log_xi(s.detach(), t).exp()
    torch.testing.assert_close(g_flat, ((1 + xi) / xi)[:, None] * g_ce, rtol=1e-10, atol=1e-13)
    # each row of a softmax-type gradient sums to zero
    torch.testing.assert_close(g_flat.sum(-1), torch.zeros_like(xi), rtol=0, atol=1e-13)


def test_stop_gradient_form_has_value_one_and_same_gradient():
    s, t = _batch(3)
    s.requires_grad_()
    v = flatnce(s, t, reduction="none")
    sg_form = torch.exp(v - v.detach())
    assert torch.equal(sg_form.detach(), torch.ones_like(v))
    (g_sg,) = torch.autograd.grad(sg_form.mean(), s)
    (g_log,) = torch.autograd.grad(flatnce(s, t), s)
    torch.testing.assert_close(g_sg, g_log, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("fn", [info_nce, flatnce])
def test_gradcheck(fn):
    s, t = _batch(4, b=3, k=5)
    s.requires_grad_()
    assert torch.autograd.gradcheck(lambda x: fn(x, t, reduction="none"), (s,))


# -- precision: the chapter's point --------------------------------------------------------
@pytest.mark.parametrize("gap", [10.0, 20.0, 30.0])
def test_float32_positive_gradient_keeps_relative_accuracy(gap):
    # xi ~ 3 e^(-gap): at gap 20 the usual 1 + xi rounds to 1 in float32
    s = torch.tensor([[gap, 0.1, -0.2, 0.3]])
    t = torch.tensor([0])
    s64 = s.to(F64)
    xi = torch.exp(s64[0, 1:] - gap).sum()
    for fn, ref in ((info_nce, -xi / (1 + xi)), (flatnce, torch.tensor(-1.0, dtype=F64))):
        x = s.clone().requires_grad_()
        (g,) = torch.autograd.grad(fn(x, t), x)
        # exp's conditioning: relative error ~ |s_i - s_t| * 2^-24 (<= 2e-6 here)
        assert abs(g[0, 0].item() - ref.item()) <= 1e-5 * abs(ref.item())
    x = s.clone().requires_grad_()
    (g_naive,) = torch.autograd.grad(F.cross_entropy(x, t), x)
    if xi < 2.0**-25:
        assert g_naive[0, 0] == 0  # what this function avoids


@pytest.mark.parametrize("fn", [info_nce, flatnce])
def test_extreme_scores_are_finite(fn):
    s = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]], requires_grad=True)
    t = torch.tensor([0, 0])
    out = fn(s, t, reduction="none")
    assert torch.isfinite(out).all()
    (g,) = torch.autograd.grad(out.sum(), s)
    assert torch.isfinite(g).all()
    if fn is flatnce:
        assert out[0].item() == pytest.approx(-1e4, rel=1e-6)
    else:
        assert out[1].item() == pytest.approx(2e4, rel=1e-6)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("fn", [info_nce, flatnce])
def test_low_precision(dtype, fn):
    s64, t = _batch(5, b=4, k=6)
    s = s64.to(dtype).requires_grad_()
    out = fn(s, t, reduction="none")
    assert out.dtype == dtype
    ref = fn(s.detach().to(F64), t, reduction="none")
    # computed in float32 from the rounded input, then one rounding to ``dtype``
    tol = torch.finfo(dtype).eps
    torch.testing.assert_close(out.to(F64), ref, rtol=tol, atol=1e-6)
    (g,) = torch.autograd.grad(out.sum(), s)
    assert g.dtype == dtype and torch.isfinite(g).all()


def test_leading_dims_and_reductions():
    g = torch.Generator().manual_seed(6)
    s = torch.randn(2, 3, 5, generator=g, dtype=F64)
    t = torch.randint(0, 5, (2, 3), generator=g)
    for fn in (info_nce, flatnce):
        none = fn(s, t, reduction="none")
        assert none.shape == (2, 3)
        torch.testing.assert_close(fn(s, t), none.mean())
        torch.testing.assert_close(fn(s, t, reduction="sum"), none.sum())


# -- bad input ----------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [info_nce, flatnce])
def test_bad_input(fn):
    s = torch.randn(3, 4)
    t = torch.tensor([0, 1, 3])
    with pytest.raises(ValueError, match="negative|at least 2"):
        fn(torch.randn(3, 1), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="positive_index"):
        fn(s, torch.tensor([0, 1, 4]))
    with pytest.raises(ValueError, match="positive_index"):
        fn(s, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="positive_index"):
        fn(s, t.float())
    with pytest.raises(ValueError, match="scores"):
        fn(torch.tensor([[0.0, float("nan")]]), torch.tensor([0]))
    with pytest.raises(ValueError, match="scores"):
        fn(torch.tensor([[0.0, -math.inf]]), torch.tensor([0]))
    with pytest.raises(ValueError, match="scores"):
        fn(s.long(), t)
    with pytest.raises(ValueError, match="reduction"):
        fn(s, t, reduction="batchmean")
    with pytest.raises(ValueError, match="empty"):
        fn(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long))
